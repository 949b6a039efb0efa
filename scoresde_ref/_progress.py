"""A small dependency-free progress bar on stderr: count, rate and a postfix (e.g. the loss).

`ProgressBar(total, label)` is updated with `bar.update(n, loss=...)` and closed with `bar.close()` (or used as
a context manager). It writes one carriage-returned line, at most every `min_interval` seconds, only when
`enabled` (default: when the stream is a TTY), so logs and tests stay quiet; `stream` can be any text file.
"""

import sys
import time


def _format_value(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


class ProgressBar:
    """`[label] 1200/5000 [####......]  24% 3.1e+03 it/s loss=0.0123`, rewritten in place on `stream`.

    **Arguments:** `total` (items), `label`, `enabled` (`None`: only if `stream.isatty()`), `stream` (default
    `sys.stderr`), `width` (characters of the bar), `min_interval` (seconds between redraws; the last
    update always draws), `unit` (`"it"`).
    """

    def __init__(
        self, total: int, label: str = "", *, enabled=None, stream=None, width=24, min_interval=0.1, unit="it"
    ):
        self.total = int(total)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(isatty()) if enabled is None else bool(enabled)
        self.width = int(width)
        self.min_interval = float(min_interval)
        self.unit = unit
        self.count = 0
        self.postfix: dict = {}
        self.start = time.perf_counter()
        self._last_draw = -float("inf")
        self._drawn = False

    @property
    def rate(self) -> float:
        """Items per second since the bar was created."""
        elapsed = time.perf_counter() - self.start
        return self.count / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The text of the bar as it would be drawn now."""
        fraction = min(self.count / self.total, 1.0) if self.total > 0 else 1.0
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        extra = " ".join(f"{k}={_format_value(v)}" for k, v in self.postfix.items())
        head = f"[{self.label}] " if self.label else ""
        return f"{head}{self.count}/{self.total} [{bar}] {100 * fraction:3.0f}% {self.rate:.3g} {self.unit}/s {extra}"

    def update(self, n: int = 1, **postfix) -> None:
        """Advance by `n` items and set the postfix fields (`loss=...`); redraw if due."""
        self.count += int(n)
        self.postfix.update(postfix)
        now = time.perf_counter()
        if self.enabled and (now - self._last_draw >= self.min_interval or self.count >= self.total):
            self.stream.write("\r" + self.line())
            self.stream.flush()
            self._last_draw = now
            self._drawn = True

    def close(self) -> None:
        """End the line (if anything was drawn)."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

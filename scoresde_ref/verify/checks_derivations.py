r"""Checks of the results the documents state without proof, and of the derivations index
(derivations/gan.md, derivations/README.md, derivations/ERRATA.md).

The OU mixing bound of 001 ("Análisis del proceso Ornstein-Uhlenbeck") and the likelihood-weighting bound of
002 (line 557) are checked in `checks_losses.py` (`losses/ou_w2_bound`, `losses/ou_w2_rate_is_exactly_one`,
`losses/likelihood_weighting_bound`); the symbolic identities of the derivations are checked by
`tests/test_derivations_symbolic.py` (sympy is a test-only dependency, so nothing here imports it).
"""

import math

import numpy as np
import scipy.stats

from ._citations import (
    citations,
    defined_tests,
    errata_entries,
    index_rows,
    missing,
    repo_root,
    row_status,
    verify_citations,
)
from ._registry import CheckResult, register, skip

# 001's GAN theorems on a pair without symmetry: π = ½N(−1, 0.5²) + ½N(1.5, 0.8²), μ_G = N(0.3, 1.2²).
_GRID = np.linspace(-16.0, 16.0, 32001)  # both densities < 1e-40 outside: the truncation is negligible
_PERTURBATIONS = [np.ones_like(_GRID), _GRID / 4, np.sin(_GRID)]


def _log_pi(x):
    return np.logaddexp(scipy.stats.norm(-1.0, 0.5).logpdf(x), scipy.stats.norm(1.5, 0.8).logpdf(x)) - math.log(2)


def _log_gen(x):
    return scipy.stats.norm(0.3, 1.2).logpdf(x)


def _integrate(values):
    """Trapezoid rule on `_GRID`: spectrally accurate for these smooth, rapidly decaying integrands."""
    return float(np.trapezoid(values, _GRID))


def _value(log_p, log_q, logit):
    """V = E_π log D + E_{μ_G} log(1 − D) for D = sigmoid(logit) (001 L186), in log space."""
    log_d, log_1md = -np.logaddexp(0.0, -logit), -np.logaddexp(0.0, logit)
    return _integrate(np.exp(log_p) * log_d + np.exp(log_q) * log_1md)


def _gan():
    """(V(D*), 2 JS − ln 4, V(D*) at μ_G = π, max V(perturbed D*) − V(D*))."""
    lp, lq = _log_pi(_GRID), _log_gen(_GRID)
    logit_star = lp - lq  # D* = π/(π + μ_G)  (001 L198)
    lm = np.logaddexp(lp, lq) - math.log(2)
    js = 0.5 * _integrate(np.exp(lp) * (lp - lm)) + 0.5 * _integrate(np.exp(lq) * (lq - lm))
    v_star = _value(lp, lq, logit_star)
    excess = max(
        _value(lp, lq, logit_star + eps * h) - v_star for h in _PERTURBATIONS for eps in (-0.3, -0.05, 0.05, 0.3)
    )
    return v_star, 2 * js - math.log(4), js, _value(lp, lp, np.zeros_like(_GRID)), excess


@register("gan_value_at_optimal_discriminator", group="derivations")
def _():
    v_star, right, _, _, _ = _gan()
    return CheckResult(
        abs(v_star - right),
        1e-10,
        note="001 GAN: V(μ_G, D*) = 2 JS − ln 4 (gan.md §2), trapezoid on [−16, 16], 32001 nodes",
    )


@register("gan_minimum_is_minus_ln4", group="derivations")
def _():
    _, _, _, v_equal, _ = _gan()
    return CheckResult(abs(v_equal + math.log(4)), 1e-12, note="001 GAN: C(π) = −ln 4 (D* ≡ ½ at μ_G = π)")


@register("gan_perturbed_discriminators_score_lower", group="derivations")
def _():
    *_, excess = _gan()
    return CheckResult(excess, -1e-6, note="max over 12 perturbations D = sigmoid(logit D* ± εh) of V(D) − V(D*): < 0")


@register("001_gan_value_coefficient_detected", group="errata")
def _():
    v_star, _, js, _, _ = _gan()
    return CheckResult(
        abs(v_star - (js - 2 * math.log(2))),
        1e-2,
        ">=",
        note="E9: the document's JS − 2 ln 2 misses V(D*) by O(1) (normalised JS)",
    )


def _in_checkout(name: str):
    """Register `fn(root) -> CheckResult` as check `name` of group "derivations"; outside a repository checkout
    (`repo_root()` is None) the check is skipped (not applicable), never passed."""

    def decorator(fn):
        @register(name, group="derivations")
        def _():
            root = repo_root()
            if root is None:
                skip("not applicable: no scoresde-ref checkout (derivations/, tests/) here or next to the package")
            return fn(root)

        return fn

    return decorator


@_in_checkout("index_cited_tests_exist")
def _(root):
    """Each `tests/…::test_name`, `::test_name`, bare `test_name`, `test_check[group/name]` and `verify: group/name`
    cited in any `derivations/*.md` names a real test function or a registered check (README.md and ERRATA.md each
    cite > 50). Planted bugs caught: the old index cited tests/test_errata.py::test_residual_detects_a_wrong_variance,
    which lives in tests/test_fokker_planck.py; chains.md kept citing five tests after they became checks."""
    cites = []
    for path in sorted((root / "derivations").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        found = citations(text, f"derivations/{path.name}")
        if path.name in ("README.md", "ERRATA.md"):
            assert len(found) > 50, (path.name, len(found))
        cites += found + verify_citations(text, f"derivations/{path.name}")
    bad = missing(cites, defined_tests(root))
    first = f"; first: {bad[0]}" if bad else ""
    return CheckResult(len(bad), 0, note=f"{len(cites)} test citations in derivations/*.md, {len(bad)} missing{first}")


@_in_checkout("index_rows_have_a_status")
def _(root):
    """Every row (> 250) of the formula tables cites a test or says `not implemented: why`, `out of scope: why` or
    `verify: …`, in the five columns line, formula, derivation, code, status. Planted bugs caught: a row whose last
    cell is empty, says `out of scope` without a reason, or keeps a retired status (`issue 6 (in progress)`)."""
    assert row_status(["1", "f", "-", "-", "out of scope"]) is None
    assert row_status(["1", "f", "-", "-", ""]) is None
    assert row_status(["1", "f", "-", "-", "issue 6 (in progress)"]) is None
    rows = index_rows((root / "derivations" / "README.md").read_text(encoding="utf-8"))
    assert len(rows) > 250, len(rows)
    statuses = [row_status(cells) for _, cells in rows]
    summary = ", ".join(f"{k}: {statuses.count(k)}" for k in sorted(set(statuses), key=str))
    bad = [line for line, cells in rows if len(cells) != 5 or row_status(cells) is None]
    return CheckResult(len(bad), 0, note=f"{len(rows)} index rows ({summary}); without a status: {bad or 'none'}")


@_in_checkout("errata_entries_have_a_test_or_a_reason")
def _(root):
    """Each `### E<n>` entry of ERRATA.md has a **Test:** field that cites an existing test or starts with `none (`
    and a reason; entries are numbered E1, E2, … without gaps, and the summary table lists each one."""
    text = (root / "derivations" / "ERRATA.md").read_text(encoding="utf-8")
    entries = errata_entries(text)
    numbers = [int(n[1:]) for n, _ in entries]
    assert sorted(numbers) == list(range(1, len(numbers) + 1)), numbers
    summary = text[text.index("## Summary") : text.index("## 000_")]
    assert all(f"| E{n} |" in summary for n in numbers), "an erratum missing from the summary table"
    names = defined_tests(root)
    bad = []
    for number, field in entries:
        cites = [c for c in citations(field, number) if c.name]
        if not (cites or field.startswith("none (")) or missing(cites, names):
            bad.append(number)
    return CheckResult(
        len(bad) + (len(entries) == 0),
        0,
        note=f"{len(entries)} errata; without a (real) test or a reason: {bad or 'none'}",
    )

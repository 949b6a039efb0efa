"""Test configuration: float64, strict promotion, Hypothesis profiles, fresh keys.

Hypothesis profiles (DESIGN "How we verify" 6; `deadline=None` everywhere: JIT compilation makes first calls
slow):

- `ci`, loaded when `CI` is set (`.ci/run`) and `HYPOTHESIS_PROFILE` is not: fast and reproducible —
  derandomized (the same examples on every run, so a statistical property's false-failure probability is
  spent once, not per run), 10 examples per property, no example database, failing examples printed as a
  reproduction blob.
- `dev`, the default: 25 random examples per property; failures are remembered in `.hypothesis/` and replayed.
- `thorough`, selected with `HYPOTHESIS_PROFILE=thorough` (which wins over `CI`): 500 random examples per
  property, for a local hunt (expect tens of minutes). Expensive properties ask for `strategies.examples(n)`,
  which scales with the profile.
"""

import os

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "dev",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=10,
    derandomize=True,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=500,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def getkey():
    """Hands out distinct keys from a fixed seed: `getkey()` -> a new PRNG key each call."""
    key = jax.random.key(0)

    def _next():
        nonlocal key
        key, sub = jax.random.split(key)
        return sub

    return _next

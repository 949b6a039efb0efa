"""Hypothesis strategies shared by the tests: SDEs with drawn parameters (as JAX arrays, so a jit-compiled
check compiles once per SDE class, not once per value), times, and drawn data (Gaussians, mixtures).

Shapes come from a small fixed set (d = 2, K = 2 components): a drawn value never changes a shape, so
Hypothesis examples reuse one compilation. Magnitudes are bounded; each range below says why.

- `sde_params[name]`: one strategy per closed-form SDE of `sr.examples.sde_zoo()` (wide ranges, for the
  kernel and Fokker–Planck properties).
- `vp_sdes`, `subvp_sdes`, `ve_sdes`, `ou_sdes`: the SDEs the samplers run on, over ranges where the step
  counts of tests/test_properties_samplers.py are in the asymptotic regime (derivations/samplers.md §5).
- `gaussians()`: N(μ, R diag(λ) Rᵀ) in d = 2, with drawn mean, eigenvalues (log-uniform, bounded condition
  number) and rotation angle: every full covariance of that spectrum is reachable.
- `mixtures()`: 2-component, 2-D Gaussian mixtures with drawn weights, means and covariances.
- `points(bound)`: one `(2,)` example with entries in `[-bound, bound]`.
- `examples(n_ci)`: the example count of an expensive property, scaled with the Hypothesis profile.
"""

import math

import jax.numpy as jnp
from hypothesis import settings
from hypothesis import strategies as st

import scoresde_ref as sr

log_t_fraction = st.floats(-5.0, 0.0)

CI_MAX_EXAMPLES = 10  # the `ci` profile's max_examples (tests/conftest.py)


def examples(n_ci: int) -> int:
    """`max_examples` for an expensive property: `n_ci` under the `ci` profile, scaled with the loaded profile's
    `max_examples` (×2.5 under `dev`, ×50 under `thorough`), so that `HYPOTHESIS_PROFILE=thorough` still means more."""
    return max(1, round(n_ci * settings.default.max_examples / CI_MAX_EXAMPLES))


def _f(lo, hi):
    return st.floats(lo, hi, allow_nan=False)


def _a(v):
    """A float as a 0-d JAX array (traced by `eqx.filter_jit`: new values reuse the compilation)."""
    return jnp.asarray(v)


sde_params = {
    "VE": st.builds(lambda lo, r: sr.VESDE(_a(lo), _a(lo * r)), _f(1e-3, 1.0), _f(1.5, 1e4)),
    "VP": st.builds(lambda b0, db: sr.VPSDE(_a(b0), _a(b0 + db)), _f(0.0, 5.0), _f(0.1, 30.0)),
    "subVP": st.builds(lambda b0, db: sr.SubVPSDE(_a(b0), _a(b0 + db)), _f(0.0, 5.0), _f(0.1, 30.0)),
    "OU": st.builds(
        lambda th, s, T: sr.OUSDE(_a(th), _a(s), _a(T)),
        _f(0.05, 10.0),
        _f(0.1, 5.0),
        _f(0.1, 3.0),
    ),
    "Brownian": st.builds(lambda s, T: sr.BrownianMotion(_a(s), _a(T)), _f(0.1, 5.0), _f(0.1, 3.0)),
    "exp_t": st.builds(lambda T: sr.ExpDiffusionSDE(_a(T)), _f(0.1, 3.0)),
    "sigma_t": st.builds(lambda s, T: sr.PowerDiffusionSDE(_a(s), _a(T)), _f(0.2, 50.0), _f(0.1, 2.0)),
    "const_drift": st.builds(
        lambda b0, b1, s, T: sr.ConstantDriftSDE(jnp.array([b0, b1]), _a(s), _a(T)),
        _f(-3.0, 3.0),
        _f(-3.0, 3.0),
        _f(0.05, 2.0),
        _f(0.1, 3.0),
    ),
}
any_sde = st.one_of(*(sde_params[name] for name in sorted(sde_params)))

# The samplers' SDEs. β ≤ 20 (the paper's β_max) keeps h·β(T) ≤ 0.05 at N = 400, the smallest step count of the
# weak-order properties; VE ratios σ_max/σ_min ≥ 10 (below, the schedule is nearly flat and the error tiny).
vp_sdes = st.builds(lambda b0, db: sr.VPSDE(_a(b0), _a(b0 + db)), _f(0.0, 2.0), _f(1.0, 18.0))
subvp_sdes = st.builds(lambda b0, db: sr.SubVPSDE(_a(b0), _a(b0 + db)), _f(0.0, 2.0), _f(1.0, 18.0))
ve_sdes = st.builds(lambda lo, r: sr.VESDE(_a(lo), _a(lo * r)), _f(0.01, 0.1), _f(10.0, 1e3))
ou_sdes = st.builds(lambda th, s, T: sr.OUSDE(_a(th), _a(s), _a(T)), _f(0.2, 3.0), _f(0.3, 2.0), _f(0.5, 2.0))


def gaussian(mean, log_eigenvalues, angle) -> sr.Gaussian:
    r"""$\mathcal N(\mu, R\,\mathrm{diag}(e^{\ell})\,R^\top)$ with $R$ the rotation by `angle` (d = 2)."""
    c, s = math.cos(angle), math.sin(angle)
    R = jnp.array([[c, -s], [s, c]])
    lam = jnp.exp(jnp.asarray(log_eigenvalues))
    return sr.Gaussian(jnp.asarray(mean), (R * lam[None, :]) @ R.T)


def gaussians(mean_bound=2.0, eigenvalues=(0.25, 2.0)):
    """2-D Gaussians: mean in [−mean_bound, mean_bound]², eigenvalues log-uniform in `eigenvalues`, any rotation."""
    lo, hi = math.log(eigenvalues[0]), math.log(eigenvalues[1])
    pair = lambda a, b: st.tuples(_f(a, b), _f(a, b))  # noqa: E731
    return st.builds(gaussian, pair(-mean_bound, mean_bound), pair(lo, hi), _f(0.0, math.pi))


def mixtures(mean_bound=3.0, eigenvalues=(0.1, 2.0)):
    """2-component 2-D Gaussian mixtures: weight of the first in [0.05, 0.95], components as `gaussians`."""

    def build(w, g0, g1):
        return sr.GaussianMixture(jnp.array([w, 1.0 - w]), jnp.stack([g0.mean, g1.mean]), jnp.stack([g0.cov, g1.cov]))

    component = gaussians(mean_bound, eigenvalues)
    return st.builds(build, _f(0.05, 0.95), component, component)


def points(bound=4.0):
    """One example `x` of shape (2,), entries in [−bound, bound]."""
    return st.builds(lambda a, b: jnp.array([a, b]), _f(-bound, bound), _f(-bound, bound))

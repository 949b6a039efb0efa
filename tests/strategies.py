"""Hypothesis strategies shared by the tests: SDEs with drawn parameters (as JAX arrays, so
a jit-compiled check compiles once per SDE class) and times."""

import jax.numpy as jnp
from hypothesis import strategies as st

import scoresde_ref as sr

log_t_fraction = st.floats(-5.0, 0.0)


def _f(lo, hi):
    return st.floats(lo, hi, allow_nan=False)


sde_params = {
    "VE": st.builds(lambda lo, r: sr.VESDE(jnp.asarray(lo), jnp.asarray(lo * r)), _f(1e-3, 1.0), _f(1.5, 1e4)),
    "VP": st.builds(lambda b0, db: sr.VPSDE(jnp.asarray(b0), jnp.asarray(b0 + db)), _f(0.0, 5.0), _f(0.1, 30.0)),
    "subVP": st.builds(lambda b0, db: sr.SubVPSDE(jnp.asarray(b0), jnp.asarray(b0 + db)), _f(0.0, 5.0), _f(0.1, 30.0)),
    "OU": st.builds(
        lambda th, s, T: sr.OUSDE(jnp.asarray(th), jnp.asarray(s), jnp.asarray(T)),
        _f(0.05, 10.0),
        _f(0.1, 5.0),
        _f(0.1, 3.0),
    ),
    "Brownian": st.builds(lambda s, T: sr.BrownianMotion(jnp.asarray(s), jnp.asarray(T)), _f(0.1, 5.0), _f(0.1, 3.0)),
    "exp_t": st.builds(lambda T: sr.ExpDiffusionSDE(jnp.asarray(T)), _f(0.1, 3.0)),
    "sigma_t": st.builds(
        lambda s, T: sr.PowerDiffusionSDE(jnp.asarray(s), jnp.asarray(T)), _f(0.2, 50.0), _f(0.1, 2.0)
    ),
    "const_drift": st.builds(
        lambda b0, b1, s, T: sr.ConstantDriftSDE(jnp.array([b0, b1]), jnp.asarray(s), jnp.asarray(T)),
        _f(-3.0, 3.0),
        _f(-3.0, 3.0),
        _f(0.05, 2.0),
        _f(0.1, 3.0),
    ),
}

r"""Twin of score_sde_pytorch's `likelihood.py`: `get_likelihood_fn` returns `likelihood_fn(model, data, *, noise)`
giving `(bpd, z, nfe)` like the library, computed with the project's divergence estimators
(`scoresde_ref.likelihood`: `value_and_divergence`, `value_and_quadratic_forms`) and bits/dim (`bits_per_dim`).

$\log p_\epsilon(x) = \log p_T(z) + \int_\epsilon^T \nabla\cdot\tilde f(x(t), t)\,dt$ with
$\tilde f = f - \tfrac12 g^2 s$, integrated by `scipy.integrate.solve_ivp(method, rtol, atol)` from `eps` to `T` on
the state `[x (flattened batch), Δ (n,)]`, one error norm for the whole batch as in the library. Then, as the
library does, $\text{bpd} = -(\log p_T(z) + \Delta)/(D\ln 2) + 7 - \text{inverse\_scaler}(-1)$ ($+8$ for data
in $[0, 1]$, $+7$ in $[-1, 1]$).

**Divergence.** `hutchinson_type="Rademacher"` or `"Gaussian"`: $v^\top (\partial\tilde f/\partial x) v$ with the probe
$v$ given as `noise` (the library's `torch.randint_like(data, 2) * 2 - 1` or `torch.randn_like(data)`, drawn once
per call). An addition: `hutchinson_type=None` takes the exact trace (no noise).

`model` is the score function `score_fn(x, t)` on a batch, JAX-traceable here (differentiated).

**Precision.** The library casts the state to float32 before each evaluation whatever torch's default dtype;
the twin evaluates in the dtype of `sde` (float64 by default: the exact-arithmetic answer; `np.float32` for the
library's rounding).
"""

import jax
import jax.numpy as jnp
import numpy as np

from ..._divergence import value_and_divergence, value_and_quadratic_forms
from ...likelihood._bits_per_dim import bits_per_dim
from ...samplers._ode import solve_ivp_jax
from ._arrays import as_batch

HUTCHINSON_TYPES = ("Rademacher", "Gaussian", None)


def get_likelihood_fn(sde, inverse_scaler, hutchinson_type="Rademacher", rtol=1e-5, atol=1e-5, method="RK45",
                      eps=1e-5):
    """The library's likelihood function factory (module docstring)."""
    if hutchinson_type not in HUTCHINSON_TYPES:
        raise ValueError(
            f"get_likelihood_fn: hutchinson_type must be one of {HUTCHINSON_TYPES}; got {hutchinson_type!r}"
        )

    def likelihood_fn(model, data, *, noise=None):
        owner = "likelihood_fn"
        data = as_batch(data, sde.dtype, "data", owner)
        shape, n = data.shape, data.shape[0]
        if hutchinson_type is None:
            probes = None
        elif noise is None or jnp.shape(noise) != shape:
            raise ValueError(f"{owner}: noise must be the Hutchinson probe of shape {shape}; got {noise!r:.60}")
        else:
            probes = jnp.asarray(noise, dtype=sde.dtype).reshape(n, -1)
        rsde = sde.reverse(model, probability_flow=True)

        def drift_one(y, t):
            return rsde.sde(y.reshape((1,) + shape[1:]), t[None])[0].ravel()

        @jax.jit
        def ode_func(t, y):
            x = y[: -n].reshape(n, -1).astype(sde.dtype)
            t = jnp.broadcast_to(t.astype(sde.dtype), (n,))
            if probes is None:
                drift, div = jax.vmap(lambda xi, ti: value_and_divergence(lambda u: drift_one(u, ti), xi))(x, t)
            else:
                drift, div = jax.vmap(
                    lambda xi, ti, vi: value_and_quadratic_forms(lambda u: drift_one(u, ti), xi, vi[None])
                )(x, t, probes)
            return jnp.concatenate([drift.ravel(), div.ravel()]).astype(jnp.float64)

        init = jnp.concatenate([data.ravel().astype(jnp.float64), jnp.zeros((n,), jnp.float64)])
        zp, nfe = solve_ivp_jax(ode_func, (eps, sde.T), init, rtol=rtol, atol=atol, method=method, owner=owner)
        z = jnp.asarray(zp[:-n].reshape(shape), dtype=sde.dtype)
        delta_logp = jnp.asarray(zp[-n:], dtype=sde.dtype)
        prior_logp = sde.prior_logp(z)
        D = int(np.prod(shape[1:]))
        bpd = bits_per_dim(prior_logp + delta_logp, D, data_range=None) + (7.0 - inverse_scaler(-1.0))
        return bpd, z, nfe

    return likelihood_fn

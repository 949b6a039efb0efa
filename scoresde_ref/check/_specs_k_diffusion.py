r"""Twin specs of k-diffusion's noise schedules (`scoresde_ref.compat.k_diffusion.sampling`): the target is the
function itself, called with the library's arguments.

`get_sigmas_vp(n, eps_s=...)` at the library's defaults $\beta_d = 19.9$, $\beta_{\min} = 0.1$ (the VP SDE of the
paper, $\beta_{\max} = 20$): $\sigma(t) = \sqrt{e^{B(t)} - 1}$; a target forming $e^B - 1$ by subtraction loses
$\kappa = 1 + 1/(e^{B(\epsilon_s)} - 1)$. `get_sigmas_karras(n, sigma_min, sigma_max, rho)`: $\kappa = 1 + \rho$ (a
$\rho$-th power of a sum).
"""

import numpy as np
from hypothesis import strategies as st

from ..compat.k_diffusion import sampling as kd
from ._registry import MethodSpec, TwinSpec, register


def _with_dtype(fn):
    def twin(dtype):
        return lambda *args, **kwargs: fn(*args, **kwargs, dtype=dtype)

    return twin


_VP_CASE = st.fixed_dictionaries({"n": st.integers(2, 40), "eps_s": st.sampled_from([1e-3, 1e-2, 1e-5])})


def _vp_run(fn, case):
    return {"sigmas": np.asarray(fn(case["n"], eps_s=case["eps_s"]))}


def _vp_condition(case, dtype):
    return 1.0 + 1.0 / np.expm1(0.1 * case["eps_s"] + 0.5 * 19.9 * case["eps_s"] ** 2)


register(
    TwinSpec(
        "k_diffusion.get_sigmas_vp",
        _with_dtype(kd.get_sigmas_vp),
        (MethodSpec("get_sigmas_vp", _VP_CASE, _vp_run, _vp_condition),),
        "k_diffusion.sampling.get_sigmas_vp",
        doc="VP noise-to-signal levels at the library's beta_d = 19.9, beta_min = 0.1 (NVlabs/edm #5)",
    )
)

_KARRAS_CASE = st.fixed_dictionaries(
    {
        "n": st.integers(2, 40),
        "sigma_min": st.sampled_from([0.002, 0.03, 0.1]),
        "sigma_max": st.sampled_from([80.0, 14.6, 1.0]),
        "rho": st.sampled_from([7.0, 1.0, 3.0]),
    }
)


def _karras_run(fn, case):
    return {"sigmas": np.asarray(fn(case["n"], case["sigma_min"], case["sigma_max"], rho=case["rho"]))}


register(
    TwinSpec(
        "k_diffusion.get_sigmas_karras",
        _with_dtype(kd.get_sigmas_karras),
        (MethodSpec("get_sigmas_karras", _KARRAS_CASE, _karras_run, lambda case, dtype: 1.0 + case["rho"]),),
        "k_diffusion.sampling.get_sigmas_karras",
        doc="Karras et al. (2022) eq. (5) levels and a final 0",
    )
)

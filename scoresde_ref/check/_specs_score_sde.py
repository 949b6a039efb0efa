r"""Twin specs of score_sde_pytorch (`scoresde_ref.compat.score_sde`): the Langevin corrector's update and the PC
sampler, with the library's conventions ($\alpha_i = 1 - \beta_i$, corrector before predictor; issues #73, #50).

Inputs: a VP SDE with $N$ levels, a linear score $s(x, t) = -c\,x$ (the same callable for target and twin), a batch
and all the draws. The target is the class (`LangevinCorrector`) or the factory (`get_pc_sampler`) with the
library's signature.
"""

import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

from ..compat.score_sde import sampling as ss
from ..compat.score_sde import sde_lib
from ._registry import MethodSpec, TwinSpec, register
from ._strategies import arrays, batch_shapes, normal_arrays


class LinearScore:
    """$s(x, t) = -c\\,x$ on a batch: a deterministic model both sides call."""

    def __init__(self, c: float):
        self.c = float(c)

    def __call__(self, x, t):
        return -self.c * jnp.asarray(x)


@st.composite
def corrector_cases(draw):
    shape = draw(batch_shapes(trailing=((3,), (2, 2))))
    N = draw(st.sampled_from([25, 50, 1000]))
    n_steps = draw(st.integers(1, 2))
    return {
        "N": N,
        "snr": draw(st.sampled_from([0.16, 0.05])),
        "n_steps": n_steps,
        "c": draw(st.sampled_from([0.5, 2.0])),
        "t": draw(st.sampled_from([1.0, 0.5, 0.02])),
        "x": draw(arrays(shape)),
        "noise": np.stack([draw(normal_arrays(shape)) for _ in range(n_steps)]),
    }


def corrector_run(cls, case):
    sde = sde_lib.VPSDE(N=case["N"])
    corrector = cls(sde, LinearScore(case["c"]), case["snr"], case["n_steps"])
    x, x_mean = corrector.update_fn(case["x"], case["t"], noise=list(case["noise"]))
    return {"x": np.asarray(x), "x_mean": np.asarray(x_mean)}


@st.composite
def sampler_cases(draw):
    shape = draw(batch_shapes(trailing=((2,),), max_batch=2))
    N = draw(st.integers(3, 4))
    draws = 1 + 2 * N  # the prior, then at each time one corrector draw and one predictor draw
    return {
        "N": N,
        "shape": shape,
        "c": draw(st.sampled_from([0.5, 1.0])),
        "noise": np.stack([draw(normal_arrays(shape)) for _ in range(draws)]),
    }


def sampler_run(factory, case):
    sde = sde_lib.VPSDE(beta_min=0.1, beta_max=2.0, N=case["N"])  # N > beta_max: the DDPM form's betas < 1
    sampler = factory(
        sde,
        case["shape"],
        ss.ReverseDiffusionPredictor,
        ss.LangevinCorrector,
        lambda x: x,
        0.16,
        n_steps=1,
        denoise=True,
        eps=1e-3,
    )
    x, nfe = sampler(LinearScore(case["c"]), noise=list(case["noise"]))
    return {"x": np.asarray(x), "nfe": np.asarray(float(nfe))}


def _float64(cls_or_fn):
    return lambda dtype: cls_or_fn


register(
    TwinSpec(
        "score_sde.LangevinCorrector",
        _float64(ss.LangevinCorrector),
        (MethodSpec("update_fn", corrector_cases(), corrector_run),),
        "score_sde_pytorch sampling.LangevinCorrector",
        dtypes=(np.float64,),
        doc="one Langevin corrector update, alpha_i = 1 - beta_i (the library; issue #73), batch-mean norms (#41)",
    )
)
register(
    TwinSpec(
        "score_sde.get_pc_sampler",
        _float64(ss.get_pc_sampler),
        (MethodSpec("pc_sampler", sampler_cases(), sampler_run),),
        "score_sde_pytorch sampling.get_pc_sampler",
        dtypes=(np.float64,),
        doc="the PC sampler, corrector before predictor at each time (the library; issue #50)",
    )
)

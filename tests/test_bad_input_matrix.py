"""The bad-input matrix: for every public entry point, each class of invalid input, eagerly and under `jit`.

Every case must raise a `ValueError` or `TypeError` (eagerly; at trace time under `jit` for static facts
such as shapes, dtypes and integer counts) or an `equinox.EquinoxRuntimeError` (a traced value checked by
`eqx.error_if` at run time), and the message must name the parameter. A case that returns a number, a NaN,
clamps an index or raises anything else fails: this is the suite's guard against wrong numbers that look
right (issue 13).

Run as a script against any tree, `PYTHONPATH=<tree> python tests/test_bad_input_matrix.py`, it prints the
counts per outcome (clear error / unclear error / silently accepted / NaN / other crash) — how the before
and after numbers of the closing note were measured.
"""

import dataclasses
import math
import sys
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

import scoresde_ref as sr  # noqa: E402

INF, NAN = float("inf"), float("nan")
KEY = jax.random.key(0)


@dataclasses.dataclass(frozen=True)
class Case:
    """`call(value)` with a bad `value`; `param` must appear in the message. `jit`: also run the call under
    `eqx.filter_jit` with `value` traced (when the value is an array-like number: a runtime check)."""

    entry: str
    kind: str
    param: str
    call: Callable
    value: object
    jit: bool = True

    @property
    def id(self) -> str:
        return f"{self.entry}-{self.kind}-{self.param}-{self.value!r}"[:90]


# --- fixtures (module level: the matrix is data) -------------------------------------------------------------
VP, VE, SUBVP, OU = sr.VPSDE(), sr.VESDE(), sr.SubVPSDE(), sr.OUSDE()
G2 = sr.Gaussian(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))
GMM2 = sr.GaussianMixture(
    jnp.array([0.3, 0.7]), jnp.array([[-2.0, 0.0], [2.0, 1.0]]), jnp.stack([jnp.eye(2), 0.5 * jnp.eye(2)])
)
SCORE = sr.exact_score(VP, GMM2)
SCORE_G = sr.exact_score(VP, G2)
LABELLED = sr.LabelledMixture(GMM2)
X2 = jnp.array([0.3, -0.2])
XB = jnp.ones((4, 2)) * 0.1
DDPM = sr.DDPMChain.linear(10, beta_min=0.1, beta_max=5.0)  # beta_i = beta(t)/N < 1 needs N > beta_max
SMLD = sr.SMLDChain.geometric(10)
OUC = sr.OUChain(0.1, 10)
DISC = sr.discretize(VP, 50)
IDS = jnp.arange(4)


def _model(x, t):  # a two-class "classifier" for classifier_loss: logits linear in x
    return jnp.stack([x[0], -x[0]]) * t


def pc(param):
    return lambda v: sr.pc_sample(KEY, VP, SCORE, XB, **({"n_steps": 3} | {param: v})).x


def pc_corr(param):
    return lambda v: sr.pc_sample(KEY, VP, SCORE, XB, n_steps=3, corrector="langevin", **{param: v}).x


def ode(param, **extra):
    return lambda v: sr.ode_sample(VP, SCORE, XB, **(extra | {param: v})).x


def loglik(param):
    return lambda v: sr.log_likelihood(VP, SCORE_G, X2, **{param: v})


CASES = [
    # SDE constructors: finite scalars in range
    Case("VPSDE", "nonfinite", "beta_max", lambda v: sr.VPSDE(0.1, v).kernel(0.5), INF),
    Case("VPSDE", "nonfinite", "beta_min", lambda v: sr.VPSDE(v, 20.0).kernel(0.5), NAN),
    Case("VPSDE", "range", "beta_min", lambda v: sr.VPSDE(v, 20.0).kernel(0.5), -1.0),
    Case("VPSDE", "range", "beta_max", lambda v: sr.VPSDE(1.0, v).kernel(0.5), 0.5),
    Case("VPSDE", "shape", "beta_min", lambda v: sr.VPSDE(v, 20.0).kernel(0.5), jnp.array([0.1, 0.2])),
    Case("SubVPSDE", "nonfinite", "beta_max", lambda v: sr.SubVPSDE(0.1, v).kernel(0.5), INF),
    Case("VESDE", "nonfinite", "sigma_max", lambda v: sr.VESDE(0.01, v).kernel(0.5), INF),
    Case("VESDE", "nonfinite", "sigma_min", lambda v: sr.VESDE(v, 50.0).kernel(0.5), NAN),
    Case("VESDE", "range", "sigma_min", lambda v: sr.VESDE(v, 50.0).kernel(0.5), 0.0),
    Case("VESDE", "range", "sigma_max", lambda v: sr.VESDE(1.0, v).kernel(0.5), 0.5),
    Case("OUSDE", "nonfinite", "theta", lambda v: sr.OUSDE(theta=v).kernel(0.5), INF),
    Case("OUSDE", "range", "theta", lambda v: sr.OUSDE(theta=v).kernel(0.5), 0.0),
    Case("OUSDE", "range", "sigma", lambda v: sr.OUSDE(sigma=v).kernel(0.5), -1.0),
    Case("OUSDE", "nonfinite", "T", lambda v: sr.OUSDE(T=v).kernel(0.5), INF),
    Case("AffineSDE", "nonfinite", "T", lambda v: sr.AffineSDE(VP.drift_coeff, VP.drift_offset, VP.diffusion, T=v)
         .kernel(0.5), INF),
    Case("AffineSDE", "integer", "n_nodes", lambda v: sr.AffineSDE.from_sde(VP, n_nodes=v), 8.5, jit=False),
    Case("BrownianMotion", "range", "sigma", lambda v: sr.sde.BrownianMotion(sigma=v).kernel(0.5), 0.0),
    Case("ConstantDriftSDE", "nonfinite", "b", lambda v: sr.sde.ConstantDriftSDE(jnp.array([v, 0.0])).kernel_offset(
        0.5), NAN),
    # coefficient functions: t in [0, T] for every one, not only the kernel
    Case("VPSDE.diffusion", "time", "t", lambda v: VP.diffusion(v), -1.0),
    Case("VPSDE.diffusion", "time", "t", lambda v: VP.diffusion(v), 2.0),
    Case("VPSDE.drift", "time", "t", lambda v: VP.drift(X2, v), 1.5),
    Case("VPSDE.beta", "time", "t", lambda v: VP.beta(v), 2.0),
    Case("VPSDE.kernel", "time", "t", lambda v: VP.kernel(v), NAN),
    Case("SubVPSDE.diffusion", "time", "t", lambda v: SUBVP.diffusion(v), -0.5),
    Case("VESDE.diffusion", "time", "t", lambda v: VE.diffusion(v), NAN),
    Case("VESDE.sigma", "time", "t", lambda v: VE.sigma(v), 2.0),
    Case("OUSDE.diffusion", "time", "t", lambda v: OU.diffusion(v), 3.0),
    Case("loss_weight", "time", "t", lambda v: sr.losses.loss_weight(VP, v, "g2"), 2.0),
    Case("loss_weight", "time", "t", lambda v: sr.losses.loss_weight(VP, v, "uniform"), -1.0),
    Case("loss_weight", "time", "t", lambda v: sr.losses.loss_weight(VP, v, "sigma2"), 1.5),
    # shapes: x is (d,) with the object's d; batches (n, d) with n >= 1
    Case("GaussianMixture.score", "shape", "x", lambda v: GMM2.score(v), jnp.ones(1)),
    Case("GaussianMixture.log_prob", "shape", "x", lambda v: GMM2.log_prob(v), jnp.ones(3)),
    Case("Gaussian.log_prob", "shape", "x", lambda v: G2.log_prob(v), jnp.ones(1)),
    Case("Gaussian.log_prob", "shape", "x", lambda v: G2.log_prob(v), jnp.ones((2, 2))),
    Case("Gaussian.score", "shape", "x", lambda v: G2.score(v), jnp.ones(1)),
    Case("exact_score", "shape", "x", lambda v: SCORE(v, 0.5), jnp.ones(1)),
    Case("reverse_drift", "shape", "x", lambda v: sr.reverse_drift(VP, SCORE, v, 0.5), jnp.ones(1)),
    Case("probability_flow_drift", "shape", "x", lambda v: sr.probability_flow_drift(VP, SCORE, v, 0.5),
         jnp.ones(1)),
    Case("dsm_loss", "shape", "x", lambda v: sr.dsm_loss(KEY, VP, SCORE, v), jnp.ones((8, 1))),
    Case("dsm_loss", "empty", "x0", lambda v: sr.dsm_loss(KEY, VP, SCORE, v), jnp.ones((0, 2))),
    Case("sliced_score_matching_loss", "shape", "x", lambda v: sr.sliced_score_matching_loss(KEY, VP, SCORE, v),
         jnp.ones((8, 1))),
    Case("marginal", "time", "t", lambda v: sr.marginal(VP, G2, v).mean, 2.0),
    Case("log_fokker_planck_residual", "time", "t", lambda v: sr.log_fokker_planck_residual(
        VP, lambda x, t: sr.marginal(VP, G2, t).log_prob(x), X2, v), 1.5),
    Case("impute_sample", "shape", "x_T", lambda v: sr.impute_sample(
        KEY, VP, SCORE, v, X2, jnp.array([True, False]), n_steps=3).x, jnp.ones((4, 1))),
    Case("ism_loss", "shape", "x", lambda v: sr.ism_loss(KEY, VP, SCORE, v), jnp.ones((8, 1))),
    Case("pc_sample", "shape", "x_T", lambda v: sr.pc_sample(KEY, VP, SCORE, v, n_steps=3).x, jnp.ones((4, 1))),
    Case("pc_sample", "shape", "x_T", lambda v: sr.pc_sample(KEY, VP, SCORE, v, n_steps=3).x, jnp.ones(2)),
    Case("pc_sample", "empty", "x_T", lambda v: sr.pc_sample(KEY, VP, SCORE, v, n_steps=3).x, jnp.ones((0, 2))),
    Case("ode_sample", "shape", "x_T", lambda v: sr.ode_sample(VP, SCORE, v).x, jnp.ones((4, 3))),
    Case("sde_sample", "shape", "x_T", lambda v: sr.sde_sample(KEY, VP, SCORE, v, n_steps=2).x, jnp.ones((4, 1))),
    Case("ddim_sample", "shape", "x_T", lambda v: sr.ddim_sample(VP, SCORE, v, n_steps=2).x, jnp.ones((4, 1))),
    Case("log_likelihood", "shape", "x", lambda v: sr.log_likelihood(VP, SCORE, v), jnp.ones(1)),
    # integer step counts: rejected, never rounded
    Case("pc_sample", "integer", "n_steps", pc("n_steps"), 2.5, jit=False),
    Case("pc_sample", "integer", "n_steps", pc("n_steps"), 1, jit=False),
    Case("pc_sample", "integer", "corrector_steps", pc_corr("corrector_steps"), -1, jit=False),
    Case("pc_sample", "integer", "corrector_steps", pc_corr("corrector_steps"), 1.5, jit=False),
    Case("ode_sample", "integer", "n_steps", ode("n_steps", solver="heun"), 2.5, jit=False),
    Case("ode_sample", "integer", "max_steps", ode("max_steps"), 0, jit=False),
    Case("sde_sample", "integer", "n_steps", lambda v: sr.sde_sample(KEY, VP, SCORE, XB, n_steps=v).x, 2.5,
         jit=False),
    Case("ddim_sample", "integer", "n_steps", lambda v: sr.ddim_sample(VP, SCORE, XB, n_steps=v).x, 2.5, jit=False),
    Case("annealed_langevin_sample", "integer", "n_steps_each", lambda v: sr.annealed_langevin_sample(
        KEY, lambda x, s: -x / s**2, jnp.array([0.1, 1.0]), X2, eps=1e-3, n_steps_each=v).x, 1.5, jit=False),
    Case("GaussianMixture.sample", "integer", "n", lambda v: GMM2.sample(KEY, v), 2.5, jit=False),
    Case("Gaussian.sample", "integer", "n", lambda v: G2.sample(KEY, v), 0, jit=False),
    Case("Empirical.sample", "integer", "n", lambda v: sr.Empirical(XB).sample(KEY, v), 1.5, jit=False),
    Case("discretize", "integer", "n_steps", lambda v: sr.discretize(VP, v), 50.5, jit=False),
    Case("DDPMChain.linear", "integer", "n_steps", lambda v: sr.DDPMChain.linear(v), 10.5, jit=False),
    Case("bits_per_dim", "integer", "d", lambda v: sr.bits_per_dim(-3.0, v), 2.5, jit=False),
    # tolerances > 0 (never "time t must lie in [0, T]")
    Case("ode_sample", "tolerance", "rtol", ode("rtol"), -1.0),
    Case("ode_sample", "tolerance", "atol", ode("atol"), 0.0),
    Case("ode_sample", "tolerance", "rtol", ode("rtol"), NAN),
    Case("log_likelihood", "tolerance", "rtol", loglik("rtol"), -1.0),
    Case("log_likelihood", "tolerance", "atol", loglik("atol"), NAN),
    Case("log_likelihood", "tolerance", "atol", loglik("atol"), 0.0),
    # labels in range: never wrapped or clamped
    Case("LabelledMixture.conditional", "label", "y", lambda v: LABELLED.conditional(v).mean, 5),
    Case("LabelledMixture.conditional", "label", "y", lambda v: LABELLED.conditional(v).mean, -1),
    Case("class_log_likelihood", "label", "y", lambda v: sr.class_log_likelihood(VP, LABELLED, v)(X2, 0.5), 5),
    Case("classifier_loss", "label", "y0", lambda v: sr.classifier_loss(_model, KEY, VP, XB, IDS * 0 + v), 5),
    Case("ClassifierLogLikelihood", "label", "y", lambda v: sr.classifier_log_likelihood(_model, v)(X2, 0.5), 2),
    # chain indices: step i in {1, ..., N}, kernel i in {0, ..., N}, integers
    Case("DDPMChain.step", "index", "i", lambda v: DDPM.step(X2, v, X2), 0),
    Case("DDPMChain.step", "index", "i", lambda v: DDPM.step(X2, v, X2), 11),
    Case("SMLDChain.reverse_step", "index", "i", lambda v: SMLD.reverse_step(X2, v, lambda x, j: -x, X2), 0),
    Case("DDPMChain.reverse_kernel", "index", "i", lambda v: DDPM.reverse_kernel(X2, v, lambda x, j: -x)[0], 11),
    Case("OUChain.backward_kernel", "index", "k", lambda v: OUC.backward_kernel(X2, v, X2)[0], 10),
    Case("DDPMChain.kernel", "index", "i", lambda v: DDPM.kernel(v), 11),
    Case("DDPMChain.kernel", "index", "i", lambda v: DDPM.kernel(v), -1),
    Case("DDPMChain.kernel", "index", "i", lambda v: DDPM.kernel(v), 1.5),
    Case("discretize.step", "index", "i", lambda v: DISC.step(X2, v, X2), 0),
    Case("propagate_moments", "index", "i", lambda v: sr.propagate_moments(DDPM.step, X2, X2, jnp.array([1, v]))[0],
         0),
    # parameters of data: NaN/inf refused
    Case("Gaussian", "nonfinite", "mean", lambda v: sr.Gaussian(jnp.array([v, 0.0]), jnp.eye(2)).log_prob(X2), NAN),
    Case("GaussianMixture", "nonfinite", "means", lambda v: sr.GaussianMixture(
        jnp.array([0.5, 0.5]), jnp.array([[v, 0.0], [1.0, 1.0]]), jnp.stack([jnp.eye(2)] * 2)).log_prob(X2), NAN),
    Case("GaussianMixture", "nonfinite", "weights", lambda v: sr.GaussianMixture(
        jnp.array([v, 0.5]), GMM2.means, GMM2.covs).log_prob(X2), NAN),
    Case("Empirical", "nonfinite", "points", lambda v: sr.Empirical(jnp.array([[v, 0.0], [1.0, 1.0]])).mean, INF),
    Case("IsotropicGaussianMixture", "nonfinite", "std", lambda v: sr.distributions.IsotropicGaussianMixture(
        jnp.array([1.0]), jnp.zeros((1, 2)), v).log_prob(X2), INF),
    # option names
    Case("pc_sample", "option", "predictor", pc("predictor"), "foo", jit=False),
    Case("pc_sample", "option", "corrector", pc("corrector"), "foo", jit=False),
    Case("pc_sample", "option", "order", pc("order"), "foo", jit=False),
    Case("pc_sampler_law", "option", "order", lambda v: sr.pc_sampler_law(VP, G2, n_steps=3, order=v).mean, "foo",
         jit=False),
    Case("pc_sampler_law", "option", "start", lambda v: sr.pc_sampler_law(VP, G2, n_steps=3, start=v).mean, "foo",
         jit=False),
    Case("ode_sampler_law", "option", "start", lambda v: sr.ode_sampler_law(VP, G2, n_steps=3, start=v).mean, "x",
         jit=False),
    Case("ode_sample", "option", "solver", ode("solver"), "foo", jit=False),
    Case("dsm_loss", "option", "weighting", lambda v: sr.dsm_loss(KEY, VP, SCORE, XB, weighting=v), "foo",
         jit=False),
    Case("dsm_loss", "option", "time_sampling", lambda v: sr.dsm_loss(KEY, VP, SCORE, XB, time_sampling=v), "x",
         jit=False),
    Case("LangevinCorrector", "option", "norm", lambda v: sr.samplers.LangevinCorrector(norm=v), "foo", jit=False),
    # eps and the other scalars of the samplers and losses
    Case("pc_sample", "range", "eps", pc("eps"), 0.0),
    Case("pc_sample", "nonfinite", "eps", pc("eps"), NAN),
    Case("pc_sample", "range", "eps", pc("eps"), 1.0),
    Case("ode_sample", "nonfinite", "eps", ode("eps"), NAN),
    Case("sde_sample", "range", "eps", lambda v: sr.sde_sample(KEY, VP, SCORE, XB, n_steps=2, eps=v).x, -0.1),
    Case("ddim_sample", "range", "eta", lambda v: sr.ddim_sample(VP, SCORE, XB, n_steps=2, eta=v, key=KEY).x, 1.5),
    Case("ddim_sample", "nonfinite", "eps", lambda v: sr.ddim_sample(VP, SCORE, XB, n_steps=2, eps=v).x, NAN),
    Case("pc_sampler_law", "nonfinite", "eps", lambda v: sr.pc_sampler_law(VP, G2, n_steps=3, eps=v).mean, NAN),
    Case("ode_sampler_law", "nonfinite", "eps", lambda v: sr.ode_sampler_law(VP, G2, n_steps=3, eps=v).mean, NAN),
    Case("ode_sampler_law", "integer", "n_steps", lambda v: sr.ode_sampler_law(VP, G2, n_steps=v).mean, 0),
    Case("dsm_loss", "range", "eps", lambda v: sr.dsm_loss(KEY, VP, SCORE, XB, eps=v), 0.0),
    Case("log_likelihood", "nonfinite", "eps", loglik("eps"), NAN),
    Case("loss_terms_at", "time", "t", lambda v: sr.losses.loss_terms_at(VP, SCORE, XB, v, XB), 0.0),
    Case("loss_terms_at", "time", "t", lambda v: sr.losses.loss_terms_at(VP, SCORE, XB, v, XB), 1.5),
    Case("LangevinCorrector", "range", "snr", lambda v: sr.samplers.LangevinCorrector(snr=v).snr, -1.0),
    Case("LangevinCorrector", "nonfinite", "snr", lambda v: sr.samplers.LangevinCorrector(snr=v).snr, NAN),
    Case("langevin_mcmc", "range", "step_size", lambda v: sr.samplers.langevin_mcmc(
        KEY, lambda x: -x, X2, step_size=v, n_steps=2), -0.1),
    Case("conditional_score", "nonfinite", "scale", lambda v: sr.conditional_score(SCORE, lambda x, t: 0.0, v)(
        X2, 0.5), INF),
    # training and the learned-score error
    Case("train_score", "integer", "steps", lambda v: sr.train_score(KEY, VP, XB, steps=v, batch_size=2), 2.5,
         jit=False),
    Case("train_score", "nonfinite", "data", lambda v: sr.train_score(KEY, VP, XB.at[0, 0].set(v), steps=2,
         batch_size=2), NAN, jit=False),
    Case("score_error", "integer", "n_per_time", lambda v: sr.score_error(KEY, VP, G2, SCORE_G, n_per_time=v), 2.5,
         jit=False),
    # dtypes: a float32 batch meeting float64 data, float16
    Case("pc_sample", "dtype", "dtype", lambda v: sr.pc_sample(KEY, VP, SCORE, XB.astype(v), n_steps=3).x,
         jnp.float32, jit=False),
    Case("pc_sample", "dtype", "float16", lambda v: sr.pc_sample(KEY, VP, SCORE, XB.astype(v), n_steps=3).x,
         jnp.float16, jit=False),
    Case("ode_sample", "dtype", "dtype", lambda v: sr.ode_sample(VP, SCORE, XB.astype(v)).x, jnp.float32, jit=False),
    Case("dsm_loss", "dtype", "dtype", lambda v: sr.dsm_loss(KEY, VP, SCORE, XB.astype(v)), jnp.float32, jit=False),
    Case("log_likelihood", "dtype", "float16", lambda v: sr.log_likelihood(VP, SCORE, X2.astype(v)), jnp.float16,
         jit=False),
]

OUTCOMES = ("clear error", "unclear error", "accepted (finite)", "NaN or inf", "other crash")


def _finite(out) -> bool:
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(out) if eqx.is_array_like(leaf)]
    return all(np.all(np.isfinite(leaf)) for leaf in leaves if np.issubdtype(leaf.dtype, np.inexact))


def run_case(case: Case, jitted: bool):
    """`(outcome, detail)`: which of `OUTCOMES` the case gives."""
    try:
        if jitted:
            out = eqx.filter_jit(case.call)(jnp.asarray(case.value))
        else:
            out = case.call(case.value)
        jax.block_until_ready(out)
    except (ValueError, TypeError, eqx.EquinoxRuntimeError, IndexError, KeyError, ZeroDivisionError) as exc:
        message = str(exc).split("\n\n-------")[0]  # Equinox appends debugging advice after the message
        clear = isinstance(exc, ValueError | TypeError | eqx.EquinoxRuntimeError) and case.param in message
        return ("clear error" if clear else "unclear error"), f"{type(exc).__name__}: {message[:200]}"
    except Exception as exc:  # noqa: BLE001 - classified, not hidden
        return "other crash", f"{type(exc).__name__}: {str(exc)[:200]}"
    return ("accepted (finite)" if _finite(out) else "NaN or inf"), "returned"


def _items():
    for case in CASES:
        yield pytest.param(case, False, id="eager-" + case.id)
        if case.jit and not isinstance(case.value, str) and np.ndim(case.value) == 0 or case.kind == "shape":
            yield pytest.param(case, True, id="jit-" + case.id)


@pytest.mark.parametrize("case, jitted", list(_items()))
def test_bad_input_gives_a_clear_error(case, jitted):
    outcome, detail = run_case(case, jitted)
    assert outcome == "clear error", f"{case.entry} with {case.param} = {case.value!r}: {outcome} ({detail})"


def test_the_matrix_covers_every_front_door_entry_point():
    """Each callable name of `sr.__all__` (the front door) appears in at least one case, by its own name or as the
    owner of a method (`VPSDE.diffusion`)."""
    covered = {case.entry.split(".")[0] for case in CASES}
    callables = {
        name for name in sr.__all__ if callable(getattr(sr, name)) and not isinstance(getattr(sr, name), type(sr))
    }
    exempt = {"AbstractSDE", "LikelihoodResult", "TrainResult"}  # an abstract class, result types: nothing to misuse
    missing = sorted(callables - covered - exempt)
    assert not missing, f"entry points without a bad-input case: {missing}"


if __name__ == "__main__":
    counts = dict.fromkeys(OUTCOMES, 0)
    for param in _items():
        case, jitted = param.values
        outcome, detail = run_case(case, jitted)
        counts[outcome] += 1
        if outcome != "clear error" and "-v" in sys.argv:
            print(f"{'jit  ' if jitted else 'eager'} {case.entry:32s} {case.param:16s} {case.value!r:>12}: {outcome}: "
                  f"{detail}")
    total = sum(counts.values())
    print(f"{total} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    sys.exit(0 if math.isclose(counts["clear error"], total) else 1)

"""Compiled entry points and options as objects (issue 12): a second eager call of every sampler with new
values compiles nothing; string options and the objects they map to give bit-identical samples; the noise a
sampler draws is the noise documented, handed to the same `step(..., z)` a user can call; one result type."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from helpers import count_compilations
from scoresde_ref.examples import gaussian_2d
from scoresde_ref.samplers import (
    Ancestral,
    AnnealedLangevinCorrector,
    EulerMaruyama,
    LangevinCorrector,
    ReverseDiffusion,
    SampleResult,
)

MASK = np.array([True, False])


class _NoisedScore(eqx.Module):
    """The score of `dist` convolved with N(0, σ² I), `(x, sigma)`: a score function as an `eqx.Module`, so its
    numbers are traced (a new Python lambda per call would be a new static argument, a new compilation)."""

    dist: sr.Gaussian

    def __call__(self, x, sigma):
        return sr.Gaussian(self.dist.mean, self.dist.cov + sigma**2 * jnp.eye(2)).score(x)


def _inputs(v: int):
    """New values of everything but shapes for call `v`: key, SDE parameters, data law (so `exact_score`
    numbers), start, eps, snr, eta."""
    sde = sr.VPSDE(0.1, 20.0 - v)
    base = gaussian_2d()
    dist = sr.Gaussian(base.mean + v, base.cov * (1 + v))
    x_T = sde.prior_sample(jax.random.key(10 + v), (8, 2))
    return dict(
        key=jax.random.key(v),
        sde=sde,
        dist=dist,
        score=sr.exact_score(sde, dist),
        x_T=x_T,
        eps=1e-3 * (1 + v),
        snr=0.16 + 0.01 * v,
    )


SAMPLERS = {
    "pc_em": lambda a: sr.pc_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=30, eps=a["eps"]),
    "pc_rd_langevin": lambda a: sr.pc_sample(
        a["key"],
        a["sde"],
        a["score"],
        a["x_T"],
        n_steps=30,
        eps=a["eps"],
        predictor="reverse_diffusion",
        corrector="langevin",
        snr=a["snr"],
    ),
    "pc_ancestral_ald_objects_trajectory": lambda a: sr.pc_sample(
        a["key"], a["sde"], a["score"], a["x_T"], n_steps=30, eps=a["eps"], predictor=Ancestral(),
        corrector=AnnealedLangevinCorrector(a["snr"], 2), order="predictor_first", trajectory=True,
    ),
    "ode_adaptive": lambda a: sr.ode_sample(a["sde"], a["score"], a["x_T"], eps=a["eps"]),
    "ode_heun": lambda a: sr.ode_sample(a["sde"], a["score"], a["x_T"], eps=a["eps"], solver="heun", n_steps=20),
    "ode_scipy": lambda a: sr.ode_sample_scipy(a["sde"], a["score"], a["x_T"], eps=a["eps"]),
    "sde_shark": lambda a: sr.sde_sample(
        a["key"], a["sde"], a["score"], a["x_T"], n_steps=10, eps=a["eps"], solver="shark"
    ),
    "ddim_eta": lambda a: sr.ddim_sample(
        a["sde"],
        a["score"],
        a["x_T"],
        n_steps=10,
        eps=a["eps"],
        eta=0.5 + 0.1 * float(a["eps"] > 1e-3),
        key=a["key"],
    ),
    "annealed_langevin": lambda a: sr.annealed_langevin_sample(
        a["key"],
        _NoisedScore(a["dist"]),
        jnp.geomspace(0.01, 1.0, 5) * (1 + a["eps"]),
        a["x_T"][0],
        eps=a["eps"],
        n_steps_each=3,
    ),
    "impute": lambda a: sr.impute_sample(
        a["key"], a["sde"], a["score"], a["x_T"], a["dist"].mean, MASK, n_steps=30, eps=a["eps"]
    ),
    "pc_sampler_law": lambda a: sr.pc_sampler_law(
        a["sde"], a["dist"], n_steps=30, eps=a["eps"], corrector="ald", snr=a["snr"]
    ),
    "ode_sampler_law": lambda a: sr.ode_sampler_law(a["sde"], a["dist"], n_steps=20, eps=a["eps"]),
    "impute_sampler_law": lambda a: sr.impute_sampler_law(
        a["sde"], a["dist"], a["dist"].mean, MASK, n_steps=30, eps=a["eps"]
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_second_eager_call_compiles_nothing(name):
    """The first eager call compiles; a second with the same shapes and new values (key, x_T, eps, snr, eta,
    SDE parameters, a new `exact_score(sde, dist)` with other numbers) triggers zero XLA compilations.
    Planted bug caught: a Python float reaching `filter_jit` as a static argument (e.g. `VPSDE(0.1, 19.0)`'s
    `beta_max`, or `eps`), or a public sampler not compiled at its boundary (every eager op inside it then
    compiles anew for a new scan body)."""
    run = SAMPLERS[name]
    jax.block_until_ready(jax.tree_util.tree_leaves(run(_inputs(0))))
    second = _inputs(1)
    with count_compilations() as n:
        out = run(second)
        jax.block_until_ready(jax.tree_util.tree_leaves(out))
    assert n[0] == 0, f"{name}: {n[0]} compilations on the second call"


def test_string_options_are_the_objects_bit_for_bit():
    """`predictor="reverse_diffusion", corrector="langevin", snr, corrector_steps, snr_norm` is exactly
    `ReverseDiffusion(), LangevinCorrector(snr, corrector_steps, snr_norm)` (and likewise for the other
    predictors, `"ald"` and the solver names): same key, identical arrays. Planted bug caught: a string
    mapped to other parameters than its object (e.g. `snr_norm` dropped, the default 1 corrector step)."""
    a = _inputs(0)
    run = lambda **kw: sr.pc_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=30, **kw)[0]  # noqa: E731
    pairs = [
        (dict(predictor="reverse_diffusion", corrector="langevin", snr=0.2, corrector_steps=2, snr_norm="per_example"),
         dict(predictor=ReverseDiffusion(), corrector=LangevinCorrector(0.2, 2, "per_example"))),
        (
            dict(predictor="ancestral", corrector="ald", snr=0.3),
            dict(predictor=Ancestral(), corrector=AnnealedLangevinCorrector(0.3)),
        ),
        (dict(predictor="euler_maruyama"), dict(predictor=EulerMaruyama())),
    ]
    for strings, objects in pairs:
        np.testing.assert_array_equal(run(**strings), run(**objects))
    assert not np.array_equal(
        run(**pairs[0][0]), run(predictor=ReverseDiffusion(), corrector=LangevinCorrector(0.2, 2))
    )
    ode = lambda s: sr.ode_sample(a["sde"], a["score"], a["x_T"], solver=s)[0]  # noqa: E731
    np.testing.assert_array_equal(ode("dopri5"), ode(diffrax.Dopri5()))
    sde = lambda s: sr.sde_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=10, solver=s)[0]  # noqa: E731
    np.testing.assert_array_equal(sde("shark"), sde(diffrax.ShARK()))


def test_pc_sample_is_its_steps_with_the_documented_noise():
    """Three corrector-first steps of `pc_sample` (reverse diffusion + 2 ALD updates, VE) equal the same
    steps run by hand with the noise documented in its docstring — `key_k = fold_in(key, k)`,
    `key_c, key_p = split(key_k)`, corrector update j from `fold_in(key_c, j)`, predictor from `key_p` —
    through the public `step(..., z)` of the objects (the hand loop runs op by op, the sampler in one
    compiled scan: they agree to rounding, 1e-13). Planted bug caught: the corrector and predictor sharing
    a key, the noise of update j reused for update j + 1, a step that ignores the `z` it is given."""
    sde = sr.VESDE(0.01, 5.0)
    a = _inputs(0)
    score = sr.exact_score(sde, a["dist"])
    n_steps, eps, key, x = 3, 1e-2, jax.random.key(5), a["x_T"]
    predictor, corrector = ReverseDiffusion(), AnnealedLangevinCorrector(0.2, 2)
    out, nfe = sr.pc_sample(
        key, sde, score, x, n_steps=n_steps, eps=eps, predictor=predictor, corrector=corrector, denoise=False
    )
    disc, h = sr.discretize(sde, n_steps), (sde.T - eps) / n_steps
    for k in range(n_steps):
        t, i = sde.T - k * h, n_steps - k
        key_c, key_p = jax.random.split(jax.random.fold_in(key, k))
        for j in range(corrector.n_steps):
            x, _ = corrector.step(sde, score, x, t, i, disc, jax.random.normal(jax.random.fold_in(key_c, j), x.shape))
        z = jax.random.normal(key_p, x.shape)
        x, _ = jax.vmap(lambda y, w, t=t, i=i: predictor.step(sde, score, y, t, h, i, disc, w))(x, z)
    np.testing.assert_allclose(out, x, rtol=1e-13, atol=1e-13)
    assert nfe == n_steps * (1 + corrector.n_steps)


def test_denoise_without_corrector_in_predictor_first_order():
    """With `order="predictor_first"` and no corrector, `denoise=True` returns the last predictor mean:
    it differs from the noisy output by exactly the last step's noise g(t)√h z (Euler–Maruyama, VP).
    Planted bug caught (the sampler before issue 12): an empty corrector overwrote `x_mean` by `x`, so
    `denoise` had no effect in this order."""
    a = _inputs(0)
    run = lambda d: sr.pc_sample(  # noqa: E731
        a["key"], a["sde"], a["score"], a["x_T"], n_steps=30, order="predictor_first", denoise=d
    )[0]
    gap = float(jnp.max(jnp.abs(run(True) - run(False))))
    h = (1.0 - 1e-3) / 30
    assert gap > 0.1 * float(a["sde"].diffusion(1e-3 + h)) * np.sqrt(h)


def test_option_objects_carry_their_properties():
    """Each predictor declares its weak order (asserted by the order measurements) and which options need the
    discretization; the corrector says whether it is linear-Gaussian, which the exact-law code reads; options
    that mean nothing are refused, not ignored. Planted bug caught: `pc_sampler_law` accepting the
    snr-Langevin corrector (its output is not Gaussian), `ald` silently taking an `snr_norm`."""
    assert [P.weak_order for P in (EulerMaruyama, ReverseDiffusion, Ancestral)] == [1.0, 1.0, 1.0]
    assert [P.uses_discretization for P in (EulerMaruyama, ReverseDiffusion, Ancestral)] == [False, True, True]
    assert AnnealedLangevinCorrector.linear_gaussian and not LangevinCorrector.linear_gaussian
    sde, dist = sr.VPSDE(), gaussian_2d()
    with pytest.raises(ValueError, match="linear-Gaussian"):
        sr.pc_sampler_law(sde, dist, n_steps=30, corrector=LangevinCorrector())
    a = _inputs(0)
    run = lambda **kw: sr.pc_sample(a["key"], sde, a["score"], a["x_T"], n_steps=30, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="snr_norm"):
        run(corrector="ald", snr_norm="batch")
    with pytest.raises(ValueError, match="corrector object"):
        run(corrector=LangevinCorrector(), snr=0.2)
    with pytest.raises(ValueError, match="norm"):
        LangevinCorrector(norm="max")
    with pytest.raises(ValueError, match="n_steps"):
        AnnealedLangevinCorrector(n_steps=0)
    with pytest.raises(ValueError, match="solver"):
        sr.ode_sample(sde, a["score"], a["x_T"], solver=diffrax.Kvaerno5())
    assert isinstance(sr.discretize(sde, 30), sr.chains.DDPMDiscretization)
    assert isinstance(sr.discretize(sr.VESDE(), 30), sr.chains.SMLDDiscretization)
    assert isinstance(sr.discretize(sr.SubVPSDE(), 30), sr.chains.EulerMaruyamaDiscretization)


def test_one_result_type_unpacks_as_the_tuples_did():
    """Every sampler returns a `SampleResult` that unpacks as `(x, nfe)`, or `(x, nfe, path)` with a
    trajectory, and indexes like the tuple. Planted bug caught: a sampler returning a bare tuple or a
    3-tuple without a trajectory (outside code's `x0, nfe = ...` would break)."""
    a = _inputs(0)
    r = sr.pc_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=30)
    x0, nfe = r
    assert isinstance(r, SampleResult) and len(r) == 2 and r[0] is r.x is x0 and nfe == r.nfe == 30 and r.path is None
    x0, nfe, path = sr.pc_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=30, trajectory=True)
    assert path.shape == (30, 8, 2)
    np.testing.assert_array_equal(path[-1], x0)
    others = [
        sr.ode_sample(a["sde"], a["score"], a["x_T"]),
        sr.ode_sample_scipy(a["sde"], a["score"], a["x_T"]),
        sr.sde_sample(a["key"], a["sde"], a["score"], a["x_T"], n_steps=5),
        sr.ddim_sample(a["sde"], a["score"], a["x_T"], n_steps=5),
        sr.annealed_langevin_sample(
            a["key"], lambda x, s: x, jnp.array([0.1, 1.0]), a["x_T"][0], eps=1e-3, n_steps_each=2
        ),
        sr.impute_sample(a["key"], a["sde"], a["score"], a["x_T"], a["dist"].mean, MASK, n_steps=30),
    ]
    for res in others:
        assert isinstance(res, SampleResult) and len(res) == 2
    assert others[4].nfe == 4


def test_a_step_given_the_wrong_noise_shape_raises():
    """A step with its noise given never broadcasts it: `z` of shape (1,) for x of shape (2,) (or (1, 2) for a batch
    (4, 2)) raises a ValueError naming `z`. Planted bug caught: the check removed (x_mean + std * z broadcasts)."""
    sde = sr.VPSDE()
    score = sr.exact_score(sde, gaussian_2d())
    x = jnp.array([0.3, -0.2])
    with pytest.raises(ValueError, match="EulerMaruyama.step: z must have the shape of x"):
        sr.samplers.EulerMaruyama().step(sde, score, x, 0.5, 1e-3, None, None, jnp.zeros(1))
    xs = jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="AnnealedLangevinCorrector.step: z must have the shape of x"):
        sr.samplers.AnnealedLangevinCorrector().step(sde, score, xs, 0.5, 1, sr.discretize(sde, 100), jnp.zeros((1, 2)))


def test_float_arrays_are_reused_never_across_traces():
    """`floats_as_arrays` makes one weakly typed array per float value and reuses it (one device transfer per value,
    not per call), keeps -0.0 apart from 0.0, and never caches an array made inside a caller's trace (a tracer
    reused by a later call is an escaped tracer; planted bug caught: "Execution supplied 7 arguments but compiled
    program expected 9" from a cached tracer)."""
    from scoresde_ref._jit_boundary import floats_as_arrays

    a, b = floats_as_arrays((0.25, 0.25))
    assert a is b and a.weak_type and a.dtype == jnp.asarray(0.25).dtype
    zero, negative_zero = floats_as_arrays((0.0, -0.0))
    assert np.signbit(np.asarray(negative_zero)) and not np.signbit(np.asarray(zero))
    seen = []

    @jax.jit
    def inside(x):
        (v,) = floats_as_arrays((0.375,))
        seen.append(v)
        return x * v

    assert float(inside(2.0)) == 0.75 and isinstance(seen[0], jax.core.Tracer)
    (outside,) = floats_as_arrays((0.375,))
    assert not isinstance(outside, jax.core.Tracer) and float(outside) == 0.375

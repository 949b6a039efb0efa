r"""`write_golden(out_dir)`: the golden files (`scoresde_ref/golden.py` reads them with NumPy alone).

Cases (derivations/conformance.md §golden files): the exact kernels of VP, VE and sub-VP, the exact score of a
Gaussian mixture's marginal $p_t$, the DDPM chain's $\bar\alpha_i$ and kernel, one reverse-diffusion predictor step
and one Langevin corrector step with their noise, the DSM loss terms at given $t$ and noise, and the diffusers
twins' steps (float64, and float32 storage). Every input, noise included, is stored; the tolerance says how close
an implementation in the case's dtype must come, and why.
"""

import importlib.metadata
import json
import pathlib
import subprocess

import jax
import jax.numpy as jnp
import numpy as np

from .. import golden

F64 = {
    "rtol": 1e-12,
    "atol": 1e-12,
    "reason": "float64 closed form evaluated with expm1/log1p: ~1e-15 relative; "
    "1e-12 leaves room for another evaluation order (derivations/conformance.md)",
}
F32 = {
    "rtol": 64 * 2.0**-24,
    "atol": 64 * 2.0**-24,
    "reason": "float32 library arithmetic: 64 u, the harness's float32 bound (14 u measured against diffusers 0.42.1)",
}


def _provenance() -> dict:
    try:
        version = importlib.metadata.version("scoresde-ref")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        here = pathlib.Path(__file__).resolve().parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        revision = rev.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        revision = None
    return {
        "package": "scoresde-ref",
        "version": version,
        "git_revision": revision,
        "numpy": np.__version__,
        "jax": jax.__version__,
    }


def _cases():
    import scoresde_ref as sr
    from scoresde_ref.compat import diffusers as twins
    from scoresde_ref.samplers import LangevinCorrector, ReverseDiffusion

    rng = np.random.default_rng(20210101)
    t = np.array([1e-5, 1e-3, 0.1, 0.5, 1.0])
    for name, sde, conv in [
        ("vp", sr.VPSDE(0.1, 20.0), {"beta(t)": "beta_min + t (beta_max - beta_min)", "beta_min": 0.1, "beta_max": 20}),
        ("subvp", sr.SubVPSDE(0.1, 20.0), {"beta_min": 0.1, "beta_max": 20, "std": "1 - exp(-int beta)"}),
        ("ve", sr.VESDE(0.01, 50.0), {"sigma_min": 0.01, "sigma_max": 50, "std^2": "sigma(t)^2 - sigma(0)^2 (exact)"}),
    ]:
        m, s = jax.vmap(sde.kernel)(jnp.asarray(t))
        yield (
            f"kernel/{name}",
            f"scoresde_ref.{type(sde).__name__}.kernel",
            conv,
            "float64",
            F64,
            "closed form of the SDE's transition kernel N(m(t) x0, s(t)^2 I)",
            {"t": t},
            {"mean_coeff": np.asarray(m), "std": np.asarray(s)},
        )

    sde = sr.VPSDE(0.1, 20.0)
    w, mu = np.array([0.3, 0.7]), np.array([[-2.0, 0.5], [1.5, -1.0]])
    cov = np.stack([np.diag([0.25, 1.0]), np.array([[1.0, 0.3], [0.3, 0.5]])])
    gmm = sr.GaussianMixture(jnp.asarray(w), jnp.asarray(mu), jnp.asarray(cov))
    x, tt = rng.standard_normal((4, 2)), np.array([0.01, 0.2, 0.5, 1.0])
    score = np.stack([np.asarray(sr.marginal(sde, gmm, ti).score(jnp.asarray(xi))) for xi, ti in zip(x, tt)])
    yield (
        "score/gmm_vp",
        "grad_x log p_t(x) of a Gaussian mixture under VP(0.1, 20)",
        {"sde": "VP(0.1, 20)"},
        "float64",
        F64,
        "each component pushed through the kernel (m mu, m^2 C + s^2 I), softmax-weighted scores",
        {"weights": w, "means": mu, "covs": cov, "x": x, "t": tt},
        {"score": score},
    )

    chain = sr.DDPMChain.linear(1000, 0.1, 20.0)
    idx = np.array([1, 2, 10, 500, 1000])
    km, ks = zip(*[chain.kernel(int(i)) for i in idx])
    yield (
        "chain/ddpm_linear",
        "DDPMChain.linear(1000, 0.1, 20)",
        {"beta_i": "beta((i-1)/(N-1))/N", "index": "1..N"},
        "float64",
        F64,
        "alpha_bar_i = exp(cumsum log1p(-beta)); kernel (sqrt(alpha_bar_i), sqrt(1 - alpha_bar_i))",
        {"i": idx},
        {"alphas_cumprod": np.asarray(chain.alphas_cumprod), "mean_coeff": np.asarray(km), "std": np.asarray(ks)},
    )

    N, i = 50, 37
    disc = sr.discretize(sde, N)
    gauss = sr.Gaussian(jnp.zeros(2), jnp.eye(2))
    exact = sr.exact_score(sde, gauss)
    x, z = rng.standard_normal(2), rng.standard_normal(2)
    t_i = (i - 1) / (N - 1)
    nxt, mean = ReverseDiffusion().step(sde, exact, jnp.asarray(x), t_i, 1.0 / N, i, disc, jnp.asarray(z))
    yield (
        "pc/reverse_diffusion_step",
        "ReverseDiffusion predictor, discretize(VP(0.1, 20), 50), level i = 37",
        {"x_next": "x - f_i + G_i^2 s(x, t_i) + G_i z", "data": "N(0, I)", "t_i": "(i-1)/(N-1)"},
        "float64",
        F64,
        "the project's predictor step with the exact score of the N(0, I) data's marginal, noise z given",
        {"x": x, "z": z},
        {"x_next": np.asarray(nxt), "x_mean": np.asarray(mean)},
    )
    xb, zb = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    nxt, mean = LangevinCorrector(0.16, 1, "batch").step(sde, exact, jnp.asarray(xb), t_i, i, disc, jnp.asarray(zb))
    yield (
        "pc/langevin_corrector_step",
        "LangevinCorrector(snr=0.16, norm='batch'), alpha_i = 1 - beta_i",
        {"eps": "2 alpha_i (r mean|z| / mean|s|)^2 (batch-mean norms, score_sde #41)", "alpha_i": "1 - beta_i"},
        "float64",
        F64,
        "the project's corrector step with the exact score, noise z given",
        {"x": xb, "z": zb},
        {"x_next": np.asarray(nxt), "x_mean": np.asarray(mean)},
    )

    x0, zl, tl = rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), np.array([0.05, 0.3, 0.6, 0.95])
    model = sr.exact_score(sde, sr.Gaussian(jnp.full(2, 0.5), 2.0 * jnp.eye(2)))  # a wrong score: nonzero loss
    terms = sr.losses.loss_terms_at(sde, model, jnp.asarray(x0), jnp.asarray(tl), jnp.asarray(zl))
    yield (
        "loss/dsm_terms_at",
        "DSM terms lambda(t) |s(x_t, t) + z/std|^2, weighting sigma2",
        {"lambda": "std(t)^2", "x_t": "m x0 + std z", "model": "exact score of N(0.5, 2 I) data"},
        "float64",
        F64,
        "loss_terms_at(VP(0.1, 20), model, x0, t, z)",
        {"x0": x0, "t": tl, "z": zl},
        {"terms": np.asarray(terms)},
    )

    sample, eps, noise = (rng.standard_normal((2, 3)) for _ in range(3))
    for dtype in (np.float64, np.float32):
        dn, tol = np.dtype(dtype).name, F64 if dtype == np.float64 else F32
        ddpm = twins.DDPMScheduler(dtype=dtype)
        ddpm.set_timesteps(50)
        out = ddpm.step(eps, int(ddpm.timesteps[10]), sample, noise=noise)
        yield (
            f"diffusers/ddpm_step/{dn}",
            "diffusers.DDPMScheduler().step after set_timesteps(50), timesteps[10]",
            {"variance_type": "fixed_small", "timestep_spacing": "leading", "clip_sample": True},
            dn,
            tol,
            "scoresde_ref.compat.diffusers twin (the chain's posterior)",
            {"model_output": eps, "sample": sample, "noise": noise, "timestep": np.array(ddpm.timesteps[10])},
            {"prev_sample": out.prev_sample, "pred_original_sample": out.pred_original_sample},
        )
        ddim = twins.DDIMScheduler(dtype=dtype)
        ddim.set_timesteps(50)
        out = ddim.step(eps, int(ddim.timesteps[-1]), sample, eta=0.5, variance_noise=noise)
        yield (
            f"diffusers/ddim_last_step/{dn}",
            "diffusers.DDIMScheduler().step(eta=0.5) at the last of 50 timesteps",
            {"set_alpha_to_one": True, "timestep_spacing": "leading"},
            dn,
            tol,
            "the DDIM twin",
            {"model_output": eps, "sample": sample, "variance_noise": noise, "timestep": np.array(ddim.timesteps[-1])},
            {"prev_sample": out.prev_sample, "pred_original_sample": out.pred_original_sample},
        )
        euler = twins.EulerDiscreteScheduler(dtype=dtype)
        euler.set_timesteps(20)
        out = euler.step(eps, euler.timesteps[3], sample)
        yield (
            f"diffusers/euler_step/{dn}",
            "diffusers.EulerDiscreteScheduler().step at timesteps[3] of 20",
            {"timestep_spacing": "linspace", "sigma": "sqrt((1 - alpha_bar)/alpha_bar)"},
            dn,
            tol,
            "the Euler twin",
            {"model_output": eps, "sample": sample, "timestep": np.asarray(euler.timesteps[3], np.float64)},
            {"prev_sample": out.prev_sample, "sigmas": np.asarray(euler.sigmas)},
        )


def write_golden(out_dir) -> pathlib.Path:
    """Write `out_dir/golden.json` and `out_dir/golden.npz` (schema `scoresde_ref.golden.SCHEMA_VERSION`); returns
    the directory."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases, arrays = [], {}
    with jax.enable_x64(True):
        for cid, obj, conv, dtype, tol, how, inputs, outputs in _cases():
            for kind, d in (("inputs", inputs), ("outputs", outputs)):
                for name, v in d.items():
                    arrays[f"{cid}/{kind}/{name}"] = np.asarray(v)
            cases.append(
                {
                    "id": cid,
                    "object": obj,
                    "conventions": conv,
                    "dtype": dtype,
                    "tolerance": tol,
                    "computed_by": how,
                    "inputs": list(inputs),
                    "outputs": list(outputs),
                }
            )
    meta = {"schema_version": golden.SCHEMA_VERSION, "provenance": _provenance(), "cases": cases}
    np.savez(out / golden.NPZ_NAME, **arrays)
    (out / golden.JSON_NAME).write_text(json.dumps(meta, indent=1) + "\n")
    return out

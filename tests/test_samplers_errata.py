"""The documents' errors about reverse-time sampling (derivations/ERRATA.md E1, E11, E12, E29,
E30): each document version fails a check that the library's version passes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_fokker_planck import RTOL, max_relative_residuals

import scoresde_ref as sr
from scoresde_ref.examples import gmm_2d

WRONG = 1e-2


def _ve_em_final_variance(step, n_steps=200, sigma_min=0.01, sigma_max=5.0, data_var=0.5):
    """Variance after n_steps of a reverse step on 1-D Gaussian data N(0, data_var) under VE,
    exact score, exact p_T start: a deterministic recursion v' = M² v + noise."""
    sde = sr.VESDE(sigma_min, sigma_max)
    eps = 1e-3
    h = (1.0 - eps) / n_steps
    v = data_var + sde.kernel(1.0)[1] ** 2
    for k in range(n_steps):
        t = 1.0 - k * h
        var_t = data_var + sde.kernel(t)[1] ** 2
        g2 = sde.diffusion(t) ** 2
        M, noise = step(g2, var_t, h)
        v = M**2 * v + noise
    return float(v), float(data_var + sde.kernel(eps)[1] ** 2)


def test_002_ve_reverse_step_moves_up_the_score():
    """002 "Score-based generative modeling via SDEs" L615: x_{t−Δt} = x_t − σ²(t) s Δt + σ z. With
    s = −x/v_t the document's step pushes away from the data; ours (+σ² s Δt) converges to p_eps."""
    doc = lambda g2, v, h: (1 + g2 * h / v, g2 * h)  # noqa: E731  x − g² s h = (1 + g²h/v) x
    ours = lambda g2, v, h: (1 - g2 * h / v, g2 * h)  # noqa: E731
    v_doc, target = _ve_em_final_variance(doc)
    v_ours, _ = _ve_em_final_variance(ours)
    assert abs(v_doc / target - 1) > WRONG
    assert abs(v_ours / target - 1) < 0.05  # EM bias at 200 steps (order 1), far below the O(1) error


def test_002_reverse_em_noise_variance():
    """002 "How to solve the reverse SDE" L565–571: g √Δt z with z ~ N(0, Δt I) gives noise variance
    g²Δt² (Δt counted twice); the law then misses p_eps, ours (z ~ N(0, I)) does not."""
    doc = lambda g2, v, h: (1 - g2 * h / v, g2 * h**2)  # noqa: E731
    ours = lambda g2, v, h: (1 - g2 * h / v, g2 * h)  # noqa: E731
    v_doc, target = _ve_em_final_variance(doc)
    v_ours, _ = _ve_em_final_variance(ours)
    assert abs(v_doc / target - 1) > WRONG
    assert abs(v_ours / target - 1) < 0.05


class _DocumentReverse(sr.AbstractSDE):
    """000 eq. (1) read as a forward-time SDE for x̃(u) = x(T − u):
    dx̃ = [f(x̃, u) − g(u)² ∇log p_{T−u}(x̃)] du + g(u) dW."""

    sde: sr.AbstractSDE
    dist: sr.AbstractDistribution
    T: float

    def drift(self, y, u):
        score = sr.marginal(self.sde, self.dist, self.T - u).score(y)
        return self.sde.drift(y, u) - self.sde.diffusion(u) ** 2 * score

    def diffusion(self, u):
        return self.sde.diffusion(u)


def test_000_reverse_sde_equation_1_time_convention():
    """000 §2.1 eq. (1) mixes conventions (f and g at t, p at T − t, drift sign of the dt < 0 form).
    Its marginals are not p_{T−u}: the Fokker–Planck residual of q_u = p_{T−u} is O(1) for it and
    ~0 for `TimeReversedSDE` (drift −[f − g² s](y, T − u), diffusion g(T − u))."""
    sde, dist = sr.VPSDE(), gmm_2d()
    log_q = lambda y, u: sr.marginal(sde, dist, sde.T - u).log_prob(y)  # noqa: E731
    doc = _DocumentReverse(sde, dist, sde.T)
    ours = sr.TimeReversedSDE(sde, lambda x, s: sr.marginal(sde, dist, s).score(x))
    u = jnp.asarray(0.3)
    xs = sr.marginal(sde, dist, sde.T - u).sample(jax.random.key(0), 4)
    assert float(max_relative_residuals(doc, log_q, u, xs)[0]) > WRONG
    assert float(max_relative_residuals(ours, log_q, u, xs)[0]) < RTOL


@pytest.mark.parametrize("seed", [0, 1])
def test_001_backward_kernel_algebra_sign(seed):
    """001 "¿Cómo invertimos el proceso forward?" L495, fourth line: writing
    C₁ exp[−‖·‖²/(4γ)] exp[L] with L = log p_k(x_k) − log p_k(x_{k+1}) as exp[−(‖·‖² + 4γ L)/(4γ)]
    flips the sign of L; −(‖·‖² − 4γ L)/(4γ) is right. Checked on random values."""
    rng = np.random.default_rng(seed)
    A, L, gamma = rng.uniform(0.1, 3.0), rng.normal(), rng.uniform(0.01, 0.5)
    third_line = -A / (4 * gamma) + L
    doc = -(A + 4 * gamma * L) / (4 * gamma)
    ours = -(A - 4 * gamma * L) / (4 * gamma)
    assert abs(doc - third_line) > WRONG
    assert abs(ours - third_line) < 1e-12


def test_001_taylor_remainder_weight():
    """001 same section, L506: the integral remainder of a first-order Taylor expansion needs the
    weight (1 − t): φ(1) = φ(0) + φ'(0) + ∫₀¹ (1 − t) φ''(t) dt. For φ(t) = e^{2t} the unweighted
    form is off by O(1). (Gauss–Legendre quadrature, 40 nodes: exact to rounding.)"""
    x, w = np.polynomial.legendre.leggauss(40)
    t, w = 0.5 * (x + 1), 0.5 * w
    phi = lambda s: np.exp(2 * s)  # noqa: E731
    d2 = 4 * phi(t)
    lhs = phi(1.0) - phi(0.0) - 2.0
    assert abs(np.sum(w * d2) - lhs) > WRONG
    np.testing.assert_allclose(np.sum(w * (1 - t) * d2), lhs, rtol=1e-13)

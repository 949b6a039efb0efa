"""Symbolic checks (sympy) of the key algebraic identities of derivations/*.md.

Each test checks the identity that the derivation uses AND that a planted bug — usually the documents' own
erroneous version (derivations/ERRATA.md) — breaks it, so every test demonstrably can fail. sympy is a
test-only dependency (pyproject `[test]`); `scoresde-ref verify` checks the same results numerically.
"""

import itertools

import sympy as sp  # a declared test dependency (pyproject [test]): missing, the suite must fail, not skip

t, u, x, y, h = sp.symbols("t u x y h", real=True)
T, tau = sp.symbols("T tau", positive=True)
beta_min, beta_max, theta, sigma = sp.symbols("beta_min beta_max theta sigma", positive=True)
sigma_min, r = sp.symbols("sigma_min r", positive=True)  # r = σ_max/σ_min > 1


def _zero(expr) -> bool:
    return sp.simplify(sp.expand(expr)) == 0


def _moment_residuals(a, g2, m, s2):
    """The kernel ODEs of forward_sdes.md §1, m' = a m and (s²)' = 2a s² + g², with m(0) = 1, s²(0) = 0."""
    a, g2, m, s2 = (sp.sympify(e) for e in (a, g2, m, s2))
    return [sp.diff(m, t) - a * m, sp.diff(s2, t) - 2 * a * s2 - g2, m.subs(t, 0) - 1, s2.subs(t, 0)]


def _beta_integral():
    beta = beta_min + (beta_max - beta_min) * t
    return beta, sp.integrate(beta, (t, 0, t))


def test_kernels_solve_their_moment_odes():
    """forward_sdes.md §1, §3: each closed-form kernel solves m' = a m, (s²)' = 2a s² + g² from (1, 0).
    Planted bugs: 000 §2.3's VP/sub-VP mean e^{−B} (E3), 003 §5.2's variance e^t for dx = e^t dw (E37),
    002's VE variance σ²(t) without −σ²(0) (E32), 004's σ^t-SDE variance taken as the std (E40)."""
    beta, B = _beta_integral()
    sig = sigma_min * r**t
    kernels = {  # name: (a, g², m, s², documents' wrong (m, s²) or None)
        "VP": (-beta / 2, beta, sp.exp(-B / 2), 1 - sp.exp(-B), (sp.exp(-B), 1 - sp.exp(-B))),
        "sub-VP": (
            -beta / 2,
            beta * (1 - sp.exp(-2 * B)),
            sp.exp(-B / 2),
            (1 - sp.exp(-B)) ** 2,
            (sp.exp(-B), (1 - sp.exp(-B)) ** 2),
        ),
        "VE": (0, sp.diff(sig**2, t), 1, sig**2 - sigma_min**2, (1, sig**2)),
        "OU": (-theta, sigma**2, sp.exp(-theta * t), sigma**2 / (2 * theta) * (1 - sp.exp(-2 * theta * t)), None),
        "exp_t": (0, sp.exp(2 * t), 1, (sp.exp(2 * t) - 1) / 2, (1, sp.exp(t))),
        "power": (
            0,
            sigma ** (2 * t),
            1,
            (sigma ** (2 * t) - 1) / (2 * sp.log(sigma)),
            (1, ((sigma ** (2 * t) - 1) / (2 * sp.log(sigma))) ** 2),
        ),
        "brownian": (0, sigma**2, 1, sigma**2 * t, None),
    }
    for name, (a, g2, m, s2, wrong) in kernels.items():
        assert all(_zero(e) for e in _moment_residuals(a, g2, m, s2)), name
        if wrong is not None:
            assert not all(_zero(e) for e in _moment_residuals(a, g2, *wrong)), name


def test_subvp_std_and_ve_diffusion():
    """forward_sdes.md §3: sub-VP's g² = β(1 − e^{−2B}) gives std exactly 1 − e^{−B} (its variance is the square of
    VP's); VE's g = σ(t)√(2 log r) is √(dσ²/dt) (002 L781). Planted bug: g² = β(1 − e^{−B}) (a dropped 2)."""
    beta, B = _beta_integral()
    s = 1 - sp.exp(-B)
    assert _zero(sp.diff(s**2, t) + beta * s**2 - beta * (1 - sp.exp(-2 * B)))
    assert not _zero(sp.diff(s**2, t) + beta * s**2 - beta * (1 - sp.exp(-B)))
    assert _zero(s**2 - (1 - sp.exp(-B)) ** 2)
    sig = sigma_min * r**t
    assert _zero((sig * sp.sqrt(2 * sp.log(r))) ** 2 - sp.diff(sig**2, t))


def _gaussian_density(mu, v):
    return sp.exp(-((x - mu) ** 2) / (2 * v)) / sp.sqrt(2 * sp.pi * v)


def test_gaussian_fokker_planck_reduces_to_the_moment_odes():
    """fokker_planck.md §4: for f = a x + b and p = N(μ(t), v(t)), the residual of ∂_t p = −∂_x(f p) + ½g²∂_x²p,
    divided by p, is y(μ' − aμ − b)/v + (y² − v)(v' − 2av − g²)/(2v²), y = x − μ: zero iff the moment ODEs hold.
    Planted bug: 002 L407's sign of ∂_t p (E27), which leaves a residual even when the ODEs hold."""
    a, b, g = (sp.Function(n)(t) for n in "abg")
    mu, v = sp.Function("mu")(t), sp.Function("v")(t)
    p = _gaussian_density(mu, v)
    flux, diffusion = sp.diff((a * x + b) * p, x), g**2 / 2 * sp.diff(p, x, 2)
    residual = sp.simplify((sp.diff(p, t) + flux - diffusion) / p)
    yy = x - mu
    derived = yy * (mu.diff(t) - a * mu - b) / v + (yy**2 - v) * (v.diff(t) - 2 * a * v - g**2) / (2 * v**2)
    assert _zero(residual - derived)
    document = sp.simplify((-sp.diff(p, t) + flux - diffusion) / p)  # "0 = ∂_t p − ∂_x(f p) + ½g²∂²p" with f → −f
    on_odes = {mu.diff(t): a * mu + b, v.diff(t): 2 * a * v + g**2}
    assert _zero(residual.subs(on_odes))
    assert not _zero(document.subs(on_odes))


def test_ou_stationary_density():
    """forward_sdes.md §3 (OU), 002 L399–408: N(0, σ²/(2θ)) = e^{−θx²/σ²}/√(πσ²/θ) solves 0 = ∂_x(θxp) + ½σ²∂_x²p,
    and a start N(0, v_0) gives v(t) = σ²/(2θ) + e^{−2θt}(v_0 − σ²/(2θ)). Planted bug: 002 L401's start σ²/θ (E26),
    whose variance is not constant."""
    p = sp.exp(-theta * x**2 / sigma**2) / sp.sqrt(sp.pi * sigma**2 / theta)
    assert _zero(sp.simplify(p - _gaussian_density(0, sigma**2 / (2 * theta))))
    assert _zero(sp.simplify((sp.diff(theta * x * p, x) + sigma**2 / 2 * sp.diff(p, x, 2)) / p))
    v0 = sp.Symbol("v0", positive=True)
    v = sigma**2 / (2 * theta) + sp.exp(-2 * theta * t) * (v0 - sigma**2 / (2 * theta))
    assert _zero(sp.diff(v, t) + 2 * theta * v - sigma**2) and _zero(v.subs(t, 0) - v0)
    assert not _zero(sp.diff(v.subs(v0, sigma**2 / theta), t))
    assert _zero(sp.diff(v.subs(v0, sigma**2 / (2 * theta)), t))


def test_probability_flow_and_reverse_drift_transport_gaussian_marginals():
    """fokker_planck.md §5, reverse_drifts.md: for the Gaussian marginal of dx = a x dt + g dw (moment ODEs imposed),
    (i) the probability flow f − ½g²∂_x log p satisfies the continuity equation ∂_t p + ∂_x(ṽ p) = 0;
    (ii) q_u = p_{T−u} solves the Fokker–Planck equation of dy = −[f − g²∂ log p](T−u) du + g dw.
    Planted bugs: 000 §3.2's ½g (E4) in (i); the un-negated drift of 000 eq. (1) (E1) in (ii)."""
    a, g = sp.Function("a")(t), sp.Function("g")(t)
    mu, v = sp.Function("mu")(t), sp.Function("v")(t)
    on_odes = {mu.diff(t): a * mu, v.diff(t): 2 * a * v + g**2}
    p = _gaussian_density(mu, v)
    score = sp.diff(sp.log(p), x)

    def continuity(velocity):
        return sp.simplify(((sp.diff(p, t) + sp.diff(velocity * p, x)) / p).subs(on_odes))

    assert _zero(continuity(a * x - g**2 / 2 * score))
    assert not _zero(continuity(a * x - g / 2 * score))
    # (ii): ∂_u q = −(∂_t p)(T − u); the reverse SDE's FP: ∂_u q = −∂_y(h q) + ½g²∂_y²q with h = −(f − g² score)
    for h_drift, ok in [(-(a * x - g**2 * score), True), (a * x - g**2 * score, False)]:
        fp = sp.simplify(((-sp.diff(p, t) + sp.diff(h_drift * p, x) - g**2 / 2 * sp.diff(p, x, 2)) / p).subs(on_odes))
        assert _zero(fp) is ok


def test_probability_flow_map_for_gaussian_data():
    """samplers.md §6: x(t) = μ_t + √(v_t/v_T)(x_T − μ_T) solves dx/dt = a x + ½g²(x − μ_t)/v_t (the probability-flow
    velocity of N(μ_t, v_t)) with x(T) = x_T. Planted bug: the square root dropped, (v_t/v_T)(x_T − μ_T)."""
    a, g = sp.Function("a")(t), sp.Function("g")(t)
    mu, v = sp.Function("mu")(t), sp.Function("v")(t)
    on_odes = {mu.diff(t): a * mu, v.diff(t): 2 * a * v + g**2}
    x_T, mu_T, v_T = sp.symbols("x_T mu_T v_T", positive=True)
    for path, ok in [(mu + sp.sqrt(v / v_T) * (x_T - mu_T), True), (mu + v / v_T * (x_T - mu_T), False)]:
        velocity = a * path + g**2 / 2 * (path - mu) / v
        assert _zero(sp.simplify((sp.diff(path, t) - velocity).subs(on_odes))) is ok


def test_chain_kernels_and_their_sde_limits():
    """chains.md §1–2: SMLD increments telescope to σ_N² (σ_0 = 0); DDPM keeps m_i² + s_i² = 1; the documents' map
    β̄_i = Nβ_i, Δt = 1/N gives √(1 − β̄Δt) = 1 − ½β̄Δt + O(Δt²) (000 App. D); the linear schedule's Riemann gap is
    R_i = Δβ i(N − i)/(2N²(N − 1)); the SMLD ratio σ_i/σ(i/N) has exponent −(N − i)/(N(N − 1)) log r. Planted bug:
    000 App. C / 002 L754's √(dσ²/dt)Δt (E7, E33), whose variance is O(Δt²), not dσ²/dt·Δt."""
    sigmas = sp.symbols("sigma1:6", positive=True)
    increments = [sigmas[0] ** 2] + [sigmas[i] ** 2 - sigmas[i - 1] ** 2 for i in range(1, 5)]
    assert _zero(sum(increments) - sigmas[-1] ** 2)
    beta_i, m2, s2 = sp.symbols("beta_i m2 s2", positive=True)
    assert _zero(((1 - beta_i) * (m2 + s2) + beta_i).subs(s2, 1 - m2) - 1)
    bbar, N = sp.symbols("bbar N", positive=True)
    series = sp.series(sp.sqrt(1 - bbar * h), h, 0, 2).removeO()
    assert _zero(series - (1 - bbar * h / 2))
    sig2 = sp.Function("sigma2")
    increment_var = sp.series(sig2(t + h) - sig2(t), h, 0, 2).removeO().doit()
    assert _zero(increment_var - sp.diff(sig2(t), t) * h)  # √(dσ²/dt · Δt) z has variance dσ²/dt · Δt
    assert not _zero(increment_var - sp.diff(sig2(t), t) * h**2)  # the documents' (√(dσ²/dt) Δt)² = dσ²/dt · Δt²
    i, j = sp.symbols("i j", positive=True, integer=True)
    dbeta = beta_max - beta_min
    riemann = sp.summation((beta_min + dbeta * (j - 1) / (N - 1)) / N, (j, 1, i))
    B_i = beta_min * i / N + dbeta * i**2 / (2 * N**2)
    assert _zero(sp.simplify(B_i - riemann - dbeta * i * (N - i) / (2 * N**2 * (N - 1))))
    assert _zero(sp.simplify((i - 1) / (N - 1) - i / N + (N - i) / (N * (N - 1))))


def test_ou_chain_kernel_and_stationary_variance():
    """chains.md §3, 001 "Denoising Score matching" L612 and "El Proceso Forward" L489: for X_{k+1} = (1 − γ)X_k +
    √(2γ)Z,
    σ_k² = (1 − (1 − γ)^{2k})/(1 − γ/2) solves σ_{k+1}² = (1 − γ)²σ_k² + 2γ from 0, with limit 1/(1 − γ/2) = 1 + γ/2
    + O(γ²).
    Planted bug: stationary variance 1/(1 − γ) (the fixed point of the recursion without the γ² term)."""
    gamma = sp.Symbol("gamma", positive=True)
    k = sp.Symbol("k", positive=True, integer=True)
    s2 = lambda kk: (1 - (1 - gamma) ** (2 * kk)) / (1 - gamma / 2)  # noqa: E731
    assert _zero(sp.simplify(s2(k + 1) - (1 - gamma) ** 2 * s2(k) - 2 * gamma)) and _zero(s2(0))
    for v, ok in [(1 / (1 - gamma / 2), True), (1 / (1 - gamma), False)]:
        assert _zero(sp.simplify(v - (1 - gamma) ** 2 * v - 2 * gamma)) is ok
    assert _zero(sp.series(1 / (1 - gamma / 2), gamma, 0, 2).removeO() - (1 + gamma / 2))


def test_001_backward_kernel_algebra():
    """samplers.md §2 / chains.md §3, 001 "¿Cómo invertimos el proceso forward?": (i) the norm identity of L505
    (checked in 2-D); (ii) completing the square, −‖x_k − (1 + γ)x_{k+1}‖²/(4γ) + ⟨s, x_k − x_{k+1}⟩ is, up to terms
    free
    of x_k, −‖x_k − μ‖²/(4γ) with μ = x_{k+1} + γ(x_{k+1} + 2s): the kernel N(μ, 2γ I) of L521; (iii) Taylor with
    integral
    remainder needs the weight (1 − t) (E12). Planted bugs: L495's +4γ{…} sign (E11); the unweighted remainder."""
    gamma = sp.Symbol("gamma", positive=True)
    a, b, s = sp.symbols("a1:3", real=True), sp.symbols("b1:3", real=True), sp.symbols("s1:3", real=True)
    sq = lambda vec: sum(c**2 for c in vec)  # noqa: E731
    lhs = sq([bi - (1 - gamma) * ai for ai, bi in zip(a, b)])
    rhs = (
        sq([ai - (1 + gamma) * bi for ai, bi in zip(a, b)])
        - 2 * gamma * sq([bi - ai for ai, bi in zip(a, b)])
        + gamma**2 * (sq(a) - sq(b))
    )
    assert _zero(lhs - rhs)
    exponent = -sq([ai - (1 + gamma) * bi for ai, bi in zip(a, b)]) / (4 * gamma) + sum(
        si * (ai - bi) for ai, bi, si in zip(a, b, s)
    )
    mean = [bi + gamma * (bi + 2 * si) for bi, si in zip(b, s)]
    completed = -sq([ai - mi for ai, mi in zip(a, mean)]) / (4 * gamma)
    assert all(_zero(sp.diff(exponent - completed, ai)) for ai in a)  # differs by a function of x_{k+1} only
    # (E11) line 495's fourth line, exp[−(‖·‖² + 4γ{log p(x_k) − log p(x_{k+1})})/(4γ)], vs the third line's exp[+{…}]
    d_log = sp.Symbol("Delta", real=True)
    third, fourth = -lhs / (4 * gamma) + d_log, -(lhs + 4 * gamma * d_log) / (4 * gamma)
    assert _zero(third - (-(lhs - 4 * gamma * d_log) / (4 * gamma))) and not _zero(third - fourth)
    c = sp.symbols("c0:4", real=True)
    phi = sum(ci * t**n for n, ci in enumerate(c))
    taylor = phi.subs(t, 0) + sp.diff(phi, t).subs(t, 0)
    assert _zero(phi.subs(t, 1) - taylor - sp.integrate((1 - t) * sp.diff(phi, t, 2), (t, 0, 1)))
    assert not _zero(phi.subs(t, 1) - taylor - sp.integrate(sp.diff(phi, t, 2), (t, 0, 1)))


def _normal_moment(k, mean, var):
    """E[X^k] for X ~ N(mean, var): the recursion E X^{k} = mean·E X^{k−1} + (k − 1)·var·E X^{k−2}."""
    moments = [sp.Integer(1), mean]
    for n in range(2, k + 1):
        moments.append(sp.expand(mean * moments[n - 1] + (n - 1) * var * moments[n - 2]))
    return moments[k]


def _expect(expr, var_symbol, mean, var):
    """E over var_symbol ~ N(mean, var) of a polynomial in var_symbol."""
    poly = sp.Poly(sp.expand(expr), var_symbol)
    return sp.expand(sum(coeff * _normal_moment(k, mean, var) for (k,), coeff in poly.terms()))


def test_dsm_ism_fisher_constants_gaussian_data():
    """losses.md §2–3, in 1-D for data N(μ_0, v_0) and an affine model s(x) = A x + b at one time (x_t = m x_0 + c +
    s z,
    S = m²v_0 + s²): DSM − Fisher = 1/s² − 1/S and ISM − Fisher = −1/S = −J(p_t), free of (A, b) (000 Theorem 1 and
    eqs (2)–(5); 001 "Implicit Score matching"). Planted bug: 000 Theorem 1's statement E‖s‖² + 2∇log p·s (E2), whose
    difference from Fisher depends on the model."""
    A, b, mu0, c = sp.symbols("A b mu0 c", real=True)
    v0, m, s = sp.symbols("v0 m s", positive=True)
    z, x0 = sp.symbols("z x0", real=True)
    mu_t, S = m * mu0 + c, m**2 * v0 + s**2
    model = A * x + b
    score_t = -(x - mu_t) / S
    fisher = _expect((model - score_t) ** 2, x, mu_t, S)
    ism = _expect(model**2 + 2 * A, x, mu_t, S)
    dsm = _expect(_expect((model.subs(x, m * x0 + c + s * z) + z / s) ** 2, z, 0, 1), x0, mu0, v0)
    assert _zero(sp.simplify(dsm - fisher - (1 / s**2 - 1 / S)))
    assert _zero(sp.simplify(ism - fisher + 1 / S))
    assert _zero(sp.simplify(_expect(score_t**2, x, mu_t, S) - 1 / S))  # J(p_t) = 1/S
    stated = _expect(model**2 + 2 * score_t * model, x, mu_t, S)
    assert sp.diff(sp.simplify(stated - fisher), A) != 0


def test_parameterisations_and_tweedie():
    """losses.md §6 and marginals.md §4: with x_t = m x_0 + c + s z, the DSM residual in noise and data form,
    s²(s_θ + z/s)² = (ε̂ − z)² = (m²/s²)(x̂_0 − x_0)² for s_θ = −ε̂/s = −(x_t − m x̂_0 − c)/s²; and for Gaussian data
    the
    score of p_t is −(x − m E[x_0|x] − c)/s² (Tweedie). Planted bug: 001's target −z/s² (E15), which breaks the
    first."""
    m, s = sp.symbols("m s", positive=True)
    c, x0, z, eps_hat, mu0 = sp.symbols("c x0 z eps_hat mu0", real=True)
    v0 = sp.Symbol("v0", positive=True)
    xt = m * x0 + c + s * z
    x0_hat = (xt - c - s * eps_hat) / m  # the same model in data form
    assert _zero(s**2 * (-eps_hat / s + z / s) ** 2 - (eps_hat - z) ** 2)
    assert _zero((eps_hat - z) ** 2 - m**2 / s**2 * (x0_hat - x0) ** 2)
    assert not _zero(s**2 * (-eps_hat / s + z / s**2) ** 2 - (eps_hat - z) ** 2)
    S = m**2 * v0 + s**2
    posterior_mean = mu0 + m * v0 / S * (x - m * mu0 - c)
    assert _zero(sp.simplify(-(x - m * posterior_mean - c) / s**2 + (x - m * mu0 - c) / S))


def test_hutchinson_variances():
    """hutchinson.md §3, for a symmetric 3×3 J: Var(vᵀJv) = 2‖J‖_F² for v ~ N(0, I) (exact Gaussian moments) and
    2(‖J‖_F² − Σ J_ii²) for Rademacher v (all 8 sign vectors). Planted bug: the Gaussian formula used for Rademacher."""
    entries = sp.symbols("j0:6", real=True)
    J = sp.Matrix(
        [
            [entries[0], entries[1], entries[2]],
            [entries[1], entries[3], entries[4]],
            [entries[2], entries[4], entries[5]],
        ]
    )
    v = sp.Matrix(sp.symbols("v0:3", real=True))
    quad = sp.expand((v.T * J * v)[0])
    frob2, diag2 = sum(e**2 for e in J), sum(J[i, i] ** 2 for i in range(3))
    second = quad**2
    for vi in v:
        second = _expect(second, vi, 0, 1)
    mean = quad
    for vi in v:
        mean = _expect(mean, vi, 0, 1)
    assert _zero(mean - J.trace()) and _zero(second - mean**2 - 2 * frob2)
    signs = list(itertools.product([-1, 1], repeat=3))
    values = [quad.subs(dict(zip(v, sgn))) for sgn in signs]
    rad_mean, rad_second = sum(values) / 8, sum(val**2 for val in values) / 8
    assert _zero(rad_mean - J.trace())
    assert _zero(rad_second - rad_mean**2 - 2 * (frob2 - diag2))
    assert not _zero(rad_second - rad_mean**2 - 2 * frob2)


def test_gan_optimal_discriminator_and_value():
    """gan.md: pointwise, y ↦ a log y + b log(1 − y) is maximised at y* = a/(a + b) (001 L232), and its maximum is
    a log(a/M) + b log(b/M) − (a + b) log 2 with M = (a + b)/2; integrated (a = π, b = μ_G densities),
    V(μ_G, D*) = KL(π‖M) + KL(μ_G‖M) − 2 log 2 = 2 JS − log 4, equal to −log 4 at π = μ_G (001 L248).
    Planted bug: 001 L202's JS − 2 log 2 (E9)."""
    a, b, yv = sp.symbols("a b y", positive=True)
    objective = a * sp.log(yv) + b * sp.log(1 - yv)
    y_star = a / (a + b)
    assert _zero(sp.diff(objective, yv).subs(yv, y_star))
    assert sp.simplify(sp.diff(objective, yv, 2).subs(yv, y_star) + (a + b) ** 3 / (a * b)) == 0  # < 0: a maximum
    M = (a + b) / 2
    at_opt = sp.expand_log(objective.subs(yv, y_star), force=True)
    kl_terms = sp.expand_log(a * sp.log(a / M) + b * sp.log(b / M), force=True)
    js_pointwise = kl_terms / 2  # ½KL(π‖M) + ½KL(μ_G‖M), pointwise integrands
    assert _zero(at_opt - (2 * js_pointwise - (a + b) * sp.log(2)))
    assert not _zero(at_opt - (js_pointwise - (a + b) * sp.log(2)))
    # densities integrate to 1 each, so ∫(a + b) log 2 = 2 log 2 = log 4; at a = b the value is −(a + b) log 2
    assert _zero(at_opt.subs(b, a) + 2 * a * sp.log(2))


def test_girsanov_kl_of_one_euler_step_and_the_bound_scale():
    """likelihood_weighting_bound.md §1: one Euler step of two SDEs sharing g, from the same x, are N(x + b_i h, g² h);
    KL = h(b_1 − b_2)²/(2g²), which with b_1 − b_2 = g²(∇log p − s_θ) is ½ g²(∇log p − s_θ)² h: summed, ½∫g²E‖·‖² dt,
    and
    ½∫_0^T = (T/2)E_{U(0,T)} (002 L557). Planted bug: weighting λ = g instead of g² (the KL then has g³/g²)."""
    b1, b2, mean = sp.symbols("b1 b2 x", real=True)
    g = sp.Symbol("g", positive=True)
    hp = sp.Symbol("h", positive=True)
    v = g**2 * hp
    kl = sp.Rational(1, 2) * (v / v + ((mean + b1 * hp) - (mean + b2 * hp)) ** 2 / v - 1 + sp.log(v / v))
    assert _zero(kl - hp * (b1 - b2) ** 2 / (2 * g**2))
    score, model = sp.symbols("score model", real=True)
    kl_score = kl.subs({b1: g**2 * score, b2: g**2 * model})
    assert _zero(kl_score - hp * g**2 * (score - model) ** 2 / 2)
    assert not _zero(kl_score - hp * g * (score - model) ** 2 / 2)
    integrand = sp.Function("F")(t)
    assert _zero(T / 2 * sp.integrate(integrand, (t, 0, T)) / T - sp.integrate(integrand, (t, 0, T)) / 2)


def test_ddpm_ancestral_step_and_posterior():
    """samplers.md §2: with ᾱ_i = α_i ᾱ_{i−1}, α_i = 1 − β_i, (i) the precision α/β + 1/(1 − ᾱ_{i−1}) equals
    (1 − ᾱ_i)/(β(1 − ᾱ_{i−1})); (ii) E[x_{i−1}|x_i] = [(α(1 − ᾱ_{i−1}) + β)x_i + β(1 − ᾱ_i)s]/(√α(1 − ᾱ_i)) = (x_i +
    β s)/√(1 − β)
    (000 App. B, 002 L150); (iii) SMLD's conditional variance σ_{i−1}² − σ_{i−1}⁴/σ_i² = σ_{i−1}²(σ_i² − σ_{i−1}²)/σ_i².
    Planted bug: 1/√ᾱ_i in place of 1/√α_i in the mean."""
    beta, abar_prev = sp.symbols("beta abar_prev", positive=True)
    xi, score = sp.symbols("x_i s", real=True)
    alpha = 1 - beta
    abar = alpha * abar_prev
    assert _zero(sp.simplify(alpha / beta + 1 / (1 - abar_prev) - (1 - abar) / (beta * (1 - abar_prev))))
    x0_term = sp.sqrt(abar_prev) * beta / (1 - abar) * (xi + (1 - abar) * score) / sp.sqrt(abar)
    mean = sp.sqrt(alpha) * (1 - abar_prev) / (1 - abar) * xi + x0_term
    assert _zero(sp.simplify(mean - (xi + beta * score) / sp.sqrt(alpha)))
    assert not _zero(sp.simplify(mean - (xi + beta * score) / sp.sqrt(abar)))
    s_prev, s_i = sp.symbols("s_prev s_i", positive=True)
    assert _zero(sp.simplify(s_prev**2 - s_prev**4 / s_i**2 - s_prev**2 * (s_i**2 - s_prev**2) / s_i**2))


def test_langevin_invariance_and_ula_bias():
    """samplers.md §3: the Langevin SDE dx = ∂_x log p dt + √2 dw leaves any p = e^{−U} invariant (its Fokker–Planck
    right side −∂_x(p ∂_x log p) + ∂_x²p vanishes), and the unadjusted step x' = x + ε s + √(2ε) z on N(μ, v) has
    stationary
    variance v/(1 − ε/(2v)) = v + ε/2 + O(ε²). Planted bug: noise √ε z (000 App. A's ε_i s + √(2ε_i) z has the 2)."""
    U = sp.Function("U")(x)
    p = sp.exp(-U)
    assert _zero(sp.simplify(-sp.diff(p * sp.diff(sp.log(p), x), x) + sp.diff(p, x, 2)))
    assert not _zero(sp.simplify(-sp.diff(p * sp.diff(sp.log(p), x), x) + sp.diff(p, x, 2) / 2))
    eps, v = sp.symbols("epsilon v", positive=True)
    for noise_var, ok in [(2 * eps, True), (eps, False)]:
        w = sp.Symbol("w", positive=True)
        fixed = sp.solve(sp.Eq(w, (1 - eps / v) ** 2 * w + noise_var), w)[0]
        assert _zero(sp.simplify(fixed - v / (1 - eps / (2 * v)))) is ok
    assert _zero(sp.series(v / (1 - eps / (2 * v)), eps, 0, 2).removeO() - (v + eps / 2))


def test_euler_maruyama_local_error_of_the_reverse_variance():
    """samplers.md §5: one reverse Euler–Maruyama step of size h from the exact N(μ, Σ) (scalar), x' = (1 − ah −
    hg²/Σ)x + … +
    g√h z, has variance Σ − h(2aΣ + g²) + O(h²) = Σ_{t−h} + O(h²) (local error O(h²): weak order 1). Planted bugs: 002's
    z ~ N(0, Δt I) on top of √Δt (E29), which removes the g²h term; and 002 L480's naive reversal without the score
    ("This does not work", rightly), which adds g²h where the reverse step must remove it."""
    a, g, Sigma = sp.symbols("a g Sigma", positive=True)
    M = 1 - a * h - h * g**2 / Sigma
    naive = (1 - a * h) ** 2 * Sigma + g**2 * h  # 002 L480: x_{i-1} = x_i − Δt f − g√Δt z, no score
    for var, ok in [(M**2 * Sigma + g**2 * h, True), (M**2 * Sigma + g**2 * h**2, False), (naive, False)]:
        first = sp.series(var, h, 0, 2).removeO()
        assert _zero(first - (Sigma - h * (2 * a * Sigma + g**2))) is ok


def test_brownian_density_and_vp_variance():
    """forward_sdes.md §3 and 002 L278 (E23): (2πt)^{−1/2} e^{−x²/2t} integrates to 1, the slide's (2t)^{−1/2} to √π;
    002 L712: Var x_t = 1 + e^{−B}(Var x_0 − 1) under the general VP kernel (γ_t = e^{−B/2}, σ_t² = 1 − e^{−B})."""
    tp = sp.Symbol("t", positive=True)
    gauss = sp.exp(-(x**2) / (2 * tp))
    assert sp.simplify(sp.integrate(gauss / sp.sqrt(2 * sp.pi * tp), (x, -sp.oo, sp.oo))) == 1
    assert sp.simplify(sp.integrate(gauss / sp.sqrt(2 * tp), (x, -sp.oo, sp.oo)) - sp.sqrt(sp.pi)) == 0
    B, var0 = sp.symbols("B var0", positive=True)
    assert _zero(sp.exp(-B) * var0 + 1 - sp.exp(-B) - (1 + sp.exp(-B) * (var0 - 1)))


def test_score_ignores_the_normalising_constant_and_multidim_fokker_planck_traces():
    """000 L33 and 003 L84: ∇log(p/Z) = ∇log p (∇log Z_θ = 0: scores need no normalisation); 002 L387: the diffusion
    term
    ½Σ_ij ∂_ij p Σ_k g_ik g_jk = ½Tr(gg^T∇²p) = ½Tr(g^T∇²p g) (fokker_planck.md §1, 3×3 symbolic g and Hessian).
    Planted bug: 001 L725's Σ = σ^Tσ for a non-square σ (E16), which does not even pair with ∇²p."""
    Z = sp.Symbol("Z", positive=True)
    f = sp.Function("f")(x, y)
    assert _zero(sp.diff(sp.log(sp.exp(-f) / Z), x) - sp.diff(sp.log(sp.exp(-f)), x))
    g = sp.Matrix(3, 3, sp.symbols("g0:9", real=True))
    H = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"H{min(i, j)}{max(i, j)}", real=True))
    double_sum = sum(H[i, j] * sum(g[i, k] * g[j, k] for k in range(3)) for i in range(3) for j in range(3))
    assert _zero(double_sum - (g * g.T * H).trace()) and _zero(double_sum - (g.T * H * g).trace())
    wide = sp.Matrix(3, 2, sp.symbols("w0:6", real=True))  # σ ∈ R^{3×2}: σσ^T is 3×3, σ^Tσ is 2×2
    assert (wide * wide.T).shape == H.shape and (wide.T * wide).shape != H.shape

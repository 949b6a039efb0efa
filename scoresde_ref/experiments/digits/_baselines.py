r"""The likelihood baselines, fitted by EM in NumPy on the same training split as the score model
(derivations/experiments_digits.md §2):

- a full-covariance Gaussian mixture $\sum_k \pi_k \mathcal N(x; \mu_k, \Sigma_k + r I)$ of the dequantised, scaled
  data (a density of $x$, scored like the score model: bits/dim $= -\log p(x)/(d\ln2) + $ `levels_offset`);
- a mixture of independent categoricals $P(k) = \sum_c \pi_c \prod_j \theta_{c j}[k_j]$ over the $L$ grey levels
  (a pmf; bits/dim $= -\log_2 P(k)/d$). As a density of the dequantised data it is $P(\lfloor y\rfloor)$ on each
  unit cube, whose dequantised bits/dim equal $-\log_2 P(k)/d$ for every $u$: the two numbers are on one footing.

EM: E-step responsibilities $r_{nk} \propto \pi_k p_k(x_n)$ (by `logsumexp`), M-step the weighted maximum-likelihood
update (with the ridge $r I$ on each covariance, a Dirichlet pseudo-count $\alpha$ on each categorical); each
iteration does not decrease the (penalised) training log-likelihood, and the run stops when its gain per
example falls below `tol`.
"""

import dataclasses

import numpy as np
from scipy.special import logsumexp

LOG_2PI = float(np.log(2 * np.pi))


def _check_mixture_args(owner: str, x: np.ndarray, n_components: int) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{owner}: x must have shape (n, d) with n >= 1; got shape {x.shape}")
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer) or n_components < 1:
        raise ValueError(f"{owner}: n_components must be an integer >= 1; got n_components = {n_components!r}")
    if n_components > x.shape[0]:
        raise ValueError(f"{owner}: n_components must be <= n = {x.shape[0]}; got n_components = {n_components}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{owner}: x must be finite; got {int(np.sum(~np.isfinite(x)))} NaN/inf entries")
    return x


def _initial_responsibilities(rng: np.random.Generator, n: int, n_components: int) -> np.ndarray:
    """Random soft assignments (rows of a flat Dirichlet): a seeded start shared by both EMs."""
    return rng.dirichlet(np.ones(n_components), size=n)


def _em(log_components, m_step, r, n_iter: int, tol: float):
    """Alternate `params = m_step(r)` and $r \\propto \\exp$ `log_components(params)` (rows normalised); return the
    parameters and the mean training log-likelihood after each iteration."""
    history = []
    params = m_step(r)
    for _ in range(n_iter):
        joint = log_components(params)
        log_p = logsumexp(joint, axis=1)
        history.append(float(np.mean(log_p)))
        r = np.exp(joint - log_p[:, None])
        params = m_step(r)
        if len(history) > 1 and history[-1] - history[-2] < tol:
            break
    return params, np.asarray(history)


@dataclasses.dataclass(frozen=True)
class GaussianMixtureFit:
    r"""$\sum_k \pi_k \mathcal N(\mu_k, \Sigma_k)$ fitted by EM: `weights` `(K,)`, `means` `(K, d)`, `covs`
    `(K, d, d)` (the ridge included), `history` the mean training log-likelihood per iteration."""

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    history: np.ndarray

    def component_log_probs(self, x) -> np.ndarray:
        r"""$\log \pi_k + \log \mathcal N(x_n; \mu_k, \Sigma_k)$, `(n, K)`, by Cholesky factors."""
        return _gaussian_log_joint(np.asarray(x, np.float64), (self.weights, self.means, self.covs))

    def log_prob(self, x) -> np.ndarray:
        """$\\log p(x_n)$, `(n,)`."""
        return logsumexp(self.component_log_probs(x), axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` draws `(n, d)`: a component by its weight, then $\\mu_k + L_k z$."""
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        chol = np.linalg.cholesky(self.covs)
        return self.means[k] + np.einsum("nij,nj->ni", chol[k], z)

    def conditional(self, x, known: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""The law of the unknown coordinates given the known ones `x[:, known]`: a mixture with weights
        $w_k \propto \pi_k \mathcal N(x_K; \mu_{kK}, \Sigma_{kKK})$ of
        $\mathcal N(\mu_{kU} + \Sigma_{kUK}\Sigma_{kKK}^{-1}
        (x_K - \mu_{kK}),\ \Sigma_{kUU} - \Sigma_{kUK}\Sigma_{kKK}^{-1}\Sigma_{kKU})$ (Schur complement).
        **Returns** `(w (n, K), means (n, K, |U|), covs (K, |U|, |U|))`."""
        x = np.asarray(x, np.float64)
        K, U = np.asarray(known, bool), ~np.asarray(known, bool)
        sub = (self.weights, self.means[:, K], self.covs[:, K][:, :, K])
        joint = _gaussian_log_joint(x[:, K], sub)
        w = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        gain = np.stack([np.linalg.solve(c[K][:, K], c[K][:, U]).T for c in self.covs])  # Σ_UK Σ_KK^{-1}
        means = self.means[None, :, U] + np.einsum("kuj,nkj->nku", gain, x[:, None, K] - self.means[None, :, K])
        covs = np.stack([c[U][:, U] - g @ c[K][:, U] for c, g in zip(self.covs, gain, strict=True)])
        return w, means, covs

    def conditional_mean(self, x, known) -> np.ndarray:
        """$E[x_U \\mid x_K] = \\sum_k w_k\\,\\mu_{k,U|K}$, `(n, |U|)`: the mean-squared-error-optimal completion under
        the mixture."""
        w, means, _ = self.conditional(x, known)
        return np.einsum("nk,nku->nu", w, means)

    def conditional_sample(self, rng: np.random.Generator, x, known) -> np.ndarray:
        """One draw of $x_U \\mid x_K$ per row, `(n, |U|)`."""
        w, means, covs = self.conditional(x, known)
        k = np.array([rng.choice(len(row), p=row / row.sum()) for row in w])
        chol = np.linalg.cholesky(covs + 1e-12 * np.eye(covs.shape[1]))  # Schur complements of an SPD matrix
        z = rng.standard_normal((len(k), covs.shape[1]))
        return means[np.arange(len(k)), k] + np.einsum("nij,nj->ni", chol[k], z)


def _gaussian_log_joint(x: np.ndarray, params) -> np.ndarray:
    r"""$\log\pi_k - \tfrac12\|L_k^{-1}(x_n - \mu_k)\|^2 - \sum_i \log (L_k)_{ii} - \tfrac d2\log 2\pi$, `(n, K)`, with
    $\Sigma_k = L_k L_k^\top$ (batched over the components)."""
    weights, means, covs = params
    chol = np.linalg.cholesky(covs)
    inv = np.linalg.inv(chol)  # (K, d, d), lower triangular
    z = np.matmul(x[None] - means[:, None, :], np.swapaxes(inv, 1, 2))  # (K, n, d): rows L_k^{-1}(x_n - mu_k)
    log_det = np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    return (np.log(weights) - 0.5 * np.sum(z**2, axis=2).T) - log_det - 0.5 * x.shape[1] * LOG_2PI


def fit_gaussian_mixture(
    x, n_components: int, *, seed: int = 0, ridge: float = 1e-3, n_iter: int = 300, tol: float = 1e-6
) -> GaussianMixtureFit:
    r"""EM for a full-covariance Gaussian mixture of `x` `(n, d)`: M-step $N_k = \sum_n r_{nk}$,
    $\pi_k = N_k/n$, $\mu_k = \sum_n r_{nk}x_n/N_k$, $\Sigma_k = \sum_n r_{nk}(x_n - \mu_k)(x_n - \mu_k)^\top/N_k + rI$
    (`ridge` $r > 0$ keeps every $\Sigma_k$ positive definite), from random responsibilities drawn with `seed`."""
    owner = "fit_gaussian_mixture"
    x = _check_mixture_args(owner, x, n_components)
    if not (np.isfinite(ridge) and ridge > 0):
        raise ValueError(f"{owner}: ridge must be > 0; got ridge = {ridge!r}")
    d = x.shape[1]

    def m_step(r):
        nk = r.sum(axis=0) + 1e-12
        means = (r.T @ x) / nk[:, None]
        diff = x[None] - means[:, None, :]  # (K, n, d)
        covs = np.matmul(np.swapaxes(diff * r.T[:, :, None], 1, 2), diff) / nk[:, None, None]
        return nk / nk.sum(), means, covs + ridge * np.eye(d)

    r = _initial_responsibilities(np.random.default_rng(seed), x.shape[0], n_components)
    (weights, means, covs), history = _em(lambda p: _gaussian_log_joint(x, p), m_step, r, n_iter, tol)
    return GaussianMixtureFit(weights, means, covs, history)


@dataclasses.dataclass(frozen=True)
class CategoricalMixtureFit:
    r"""$P(k) = \sum_c \pi_c \prod_j \theta_{cj}[k_j]$: `weights` `(C,)`, `log_theta` `(C, d, L)`, `history` the
    mean training log-likelihood (nats) per iteration."""

    weights: np.ndarray
    log_theta: np.ndarray
    history: np.ndarray

    @property
    def levels(self) -> int:
        return self.log_theta.shape[2]

    def component_log_probs(self, k) -> np.ndarray:
        r"""$\log\pi_c + \sum_j \log\theta_{cj}[k_{nj}]$, `(n, C)`."""
        return _categorical_log_joint(_one_hot(k, self.levels), self.weights, self.log_theta)

    def log_prob(self, k) -> np.ndarray:
        """$\\log P(k_n)$ (nats), `(n,)`."""
        return logsumexp(self.component_log_probs(k), axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` draws `(n, d)` of grey levels (float64)."""
        c = rng.choice(len(self.weights), size=n, p=self.weights)
        cdf = np.cumsum(np.exp(self.log_theta[c]), axis=2)  # (n, d, L)
        u = rng.uniform(size=cdf.shape[:2] + (1,))
        return np.minimum(np.sum(u > cdf, axis=2), self.levels - 1).astype(np.float64)

    def conditional_mean(self, k, known) -> np.ndarray:
        r"""$E[k_U \mid k_K] = \sum_c w_c \sum_l l\,\theta_{cU}[l]$,
        $w_c \propto \pi_c \prod_{j\in K}\theta_{cj}[k_j]$."""
        known = np.asarray(known, bool)
        joint = _categorical_log_joint(
            _one_hot(np.asarray(k)[:, known], self.levels), self.weights, self.log_theta[:, known]
        )
        w = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        means = np.exp(self.log_theta[:, ~known]) @ np.arange(self.levels, dtype=np.float64)  # (C, |U|)
        return w @ means


def _categorical_log_joint(onehot: np.ndarray, weights: np.ndarray, log_theta: np.ndarray) -> np.ndarray:
    r"""$\log\pi_c + \sum_j \log\theta_{cj}[k_{nj}]$ `(n, C)` from the one-hot `(n, d, L)` (one matrix product)."""
    n = onehot.shape[0]
    return np.log(weights) + onehot.reshape(n, -1) @ log_theta.reshape(len(weights), -1).T


def _one_hot(k, levels: int) -> np.ndarray:
    k = np.asarray(k)
    if not (np.all(k == np.round(k)) and k.min() >= 0 and k.max() < levels):
        raise ValueError(f"categorical mixture: k must be integers in [0, {levels}); got [{k.min()}, {k.max()}]")
    return (k.astype(np.int64)[..., None] == np.arange(levels)).astype(np.float64)


def fit_categorical_mixture(
    k, n_components: int, levels: int, *, seed: int = 0, alpha: float = 1.0, n_iter: int = 300, tol: float = 1e-6
) -> CategoricalMixtureFit:
    r"""EM for a mixture of independent categoricals over `levels` values of `k` `(n, d)`: M-step
    $\pi_c = N_c/n$, $\theta_{cj}[l] = (\sum_n r_{nc}[k_{nj} = l] + \alpha)/(N_c + L\alpha)$ (a Dirichlet
    pseudo-count `alpha` $> 0$: no level has probability 0 on held-out data)."""
    owner = "fit_categorical_mixture"
    k = _check_mixture_args(owner, k, n_components)
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"{owner}: alpha must be > 0; got alpha = {alpha!r}")
    onehot = _one_hot(k, levels)

    def m_step(r):
        nc = r.sum(axis=0) + 1e-12  # a component that empties keeps a finite log-weight
        counts = (r.T @ onehot.reshape(len(r), -1)).reshape(r.shape[1], *onehot.shape[1:]) + alpha
        return nc / nc.sum(), np.log(counts / counts.sum(axis=2, keepdims=True))

    r = _initial_responsibilities(np.random.default_rng(seed), k.shape[0], n_components)
    (weights, log_theta), history = _em(lambda p: _categorical_log_joint(onehot, *p), m_step, r, n_iter, tol)
    return CategoricalMixtureFit(weights, log_theta, history)

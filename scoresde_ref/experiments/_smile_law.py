r"""The smile of 000_cce368350850b628.txt §5.2 and appendix E as a law, with its density when the mouth is noisy
(derivations/experiments.md §2).

Two eyes $\mathcal N(e_\pm, s^2 I)$, $e_\pm = (\pm 0.6, 0.8)$, $s = 0.02$, of weight ¼ each, and a mouth of weight ½:
$(x, -\sqrt{1 - x^2})$ with $x \sim U[-1, 1]$, plus $\mathcal N(0, \tau^2 I)$ noise ($\tau = 0$: `smile`;
$\tau = 0.02$: `smile-noisy`). Writing $x = \cos\theta$, $\theta \in [\pi, 2\pi]$, the mouth is the lower unit
semicircle $c(\theta) = (\cos\theta, \sin\theta)$ with density $\tfrac12|\sin\theta|$ in $\theta$ (the Jacobian of
$x = \cos\theta$), so under the VP kernel ($x_t = \alpha x_0 + \sigma z$)

$$p_t(y) = \tfrac14\sum_\pm \mathcal N(y; \alpha e_\pm, (\alpha^2 s^2 + \sigma^2) I)
+ \tfrac12\int_\pi^{2\pi} \tfrac12|\sin\theta|\,\mathcal N(y; \alpha c(\theta), v I)\,d\theta,
\quad v = \alpha^2\tau^2 + \sigma^2,$$

a density whenever $\alpha^2\tau^2 + \sigma^2 > 0$. The integral is computed by composite Gauss–Legendre in
$\theta$ (`PANELS` × `NODES`), in log space (`logsumexp`): in $\theta$ the integrand is a Gaussian of width
$\approx\sqrt{v}/\alpha$ (the unit circle is parameterised by arc length), ≥ 0.02, and a panel is narrower than that.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

EYES = ((-0.6, 0.8), (0.6, 0.8))
EYE_STD = 0.02
WEIGHTS = (0.25, 0.25, 0.5)  # left eye, right eye, mouth (000 §5.2: 100, 100 and 200 points)
PANELS, NODES = 128, 16


@functools.lru_cache(maxsize=8)
def theta_rule(panels: int = PANELS, nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes $\theta_j$ and weights $w_j$ of composite Gauss–Legendre on $[\pi, 2\pi]$ times the mouth's density
    $\tfrac12|\sin\theta|$ in $\theta$: $\int_\pi^{2\pi}\tfrac12|\sin\theta| f(\theta)\,d\theta \approx
    \sum_j w_j f(\theta_j)$ ($\sum_j w_j = 1$ to rounding)."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(np.pi, 2 * np.pi, panels + 1)
    half = np.diff(edges)[:, None] / 2
    theta = (edges[:-1, None] + half * (u[None, :] + 1)).ravel()
    weights = (half * w[None, :]).ravel() * 0.5 * np.abs(np.sin(theta))
    return theta, weights


class SmileLaw:
    r"""The smile with mouth noise `mouth_std` $\tau$ (module docstring): `sample`, `log_prob` (needs
    $\tau > 0$ or $t > 0$), `components` (nearest part of each point)."""

    def __init__(self, mouth_std: float):
        self.mouth_std = float(mouth_std)

    def sample(self, key, n: int, *, stratified: bool = False) -> np.ndarray:
        """`n` points `(n, 2)` (float64): iid from the mixture, or with the document's exact proportions
        (`stratified`: n/4, n/4, n/2, as 000's 100, 100, 200)."""
        k_comp, k_eye, k_x, k_noise = jax.random.split(key, 4)
        if stratified:
            counts = np.array([n // 4, n // 4, n - 2 * (n // 4)])
            comp = np.repeat(np.arange(3), counts)
        else:
            comp = np.asarray(jax.random.choice(k_comp, 3, (n,), p=jnp.asarray(WEIGHTS)))
        eyes = np.asarray(EYES)[np.minimum(comp, 1)] + EYE_STD * np.asarray(jax.random.normal(k_eye, (n, 2)))
        x = np.asarray(jax.random.uniform(k_x, (n,), minval=-1.0, maxval=1.0))
        mouth = np.stack([x, -np.sqrt(1 - x**2)], axis=1)
        mouth = mouth + self.mouth_std * np.asarray(jax.random.normal(k_noise, (n, 2)))
        return np.where((comp == 2)[:, None], mouth, eyes).astype(np.float64)

    def log_prob(self, y, alpha=1.0, sigma=0.0, *, panels: int = PANELS, nodes: int = NODES):
        r"""$\log p_t(y)$ for points `y` `(n, 2)`, with $p_t$ the law of $\alpha x_0 + \sigma z$ (the VP kernel's
        `mean_coeff`, `std`; default $t = 0$). JAX, float64 if `y` is."""
        y = jnp.asarray(y)
        v_eye = alpha**2 * EYE_STD**2 + sigma**2
        v_mouth = alpha**2 * self.mouth_std**2 + sigma**2
        if not v_mouth > 0:
            raise ValueError(f"SmileLaw.log_prob: the mouth has no density when tau = sigma = 0; got v = {v_mouth}")
        theta, w = (jnp.asarray(a, y.dtype) for a in theta_rule(panels, nodes))

        def log_normal(y, mean, v):  # isotropic 2-D Gaussian
            return -jnp.sum((y - mean) ** 2, axis=-1) / (2 * v) - jnp.log(2 * jnp.pi * v)

        eyes = jnp.asarray(EYES, y.dtype)
        log_eyes = [log_normal(y, alpha * e[None, :], v_eye) for e in eyes]
        curve = alpha * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)  # (J, 2)
        log_mouth = jax.scipy.special.logsumexp(
            jnp.log(w)[None, :] + log_normal(y[:, None, :], curve[None], v_mouth), axis=1
        )
        parts = jnp.stack([*log_eyes, log_mouth], axis=1) + jnp.log(jnp.asarray(WEIGHTS, y.dtype))[None, :]
        return jax.scipy.special.logsumexp(parts, axis=1)

    @staticmethod
    def distances(y) -> np.ndarray:
        """Distances `(n, 3)` of points to the left eye, the right eye and the mouth's semicircle."""
        y = np.asarray(y, np.float64)
        d_eyes = [np.linalg.norm(y - np.asarray(e), axis=1) for e in EYES]
        r = np.linalg.norm(y, axis=1)
        on_arc = np.abs(r - 1.0)  # nearest point (y / r) is on the lower half when y_2 <= 0
        to_ends = np.minimum(np.linalg.norm(y - [1.0, 0.0], axis=1), np.linalg.norm(y - [-1.0, 0.0], axis=1))
        d_mouth = np.where(y[:, 1] <= 0, on_arc, to_ends)
        return np.stack([*d_eyes, d_mouth], axis=1)

    def components(self, y) -> tuple[np.ndarray, np.ndarray, float]:
        """`(fractions (3,), binomial standard errors (3,), off-smile fraction)`: the share of points nearest to
        each part, and of points farther than 0.1 (5 standard deviations) from every part."""
        d = self.distances(y)
        k = np.argmin(d, axis=1)
        frac = np.bincount(k, minlength=3) / k.size
        return frac, np.sqrt(frac * (1 - frac) / k.size), float(np.mean(d.min(axis=1) > 0.1))

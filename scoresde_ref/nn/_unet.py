r"""A small convolutional U-Net score network for images, channels first `(C, H, W)` (8 × 8 up to 28 × 28; $H$, $W$
multiples of 4), conditioned on the noise level through the same Fourier embedding (derivations/nn.md §4).

Two resolutions below the input ($H \to H/2 \to H/4$, strided 3 × 3 convolutions), a residual block at each
level whose hidden activations get a per-channel shift from the embedding (Ho et al. 2020; Song et al. 2021),
transposed convolutions back up, skip connections by concatenation. It acts on one example, flat `(C·H·W,)`
(what the samplers, losses and likelihood pass) or `(C, H, W)`, and returns the shape it was given.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, ScalarLike
from ._embedding import GaussianFourierEmbedding


class _ResBlock(eqx.Module):
    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    shift: eqx.nn.Linear
    skip: eqx.nn.Conv2d | None

    def __init__(self, key, c_in, c_out, e, dtype):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.conv1 = eqx.nn.Conv2d(c_in, c_out, 3, padding=1, key=k1, dtype=dtype)
        self.conv2 = eqx.nn.Conv2d(c_out, c_out, 3, padding=1, key=k2, dtype=dtype)
        self.shift = eqx.nn.Linear(e, c_out, key=k3, dtype=dtype)
        self.skip = None if c_in == c_out else eqx.nn.Conv2d(c_in, c_out, 1, key=k4, dtype=dtype)

    def __call__(self, h, emb):
        y = jax.nn.silu(self.conv1(h)) + self.shift(emb)[:, None, None]
        y = self.conv2(jax.nn.silu(y))
        return y + (h if self.skip is None else self.skip(h))


class UNetScoreNet(eqx.Module):
    r"""`(x, u) -> out` of the shape of `x` (flat `(C·H·W,)` or `(C, H, W)`), for images of `shape = (C, H, W)`.

    **Arguments:** `key`, `shape` $(C, H, W)$ with $H, W \ge 8$ multiples of 4, `channels` $(c_0, c_1)$ (16, 32),
    `n_features` (16) and `scale` (1.0) of the embedding, `dtype`; `zero_output` starts the output convolution at
    zero weights and bias (the network is 0 at initialisation: a residual over a fixed score starts at that score)."""

    shape: tuple[int, int, int] = eqx.field(static=True)
    embedding: GaussianFourierEmbedding
    embed_in: eqx.nn.Linear
    embed_out: eqx.nn.Linear
    conv_in: eqx.nn.Conv2d
    block0: _ResBlock
    down0: eqx.nn.Conv2d
    block1: _ResBlock
    down1: eqx.nn.Conv2d
    mid: _ResBlock
    up1: eqx.nn.ConvTranspose2d
    block_up1: _ResBlock
    up0: eqx.nn.ConvTranspose2d
    block_up0: _ResBlock
    conv_out: eqx.nn.Conv2d

    def __init__(
        self,
        key: Key,
        shape: tuple[int, int, int],
        *,
        channels: tuple[int, int] = (16, 32),
        n_features: int = 16,
        scale: float = 1.0,
        zero_output: bool = False,
        dtype=None,
    ):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or shape[0] < 1 or any(s < 8 or s % 4 for s in shape[1:]):
            raise ValueError(
                f"UNetScoreNet: shape must be (C, H, W) with C >= 1 and H, W >= 8 multiples of 4; got {shape}"
            )
        c0, c1 = (int(c) for c in channels)
        if min(c0, c1) < 1:
            raise ValueError(f"UNetScoreNet: channels must be two positive integers; got {channels}")
        dtype = dtype or jnp.result_type(float)
        keys = iter(jax.random.split(key, 14))
        e = 4 * c0
        self.shape = shape
        self.embedding = GaussianFourierEmbedding(next(keys), n_features, scale, dtype)
        self.embed_in = eqx.nn.Linear(2 * int(n_features), e, key=next(keys), dtype=dtype)
        self.embed_out = eqx.nn.Linear(e, e, key=next(keys), dtype=dtype)
        self.conv_in = eqx.nn.Conv2d(shape[0], c0, 3, padding=1, key=next(keys), dtype=dtype)
        self.block0 = _ResBlock(next(keys), c0, c0, e, dtype)
        self.down0 = eqx.nn.Conv2d(c0, c1, 3, stride=2, padding=1, key=next(keys), dtype=dtype)
        self.block1 = _ResBlock(next(keys), c1, c1, e, dtype)
        self.down1 = eqx.nn.Conv2d(c1, c1, 3, stride=2, padding=1, key=next(keys), dtype=dtype)
        self.mid = _ResBlock(next(keys), c1, c1, e, dtype)
        self.up1 = eqx.nn.ConvTranspose2d(c1, c1, 4, stride=2, padding=1, key=next(keys), dtype=dtype)
        self.block_up1 = _ResBlock(next(keys), 2 * c1, c1, e, dtype)
        self.up0 = eqx.nn.ConvTranspose2d(c1, c0, 4, stride=2, padding=1, key=next(keys), dtype=dtype)
        self.block_up0 = _ResBlock(next(keys), 2 * c0, c0, e, dtype)
        conv_out = eqx.nn.Conv2d(c0, shape[0], 3, padding=1, key=next(keys), dtype=dtype)
        if zero_output:
            conv_out = eqx.tree_at(lambda c: (c.weight, c.bias), conv_out, replace_fn=jnp.zeros_like)
        self.conv_out = conv_out

    def __call__(self, x: Array, u: ScalarLike) -> Array:
        size = self.shape[0] * self.shape[1] * self.shape[2]
        if x.shape not in ((size,), self.shape):
            raise ValueError(f"UNetScoreNet: x must have shape ({size},) or {self.shape}; got {x.shape}")
        emb = self.embed_out(jax.nn.silu(self.embed_in(self.embedding(u))))
        h0 = self.block0(self.conv_in(jnp.reshape(x, self.shape)), emb)
        h1 = self.block1(self.down0(h0), emb)
        h = self.mid(self.down1(h1), emb)
        h = self.block_up1(jnp.concatenate([self.up1(h), h1]), emb)
        h = self.block_up0(jnp.concatenate([self.up0(h), h0]), emb)
        return jnp.reshape(self.conv_out(h), x.shape)

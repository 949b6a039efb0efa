"""Shape-carrying type aliases used across the package (jaxtyping)."""

from collections.abc import Callable

from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

Scalar = Float[Array, ""]
ScalarLike = float | Float[ArrayLike, ""]
Vector = Float[Array, " d"]
VectorLike = Float[ArrayLike, " d"]
Batch = Float[Array, "n d"]
Matrix = Float[Array, "d d"]
Key = PRNGKeyArray
Times = Float[ArrayLike, "*t"]
"""A time or an array of times: the schedule coefficients (beta, sigma, g, ...) act elementwise."""

ScoreFn = Callable[[Vector, ScalarLike], Vector]
"""A score function `score_fn(x, t) -> array like x`, acting on one example."""

__all__ = [
    "Array",
    "Batch",
    "Key",
    "Matrix",
    "Scalar",
    "ScalarLike",
    "ScoreFn",
    "Times",
    "Vector",
    "VectorLike",
]

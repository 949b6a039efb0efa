"""Hypothesis strategies shared by the twin specs: batch shapes and float32-representable arrays (so that a float32
and a float64 target see the same inputs)."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

TRAILING = ((3,), (2, 2), (1,), (4,))


def batch_shapes(min_batch: int = 1, max_batch: int = 3, trailing=TRAILING):
    """`(B, *trailing)`: the library's layout, batch first, at least one trailing axis."""
    return st.tuples(st.integers(min_batch, max_batch), st.sampled_from(trailing)).map(lambda p: (p[0], *p[1]))


def arrays(shape, bound: float = 4.0):
    """float64 arrays of `shape` with float32-representable entries in [-bound, bound]."""
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=32)
    return hnp.arrays(np.float64, shape, elements=elements)


def normal_arrays(shape):
    """Noise-like arrays: float32-representable entries in [-4, 4] (a drawn N(0, 1) sample's range)."""
    return arrays(shape, 4.0)

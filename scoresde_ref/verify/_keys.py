"""Fresh keys from a fixed seed for the checks: the same sequence as the `getkey` fixture of tests/conftest.py,
so a check ported from a test draws the test's numbers."""

import jax


def key_sequence(seed: int = 0):
    """`getkey = key_sequence()`; each `getkey()` returns the next key of `split` chained from `key(seed)`."""
    key = jax.random.key(seed)

    def getkey():
        nonlocal key
        key, sub = jax.random.split(key)
        return sub

    return getkey

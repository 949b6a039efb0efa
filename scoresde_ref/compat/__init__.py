"""Twins of other libraries' public APIs, computed from this project's mathematics (derivations/compat.md).

A twin has the library's class, function, method, argument and attribute names, defaults and return
structure, so that a user swaps the import and compares outputs; wherever the library draws random numbers
the twin takes them as a keyword argument (`noise`, or the library's own name such as DDIM's
`variance_noise`). Arrays in and out are NumPy (or JAX) arrays in the library's layout, batch first.

- `scoresde_ref.compat.diffusers`: `DDPMScheduler`, `DDIMScheduler`, `EulerDiscreteScheduler`,
  `EulerAncestralDiscreteScheduler`, `ScoreSdeVeScheduler`, `ScoreSdeVpScheduler` (Hugging Face diffusers).
- `scoresde_ref.compat.score_sde`, `scoresde_ref.compat.k_diffusion`: the reference code of Song et al. and
  k-diffusion.

The subpackages are imported on first use (`import scoresde_ref.compat.diffusers`), not by this module.
"""

"""Strings at the boundary, mapped to objects in one place.

Today's contract accepts strings (`predictor="ancestral"`, `corrector="ald"`, `solver="tsit5"`); every
sampler maps them here, and accepts the objects themselves as well:

| option | strings | objects |
|---|---|---|
| predictor | `"euler_maruyama"`, `"reverse_diffusion"` | `EulerMaruyama()`, `ReverseDiffusion()` |
| | `"ancestral"` | `Ancestral()` |
| corrector | `None`, `"langevin"` | `None`, `LangevinCorrector(snr, n_steps, norm)` |
| | `"ald"` | `AnnealedLangevinCorrector(snr, n_steps)` |
| ODE solver | `"tsit5"`, `"dopri5"`, `"dopri8"`, `"heun"`, `"euler"` | the diffrax solver (`diffrax.Tsit5()`, ...) |
| SDE solver | `"euler"`, `"heun"`, `"milstein"`, `"shark"`, `"sra1"` | the diffrax solver (`diffrax.ShARK()`, ...) |

A solver's evaluation count (for `nfe`) and needs (an error estimate, space-time Lévy area) are looked
up by its type in `ODE_SOLVERS` / `SDE_SOLVERS`, the one table of each.
"""

from typing import NamedTuple

import diffrax

from ._correctors import SNR_NORMS, AbstractCorrector, AnnealedLangevinCorrector, LangevinCorrector
from ._predictors import AbstractPredictor, Ancestral, EulerMaruyama, ReverseDiffusion

PREDICTORS = {"euler_maruyama": EulerMaruyama, "reverse_diffusion": ReverseDiffusion, "ancestral": Ancestral}
CORRECTORS = {"langevin": LangevinCorrector, "ald": AnnealedLangevinCorrector}


def _choice(value, allowed, name, owner):
    if value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {tuple(allowed)}; got {value!r}")


def as_predictor(predictor, owner: str = "pc_sample") -> AbstractPredictor:
    """`"euler_maruyama"` -> `EulerMaruyama()`, `"reverse_diffusion"` -> `ReverseDiffusion()`, `"ancestral"` ->
    `Ancestral()`; objects pass."""
    if isinstance(predictor, AbstractPredictor):
        return predictor
    _choice(predictor, PREDICTORS, "predictor", owner)
    return PREDICTORS[predictor]()


def as_corrector(
    corrector, *, snr=None, n_steps=None, snr_norm=None, owner: str = "pc_sample"
) -> AbstractCorrector | None:
    """`None` -> `None`; `"langevin"` -> `LangevinCorrector(snr, n_steps, snr_norm)`; `"ald"` ->
    `AnnealedLangevinCorrector(snr, n_steps)` (defaults `snr = 0.16`, `n_steps = 1`, `snr_norm = "batch"`);
    objects pass. `snr_norm` is refused where it means nothing (`"ald"`, an object), and so are `snr` and
    `n_steps` with an object (they are its fields)."""
    if snr_norm is not None:
        _choice(snr_norm, SNR_NORMS, "snr_norm", owner)
    if isinstance(corrector, AbstractCorrector):
        given = [k for k, v in (("snr", snr), ("corrector_steps", n_steps), ("snr_norm", snr_norm)) if v is not None]
        if given:
            raise ValueError(
                f"{owner}: {', '.join(given)} {'is a field' if len(given) == 1 else 'are fields'} of the corrector "
                "object; pass them to it, not here"
            )
        return corrector
    _choice(corrector, (None, *CORRECTORS), "corrector", owner)
    if corrector is None:
        return None
    snr = 0.16 if snr is None else snr
    n_steps = 1 if n_steps is None else n_steps
    if corrector == "ald":
        if snr_norm is not None:
            raise ValueError(f"{owner}: snr_norm means nothing for the 'ald' corrector (its step size uses no norm)")
        return AnnealedLangevinCorrector(snr, n_steps)
    return LangevinCorrector(snr, n_steps, "batch" if snr_norm is None else snr_norm)


class SolverInfo(NamedTuple):
    """What a sampler needs to know about a diffrax solver: its class, evaluations of the vector field (the
    score) per step and at the start, and whether it can drive an adaptive controller (ODE) or needs
    space-time Lévy area (SDE)."""

    cls: type
    per_step: int
    at_start: int
    flag: bool


# name -> info; FSAL Runge–Kutta methods (tsit5, dopri5/8) need 6 (12) new stages per attempted step and 1 to start.
ODE_SOLVERS = {
    "tsit5": SolverInfo(diffrax.Tsit5, 6, 1, True),
    "dopri5": SolverInfo(diffrax.Dopri5, 6, 1, True),
    "dopri8": SolverInfo(diffrax.Dopri8, 12, 1, True),
    "heun": SolverInfo(diffrax.Heun, 2, 0, False),
    "euler": SolverInfo(diffrax.Euler, 1, 0, False),
}
# name -> info with `flag` = needs space-time Lévy area; the noise of the reverse SDE is additive.
SDE_SOLVERS = {
    "euler": SolverInfo(diffrax.Euler, 1, 0, False),
    "heun": SolverInfo(diffrax.Heun, 2, 0, False),
    "milstein": SolverInfo(diffrax.ItoMilstein, 1, 0, False),
    "shark": SolverInfo(diffrax.ShARK, 2, 0, True),
    "sra1": SolverInfo(diffrax.SRA1, 2, 0, True),
}


def as_solver(solver, table: dict, owner: str) -> tuple[diffrax.AbstractSolver, SolverInfo]:
    """`(solver object, info)` for a name of `table` or a diffrax solver whose type `table` lists."""
    if isinstance(solver, str):
        _choice(solver, table, "solver", owner)
        info = table[solver]
        return info.cls(), info
    for info in table.values():
        if type(solver) is info.cls:
            return solver, info
    raise ValueError(
        f"{owner}: solver must be one of {tuple(table)} or an instance of those diffrax solvers; got {solver!r}"
    )

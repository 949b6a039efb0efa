"""The output types of the diffusers twins' `step` methods, with the library's class and field names.

diffusers' outputs are `BaseOutput` dataclasses read by attribute (`out.prev_sample`), by index (`out[0]`) or as
`out.to_tuple()`; these `NamedTuple`s read the same three ways (`return_dict=False` gives the plain tuple)."""

from typing import NamedTuple

import numpy as np


def _to_tuple(self) -> tuple:
    """The fields that are not `None`, in order (diffusers' `BaseOutput.to_tuple`)."""
    return tuple(v for v in self if v is not None)


class SchedulerOutput(NamedTuple):
    """`prev_sample`: $x$ after the step (diffusers' `SchedulerOutput`, e.g. of `ScoreSdeVeScheduler.step_correct`)."""

    prev_sample: np.ndarray

    to_tuple = _to_tuple


class DDPMSchedulerOutput(NamedTuple):
    r"""`prev_sample` $x_{t'}$ and `pred_original_sample` $\hat x_0$ of one `DDPMScheduler.step`."""

    prev_sample: np.ndarray
    pred_original_sample: np.ndarray | None = None

    to_tuple = _to_tuple


class DDIMSchedulerOutput(NamedTuple):
    r"""`prev_sample` $x_{t'}$ and `pred_original_sample` $\hat x_0$ of one `DDIMScheduler.step`."""

    prev_sample: np.ndarray
    pred_original_sample: np.ndarray | None = None

    to_tuple = _to_tuple


class EulerDiscreteSchedulerOutput(NamedTuple):
    r"""`prev_sample` and `pred_original_sample` $\hat x_0$ of one `EulerDiscreteScheduler.step`."""

    prev_sample: np.ndarray
    pred_original_sample: np.ndarray | None = None

    to_tuple = _to_tuple


class EulerAncestralDiscreteSchedulerOutput(NamedTuple):
    r"""`prev_sample` and `pred_original_sample` $\hat x_0$ of one `EulerAncestralDiscreteScheduler.step`."""

    prev_sample: np.ndarray
    pred_original_sample: np.ndarray | None = None

    to_tuple = _to_tuple


class SdeVeOutput(NamedTuple):
    """`prev_sample` and `prev_sample_mean` (the sample before its noise) of `ScoreSdeVeScheduler.step_pred`."""

    prev_sample: np.ndarray
    prev_sample_mean: np.ndarray

    to_tuple = _to_tuple

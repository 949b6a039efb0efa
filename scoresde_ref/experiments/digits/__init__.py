r"""The digits experiments (000_cce368350850b628.txt §5.3 and appendix F; 004_77456edc02bb59d5.txt): `digits`,
`digits-conditional`, `digits-inpaint`, and `run_user_images` for a user's own images (`--data FILE.npy`), all
registered on import (derivations/experiments_digits.md)."""

from .._base import ExperimentOutput, RunConfig, register
from ._conditional import run_digits_conditional
from ._inpaint import run_digits_inpaint
from ._unconditional import run_digits
from ._user import run_user_images as run_user_images


def _output(parts) -> ExperimentOutput:
    title, summary, table, metrics, samples, figures = parts
    return ExperimentOutput(title, summary, table, metrics, samples, figures)


@register("digits", description="000 §5.3: a score model on the 8 × 8 digits; bits/dim vs baselines; 004's IS/FD")
def digits(config: RunConfig) -> ExperimentOutput:
    return run_user_images(config) if config.data is not None else _output(run_digits(config))


@register("digits-conditional", description="000 §4, App. F: class-conditional digits by Bayes' rule for scores")
def digits_conditional(config: RunConfig) -> ExperimentOutput:
    return run_user_images(config) if config.data is not None else _output(run_digits_conditional(config))


@register("digits-inpaint", description="000 §4 / 004 §1.4: the replacement method on held-out digits, half known")
def digits_inpaint(config: RunConfig) -> ExperimentOutput:
    return run_user_images(config) if config.data is not None else _output(run_digits_inpaint(config))

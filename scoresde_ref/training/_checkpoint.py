r"""Checkpoints without pickle: the weights, EMA and optimiser state by `eqx.tree_serialise_leaves`, the loss
history as a `.npy` (`allow_pickle=False`), the configuration as JSON.

A checkpoint is a directory holding `state.eqx`, `losses.npy` and `config.json`; each file is written to a
temporary name and renamed, so an interrupted write leaves the previous checkpoint whole. `load_checkpoint`
needs a template of the same structure (`eqx.tree_deserialise_leaves`): `train_score(..., resume=directory)`
builds it from the same model and optimiser, so that resuming continues the run bit for bit.
"""

import json
import os
import pathlib

import equinox as eqx
import numpy as np

from ._result import TrainResult

FORMAT = 1


def _replace(tmp: pathlib.Path, final: pathlib.Path) -> None:
    os.replace(tmp, final)


def save_checkpoint(directory, result: TrainResult) -> pathlib.Path:
    """Write `result` to `directory` (created if needed): `state.eqx`, `losses.npy`, `config.json`."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = (result.model, result.ema_model, result.opt_state)
    tmp = directory / "state.eqx.tmp"
    eqx.tree_serialise_leaves(tmp, state)
    _replace(tmp, directory / "state.eqx")
    tmp = directory / "losses.tmp.npy"
    np.save(tmp, np.asarray(result.losses), allow_pickle=False)
    _replace(tmp, directory / "losses.npy")
    config = dict(result.config, format=FORMAT, step=int(result.step))
    tmp = directory / "config.json.tmp"
    tmp.write_text(json.dumps(config, indent=1, sort_keys=True), encoding="utf-8")
    _replace(tmp, directory / "config.json")
    return directory


def read_config(directory) -> dict:
    """The JSON configuration of the checkpoint in `directory`."""
    path = pathlib.Path(directory) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint in {directory} (missing config.json)")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: checkpoint format must be {FORMAT}; got {config.get('format')!r}")
    return config


def load_checkpoint(directory, like: TrainResult) -> TrainResult:
    """The `TrainResult` saved in `directory`, read into the structure of `like` (same model and optimiser)."""
    directory = pathlib.Path(directory)
    config = read_config(directory)
    template = (like.model, like.ema_model, like.opt_state)
    model, ema_model, opt_state = eqx.tree_deserialise_leaves(directory / "state.eqx", template)
    losses = np.load(directory / "losses.npy", allow_pickle=False)
    step = int(config.pop("step"))
    config.pop("format")
    return TrainResult(model, ema_model, losses, opt_state, step, config)

"""Training score models: `train_score` (optax, DSM and the other loss objects, EMA, many steps per compiled call),
its `TrainResult`, `TrainingDiverged`, and checkpoints without pickle (derivations/training.md)."""

from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import read_config as read_config
from ._checkpoint import save_checkpoint as save_checkpoint
from ._result import TrainingDiverged as TrainingDiverged
from ._result import TrainResult as TrainResult
from ._train import default_optimiser as default_optimiser
from ._train import minibatch_loss as minibatch_loss
from ._train import train_score as train_score

"""Score networks: Gaussian random Fourier features of the noise level, an MLP for vector data, a small U-Net for
images (channels first), and `ScoreModel`, a network wrapped with its SDE and parameterisation into a score function
`(x, t) -> score` for one example (derivations/nn.md)."""

from ..losses._parameterisation import AbstractParameterisation as AbstractParameterisation
from ..losses._parameterisation import EpsParameterisation as EpsParameterisation
from ..losses._parameterisation import ScoreParameterisation as ScoreParameterisation
from ..losses._parameterisation import X0Parameterisation as X0Parameterisation
from ._embedding import GaussianFourierEmbedding as GaussianFourierEmbedding
from ._embedding import noise_input as noise_input
from ._embedding import trainable_filter as trainable_filter
from ._mlp import MLPScoreNet as MLPScoreNet
from ._model import ScoreModel as ScoreModel
from ._model import mlp_score_model as mlp_score_model
from ._model import unet_score_model as unet_score_model
from ._unet import UNetScoreNet as UNetScoreNet

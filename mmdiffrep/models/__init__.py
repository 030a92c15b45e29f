"""mmdiffrep models: backbones, necks, algorithms, losses, timestep policies, U-Net conditions
and decoders (registered in ``mmdiffrep.registry``)."""
from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .conditions import ClassLabel, NullContext, PromptEmbedding  # noqa: F401
from .decoders import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .policies import *  # noqa: F401,F403

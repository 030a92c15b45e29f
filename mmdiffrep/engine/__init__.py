"""mmdiffrep engine components: hooks (``mmdiffrep.registry.HOOKS``) and optimizer
constructors (``OPTIM_WRAPPER_CONSTRUCTORS``)."""
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

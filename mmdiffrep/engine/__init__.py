"""mmdiffrep engine components: hooks and training-loop pieces (``mmdiffrep.registry.HOOKS``)."""
from .hooks import *  # noqa: F401,F403

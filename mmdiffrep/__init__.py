"""mmdiffrep: diffusion models as representation learners for OpenMMLab 2.x.

Importing the package applies the stack fixes of :mod:`mmdiffrep.utils.compat` (for example,
``--resume`` of mmengine checkpoints under torch >= 2.6).
"""
from .utils.compat import apply_compat_fixes
from .version import __version__, version_info

apply_compat_fixes()

__all__ = ['__version__', 'version_info']

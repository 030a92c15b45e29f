"""mmdiffrep: diffusion models as representation learners for OpenMMLab 2.x.

Importing the package applies the stack fixes of :mod:`mmdiffrep.compat` (for example,
``--resume`` of mmengine checkpoints under torch >= 2.6).
"""
from .compat import apply_compat_fixes
from .version import __version__, version_info

apply_compat_fixes()

__all__ = ['__version__', 'version_info']

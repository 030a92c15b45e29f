"""Small utilities: registering modules, the recorder, frozen modules, configs (the stack fixes
live in :mod:`mmdiffrep.compat`)."""
from mmdiffrep.compat import apply_compat_fixes, mmengine_checkpoint_safe_globals
from .setup_env import register_all_modules

__all__ = ['apply_compat_fixes', 'mmengine_checkpoint_safe_globals', 'register_all_modules']

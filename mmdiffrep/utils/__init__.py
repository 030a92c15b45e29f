"""Environment setup and fixes for known defects of the OpenMMLab stack."""
from .compat import apply_compat_fixes, mmengine_checkpoint_safe_globals
from .setup_env import register_all_modules

__all__ = ['apply_compat_fixes', 'mmengine_checkpoint_safe_globals', 'register_all_modules']

"""Fixes for known defects of the pinned OpenMMLab stack, one module per fix.

Nothing here edits site-packages. Each module has ``needed()`` (its version guard: the fix is
applied only on the versions with the defect) and ``apply()`` (idempotent);
:func:`apply_compat_fixes` applies them once on ``import mmdiffrep`` (which ``tools/train.py``,
``custom_imports`` and any ``type='mmdiffrep.X'`` config trigger).

* :mod:`.checkpoint_loading`: ``--resume`` of mmengine checkpoints under torch >= 2.6
  (``weights_only=True`` with an exact allow-list);
* :mod:`.url_checkpoints`: checkpoints from URLs load with ``weights_only=True`` too;
* :mod:`.atomic_checkpoints`: atomic checkpoint writes, old ones removed after the new one;
* :mod:`.mmpose_numpy2`: mmpose's visualiser under NumPy 2;
* :mod:`.mmcv_hue_numpy2`: mmcv's ``adjust_hue`` (``ColorJitter`` hue) under NumPy 2;
* :mod:`.cpu_distributed`: ``torchrun`` + gloo on machines without CUDA (mmengine <= 0.10.7);
* :mod:`.empty_datasets`: a dataset with no samples names its annotation file.
"""
from . import (atomic_checkpoints, checkpoint_loading, cpu_distributed, empty_datasets,
               mmcv_hue_numpy2, mmpose_numpy2, url_checkpoints)
from .checkpoint_loading import mmengine_checkpoint_safe_globals

FIXES = (checkpoint_loading, url_checkpoints, atomic_checkpoints, mmpose_numpy2,
         mmcv_hue_numpy2, cpu_distributed, empty_datasets)
_APPLIED = False


def apply_compat_fixes() -> None:
    """Apply every fix whose guard says it is needed, once (safe to call repeatedly)."""
    global _APPLIED
    if _APPLIED:
        return
    for fix in FIXES:
        fix.apply()
    _APPLIED = True


__all__ = ['apply_compat_fixes', 'mmengine_checkpoint_safe_globals', 'FIXES']

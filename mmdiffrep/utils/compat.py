"""Fixes for known defects of the pinned OpenMMLab stack, applied from the plugin.

Nothing here edits site-packages; every fix is idempotent and applied once on
``import mmdiffrep`` (which ``tools/train.py``, ``custom_imports`` and any
``type='mmdiffrep.X'`` config trigger).

1. **Resume under torch >= 2.6.** mmengine 0.10.7 calls ``torch.load`` without
   ``weights_only``; torch now defaults to ``weights_only=True`` and rejects the message hub's
   ``HistoryBuffer`` and the NumPy arrays/scalars that mmengine checkpoints contain. We keep
   ``weights_only=True`` and allow-list exactly those globals with
   ``torch.serialization.add_safe_globals``. A checkpoint holding any other pickled object
   still fails to load (by design): pass such files through a trusted conversion, or opt out
   for one process with torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.
2. **NumPy 2 in mmpose visualisation.** ``mmpose.visualization`` calls
   ``np.array(x, copy=False)``, which raises under NumPy 2 whenever a copy is needed. We give
   the affected mmpose modules a NumPy namespace whose ``array`` treats ``copy=False`` as the
   NumPy-1 meaning ("copy only if needed", i.e. ``np.asarray``).
"""
import collections
import importlib
import importlib.util
import sys
import types
from typing import List

import numpy as np
import torch

_APPLIED = False


def mmengine_checkpoint_safe_globals() -> List[object]:
    """The non-tensor globals that mmengine / OpenMMLab checkpoints legitimately contain."""
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
        np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128, np.str_,
        np.object_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes,
            collections.Counter, collections.defaultdict, collections.OrderedDict]


def _allow_mmengine_checkpoints() -> None:
    torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())


class _NumPy1CopySemantics(types.ModuleType):
    """A stand-in for the ``numpy`` module whose ``array(copy=False)`` means "copy if needed"."""

    def __init__(self):
        super().__init__('numpy')

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def array(obj, *args, copy=True, **kwargs):
        if copy is False:
            return np.asarray(obj, *args, **kwargs)
        return np.array(obj, *args, copy=copy, **kwargs)


_MMPOSE_NUMPY_COPY_MODULES = (
    'mmpose.visualization.local_visualizer',
    'mmpose.visualization.local_visualizer_3d',
    'mmpose.visualization.opencv_backend_visualizer',
)


def _fix_mmpose_numpy2_copy() -> None:
    if np.lib.NumpyVersion(np.__version__) < '2.0.0':
        return
    for name in _MMPOSE_NUMPY_COPY_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        if getattr(module, 'np', None) is np:
            module.np = _NumPy1CopySemantics()


class _PatchOnImport:
    """A meta-path hook that applies the mmpose fix right after the affected modules load,
    so ``import mmdiffrep`` does not have to import mmpose (slow) itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _MMPOSE_NUMPY_COPY_MODULES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        original_exec = spec.loader.exec_module

        def exec_module(module):
            original_exec(module)
            _fix_mmpose_numpy2_copy()

        spec.loader.exec_module = exec_module
        return spec


def apply_compat_fixes() -> None:
    """Apply every fix of this module once (safe to call repeatedly)."""
    global _APPLIED
    if _APPLIED:
        return
    _allow_mmengine_checkpoints()
    _fix_mmpose_numpy2_copy()  # modules already imported
    if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
    _APPLIED = True

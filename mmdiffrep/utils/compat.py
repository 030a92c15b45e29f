"""Fixes for known defects of the pinned OpenMMLab stack, applied from the plugin.

Nothing here edits site-packages; every fix is idempotent and applied once on
``import mmdiffrep`` (which ``tools/train.py``, ``custom_imports`` and any
``type='mmdiffrep.X'`` config trigger).

1. **Resume under torch >= 2.6.** mmengine 0.10.7 calls ``torch.load`` without
   ``weights_only``; torch now defaults to ``weights_only=True`` and rejects the message hub's
   ``HistoryBuffer`` and the NumPy arrays/scalars that mmengine checkpoints contain. We keep
   ``weights_only=True`` and allow-list exactly those globals with
   ``torch.serialization.add_safe_globals``; the ``getattr`` that mmengine pickles for the
   history buffer's statistics methods is replaced by a look-up that allows only those four
   methods (:func:`_history_buffer_getattr`). A checkpoint holding any other pickled object
   still fails to load (by design): pass such files through a trusted conversion, or opt out
   for one process with torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.
2. **NumPy 2 in mmpose visualisation.** ``mmpose.visualization`` calls
   ``np.array(x, copy=False)``, which raises under NumPy 2 whenever a copy is needed. We give
   the affected mmpose modules a NumPy namespace whose ``array`` treats ``copy=False`` as the
   NumPy-1 meaning ("copy only if needed", i.e. ``np.asarray``).
3. **NumPy 2.4 in mmpose's OpenCV drawing.** ``PoseLocalVisualizer`` passes
   ``radius=np.array([r])`` and ``OpencvBackendVisualizer.draw_circles`` calls ``int(radius)``;
   NumPy 2.4 no longer converts 1-element arrays to scalars, so every keypoint drawing fails.
   ``draw_circles`` receives the scalar instead.
4. **Distributed training on CPU-only machines.** mmengine's pytorch/slurm/mpi launchers call
   ``torch.cuda.set_device`` unconditionally and the Runner wraps the model in DDP with
   ``device_ids=[local_rank]``; both fail without CUDA, so ``torchrun`` + gloo could not run on
   the CPU. Without CUDA the launchers skip ``set_device`` and DDP gets ``device_ids=None``;
   on GPU machines nothing changes.
"""
import collections
import importlib
import importlib.util
import pickle
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


_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name):
    """Stands in for ``getattr`` inside ``weights_only`` loads.

    mmengine pickles ``HistoryBuffer._statistics_methods`` as ``getattr(HistoryBuffer, 'min')``
    etc. Allow-listing the real ``getattr`` would let a checkpoint reach any attribute of any
    allowed object; this one resolves exactly those four look-ups and refuses the rest.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _BUILTIN_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'mmdiffrep safe checkpoint loading refuses getattr({obj!r}, {name!r}); only '
        f'HistoryBuffer.{{{", ".join(_BUILTIN_STATISTICS)}}} are allowed. Load the file with '
        'weights_only=False only if you trust its source.')


def _allow_mmengine_checkpoints() -> None:
    torch.serialization.add_safe_globals(
        mmengine_checkpoint_safe_globals() + [(_history_buffer_getattr, '__builtin__.getattr'),
                                              (_history_buffer_getattr, 'builtins.getattr')])


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


def _scalar_radius(draw_circles):

    def wrapper(self, center, radius, *args, **kwargs):
        if self.backend == 'opencv' and isinstance(radius, np.ndarray) and radius.size == 1:
            radius = radius.item()
        return draw_circles(self, center, radius, *args, **kwargs)

    wrapper.__doc__ = draw_circles.__doc__
    wrapper._mmdiffrep_fixed = True
    return wrapper


def _fix_mmpose_numpy2() -> None:
    if np.lib.NumpyVersion(np.__version__) < '2.0.0':
        return
    for name in _MMPOSE_NUMPY_COPY_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        if getattr(module, 'np', None) is np:
            module.np = _NumPy1CopySemantics()
        visualizer = getattr(module, 'OpencvBackendVisualizer', None)
        if visualizer is not None and not hasattr(visualizer.draw_circles, '_mmdiffrep_fixed'):
            visualizer.draw_circles = _scalar_radius(visualizer.draw_circles)


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
            _fix_mmpose_numpy2()

        spec.loader.exec_module = exec_module
        return spec


def _skip_cuda_set_device(init_fn):

    def wrapper(*args, **kwargs):
        if torch.cuda.is_available():
            return init_fn(*args, **kwargs)
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda device: None
        try:
            return init_fn(*args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    wrapper._mmdiffrep_fixed = True
    return wrapper


def _cpu_ddp_init(init):

    def __init__(self, module, *args, **kwargs):
        on_cpu = all(not p.is_cuda for p in module.parameters())
        if on_cpu and not torch.cuda.is_available():
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        init(self, module, *args, **kwargs)

    __init__._mmdiffrep_fixed = True
    return __init__


def _fix_cpu_distributed() -> None:
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel
    for name in ('_init_dist_pytorch', '_init_dist_mpi', '_init_dist_slurm'):
        fn = getattr(dist_utils, name, None)
        if fn is not None and not hasattr(fn, '_mmdiffrep_fixed'):
            setattr(dist_utils, name, _skip_cuda_set_device(fn))
    if not hasattr(MMDistributedDataParallel.__init__, '_mmdiffrep_fixed'):
        MMDistributedDataParallel.__init__ = _cpu_ddp_init(MMDistributedDataParallel.__init__)


def apply_compat_fixes() -> None:
    """Apply every fix of this module once (safe to call repeatedly)."""
    global _APPLIED
    if _APPLIED:
        return
    _allow_mmengine_checkpoints()
    _fix_cpu_distributed()
    _fix_mmpose_numpy2()  # modules already imported
    if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
    _APPLIED = True

"""Resume under torch >= 2.6: mmengine checkpoints load with ``weights_only=True``.

mmengine 0.10.x calls ``torch.load`` without ``weights_only``; torch >= 2.6 defaults to
``weights_only=True`` and rejects the message hub's ``HistoryBuffer`` and the NumPy
arrays/scalars that mmengine checkpoints contain. We keep ``weights_only=True`` and allow-list
exactly those globals with ``torch.serialization.add_safe_globals``; the ``getattr`` that
mmengine pickles for the history buffer's statistics methods is replaced by a look-up that
allows only those four methods (:func:`_history_buffer_getattr`). A checkpoint holding any other
pickled object still fails to load (by design).

Guard: torch >= 2.6 (older torch loads everything with ``weights_only=False`` by default and
has nothing to fix).
"""
import collections
import pickle
from typing import List

import numpy as np
import torch
from mmengine.utils import digit_version


def needed(torch_version: str = torch.__version__) -> bool:
    return digit_version(torch_version.split('+')[0]) >= digit_version('2.6.0')


def mmengine_checkpoint_safe_globals() -> List[object]:
    """The non-tensor globals that mmengine / OpenMMLab checkpoints legitimately contain."""
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
        np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128, np.str_)]
    # no object dtype: an object array unpickles arbitrary Python objects
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


def apply() -> None:
    if needed():
        _allow_mmengine_checkpoints()

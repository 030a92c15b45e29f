"""Crash-safe checkpoints: atomic local writes, old checkpoints removed only after the new one.

mmengine 0.10.x writes a checkpoint with a plain ``open(path, 'wb').write(...)`` and, with
``max_keep_ckpts``, its ``CheckpointHook`` deletes the oldest checkpoint BEFORE writing the new
one. A kill during the write (``max_keep_ckpts=1``: most Shapes configs) leaves a truncated
file, no complete one, and ``last_checkpoint`` naming the truncated file. Here

* ``LocalBackend.put`` / ``put_text`` write to a temporary file in the same folder, flush and
  fsync it, then ``os.replace`` it over the target: a reader sees the old file or the complete
  new one, never a partial one (checkpoints and ``last_checkpoint`` alike);
* ``CheckpointHook`` defers the removal of old checkpoints until the new one is saved.

``tools/train.py --resume`` then falls back to the newest loadable checkpoint if the one named
by ``last_checkpoint`` is missing or unreadable (:func:`mmdiffrep.utils.config.
resumable_checkpoint`). Guard: mmengine <= 0.10.7.
"""
import functools
import os
import os.path as osp
import tempfile

import mmengine
from mmengine.utils import digit_version


def needed(mmengine_version: str = mmengine.__version__) -> bool:
    return digit_version(mmengine_version) <= digit_version('0.10.7')


def atomic_write(filepath, data, mode: str, encoding=None) -> None:
    """Write ``data`` to ``filepath`` through a temporary file and ``os.replace``."""
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _put(self, obj, filepath):
    atomic_write(filepath, obj, 'wb')


def _put_text(self, obj, filepath, encoding='utf-8'):
    atomic_write(filepath, obj, 'w', encoding)


def _remove_after_save(save_with_step):

    @functools.wraps(save_with_step)
    def wrapper(self, runner, step, meta):
        backend, deferred = self.file_backend, []
        remove, rmtree = backend.remove, backend.rmtree
        backend.remove = deferred.append
        backend.rmtree = deferred.append
        try:
            save_with_step(self, runner, step, meta)
        finally:
            backend.remove, backend.rmtree = remove, rmtree
        for path in deferred:  # the new checkpoint is complete: now drop the old ones
            (rmtree if backend.isdir(path) else remove)(path)

    wrapper._mmdiffrep_fixed = True
    return wrapper


def apply() -> None:
    if not needed():
        return
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook
    LocalBackend.put = _put
    LocalBackend.put_text = _put_text
    if not hasattr(CheckpointHook._save_checkpoint_with_step, '_mmdiffrep_fixed'):
        CheckpointHook._save_checkpoint_with_step = _remove_after_save(
            CheckpointHook._save_checkpoint_with_step)

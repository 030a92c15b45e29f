"""RandomStateHook: exact ``--resume`` of the random number streams.

mmengine's checkpoints hold the model, optimizer, schedulers and loop counters, but not the
generators' states, and a resumed run is re-seeded at start-up: timesteps, noise, dropout and
the learned policy's draws after a resume differ from the uninterrupted run's. This hook saves
the torch (CPU and CUDA), NumPy and Python generator states in every checkpoint and, on
resume, restores them right before the first resumed iteration (after mmengine has advanced
the data loader past the trained batches, so the data order is mmengine's seeded one).

With ``num_workers >= 1`` the resumed run then equals the uninterrupted one (data augmentation
runs in the workers, whose generators are re-seeded identically and replay the skipped
batches). With ``num_workers=0`` the augmentation of the first resumed batch is drawn from the
main process during that skip and is not reproduced. ``tools/train.py`` adds this hook to
every config (configs of any toolbox); add it by hand elsewhere::

    custom_hooks = [dict(type='mmdiffrep.RandomStateHook')]
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmdiffrep.registry import HOOKS

CHECKPOINT_KEY = 'random_state'


def random_state() -> dict:
    state = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                 python=random.getstate())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    torch.set_rng_state(state['torch'])
    np.random.set_state(tuple(state['numpy']))
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the generators' states in checkpoints; restore them on resume (see the module
    docstring)."""
    priority = 'HIGHEST'

    def __init__(self):
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False) and CHECKPOINT_KEY in checkpoint:
            self._pending = checkpoint[CHECKPOINT_KEY]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is not None:
            set_random_state(self._pending)
            self._pending = None

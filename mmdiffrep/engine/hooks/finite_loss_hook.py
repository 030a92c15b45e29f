"""FiniteLossHook: stop a run at the first non-finite loss, naming the loss term.

A NaN or inf loss otherwise trains on: the optimizer writes NaN into every weight, the logger
prints ``nan`` and the checkpoints saved afterwards are garbage. mmengine reads every logged
loss on the host each iteration already (its message hub), so checking them costs nothing.
``tools/train.py`` adds this hook to every config; add it by hand elsewhere::

    custom_hooks = [dict(type='mmdiffrep.FiniteLossHook')]
"""
import math

import torch
from mmengine.hooks import Hook

from mmdiffrep.registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise ``FloatingPointError`` when a logged loss is NaN or inf.

    Args:
        interval: check every ``interval`` training iterations (1: every one).
    """
    priority = 'VERY_HIGH'  # before the checkpoint hook can save the broken weights

    def __init__(self, interval: int = 1):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive integer, got {interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = {}
        for name, value in outputs.items():
            try:
                v = float(value.detach() if torch.is_tensor(value) else value)
            except (TypeError, ValueError):  # a non-scalar entry is not a loss
                continue
            if not math.isfinite(v):
                bad[name] = v
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}. The step has been '
                'taken, so the weights are no longer usable; resume from the last checkpoint '
                'with a lower learning rate, gradient clipping (optim_wrapper.clip_grad) or '
                'checked inputs')

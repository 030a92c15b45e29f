"""One optimizer per named part of a model, as an mmengine ``OptimWrapperDict``.

A model that trains several parts with different optimizers (RepFusion's student and its
learned timestep policy) names them in ``optim_parts() -> {name: nn.Module}``; this constructor
builds one ``OptimWrapper`` per name with mmengine's own ``DefaultOptimWrapperConstructor``
(so ``paramwise_cfg``, ``clip_grad``, ``accumulative_counts`` and ``type='AmpOptimWrapper'``
work per part), and the model's ``train_step`` updates each. LR schedules: a list applies to
every part, ``param_scheduler=dict(student=[...], policy=[...])`` per part; the logger shows
``student.lr`` and ``policy.lr``. Example::

    optim_wrapper = dict(constructor='mmdiffrep.PartsOptimWrapperConstructor',
                         student=dict(optimizer=dict(type='AdamW', lr=2e-3)),
                         policy=dict(optimizer=dict(type='Adam', lr=1e-3)))
"""
import copy
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from mmdiffrep.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PartsOptimWrapperConstructor:
    """Build ``OptimWrapperDict(name=OptimWrapper)`` for the model's ``optim_parts()``.

    Args:
        optim_wrapper_cfg: ``{part name: optim wrapper config}`` (each as mmengine's
            ``optim_wrapper``: ``optimizer``, optional ``type``, ``paramwise_cfg``, ...).
        paramwise_cfg: must be None (give it per part).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('PartsOptimWrapperConstructor: give paramwise_cfg per part, e.g. '
                             'student=dict(optimizer=..., paramwise_cfg=...)')
        bad = {k: v for k, v in optim_wrapper_cfg.items() if not isinstance(v, dict)}
        if bad or not optim_wrapper_cfg:
            raise ValueError('PartsOptimWrapperConstructor needs one optim wrapper dict per '
                             f'part, e.g. student=dict(optimizer=...), got {optim_wrapper_cfg}')
        self.cfgs = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if isinstance(model, MMDistributedDataParallel):
            raise TypeError('several optimizers need the model\'s own train_step, which the '
                            'default MMDistributedDataParallel bypasses: set model_wrapper_cfg='
                            "dict(type='MMSeparateDistributedDataParallel')")
        module = model.module if is_model_wrapper(model) else model
        if not hasattr(module, 'optim_parts'):
            raise TypeError(f'{type(module).__name__} has no optim_parts(): it trains with one '
                            'optimizer (use a plain optim_wrapper)')
        parts = module.optim_parts()
        if set(parts) != set(self.cfgs):
            raise ValueError(f'optim_wrapper names parts {sorted(self.cfgs)} but '
                             f'{type(module).__name__} trains {sorted(parts)}')
        wrappers = {}
        for name, part in parts.items():
            cfg = dict(self.cfgs[name])
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = DefaultOptimWrapperConstructor(
                cfg, cfg.pop('paramwise_cfg', None))(part)
        return OptimWrapperDict(**wrappers)

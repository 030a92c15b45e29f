"""RepFusionHook: one-stage RepFusion distillation added to an UNMODIFIED toolbox config.

::

    custom_hooks = [dict(
        type='mmdiffrep.RepFusionHook',
        teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='checkpoints/ddpm-shapes32'),
        pairs=[dict(student_index=-1, teacher_block='up.0.pre')],
        sampler=dict(type='mmdiffrep.FixedTimesteps', timesteps=300),
        loss_weight=1.0)]

The model section of the mmpretrain / mmseg / mmpose config stays as it is. The hook

* builds the frozen teacher (its input range read from the model's data preprocessor), the
  timestep sampler and, per pair, a connector and a loss (the same builders as
  :class:`~mmdiffrep.models.algorithms.RepFusion`); the teacher lives in the hook only, so it
  is never in the model, its checkpoints, DDP or EMA copies;
* records the backbone's outputs with the package's recorder and adds
  ``distill.loss_{name}`` (times ``loss_weight``) to the loss dict of every training forward
  (``mode='loss'``), so the toolbox's ``train_step`` sums it with the task loss and it appears
  in the log like the task's own losses;
* trains the connectors with the runner's optimizer: they join it as one more parameter group
  (the optimizer's own lr and weight decay, the lr following the schedule of its first group
  every iteration), so AMP, gradient clipping and accumulation apply to them as well; under DDP
  their gradients are averaged over ranks as they are computed;
* saves the connectors in the checkpoint (``repfusion_hook``) and restores them on
  ``--resume`` / ``load_from`` (the optimizer state of their group is mmengine's).

A learned timestep policy needs its own optimizer: use the model form (``RepFusion``) for it.
"""
import copy
import functools
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdiffrep.models.algorithms.repfusion import (TEACHER_INPUTS, build_connectors,
                                                   build_teacher, check_pairs, pair_losses,
                                                   student_channels)
from mmdiffrep.models.utils import as_tuple
from mmdiffrep.registry import HOOKS, MODELS
from mmdiffrep.utils.checks import check_number
from mmdiffrep.utils.recorder import OutputRecorder

CHECKPOINT_KEY = 'repfusion_hook'


def _average_over_ranks(param: torch.Tensor) -> None:
    if param.grad is not None:
        dist.all_reduce(param.grad, op='mean')


def _preprocessor_normalisation(model: nn.Module) -> Optional[dict]:
    """``dict(mean=[...], std=[...])`` (0-255 scale) of the model's data preprocessor, or None
    when it does not normalise."""
    dp = getattr(model, 'data_preprocessor', None)
    if dp is None or not getattr(dp, '_enable_normalize', False):
        return None
    return dict(mean=dp.mean.flatten().tolist(), std=dp.std.flatten().tolist())


@HOOKS.register_module()
class RepFusionHook(Hook):
    """Distil a frozen diffusion teacher into the model's backbone while it trains its task.

    Args:
        teacher: a ``mmdiffrep.DiffusionUNet`` config with ``pretrained``.
        pairs: ``dict(student_index=-1, teacher_block=..., connector='conv1x1', loss=...,
            name=None)`` per pair, as RepFusion's ``distill_pairs``.
        sampler: a non-learned timestep sampler (``FixedTimesteps`` / ``UniformTimesteps``).
        loss_weight: factor on every distillation loss (on top of each loss's own weight).
        teacher_input: ``'clean'`` or ``'noisy'``.
        lr_mult: the connectors' learning rate relative to the optimizer's.
        probe_size: side of the dummy image used once to read the backbone's channels.
    """
    priority = 'NORMAL'

    def __init__(self,
                 teacher: dict,
                 pairs: Sequence[dict] = (dict(student_index=-1, teacher_block='mid'), ),
                 sampler: dict = dict(type='mmdiffrep.FixedTimesteps', timesteps=0),
                 loss_weight: float = 1.0,
                 teacher_input: str = 'clean',
                 lr_mult: float = 1.0,
                 probe_size: int = 32):
        self.teacher_cfg = copy.deepcopy(dict(teacher))
        self.pairs = check_pairs(pairs)
        if teacher_input not in TEACHER_INPUTS:  # checked here, not when the run starts
            raise ValueError(f'RepFusionHook: unknown teacher_input {teacher_input!r}; expected '
                             f'one of {sorted(TEACHER_INPUTS)}')
        check_number('RepFusionHook', 'loss_weight', loss_weight, low=0)
        check_number('RepFusionHook', 'lr_mult', lr_mult, low=0)
        self.sampler_cfg = dict(sampler)
        self.loss_weight, self.teacher_input = float(loss_weight), teacher_input
        self.lr_mult, self.probe_size = float(lr_mult), probe_size
        self.trainable: Optional[nn.ModuleDict] = None  # connectors and losses
        self._handles: List = []
        self._recorder = None

    # -- set-up ------------------------------------------------------------------------------------
    @staticmethod
    def _model(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_run(self, runner) -> None:
        model = self._model(runner)
        if not hasattr(model, 'backbone'):
            raise TypeError(f'RepFusionHook distils into model.backbone; '
                            f'{type(model).__name__} has none')
        device = next(model.parameters()).device
        self.sampler = MODELS.build(self.sampler_cfg).to(device)
        if self.sampler.learned:
            raise ValueError('RepFusionHook takes a fixed or uniform timestep sampler; the learned '
                             'policy has its own optimizer: use the model form '
                             "dict(type='mmdiffrep.RepFusion', architecture=...)")
        self.teacher = build_teacher(self.teacher_cfg, self.pairs, self.teacher_input,
                                     _preprocessor_normalisation(model), self.sampler).to(device)
        self.slots = [self.teacher.blocks.index(p['teacher_block']) for p in self.pairs]
        self.student_indices = [int(p.get('student_index', -1)) for p in self.pairs]
        connectors, losses = build_connectors(
            self.pairs, student_channels(model.backbone, self.student_indices, self.probe_size,
                                         self.teacher.in_channels),
            [self.teacher.out_channels[s] for s in self.slots])
        self.trainable = nn.ModuleDict(dict(connectors=connectors, losses=losses)).to(device)
        params = [p for p in self.trainable.parameters() if p.requires_grad]
        if params:
            if not hasattr(runner, 'optim_wrapper') or not hasattr(runner.optim_wrapper,
                                                                   'optimizer'):
                raise TypeError('RepFusionHook adds its connectors to the runner\'s one '
                                'optimizer; this runner has an OptimWrapperDict')
            optimizer = runner.optim_wrapper.optimizer
            # the optimizer's own lr / weight decay (as for a module of the model without
            # paramwise options), scaled over training like its first group
            self._base_lr = optimizer.defaults['lr'] * self.lr_mult
            first = optimizer.param_groups[0]
            self._first_initial = first.get('initial_lr', first['lr'])
            optimizer.add_param_group(dict(params=params, lr=self._base_lr * first['lr']
                                           / self._first_initial))
            self._group = optimizer.param_groups[-1]
            if dist.get_world_size() > 1:
                for p in params:  # rank 0's start everywhere, gradients averaged
                    dist.broadcast(p.data, src=0)
                    p.register_post_accumulate_grad_hook(_average_over_ranks)

    def before_train(self, runner) -> None:
        model = self._model(runner)
        self._recorder = OutputRecorder({'backbone': model.backbone}, transform=as_tuple)
        self._recorder.__enter__()
        self._handles.append(model.register_forward_hook(
            functools.partial(RepFusionHook._add_distillation, self), with_kwargs=True))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._recorder is not None:
            self._recorder.__exit__(None, None, None)
            self._recorder = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if getattr(self, '_group', None) is not None:  # follow the schedule of group 0
            first = runner.optim_wrapper.optimizer.param_groups[0]
            self._group['lr'] = self._base_lr * first['lr'] / self._first_initial

    # -- the loss ----------------------------------------------------------------------------------
    def _add_distillation(self, module, args, kwargs, output):
        mode = kwargs.get('mode', args[2] if len(args) > 2 else 'tensor')
        if mode != 'loss' or not module.training:
            return output
        inputs = kwargs['inputs'] if 'inputs' in kwargs else args[0]
        feats = self._recorder.outputs.pop('backbone', None)
        if feats is None:
            raise RuntimeError('RepFusionHook: the model computed its loss without running '
                               'model.backbone')
        with torch.no_grad():
            t = self.sampler(inputs)
            teacher_feats = self.teacher(inputs, timesteps=t)
        losses = pair_losses([p['name'] for p in self.pairs], self.trainable['connectors'],
                             self.trainable['losses'], [feats[i] for i in self.student_indices],
                             teacher_feats, self.slots)
        output = dict(output)
        clash = sorted(set(losses) & set(output))
        if clash:
            raise RuntimeError(f'RepFusionHook: the model already returns losses {clash}')
        output.update({k: v * self.loss_weight for k, v in losses.items()})
        output['timestep_mean'] = t.float().mean()
        return output

    # -- checkpoints -------------------------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.trainable is not None:
            checkpoint[CHECKPOINT_KEY] = dict(trainable=self.trainable.state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            return
        if self.trainable is None:
            raise RuntimeError('RepFusionHook: a checkpoint was loaded before the hook was set '
                               'up (before_run)')
        self.trainable.load_state_dict(state['trainable'])

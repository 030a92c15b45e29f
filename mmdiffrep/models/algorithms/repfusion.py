"""RepFusion (Yang & Wang, ICCV 2023): distil a frozen diffusion U-Net into any backbone.

The teacher is a :class:`~mmdiffrep.models.backbones.DiffusionUNet` read at a timestep chosen
per image by a sampler (fixed, uniform, or the learned REINFORCE policy). Each distillation
pair maps one student output through a connector (1x1 conv by default) and compares it with
one teacher block under a registered loss (hint, dense, AT, RKD, cosine).

Two modes:

* two-stage (``student=``): distillation only; the student is any backbone config of any
  installed toolbox. Fine-tune it downstream with
  ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='student.')``
  (or export it with ``tools/model_converters/export_backbone.py``).
* one-stage (``architecture=``): a complete mmpretrain / mmseg / mmpose model config whose
  ``backbone`` is distilled while its task loss trains it; predictions and evaluation are the
  architecture's own, so the toolbox's evaluators work unchanged.

The teacher has no parameters in this model (its U-Net is a frozen module rebuilt from
``pretrained``, :mod:`mmdiffrep.utils.frozen`), so it is never in the optimizer, in DDP, in EMA
copies or in checkpoints. To distil into an UNMODIFIED toolbox config instead, use the hook
form :class:`~mmdiffrep.engine.hooks.RepFusionHook`.

With the learned policy the model trains two parts with two optimizers in :meth:`train_step`
(an ``OptimWrapperDict`` built by :class:`~mmdiffrep.engine.optimizers.
PartsOptimWrapperConstructor` from ``optim_wrapper=dict(student=..., policy=...)``; under DDP
with ``model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel')``). Example::

    model = dict(
        type='mmdiffrep.RepFusion',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[125.3, 123.0, 113.9],
                               std=[63.0, 62.1, 66.7], to_rgb=True),
        teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='google/ddpm-cifar10-32'),
        student=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
        distill_pairs=[dict(student_index=-1, teacher_block='mid.resnets.1',
                            loss=dict(type='mmdiffrep.HintLoss'))],
        timestep_sampler=dict(type='mmdiffrep.LearnedTimestepPolicy', num_classes=10))
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.recorder import OutputRecorder
from ..utils import as_tuple, dry_run_outputs, gather_labels


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (``MMSeparateDistributedDataParallel`` wraps children)."""
    return module.module if is_model_wrapper(module) else module


LEARNED_POLICY_TRAINING = (
    "RepFusion with a learned timestep policy trains student and policy with two optimizers in "
    "its train_step: set optim_wrapper=dict(constructor='mmdiffrep.PartsOptimWrapperConstructor'"
    ", student=dict(optimizer=...), policy=dict(optimizer=dict(type='Adam', lr=1e-3))) and, "
    "for DDP, model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel')")

TEACHER_INPUTS = {'clean': 'none', 'noisy': 'random'}


class DistillConnectors(nn.ModuleList):
    """One connector per distillation pair: ``forward(list of maps) -> list of maps``."""

    def forward(self, feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return [conn(f) for conn, f in zip(self, feats)]


def check_pairs(distill_pairs: Sequence[dict]) -> List[dict]:
    """Validated copies of ``distill_pairs`` with their names filled in (``'0'``, ``'1'``...)."""
    pairs = [dict(p) for p in distill_pairs]
    if not pairs:
        raise ValueError('distill_pairs must name at least one (student, teacher) pair')
    for i, p in enumerate(pairs):
        if 'teacher_block' not in p:
            raise ValueError(f'distill_pairs[{i}] has no teacher_block')
        p.setdefault('name', str(i))
    names = [p['name'] for p in pairs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # one loss entry per name: a repeated name would drop a pair's loss
        raise ValueError(f'distill_pairs names {dupes} are used more than once; every pair '
                         'needs its own name (its loss is logged as distill.loss_{name})')
    return pairs


def build_teacher(cfg: dict, pairs: List[dict], teacher_input: str, data_preprocessor,
                  sampler) -> nn.Module:
    """The frozen DiffusionUNet teacher: blocks from the pairs, its input range from the data
    preprocessor's normalisation (a dict with ``mean`` / ``std``, or None for 0-255 pixels),
    the first timestep of ``sampler`` (per-image timesteps replace it at each call)."""
    if teacher_input not in TEACHER_INPUTS:
        raise ValueError(f'unknown teacher_input {teacher_input!r}; expected one of '
                         f'{sorted(TEACHER_INPUTS)}')
    cfg = copy.deepcopy(dict(cfg))
    if cfg.get('pretrained') is None:
        raise ValueError('the RepFusion teacher needs `pretrained` (a diffusers folder, hub '
                         'id or checkpoint): it is rebuilt from it, never saved')
    for key in ('frozen', 'timesteps', 'blocks', 'noise'):
        if key in cfg:
            raise ValueError(f'teacher.{key} is set by RepFusion (frozen; blocks from '
                             'distill_pairs; timesteps from timestep_sampler; noise from '
                             f'teacher_input): remove it from the teacher config')
    # the U-Net expects RGB: with LoadImageFromFile (BGR) the preprocessor needs
    # to_rgb / bgr_to_rgb=True; mmpretrain's CIFAR datasets already load RGB
    dp = dict(data_preprocessor or {})
    for key, identity in (('mean', 0.0), ('std', 1.0)):
        # no normalisation in the preprocessor: the batch holds raw 0-255 pixels
        value = [float(v) for v in dp.get(key, [identity] * 3)]
        given = cfg.setdefault(f'data_{key}', value)
        if [float(v) for v in given] != value:
            raise ValueError(f'teacher.data_{key}={list(given)} but the data preprocessor '
                             f'normalises with {key}={value}: leave data_{key} out (it is '
                             'read from the preprocessor)')
    blocks = list(dict.fromkeys(p['teacher_block'] for p in pairs))
    cfg.update(frozen=True, save_unet_weights=False, blocks=blocks, noise=TEACHER_INPUTS[
        teacher_input], timesteps=int(sampler.candidates[0]), out_type='featmap')
    teacher = MODELS.build(cfg)
    trainable = [n for n, p in teacher.named_parameters() if p.requires_grad]
    if trainable:
        raise ValueError(f'the RepFusion teacher must be fully frozen, but {trainable} '
                         'would train (a learnable condition)')
    num_train = teacher.extractor.scheduler.config.num_train_timesteps
    sampler_steps = sampler.num_train_timesteps
    if sampler_steps != num_train:
        raise ValueError(f'the timestep sampler assumes {sampler_steps} diffusion steps, '
                         f'the teacher has {num_train}')
    return teacher


def student_channels(backbone: nn.Module, indices: Sequence[int], size: int,
                     in_channels: int) -> List[int]:
    """Channel counts of the backbone outputs ``indices`` (one dry forward)."""
    outs = dry_run_outputs(backbone, size, in_channels)
    channels = []
    for i, idx in enumerate(indices):
        if not -len(outs) <= idx < len(outs):
            raise ValueError(f'distill_pairs[{i}].student_index={idx} but the student '
                             f'gives {len(outs)} outputs (set its out_indices)')
        if outs[idx].dim() != 4:
            raise ValueError(f'student output {idx} has shape {tuple(outs[idx].shape)}; '
                             'distillation needs NCHW feature maps')
        channels.append(outs[idx].shape[1])
    return channels


def build_connectors(pairs: List[dict], student_channels: List[int],
                     teacher_channels: List[int]) -> Tuple[DistillConnectors, nn.ModuleList]:
    """Per pair: the connector (student -> teacher channels) and the loss."""
    connectors, losses = DistillConnectors(), nn.ModuleList()
    for pair, c_s, c_t in zip(pairs, student_channels, teacher_channels):
        loss = MODELS.build(pair.get('loss', dict(type='mmdiffrep.HintLoss')))
        losses.append(loss)
        connectors.append(_build_connector(pair, c_s, c_t, loss))
    return connectors, losses


def _build_connector(pair, c_s, c_t, loss) -> nn.Module:
    conn = pair.get('connector', 'conv1x1')
    if conn is None or conn == 'identity':
        if loss.needs_same_channels and c_s != c_t:
            raise ValueError(
                f'distill pair {pair["name"]!r}: student output has {c_s} channels but '
                f'teacher block {pair["teacher_block"]!r} has {c_t}, and there is no '
                f'connector; set connector=\'conv1x1\' (the default)')
        return nn.Identity()
    if conn == 'conv1x1':
        return nn.Conv2d(c_s, c_t, 1)
    conn = dict(conn)
    conn.setdefault('in_channels', c_s)
    conn.setdefault('out_channels', c_t)
    return MODELS.build(conn)


def pair_losses(names: Sequence[str], connectors: DistillConnectors, losses: nn.ModuleList,
                picked: Sequence[torch.Tensor], teacher_feats: Sequence[torch.Tensor],
                slots: Sequence[int]) -> Dict[str, torch.Tensor]:
    """``{distill.loss_{name}: loss(connector(student feature), teacher feature)}``."""
    return {f'distill.loss_{name}': loss_fn(s, teacher_feats[slot])
            for name, s, slot, loss_fn in zip(names, connectors(picked), slots, losses)}


@MODELS.register_module()
class RepFusion(BaseModel):
    """Distil a diffusion teacher into a student backbone.

    Args:
        teacher: a ``mmdiffrep.DiffusionUNet`` config with ``pretrained`` (blocks and
            timesteps are filled in from ``distill_pairs`` and the sampler). Its
            ``data_mean``/``data_std`` default to the data preprocessor's, so the U-Net always
            sees its own input range whatever the data normalisation.
        student: a backbone config (two-stage). Exactly one of ``student``/``architecture``.
        architecture: a task model config with a ``backbone`` (one-stage).
        distill_pairs: list of ``dict(student_index=-1, teacher_block='mid',
            connector='conv1x1' | None | dict(type=..., ...), loss=dict(type=...),
            name=None)``; ``student_index`` indexes the backbone's output tuple.
        timestep_sampler: ``FixedTimesteps`` / ``UniformTimesteps`` / ``LearnedTimestepPolicy``.
        teacher_input: ``'clean'`` (x0 with the timestep embedding, as the public code) or
            ``'noisy'`` (x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps).
        reward_pair: which pair's teacher feature the learned policy's reward head reads.
        probe_size: side of the dummy image used once at start-up to read channel counts.
    """

    def __init__(self,
                 teacher: dict,
                 student: Optional[dict] = None,
                 architecture: Optional[dict] = None,
                 distill_pairs: Sequence[dict] = (dict(student_index=-1, teacher_block='mid'), ),
                 timestep_sampler: dict = dict(type='mmdiffrep.FixedTimesteps', timesteps=0),
                 teacher_input: str = 'clean',
                 reward_pair: int = 0,
                 probe_size: int = 32,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if (student is None) == (architecture is None):
            raise ValueError('RepFusion needs exactly one of `student` (a backbone: two-stage '
                             'distillation) or `architecture` (a task model: one-stage)')
        if architecture is not None:  # the task model's preprocessor prepares the batch
            architecture = copy.deepcopy(dict(architecture))
            data_preprocessor = copy.deepcopy(architecture.get('data_preprocessor',
                                                               data_preprocessor))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        pairs = check_pairs(distill_pairs)
        self.pair_names = [p['name'] for p in pairs]
        self.student_indices = [int(p.get('student_index', -1)) for p in pairs]

        self.timestep_sampler = MODELS.build(timestep_sampler)
        self.teacher = build_teacher(teacher, pairs, teacher_input, data_preprocessor,
                                     self.timestep_sampler)
        self.teacher_slots = [self.teacher.blocks.index(p['teacher_block']) for p in pairs]
        if architecture is not None:
            self.architecture = MODELS.build(architecture)
            if not hasattr(self.architecture, 'backbone'):
                raise ValueError(f'architecture {type(self.architecture).__name__} has no '
                                 '`backbone` to distil into')
        else:
            self.student = MODELS.build(student)
        self.connectors, self.distill_losses = build_connectors(
            pairs, student_channels(self.student_backbone, self.student_indices, probe_size,
                                    self.teacher.in_channels),
            [self.teacher.out_channels[slot] for slot in self.teacher_slots])
        if self.sampler.learned:
            if not 0 <= reward_pair < len(pairs):
                raise ValueError(f'reward_pair={reward_pair} but there are {len(pairs)} pairs')
            self.reward_pair = reward_pair
            self.timestep_sampler.build_reward_head(
                self.teacher.out_channels[self.teacher_slots[reward_pair]])

    #: where the distilled backbone's weights live in a checkpoint (two-stage, one-stage)
    BACKBONE_PREFIXES = ('student.', 'architecture.backbone.')

    @classmethod
    def backbone_prefix_for(cls, model_cfg: dict) -> str:
        """The checkpoint prefix of the backbone of a RepFusion built from ``model_cfg``."""
        return cls.BACKBONE_PREFIXES[1 if model_cfg.get('architecture') else 0]

    @property
    def backbone_prefix(self) -> str:
        return self.BACKBONE_PREFIXES[1 if hasattr(self, 'architecture') else 0]

    # -- construction ----------------------------------------------------------------------------
    @property
    def sampler(self):
        """The timestep sampler (unwrapped from its DDP wrapper, if any)."""
        return unwrap(self.timestep_sampler)

    def optim_parts(self) -> Dict[str, nn.Module]:
        """What :class:`~mmdiffrep.engine.optimizers.PartsOptimWrapperConstructor` builds one
        optimizer for: ``student`` (student / architecture, connectors, losses) and ``policy``
        (the learned timestep policy)."""
        rest = nn.ModuleDict({n: unwrap(m) for n, m in self.named_children()
                              if n not in ('timestep_sampler', 'data_preprocessor')})
        return dict(student=rest, policy=self.sampler)

    @property
    def student_backbone(self) -> nn.Module:
        if hasattr(self, 'architecture'):
            return unwrap(self.architecture).backbone
        return unwrap(self.student)

    # -- training ----------------------------------------------------------------------------------
    def _student_feats(self, inputs, data_samples):
        """Student outputs (and the task losses in one-stage mode: the backbone's output is
        recorded during the architecture's own loss)."""
        if not hasattr(self, 'architecture'):
            return as_tuple(self.student(inputs)), {}
        recorder = OutputRecorder({'backbone': self.student_backbone}, transform=as_tuple,
                                  once=True)
        task_losses = {}
        with recorder:
            feats = recorder.run(lambda: task_losses.update(
                self.architecture(inputs, data_samples, mode='loss')))
        return feats['backbone'], {f'task.{k}': v for k, v in task_losses.items()}

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        """Distillation (and task) losses; with the learned policy also ``policy.*`` (its loss
        is for the policy's own optimizer, see :meth:`train_step`)."""
        sampler = self.sampler
        labels = None
        if sampler.learned:  # check before any work is done
            labels = gather_labels(data_samples, inputs.device,
                                   'the learned timestep policy (its reward is a task loss)',
                                   sampler.num_classes, allow_unlabelled=True)
        with torch.no_grad():  # a draw; the policy's gradient comes from its own loss
            t, index = self.timestep_sampler(inputs, return_index=True)
        teacher_feats = self.teacher(inputs, timesteps=t)
        student_feats, losses = self._student_feats(inputs, data_samples)
        picked = [student_feats[i] for i in self.student_indices]
        losses.update(pair_losses(self.pair_names, self.connectors, self.distill_losses, picked,
                                  teacher_feats, self.teacher_slots))
        losses['timestep_mean'] = t.float().mean()
        if labels is not None:
            feat = teacher_feats[self.teacher_slots[self.reward_pair]].mean((2, 3))
            losses.update(self.timestep_sampler(inputs, index=index, teacher_feat=feat,
                                                labels=labels, mode='loss'))
        return losses

    def train_step(self, data, optim_wrapper):
        """mmengine's one-optimizer step, or with the learned policy: the ``student`` wrapper
        updates on the distillation (and task) losses, the ``policy`` wrapper on
        ``policy.loss`` (the two share no parameters)."""
        if not self.sampler.learned:
            return super().train_step(data, optim_wrapper)
        if not isinstance(optim_wrapper, OptimWrapperDict) or \
                set(optim_wrapper.keys()) != {'student', 'policy'}:
            raise TypeError(f'{LEARNED_POLICY_TRAINING}; got {type(optim_wrapper).__name__}')
        student, policy = optim_wrapper['student'], optim_wrapper['policy']
        with student.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self.loss(**data) if isinstance(data, dict) else self.loss(*data)
        policy_losses = {k: losses.pop(k) for k in list(losses) if k.startswith('policy.')}
        parsed, log_vars = self.parse_losses(losses)
        student.update_params(parsed)
        with policy.optim_context(self.timestep_sampler):
            policy_loss, policy_logs = self.parse_losses(policy_losses)
        policy.update_params(policy_loss)
        policy_logs.pop('loss')
        log_vars.update(policy_logs)
        return log_vars

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            if self.sampler.learned:  # e.g. the default MMDistributedDataParallel's train_step
                raise RuntimeError(LEARNED_POLICY_TRAINING)
            return self.loss(inputs, data_samples)
        if hasattr(self, 'architecture'):  # predictions / tensors are the task model's
            return self.architecture(inputs, data_samples, mode=mode)
        if mode == 'tensor':
            return as_tuple(self.student(inputs))
        raise ValueError(f'two-stage RepFusion has no {mode!r} mode (it only distils); '
                         'evaluate the student downstream, or use val_cfg=None')

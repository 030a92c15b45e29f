"""RepFusion's reinforcement-learned timestep policy (Yang & Wang, ICCV 2023).

A small network (or free logits) gives a softmax over candidate timesteps; one timestep is
sampled per image. A task head is trained on the teacher's pooled feature at that timestep, and
the reward is minus its cross-entropy on the image's label: timesteps whose teacher features
tell the classes apart are reinforced (REINFORCE with a moving-average baseline, batch-normalised
advantages and an entropy bonus whose coefficient :class:`EntropyDecayHook` decays).

The policy is an ordinary submodule trained by mmengine: its loss (``mode='loss'``) is updated
by its own optimizer of an ``OptimWrapperDict`` in :meth:`RepFusion.train_step
<mmdiffrep.models.algorithms.RepFusion.train_step>`, so AMP, clipping, accumulation, LR
schedules, LR logging and ``--resume`` are mmengine's::

    optim_wrapper = dict(constructor='mmdiffrep.PartsOptimWrapperConstructor',
                         student=dict(optimizer=dict(type='AdamW', lr=2e-3)),
                         policy=dict(optimizer=dict(type='Adam', lr=1e-3)))
    model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')  # for DDP

Under DDP its gradients are averaged by its own DDP wrapper and the reward baseline by an
all-reduce, so every rank keeps the same policy.
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import dist
from torch.distributions import Categorical

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number
from .timestep_samplers import TimestepSampler


class _PolicyNet(nn.Module):
    """LeNet-style image -> logits (the last layer starts at zero: a uniform policy)."""

    def __init__(self, in_channels: int, num_actions: int, width: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width // 2, 5, stride=2, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(width // 2, width, 5, stride=2, padding=2), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, num_actions)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(self.features(x))


class _FreeLogits(nn.Module):
    """Image-independent logits (a bandit over timesteps)."""

    def __init__(self, num_actions: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(num_actions))

    def forward(self, x):
        return self.logits[None].expand(x.shape[0], -1)


@MODELS.register_module()
class LearnedTimestepPolicy(TimestepSampler):
    """REINFORCE timestep policy.

    Args:
        num_classes: classes of the reward's task head (labels from ``gt_label``).
        candidates: the timesteps to choose from; default every step ``0..T-1``, or e.g.
            ``list(range(0, 1000, 10))``.
        net: ``'cnn'`` (image-conditioned, as the paper) or ``'logits'`` (one distribution).
        in_channels: image channels for ``'cnn'``.
        reward_hidden: width of the 3-layer MLP task head on the teacher's pooled feature.
        entropy_coef: initial weight of the entropy bonus (decayed by ``EntropyDecayHook``).
        baseline_momentum: the reward baseline is an EMA of batch-mean rewards.
        normalize_advantage: divide advantages by their batch standard deviation.

    ``forward(images)`` draws timesteps (no gradient); ``forward(images, index=...,
    teacher_feat=..., labels=..., mode='loss')`` gives the policy's losses for those draws.
    """
    learned = True

    def __init__(self,
                 num_classes: int,
                 candidates: Optional[Sequence[int]] = None,
                 num_train_timesteps: int = 1000,
                 net: str = 'cnn',
                 in_channels: int = 3,
                 reward_hidden: int = 128,
                 entropy_coef: float = 0.1,
                 baseline_momentum: float = 0.9,
                 normalize_advantage: bool = True,
                 **legacy):
        if 'optimizer' in legacy:
            raise TypeError('LearnedTimestepPolicy(optimizer=...) was replaced by mmengine\'s '
                            'optimizer of the policy: optim_wrapper=dict(constructor='
                            "'mmdiffrep.PartsOptimWrapperConstructor', student=dict(optimizer="
                            f"...), policy=dict(optimizer={legacy['optimizer']!r}))")
        if legacy:
            raise TypeError(f'LearnedTimestepPolicy got unexpected arguments {sorted(legacy)}')
        super().__init__(range(num_train_timesteps) if candidates is None else candidates,
                         num_train_timesteps)
        if net not in ('cnn', 'logits'):
            raise ValueError(f"LearnedTimestepPolicy net must be 'cnn' or 'logits', got {net!r}")
        n = len(self.candidates)
        if n < 2:
            raise ValueError(f'LearnedTimestepPolicy needs >= 2 candidate timesteps to choose '
                             f'from, got {self.candidates.tolist()} (use FixedTimesteps for one)')
        check_number('LearnedTimestepPolicy', 'num_classes', num_classes, low=2, integer=True)
        check_number('LearnedTimestepPolicy', 'reward_hidden', reward_hidden, low=1,
                     integer=True)
        check_number('LearnedTimestepPolicy', 'entropy_coef', entropy_coef, low=0)
        check_number('LearnedTimestepPolicy', 'baseline_momentum', baseline_momentum, low=0,
                     high=1, high_open=True)
        self.num_classes, self.reward_hidden = num_classes, reward_hidden
        self.entropy_coef = self.entropy_coef_init = float(entropy_coef)
        self.baseline_momentum = baseline_momentum
        self.normalize_advantage = normalize_advantage
        self.policy = _PolicyNet(in_channels, n) if net == 'cnn' else _FreeLogits(n)
        self.reward_head = None
        # EMA of batch-mean rewards (nan: no batch yet); saved, so --resume continues it
        self.register_buffer('baseline', torch.tensor(float('nan'), dtype=torch.float64))

    def build_reward_head(self, in_channels: int) -> None:
        """Create the task head for a teacher feature of ``in_channels`` (before the optimizer
        is built: the distillation model calls it at construction)."""
        h = self.reward_hidden
        self.reward_head = nn.Sequential(
            nn.Linear(in_channels, h), nn.ReLU(inplace=True), nn.Linear(h, h),
            nn.ReLU(inplace=True), nn.Linear(h, self.num_classes)).to(self.candidates.device)

    # -- sampling ----------------------------------------------------------------------------------
    def distribution(self, images: torch.Tensor) -> Categorical:
        return Categorical(logits=self.policy(images.float()).float())

    def choose(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            dist_ = self.distribution(images)
        return dist_.sample() if self.training else dist_.probs.argmax(-1)

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, N) probabilities over ``candidates``."""
        return self.distribution(images).probs

    # -- learning ----------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, index: Optional[torch.Tensor] = None,
                teacher_feat: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None, mode: str = 'sample',
                return_index: bool = False):
        if mode == 'sample':
            return super().forward(images, return_index=return_index)
        if mode != 'loss':
            raise ValueError(f"LearnedTimestepPolicy mode must be 'sample' or 'loss', got {mode!r}")
        return self.loss(images, index, teacher_feat, labels)

    def loss(self, images: torch.Tensor, index: torch.Tensor, teacher_feat: torch.Tensor,
             labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """REINFORCE + task-head losses for the draws ``index`` of ``images``.

        ``teacher_feat``: (B, C) pooled teacher features at the drawn timesteps. ``labels``
        of -1 (:data:`~mmdiffrep.models.utils.UNLABELLED`) mark images outside the labelled
        subset of a few-label regime: they get no reward, no policy gradient and no task-head
        loss (the entropy bonus, which needs no label, covers every image). Returns
        ``policy.loss`` (for the policy's optimizer) and scalars to log; updates the baseline.
        """
        if self.reward_head is None:
            raise RuntimeError('call build_reward_head(in_channels) before training the policy')
        dist_ = self.distribution(images)
        entropy = dist_.entropy()
        keep = (labels >= 0).nonzero().flatten()  # all images unless some are unlabelled
        log_prob, labels = dist_.log_prob(index)[keep], labels[keep]
        logits = self.reward_head(teacher_feat.detach().float()[keep])
        ce = F.cross_entropy(logits, labels, reduction='none')
        reward = -ce.detach()
        mean_reward, count = reward.sum() / max(len(keep), 1), reward.new_tensor(len(keep))
        if dist.get_world_size() > 1:  # mean over the labelled images of all ranks
            total = torch.stack([reward.sum(), count])
            dist.all_reduce(total)
            mean_reward, count = total[0] / total[1].clamp(min=1), total[1]
        old = float(self.baseline)
        if not float(count):  # no labelled image anywhere: nothing to learn from this batch
            mean_reward = reward.new_tensor(0.0 if math.isnan(old) else old)
        baseline = float(mean_reward) if math.isnan(old) else old
        advantage = reward - baseline
        if self.normalize_advantage and advantage.numel() > 1:
            advantage = advantage / (advantage.std(unbiased=False) + 1e-6)
        n = max(len(keep), 1)
        loss = -(log_prob * advantage).sum() / n \
            - self.entropy_coef * entropy.mean() + ce.sum() / n
        m = self.baseline_momentum
        if float(count):
            self.baseline.fill_(float(mean_reward) if math.isnan(old)
                                else m * old + (1 - m) * float(mean_reward))
        return {'policy.loss': loss, 'policy.reward': mean_reward.detach(),
                'policy.reward_baseline': torch.tensor(baseline),
                'policy.entropy': entropy.mean().detach(),
                # sum / n, not mean(): a batch without labelled images logs 0, not NaN
                'policy.reward_head_ce': (ce.sum() / n).detach()}

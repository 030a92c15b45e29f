"""RepFusion's reinforcement-learned timestep policy (Yang & Wang, ICCV 2023).

A small network (or free logits) gives a softmax over candidate timesteps; one timestep is
sampled per image. A task head is trained on the teacher's pooled feature at that timestep, and
the reward is minus its cross-entropy on the image's label: timesteps whose teacher features
tell the classes apart are reinforced (REINFORCE with a moving-average baseline, batch-normalised
advantages and an entropy bonus whose coefficient :class:`EntropyDecayHook` decays).

The policy trains itself with its OWN optimizer (any torch optimizer) inside the training
forward: its networks are kept out of the model's parameters, so they are never in the main
optimizer or in DDP; their gradients are averaged over ranks by hand, so every rank keeps the
same policy. Weights, optimizer state and baseline are saved as the module's extra state, so
``--resume`` restores them.
"""
import io
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import dist
from torch.distributions import Categorical

from mmdiffrep.registry import MODELS, OPTIMIZERS
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
        optimizer: the policy's own optimizer (policy network + task head).
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
                 optimizer: dict = dict(type='Adam', lr=1e-3)):
        super().__init__(range(num_train_timesteps) if candidates is None else candidates,
                         num_train_timesteps)
        if net not in ('cnn', 'logits'):
            raise ValueError(f"LearnedTimestepPolicy net must be 'cnn' or 'logits', got {net!r}")
        n = len(self.candidates)
        self.num_classes, self.reward_hidden = num_classes, reward_hidden
        self.entropy_coef = self.entropy_coef_init = float(entropy_coef)
        self.baseline_momentum = baseline_momentum
        self.normalize_advantage = normalize_advantage
        self.optimizer_cfg = dict(optimizer)
        # kept out of self._modules: not model parameters, not in the main optimizer or DDP
        self.__dict__['nets'] = nn.ModuleDict(
            dict(policy=_PolicyNet(in_channels, n) if net == 'cnn' else _FreeLogits(n)))
        self.__dict__['optimizer'] = None
        self.baseline: Optional[float] = None
        self._pending = None
        self._synced = False

    # -- set-up ----------------------------------------------------------------------------------
    def build_reward_head(self, in_channels: int) -> None:
        """Create the task head for a teacher feature of ``in_channels`` and the optimizer."""
        h = self.reward_hidden
        self.nets['reward_head'] = nn.Sequential(
            nn.Linear(in_channels, h), nn.ReLU(inplace=True), nn.Linear(h, h),
            nn.ReLU(inplace=True), nn.Linear(h, self.num_classes)).to(self.candidates.device)
        self._build_optimizer()

    def _build_optimizer(self):
        cfg = dict(self.optimizer_cfg, params=self.nets.parameters())
        self.__dict__['optimizer'] = OPTIMIZERS.build(cfg)

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.nets._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.nets.train(mode)
        return self

    # -- sampling ----------------------------------------------------------------------------------
    def distribution(self, images: torch.Tensor) -> Categorical:
        return Categorical(logits=self.nets['policy'](images.float()).float())

    def choose(self, images: torch.Tensor) -> torch.Tensor:
        if self.training and not self._synced:
            if dist.get_world_size() > 1:  # start from rank 0's policy on every rank
                for t in self.nets.state_dict().values():
                    dist.broadcast(t, src=0)
            self._synced = True
        with torch.enable_grad():
            dist_ = self.distribution(images)
        index = dist_.sample() if self.training else dist_.probs.argmax(-1)
        self._pending = (dist_, index) if self.training else None
        return index

    # -- learning ----------------------------------------------------------------------------------
    def update(self, teacher_feat: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One REINFORCE + task-head step for the last sampled batch.

        ``teacher_feat``: (B, C) pooled teacher features at the sampled timesteps.
        Returns scalars to log (no ``loss`` in their names: nothing for the main optimizer).
        """
        if self._pending is None:
            raise RuntimeError('LearnedTimestepPolicy.update() needs a training-mode draw first')
        if 'reward_head' not in self.nets:
            raise RuntimeError('call build_reward_head(in_channels) before training the policy')
        dist_, index = self._pending
        self._pending = None
        with torch.enable_grad():
            logits = self.nets['reward_head'](teacher_feat.detach().float())
            ce = F.cross_entropy(logits, labels, reduction='none')
            reward = -ce.detach()
            mean_reward = reward.mean()
            if dist.get_world_size() > 1:
                dist.all_reduce(mean_reward, op='mean')
            baseline = float(mean_reward) if self.baseline is None else self.baseline
            advantage = reward - baseline
            if self.normalize_advantage and advantage.numel() > 1:
                advantage = advantage / (advantage.std(unbiased=False) + 1e-6)
            entropy = dist_.entropy()
            loss = -(dist_.log_prob(index) * advantage).mean() \
                - self.entropy_coef * entropy.mean() + ce.mean()
            params = [p for p in self.nets.parameters() if p.requires_grad]
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        for p, g in zip(params, grads):
            g = torch.zeros_like(p) if g is None else g
            if dist.get_world_size() > 1:
                dist.all_reduce(g, op='mean')
            p.grad = g
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        m = self.baseline_momentum
        self.baseline = float(mean_reward) if self.baseline is None \
            else m * self.baseline + (1 - m) * float(mean_reward)
        return dict(reward=mean_reward.detach(), reward_baseline=torch.tensor(baseline),
                    policy_entropy=entropy.mean().detach(), reward_head_ce=ce.mean().detach())

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, N) probabilities over ``candidates``."""
        return self.distribution(images).probs

    # -- checkpoints -----------------------------------------------------------------------------
    # The extra state is ONE byte tensor (mmengine broadcasts every state_dict entry as a
    # tensor at start-up): networks, baseline and optimizer state serialised with torch.save
    # (read back with weights_only=True).
    def get_extra_state(self) -> torch.Tensor:
        buf = io.BytesIO()
        torch.save(dict(nets=self.nets.state_dict(), baseline=self.baseline,
                        optimizer=None if self.optimizer is None
                        else self.optimizer.state_dict()), buf)
        return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)

    @staticmethod
    def unpack_state(state: torch.Tensor) -> dict:
        """A saved extra state as ``dict(nets=..., baseline=float | None, optimizer=dict |
        None)``, e.g. of ``checkpoint['state_dict']['timestep_sampler._extra_state']``."""
        return torch.load(io.BytesIO(state.cpu().numpy().tobytes()), map_location='cpu',
                          weights_only=True)

    def set_extra_state(self, state):
        state = self.unpack_state(state)
        if set(state['nets']) != set(self.nets.state_dict()):
            raise RuntimeError('the saved policy does not match this one (build_reward_head() '
                               'must run before loading; same candidates and net?)')
        self.nets.load_state_dict(state['nets'])
        self.baseline = state['baseline']
        if state['optimizer'] is not None:
            if self.optimizer is None:
                self._build_optimizer()
            self.optimizer.load_state_dict(state['optimizer'])

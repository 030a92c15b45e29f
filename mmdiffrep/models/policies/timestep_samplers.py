"""Which diffusion timestep a distillation teacher is read at, per image.

Every sampler maps a batch of (preprocessed) images to a (B,) tensor of integer timesteps (its
forward output, which :class:`~mmdiffrep.engine.hooks.TimestepPolicyVisHook` records) and
exposes its ``candidates`` (the timesteps it can return) for plots. ``learned`` samplers also
have a loss from a reward (see :mod:`.learned_policy`).
"""
from typing import Sequence, Union

import torch
import torch.nn as nn

from mmdiffrep.registry import MODELS


class TimestepSampler(nn.Module):
    """Base class: ``forward(images) -> (B,) long tensor`` of timesteps from ``candidates``."""
    learned = False

    def __init__(self, candidates: Sequence[int], num_train_timesteps: int = 1000):
        super().__init__()
        candidates = [int(t) for t in candidates]
        if not candidates:
            raise ValueError(f'{type(self).__name__}: no candidate timesteps')
        bad = [t for t in candidates if not 0 <= t < num_train_timesteps]
        if bad:
            raise ValueError(f'{type(self).__name__}: timesteps {bad} out of range '
                             f'[0, {num_train_timesteps})')
        self.num_train_timesteps = num_train_timesteps
        self.register_buffer('candidates', torch.tensor(candidates, dtype=torch.long), False)

    def choose(self, images: torch.Tensor) -> torch.Tensor:
        """Indices into ``candidates`` for each image."""
        return torch.randint(len(self.candidates), (images.shape[0], ), device=images.device)

    def forward(self, images: torch.Tensor, return_index: bool = False):
        """Timesteps (B,) for ``images``; with ``return_index``, ``(timesteps, indices into
        candidates)``."""
        index = self.choose(images)
        t = self.candidates[index]
        return (t, index) if return_index else t

    def extra_repr(self) -> str:
        c = self.candidates
        return f'{len(c)} candidates in [{int(c.min())}, {int(c.max())}]'


@MODELS.register_module()
class FixedTimesteps(TimestepSampler):
    """Always the given timestep; with several, one of them uniformly at random per image."""

    def __init__(self, timesteps: Union[int, Sequence[int]] = 0,
                 num_train_timesteps: int = 1000):
        if isinstance(timesteps, int):
            timesteps = [timesteps]
        super().__init__(timesteps, num_train_timesteps)


@MODELS.register_module()
class UniformTimesteps(TimestepSampler):
    """Uniform over ``[low, high)`` (e.g. RepFusion's "random t below a cap")."""

    def __init__(self, low: int = 0, high: int = 1000, num_train_timesteps: int = 1000):
        if not 0 <= low < high <= num_train_timesteps:
            raise ValueError(f'UniformTimesteps needs 0 <= low < high <= {num_train_timesteps}, '
                             f'got low={low}, high={high}')
        super().__init__(range(low, high), num_train_timesteps)

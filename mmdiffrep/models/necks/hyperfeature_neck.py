"""Diffusion-Hyperfeatures-style aggregation: project every (block, timestep) feature map to a
common width with a per-block bottleneck (shared across timesteps), resize to one resolution,
and mix them with learned softmax weights over block x timestep."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number


class _Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 residual bottleneck with GroupNorm (as the DHF aggregator)."""

    def __init__(self, in_channels: int, out_channels: int, num_groups: int = 32):
        super().__init__()
        mid = max(out_channels // 4, 1)
        gn = lambda c: dict(type='GN', num_groups=min(num_groups, c))  # noqa: E731
        self.convs = nn.Sequential(
            ConvModule(in_channels, mid, 1, norm_cfg=gn(mid)),
            ConvModule(mid, mid, 3, padding=1, norm_cfg=gn(mid)),
            ConvModule(mid, out_channels, 1, norm_cfg=gn(out_channels), act_cfg=None))
        self.shortcut = ConvModule(in_channels, out_channels, 1, norm_cfg=gn(out_channels),
                                   act_cfg=None)

    def forward(self, x):
        return F.relu(self.convs(x) + self.shortcut(x))


@MODELS.register_module()
class HyperfeatureNeck(BaseModule):
    """Aggregate the outputs of ``DiffusionUNet(combine='separate')`` into one map.

    Args:
        in_channels: channels of the backbone outputs, block-major (b0t0, b0t1, ..., b1t0, ...)
            as ``DiffusionUNet.out_channels`` lists them.
        num_timesteps: timesteps per block (1 when the backbone concatenated or averaged them).
        out_channels: the common width (DHF uses 384).
        out_index: which input's resolution the output takes (default 0, e.g. the finest block
            listed first).

    The mixing weights (softmax over all block x timestep maps) are :meth:`mixing_weights`,
    shaped ``(num_blocks, num_timesteps)``: they say which blocks and timesteps the task uses.
    """

    def __init__(self, in_channels: Sequence[int], num_timesteps: int = 1,
                 out_channels: int = 384, out_index: int = 0, num_groups: int = 32,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if not in_channels:
            raise ValueError('HyperfeatureNeck: in_channels is empty')
        check_number('HyperfeatureNeck', 'out_channels', out_channels, low=1, integer=True)
        check_number('HyperfeatureNeck', 'num_groups', num_groups, low=1, integer=True)
        if num_timesteps < 1 or len(in_channels) % num_timesteps:
            raise ValueError(f'{len(in_channels)} inputs cannot be split into blocks of '
                             f'num_timesteps={num_timesteps}')
        self.num_blocks = len(in_channels) // num_timesteps
        self.num_timesteps = num_timesteps
        block_channels = in_channels[::num_timesteps]
        for b, c in enumerate(block_channels):
            group = in_channels[b * num_timesteps:(b + 1) * num_timesteps]
            if any(g != c for g in group):
                raise ValueError(f'block {b} has different channels across timesteps: {group}')
        if not -len(in_channels) <= out_index < len(in_channels):
            raise ValueError(f'HyperfeatureNeck: out_index={out_index} is out of range for '
                             f'{len(in_channels)} inputs')
        self.out_index = out_index
        self.projections = nn.ModuleList(
            _Bottleneck(c, out_channels, num_groups) for c in block_channels)
        self.mix_logits = nn.Parameter(torch.zeros(self.num_blocks, num_timesteps))
        self.out_channels = out_channels

    def mixing_weights(self) -> torch.Tensor:
        return self.mix_logits.flatten().softmax(0).view_as(self.mix_logits)

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor]:
        if len(inputs) != self.num_blocks * self.num_timesteps:
            raise ValueError(f'expected {self.num_blocks * self.num_timesteps} maps, got '
                             f'{len(inputs)}')
        size = inputs[self.out_index].shape[-2:]
        weights = self.mixing_weights()
        out = 0
        for i, x in enumerate(inputs):
            b, t = divmod(i, self.num_timesteps)
            y = self.projections[b](x)
            if y.shape[-2:] != size:
                y = F.interpolate(y, size=size, mode='bilinear', align_corners=False)
            out = out + weights[b, t] * y
        return (out, )

"""Linear-probe readout for frozen features: global average pooling, then per-channel
standardisation by BatchNorm statistics without affine parameters (the MAE linear-probe
recipe). Frozen diffusion features differ in scale by orders of magnitude across channels, so a
linear head on the raw pooled vector is badly conditioned and under-fits at a fine-tuning
budget; the standardisation leaves the probe linear (it folds into the head at test time)."""
from typing import Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from mmdiffrep.registry import MODELS


@MODELS.register_module()
class StandardizedPooling(BaseModule):
    """``GlobalAveragePooling`` followed by ``BatchNorm1d(affine=False)`` per input.

    Args:
        in_channels: channels of each input feature map (one BatchNorm per input).
        momentum: BatchNorm running-statistics momentum.

    Example:
        >>> neck = StandardizedPooling(in_channels=[64])
        >>> (out, ) = neck((torch.randn(8, 64, 4, 4), ))
        >>> out.shape
        torch.Size([8, 64])
    """

    def __init__(self, in_channels: Union[int, Sequence[int]], momentum: float = 0.1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        in_channels = [in_channels] if isinstance(in_channels, int) else list(in_channels)
        if not in_channels or any(int(c) <= 0 for c in in_channels):
            raise ValueError(f'StandardizedPooling: in_channels must be positive channel '
                             f'counts, got {in_channels}')
        self.in_channels = in_channels
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(c, affine=False, momentum=momentum) for c in in_channels)

    def forward(self, inputs: Union[torch.Tensor, Tuple[torch.Tensor, ...]]):
        single = isinstance(inputs, torch.Tensor)
        inputs = (inputs, ) if single else tuple(inputs)
        if len(inputs) != len(self.norms):
            raise ValueError(f'StandardizedPooling: got {len(inputs)} inputs, configured for '
                             f'{len(self.norms)} (in_channels={self.in_channels})')
        outs = []
        for x, norm, c in zip(inputs, self.norms, self.in_channels):
            if x.dim() < 2 or x.shape[1] != c:
                raise ValueError(f'StandardizedPooling: an input of shape {tuple(x.shape)} '
                                 f'does not have the configured {c} channels')
            pooled = x.flatten(2).mean(2) if x.dim() > 2 else x
            outs.append(norm(pooled))
        return outs[0] if single else tuple(outs)

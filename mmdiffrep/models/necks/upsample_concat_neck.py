"""DDPM-Seg-style neck: bilinearly resize every feature map to one resolution and concatenate
them along channels (the per-pixel descriptor of DDPM-Seg)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number


@MODELS.register_module()
class UpsampleConcatNeck(BaseModule):
    """Resize all inputs to the resolution of ``inputs[out_index]`` (or ``scale_factor`` x that)
    and concatenate them.

    Args:
        in_channels: channels of the inputs (for ``out_channels``; checked at run time).
        out_index: the input whose resolution is used (default: the largest map).
        scale_factor: extra resize of the result (e.g. 2 to go to a finer stride).

    Keeping the upsampling here rather than at full image resolution avoids the memory
    blow-up DDPM-Seg users report (one 8448-d vector per pixel).
    """

    def __init__(self, in_channels: Sequence[int], out_index: Optional[int] = None,
                 scale_factor: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        if not self.in_channels:
            raise ValueError('UpsampleConcatNeck: in_channels is empty')
        n = len(self.in_channels)
        if out_index is not None and not -n <= out_index < n:
            raise ValueError(f'UpsampleConcatNeck: out_index={out_index} is out of range for '
                             f'{n} inputs')
        check_number('UpsampleConcatNeck', 'scale_factor', scale_factor, low=0, low_open=True)
        self.out_index = out_index
        self.scale_factor = scale_factor
        self.out_channels = sum(self.in_channels)

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor]:
        if [x.shape[1] for x in inputs] != self.in_channels:
            raise ValueError(f'input channels {[x.shape[1] for x in inputs]} differ from '
                             f'in_channels={self.in_channels}')
        idx = self.out_index
        if idx is None:
            idx = max(range(len(inputs)), key=lambda i: inputs[i].shape[-2] * inputs[i].shape[-1])
        h, w = inputs[idx].shape[-2:]
        size = (round(h * self.scale_factor), round(w * self.scale_factor))
        maps = [x if x.shape[-2:] == size else
                F.interpolate(x, size=size, mode='bilinear', align_corners=False)
                for x in inputs]
        return (torch.cat(maps, dim=1), )

"""CodeDecoder: a small convolutional decoder from a code vector to an image.

The decoder of the autoencoder baselines of DRL (``DRL(score_weight=0,
reconstruction_weight=1, decoder=dict(type='mmdiffrep.CodeDecoder'))``): it lets the same
encoder be trained as a plain (or variational) autoencoder, the comparison the DRL paper makes.
"""
import math

import torch
import torch.nn as nn

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number


@MODELS.register_module()
class CodeDecoder(nn.Module):
    """``z (B, code_dim) -> image (B, out_channels, size, size)``: a linear map to a 4x4 grid,
    then (upsample x2, 3x3 conv, GroupNorm, SiLU) until ``size``.

    Args:
        code_dim: length of the code (filled in by DRL).
        size: output side, a power of two >= 4.
        channels: width of the convolutional layers.
        out_channels: image channels.
    """

    def __init__(self, code_dim: int, size: int = 32, channels: int = 64,
                 out_channels: int = 3):
        super().__init__()
        if size < 4 or size & (size - 1):
            raise ValueError(f'CodeDecoder size must be a power of two >= 4, got {size}')
        for name, value in (('code_dim', code_dim), ('channels', channels),
                            ('out_channels', out_channels)):
            check_number('CodeDecoder', name, value, low=1, integer=True)
        self.channels = channels
        self.fc = nn.Linear(code_dim, channels * 16)
        layers = []
        for _ in range(int(math.log2(size // 4))):
            layers += [nn.Upsample(scale_factor=2, mode='nearest'),
                       nn.Conv2d(channels, channels, 3, padding=1),
                       nn.GroupNorm(min(8, channels), channels), nn.SiLU()]
        layers.append(nn.Conv2d(channels, out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(z.shape[0], self.channels, 4, 4))

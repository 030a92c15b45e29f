"""Representation alignment for diffusers U-Nets (REPA, Yu et al. 2024; iREPA's conv projector),
and the encoder-free dispersive loss (Wang & He 2025).

During DDPM training, the output of one U-Net block on the NOISY input ``x_t`` is projected
per position and aligned to a FROZEN encoder's features of the CLEAN image ``x0``::

    loss_align = lambda * mean over positions of -cos(proj(h_t)[p], enc(x0)[p])

after resizing the projected map to the encoder's grid. Use it through DDPM::

    model = dict(type='mmdiffrep.DDPM', unet_cfg=..., alignment=dict(
        type='mmdiffrep.RepresentationAlignment', block='mid',
        encoder=dict(type='mmpretrain.VGG', depth=11, ..., init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/vgg11_shapes.pth')),
        encoder_mean=[127.5] * 3, encoder_std=[127.5] * 3,   # the encoder's own normalisation
        projector='mlp', loss_weight=0.5, stop_after=None))

The encoder is any backbone config of any installed toolbox; it is held as a frozen module
(:mod:`mmdiffrep.utils.frozen`): never optimised, never saved, never wrapped in DDP, shared by
EMA copies. The projector is trained with the U-Net and dropped at export
(``ddpm_to_diffusers.py`` writes the U-Net only). ``stop_after=N`` turns the term off after N
training iterations (users report late-training degradation). ``mode='dispersive'`` needs no
encoder: the block's pooled features of a batch are pushed apart (InfoNCE without positives).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number
from mmdiffrep.utils.frozen import FrozenHolderMixin, hold_frozen
from ..utils import as_tuple, dry_run_outputs

PROJECTORS = ('mlp', 'conv')
MODES = ('repa', 'dispersive')


def _init_frozen_encoder(cfg: dict) -> nn.Module:
    encoder = MODELS.build(cfg)
    if cfg.get('init_cfg') and hasattr(encoder, 'init_weights'):
        encoder.init_weights()  # (e.g. Pretrained) not a submodule: the runner would not
    return encoder


def _normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> the encoder's normalisation (``mean`` / ``std`` on 0-255)."""
    return ((x + 1) * 127.5 - mean) / std


@MODELS.register_module()
class RepresentationAlignment(FrozenHolderMixin, nn.Module):
    """The alignment term of a denoiser (see the module docstring).

    Args:
        block: the U-Net block whose output on ``x_t`` is aligned (a readable block name of
            :mod:`mmdiffrep.diffusion.blocks`), set up by :meth:`attach`.
        encoder: a backbone config (frozen); required for ``mode='repa'``.
        encoder_index: which encoder output (an NCHW map) is the target.
        encoder_mean, encoder_std: the encoder's input normalisation on the 0-255 scale.
        projector: ``'mlp'`` (per position: Linear-SiLU-Linear-SiLU-Linear, as REPA) or
            ``'conv'`` (a 3x3 convolution, as iREPA).
        hidden: width of the MLP projector.
        loss_weight: lambda (REPA's default 0.5).
        stop_after: no alignment from this training iteration on (None: always).
        mode: ``'repa'`` or ``'dispersive'`` (no encoder).
        temperature: of the dispersive loss.
        probe_size: side of the dummy image used once to read the encoder's width.
    """

    def __init__(self,
                 block: str = 'mid',
                 encoder: Optional[dict] = None,
                 encoder_index: int = -1,
                 encoder_mean: Sequence[float] = (123.675, 116.28, 103.53),
                 encoder_std: Sequence[float] = (58.395, 57.12, 57.375),
                 projector: str = 'mlp',
                 hidden: int = 2048,
                 loss_weight: float = 0.5,
                 stop_after: Optional[int] = None,
                 mode: str = 'repa',
                 temperature: float = 0.5,
                 probe_size: int = 32):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'unknown alignment mode {mode!r}; expected one of {MODES}')
        if projector not in PROJECTORS:
            raise ValueError(f'unknown projector {projector!r}; expected one of {PROJECTORS}')
        if mode == 'repa' and encoder is None:
            raise ValueError("mode='repa' aligns to an encoder: give encoder=dict(type=...) "
                             "(or use mode='dispersive', which needs none)")
        if stop_after is not None and stop_after < 1:
            raise ValueError(f'stop_after must be >= 1 iterations or None, got {stop_after}')
        self.block, self.mode, self.projector_type = block, mode, projector
        check_number('RepresentationAlignment', 'loss_weight', loss_weight, low=0)
        check_number('RepresentationAlignment', 'hidden', hidden, low=1, integer=True)
        check_number('RepresentationAlignment', 'temperature', temperature, low=0,
                     low_open=True)
        self.encoder_index, self.hidden = encoder_index, int(hidden)
        self.loss_weight, self.stop_after = float(loss_weight), stop_after
        self.temperature, self.probe_size = float(temperature), probe_size
        self.register_buffer('encoder_mean', torch.tensor(encoder_mean).view(1, -1, 1, 1), False)
        self.register_buffer('encoder_std', torch.tensor(encoder_std).view(1, -1, 1, 1), False)
        # training iterations seen (saved, so stop_after holds across --resume)
        self.register_buffer('steps', torch.zeros((), dtype=torch.long))
        self.target_channels = None
        if encoder is not None:
            if mode == 'dispersive':
                raise ValueError("mode='dispersive' uses no encoder: remove encoder")
            enc = _init_frozen_encoder(encoder)
            outs = dry_run_outputs(enc, probe_size, len(encoder_mean))
            if not -len(outs) <= encoder_index < len(outs):
                raise ValueError(f'encoder_index={encoder_index} but the encoder gives '
                                 f'{len(outs)} outputs')
            target = outs[encoder_index]
            if target.dim() != 4:
                raise ValueError(f'the encoder output {encoder_index} has shape '
                                 f'{tuple(target.shape)}; alignment needs an NCHW map (for '
                                 "ViTs use out_type='featmap')")
            self.target_channels = int(target.shape[1])
            hold_frozen(self, 'encoder', enc)
        self.projector = None

    def attach(self, unet: nn.Module) -> nn.Module:
        """Build the projector for ``unet``'s block; returns the block module to record."""
        from mmdiffrep.diffusion.blocks import resolve_block
        from mmdiffrep.utils.recorder import record_shapes
        module = resolve_block(unet, self.block)[1]
        size = self.probe_size
        x = torch.zeros(1, unet.config.in_channels, size, size)
        t = torch.zeros(1, dtype=torch.long)
        kwargs = {}
        if getattr(unet.config, 'num_class_embeds', None):
            kwargs['class_labels'] = torch.zeros(1, dtype=torch.long)
        _, shapes = record_shapes({'b': module}, lambda: unet(x, t, **kwargs))
        c = int(shapes['b'][1])
        if self.mode == 'repa':
            out, h = self.target_channels, self.hidden
            if self.projector_type == 'mlp':
                self.projector = nn.Sequential(
                    nn.Conv2d(c, h, 1), nn.SiLU(), nn.Conv2d(h, h, 1), nn.SiLU(),
                    nn.Conv2d(h, out, 1))
            else:
                self.projector = nn.Conv2d(c, out, 3, padding=1)
        return module

    def active(self) -> bool:
        return self.stop_after is None or int(self.steps) < self.stop_after

    def loss(self, block_feat: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """The weighted alignment loss of the block's features (B, C, h, w) on ``x_t`` for the
        clean images ``x0`` in [-1, 1]; counts one training iteration."""
        if self.training:
            self.steps += 1
        if self.mode == 'dispersive':
            z = F.normalize(block_feat.float().mean((2, 3)), dim=1)
            d = torch.cdist(z, z).pow(2)
            return self.loss_weight * torch.log(torch.exp(-d / self.temperature).mean())
        with torch.no_grad():
            target = as_tuple(self.encoder(_normalise(x0, self.encoder_mean, self.encoder_std)
                                           .to(next(self.encoder.parameters()).dtype)))
            target = target[self.encoder_index].float()
        pred = self.projector(block_feat)
        if pred.shape[-2:] != target.shape[-2:]:
            pred = F.interpolate(pred, size=target.shape[-2:], mode='bilinear',
                                 align_corners=False)
        cos = F.cosine_similarity(pred.float(), target, dim=1)  # (B, H', W')
        return -self.loss_weight * cos.mean()

"""DiffusionUNet: a diffusers U-Net as a multi-scale OpenMMLab backbone.

Use it in the backbone slot of an mmpretrain, mmseg or mmpose config::

    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        pretrained='google/ddpm-cifar10-32',      # hub id, diffusers folder or checkpoint
        blocks=['down.2', 'up.1.pre'], timesteps=[10, 100],
        noise='fixed', combine='concat',
        data_mean=[125.3, 123.0, 113.9], data_std=[63.0, 62.1, 66.7])  # = the preprocessor's

Concerns are split: loading is :mod:`mmdiffrep.diffusion.loading`, extraction
:class:`~mmdiffrep.diffusion.UNetFeatureExtractor`, conditioning
:mod:`mmdiffrep.models.conditions`, the VAE path :class:`~mmdiffrep.diffusion.latents.
LatentEncoder`, freezing :mod:`mmdiffrep.utils.frozen`; this class keeps the input range, the
geometry (padding, strides, cropping) and the forward.

Input contract: the toolbox's data preprocessor normalises images with ``(x - mean) / std``;
the backbone undoes it with the declared ``data_mean`` / ``data_std`` (0-255 scale, in the
channel order the preprocessor outputs, i.e. RGB when it converts BGR to RGB) and maps the
pixels to the range the U-Net was trained on (``input_range``, [-1, 1] for DDPMs). H and W are
padded (replicate) to the multiple the U-Net needs and every feature map is cropped back to
``ceil(H / stride) x ceil(W / stride)``.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmdiffrep.diffusion import (UNetFeatureExtractor, load_scheduler, load_unet,
                                 weights_fingerprint)
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_finite, check_number
from mmdiffrep.utils.frozen import FrozenHolderMixin, hold_frozen

COMBINE_MODES = ('concat', 'mean', 'separate')
OUT_TYPES = ('featmap', 'pooled')

#: precisions of a frozen U-Net: its weights (``weights_dtype``) and its forward (``autocast``)
WEIGHTS_DTYPES = ('float32', 'float16', 'bfloat16')
AUTOCAST_DTYPES = ('float16', 'bfloat16')


class _Dropped(nn.Module):
    """Stands in for a U-Net module that runs after the last requested block (frozen mode)."""

    def forward(self, *args, **kwargs):
        raise RuntimeError('this U-Net module was dropped because no requested block needs it')


def _check_legacy(kwargs: dict) -> None:
    from ..conditions import LEGACY_ARGUMENTS
    for key in kwargs:
        if key in LEGACY_ARGUMENTS:
            raise TypeError(f'DiffusionUNet: `{key}` was replaced by conditions as modules; '
                            f'write {LEGACY_ARGUMENTS[key]}')
    if kwargs:
        raise TypeError(f'DiffusionUNet got unexpected arguments {sorted(kwargs)}')


@MODELS.register_module()
class DiffusionUNet(FrozenHolderMixin, BaseModule):
    """Features of chosen blocks and timesteps of a diffusers U-Net.

    Args:
        pretrained: hub id, local diffusers folder, or checkpoint file (with ``unet_cfg``).
        unet_cfg: ``dict(type='UNet2DModel' | 'UNet2DConditionModel', **kwargs)``.
        subfolder: subfolder of ``pretrained`` holding the U-Net (``'unet'`` for pipelines).
        blocks: block names, e.g. ``['down.1', 'mid', 'up.1.pre', 'up.2.attentions.1']``.
        timesteps: int or list of ints in ``[0, num_train_timesteps)``.
        noise: ``'none'`` | ``'fixed'`` | ``'random'`` (see :class:`UNetFeatureExtractor`).
        ensemble: noise draws averaged per timestep (DIFT).
        noise_seed: seed of the ``'fixed'`` noise.
        combine: per block, ``'concat'`` the timesteps along channels, ``'mean'`` them, or keep
            them ``'separate'`` (outputs ordered block-major: b0t0, b0t1, b1t0, ...).
        out_type: ``'featmap'`` (NCHW maps) or ``'pooled'`` (global average pooled N x C).
        data_mean, data_std: the data preprocessor's normalisation (0-255 scale).
        input_range: the U-Net's input range.
        frozen: eval mode, no gradients, not in the optimizer, DDP or EMA copies
            (:mod:`mmdiffrep.utils.frozen`; see ``save_unet_weights``).
        save_unet_weights: keep the U-Net weights in checkpoints. Default: only when there is
            no ``pretrained`` (a random U-Net cannot be rebuilt from a source).
        drop_unused: when frozen, replace modules after the last requested block by
            parameter-free placeholders (less memory).
        weights_dtype: e.g. ``'float16'`` / ``'bfloat16'`` for a frozen U-Net's weights;
            inputs are cast to it and the features back to float32.
        autocast: e.g. ``'bfloat16'``: run a frozen U-Net under ``torch.autocast`` in that
            dtype (CPUs with AVX-512 BF16 / AMX, GPUs); features are returned in float32.
        frozen_stages: for a trainable U-Net (``frozen=False``): ``k >= 0`` keeps the time
            embedding, ``conv_in`` and the first ``k`` down blocks fixed (eval, no gradients);
            -1 trains everything. Per-part learning rates: mmengine's ``paramwise_cfg``, e.g.
            ``custom_keys={'backbone.unet.up_blocks': dict(lr_mult=0.1)}``.
        gradient_checkpointing: for a trainable U-Net.
        condition: what the U-Net reads besides image and time, a module config of
            :mod:`mmdiffrep.models.conditions`: ``dict(type='mmdiffrep.ClassLabel', label=3)``
            or ``learnable=True``, ``dict(type='mmdiffrep.PromptEmbedding', text='',
            cache=...)``, ``dict(type='mmdiffrep.NullContext', shape=(L, D))``. Default: a
            ``NullContext`` for text-conditioned U-Nets, nothing otherwise.
        scheduler_cfg: ``DDPMScheduler`` kwargs (``beta_schedule`` in mmdiffrep's names, e.g.
            ``'cosine'``); default: the pretrained folder's, else DDPM.
        cache_features: compute each image's features once and reuse them in later epochs
            (:class:`~mmdiffrep.diffusion.feature_cache.FeatureCache`); only for a frozen U-Net
            with deterministic features (noise ``'none'`` / ``'fixed'``, no learnable
            condition), else a clear error; random augmentation is reported in the log.
        max_forward_batch: rows (images x timesteps x draws) per U-Net forward (see
            :class:`UNetFeatureExtractor`); e.g. 16 on a CPU, None (all at once) on a GPU.
        vae: for latent U-Nets (Stable-Diffusion style): the
            :class:`~mmdiffrep.diffusion.latents.LatentEncoder` arguments,
            ``dict(pretrained=..., subfolder='vae')`` or ``dict(cfg=dict(...))`` for a random
            ``AutoencoderKL``; optional ``scaling_factor`` and ``sample='mean' | 'sample'``.
            Strides stay image-relative.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 unet_cfg: Optional[dict] = None,
                 subfolder: Optional[str] = None,
                 blocks: Sequence[str] = ('up.1', ),
                 timesteps: Union[int, Sequence[int]] = 0,
                 noise: str = 'none',
                 ensemble: int = 1,
                 noise_seed: int = 0,
                 combine: str = 'concat',
                 out_type: str = 'featmap',
                 data_mean: Sequence[float] = (127.5, 127.5, 127.5),
                 data_std: Sequence[float] = (127.5, 127.5, 127.5),
                 input_range: Tuple[float, float] = (-1.0, 1.0),
                 frozen: bool = True,
                 save_unet_weights: Optional[bool] = None,
                 drop_unused: bool = True,
                 early_exit: bool = True,
                 weights_dtype: Optional[str] = None,
                 autocast: Optional[str] = None,
                 frozen_stages: int = -1,
                 gradient_checkpointing: bool = False,
                 condition: Optional[dict] = None,
                 scheduler_cfg: Optional[dict] = None,
                 vae: Optional[dict] = None,
                 cache_features: bool = False,
                 max_forward_batch: Optional[int] = None,
                 init_cfg: Optional[dict] = None,
                 **legacy):
        _check_legacy(legacy)
        super().__init__(init_cfg=init_cfg)
        if combine not in COMBINE_MODES:
            raise ValueError(f'unknown combine {combine!r}; expected one of {COMBINE_MODES}')
        if out_type not in OUT_TYPES:
            raise ValueError(f'unknown out_type {out_type!r}; expected one of {OUT_TYPES}')
        if weights_dtype is not None and weights_dtype not in WEIGHTS_DTYPES:
            raise ValueError(f'weights_dtype={weights_dtype!r} must be one of {WEIGHTS_DTYPES}')
        if any(not s > 0 for s in data_std):
            raise ValueError(f'data_std={list(data_std)} must be > 0 (the preprocessor divides '
                             'by it)')
        if not float(input_range[0]) < float(input_range[1]):
            raise ValueError(f'input_range={tuple(input_range)} must be (low, high) with low < '
                             'high')
        check_number('DiffusionUNet', 'frozen_stages', frozen_stages, low=-1, integer=True)
        unet = load_unet(pretrained, unet_cfg, subfolder=subfolder)
        # what the checkpoints of this backbone were trained on, when they do not carry it
        self.pretrained = pretrained
        self.pretrained_fingerprint = weights_fingerprint(unet) if pretrained else None
        self.in_channels = unet.config.in_channels
        self.vae_factor = 1
        self.latent_encoder = None
        if vae is not None:
            from mmdiffrep.diffusion.latents import LatentEncoder
            self.latent_encoder = LatentEncoder(**vae)
            if self.latent_encoder.latent_channels != unet.config.in_channels:
                raise ValueError(f'the VAE gives {self.latent_encoder.latent_channels} latent '
                                 f'channels but the U-Net takes {unet.config.in_channels}')
            self.vae_factor = self.latent_encoder.downsample
            self.in_channels = self.latent_encoder.in_channels
        if len(data_mean) != self.in_channels or len(data_std) != self.in_channels:
            raise ValueError(f'data_mean / data_std need {self.in_channels} values (the input '
                             f'image channels), got {len(data_mean)} / {len(data_std)}')
        self.frozen = frozen
        self.combine, self.out_type = combine, out_type
        save_unet_weights = (pretrained is None) if save_unet_weights is None \
            else save_unet_weights
        self.register_buffer('data_mean', torch.tensor(data_mean).view(1, -1, 1, 1), False)
        self.register_buffer('data_std', torch.tensor(data_std).view(1, -1, 1, 1), False)
        self.input_range = tuple(float(v) for v in input_range)

        if condition is None and type(unet).__name__ == 'UNet2DConditionModel':
            condition = dict(type='mmdiffrep.NullContext')
        self.condition = None if condition is None else MODELS.build(condition)
        if self.condition is not None:
            self.condition.attach(unet, unet_trains=not frozen)

        self.extractor = UNetFeatureExtractor(
            unet, blocks, timesteps, load_scheduler(pretrained, scheduler_cfg), noise=noise,
            ensemble=ensemble, noise_seed=noise_seed, early_exit=early_exit,
            max_forward_batch=max_forward_batch,
            condition=self.condition)
        self.blocks = self.extractor.blocks
        self.timesteps = self.extractor.timesteps
        self._read_geometry()

        if frozen:
            unet.eval().requires_grad_(False)
            if drop_unused and early_exit:
                self._drop_after(self.extractor.stop_after)
            if weights_dtype is not None:
                unet.to(getattr(torch, weights_dtype))
            hold_frozen(self, 'unet', unet, save=save_unet_weights)
        else:
            if weights_dtype is not None:
                raise ValueError('weights_dtype is for a frozen U-Net; train with --amp instead')
            if gradient_checkpointing:
                unet.enable_gradient_checkpointing()
            self.unet = unet
        self._unet_in_checkpoints = save_unet_weights or not frozen
        if self.pretrained_fingerprint is not None:
            self.register_buffer('unet_fingerprint', torch.tensor(
                list(bytes.fromhex(self.pretrained_fingerprint)), dtype=torch.uint8))
            self._register_load_state_dict_pre_hook(self._check_fingerprint)
        if frozen_stages >= 0 and frozen:
            raise ValueError('frozen_stages is for a trainable U-Net (frozen=False)')
        if frozen_stages > len(unet.down_blocks):
            raise ValueError(f'frozen_stages={frozen_stages} but the U-Net has '
                             f'{len(unet.down_blocks)} down blocks')
        self.frozen_stages = frozen_stages
        self._freeze_stages()
        if autocast is not None and not (frozen and autocast in AUTOCAST_DTYPES):
            raise ValueError(f'autocast={autocast!r} must be one of {AUTOCAST_DTYPES} (a frozen '
                             "U-Net's forward precision); train with --amp instead")
        self.autocast = autocast
        self.feature_cache = None
        if cache_features:
            learnable = self.condition is not None and any(
                p.requires_grad for p in self.condition.parameters())
            reason = ('the U-Net trains (frozen=False)' if not frozen else
                      "noise='random' draws new noise every call" if noise == 'random' else
                      'the condition is learnable' if learnable else None)
            if reason:
                raise ValueError(f'cache_features=True would reuse stale features: {reason}; '
                                 'it is for a frozen U-Net with deterministic features')
            from mmdiffrep.diffusion.feature_cache import FeatureCache
            self.feature_cache = FeatureCache()

    def _fixed_stage_modules(self) -> List[nn.Module]:
        if self.frozen or self.frozen_stages < 0:
            return []
        unet = self.unet
        mods = [unet.conv_in, unet.time_embedding]
        mods += [unet.down_blocks[i] for i in range(self.frozen_stages)]
        return mods

    def _freeze_stages(self) -> None:
        for m in self._fixed_stage_modules():
            m.eval()
            m.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def _drop_after(self, last: str) -> None:
        """Replace the U-Net modules that run after ``last`` by placeholders (keeping the
        ModuleList lengths that the U-Net's forward reads)."""
        unet = self.extractor.unet
        kind, idx = last.split('.')[0], None
        if kind in ('down', 'up'):
            idx = int(last.split('.')[1])
        if kind in ('conv_in', 'down'):
            start = idx + 1 if idx is not None else 0
            for i in range(start, len(unet.down_blocks)):
                unet.down_blocks[i] = _Dropped()
            unet.mid_block = _Dropped() if unet.mid_block is not None else None
        if kind in ('conv_in', 'down', 'mid', 'up'):
            start = idx + 1 if kind == 'up' else 0
            for i in range(start, len(unet.up_blocks)):
                unet.up_blocks[i] = _Dropped()
            for name in ('conv_norm_out', 'conv_out'):
                if getattr(unet, name, None) is not None:
                    setattr(unet, name, _Dropped())

    # -- geometry -------------------------------------------------------------------------------
    def _read_geometry(self) -> None:
        probe = self.extractor.probe_size
        shapes = self.extractor.block_shapes
        self.block_channels = {k: int(s[0]) for k, s in shapes.items()}
        # strides relative to the image (latent stride x the VAE's downsampling)
        self.block_strides = {k: probe // int(s[-1]) * self.vae_factor
                              for k, s in shapes.items()}
        T = len(self.timesteps)
        out_channels, strides = [], []
        for name in self.blocks:
            c, s = self.block_channels[name], self.block_strides[name]
            n = T if self.combine == 'separate' else 1
            mult = T if self.combine == 'concat' else 1
            out_channels += [c * mult] * n
            strides += [s] * n
        self.out_channels: List[int] = out_channels
        self.strides: List[int] = strides

    # -- checkpoints ----------------------------------------------------------------------------
    def _check_fingerprint(self, state_dict, prefix, *args) -> None:
        """Before a state dict is loaded: refuse a checkpoint whose heads were trained on the
        features of another frozen U-Net than the one ``pretrained`` holds now. The
        fingerprint is a uint8 buffer (a tensor, so EMA / SWA / DDP code that walks state
        dicts handles it); checkpoints older than the fingerprint load as before."""
        key = prefix + 'unet_fingerprint'
        if key not in state_dict:
            state_dict[key] = self.unet_fingerprint.clone()
            return
        saved = bytes(state_dict[key].tolist()).hex()
        if not self._unet_in_checkpoints and saved != self.pretrained_fingerprint:
            raise ValueError(
                f'this checkpoint was trained on the features of a frozen U-Net with weights '
                f'fingerprint {saved}, but the U-Net loaded from {self.pretrained!r} has '
                f'fingerprint {self.pretrained_fingerprint}: its features differ, so the '
                'checkpoint\'s heads would read other features. Point `pretrained` at the '
                'weights it was trained with (train with save_unet_weights=True to keep the '
                'U-Net in the checkpoint)')

    # -- forward --------------------------------------------------------------------------------
    def to_unet_range(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the data preprocessor's normalisation and map 0-255 to ``input_range``."""
        lo, hi = self.input_range
        pixels = x * self.data_std + self.data_mean
        return pixels / 255.0 * (hi - lo) + lo

    def forward(self, x: torch.Tensor,
                timesteps: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, ...]:
        """Features of ``x`` (normalised by the data preprocessor). ``timesteps``: optional
        per-image (B,) integer tensor overriding the configured ones (e.g. a distillation
        teacher whose timestep is sampled per image); then there is one timestep."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'DiffusionUNet expects N x {self.in_channels} x H x W inputs, got '
                             f'shape {tuple(x.shape)}')
        if timesteps is not None and len(self.timesteps) != 1:
            raise ValueError('per-image timesteps replace the configured ones, so configure '
                             f'one timestep (out_channels depend on it), not {self.timesteps}')
        check_finite(x, 'DiffusionUNet inputs')
        H, W = x.shape[-2:]
        d = self.extractor.divisor * self.vae_factor
        x = self.to_unet_range(x)
        ph, pw = (-H) % d, (-W) % d
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode='replicate')
        if self.latent_encoder is not None:
            x = self.latent_encoder(x)
        if self.frozen:
            # gradients only for a learnable condition (the U-Net's weights have none)
            learnable = self.condition is not None and any(
                p.requires_grad for p in self.condition.parameters())
            amp = torch.autocast(x.device.type, dtype=getattr(torch, self.autocast or 'float32'),
                                 enabled=self.autocast is not None)
            with torch.set_grad_enabled(learnable and torch.is_grad_enabled()), amp:
                x = x.to(next(self.unet.parameters()).dtype)
                if self.feature_cache is not None and timesteps is None:
                    feats = self.feature_cache(x, self.extractor)
                else:
                    feats = self.extractor(x, timesteps)
        else:
            feats = self.extractor(x, timesteps)
        outs = []
        for name in self.blocks:
            f = feats[name].float()  # (T, B, C, h, w)
            s = self.block_strides[name]
            f = f[..., :math.ceil(H / s), :math.ceil(W / s)]
            if self.combine == 'concat':
                parts = [torch.cat(list(f), dim=1)]
            elif self.combine == 'mean':
                parts = [f.mean(0)]
            else:
                parts = list(f)
            outs += [p.mean((2, 3)) if self.out_type == 'pooled' else p for p in parts]
        return tuple(outs)

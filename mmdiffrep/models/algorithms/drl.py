"""DRL (Mittal et al., ICML 2023): learn an encoder whose code conditions a denoising model.

Diffusion-based representation learning trains an encoder ``E(x0)`` and a conditional
noise model ``eps(x_t, t, E(x0))`` with denoising score matching (paper Eq. 7). The target
depends on x0, so the loss can only fall below the unconditional floor (paper Prop. 1) through
what the code tells the denoiser about x0: the encoder learns the information that x_t lacks.
The encoder sees the clean image only.

* Encoder: any backbone config of any toolbox; its last output is pooled to the code z
  (optionally projected to ``code_dim``). ``mmdiffrep.TimeConditionedEncoder`` gives the
  time-dependent code ``E(x0, t)`` of the paper's Eq. 8, read at the training sample's t.
* Noise model: a diffusers ``UNet2DModel``; z is projected into its timestep embedding (the
  ``class_embed_type='identity'`` path, so every ResBlock sees it) and optionally added at the
  bottleneck as a small learned map.
* Objective: the package's one :class:`~mmdiffrep.diffusion.objective.DenoisingObjective`
  (epsilon target, errors summed over pixels). Noise process VE (sigma 0.01 -> 50, the
  paper's) or VP/DDPM (diffusers' schedules); the U-Net reads ``x_t`` scaled to unit variance.
* Level of detail: t uniform, or sigma uniform (the paper's high-noise focus), in a restricted
  range, with the weighting ``'none'`` (lambda(t) = std^2: the eps-MSE, the default; DRL's
  ``'sigma2'``), ``'score'`` (lambda = 1) or a custom curve.
* Regulariser: L1 on z (DRL) or a Gaussian encoder with a KL term (VDRL).
* Baselines: ``score_weight=0`` with ``decoder=dict(type='mmdiffrep.CodeDecoder')`` and
  ``reconstruction_weight=1`` trains the same encoder as a plain (or, with ``'kl'``,
  variational) autoencoder.

Losses are summed over pixels and averaged over the batch (score_sde's ``reduce_mean=False``),
so ``reg_weight=1e-5`` is on the scale of the paper's code. Export the encoder for downstream
configs with ``tools/model_converters/export_backbone.py``. Example::

    model = dict(
        type='mmdiffrep.DRL',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3,
                               std=[127.5] * 3, to_rgb=True),  # images in [-1, 1]
        encoder=dict(type='mmpretrain.ResNet_CIFAR', depth=18),
        unet_cfg=dict(type='UNet2DModel', sample_size=32, block_out_channels=(64, 128, 128)),
        sde=dict(type='ve', sigma_min=0.01, sigma_max=50),
        t_sampling=dict(type='uniform_t', t_min=1e-5, t_max=1.0),
        regularizer='l1', reg_weight=1e-5)
"""
import contextlib
import copy
import functools
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmdiffrep.diffusion import build_unet, check_image_size
from mmdiffrep.diffusion.objective import DenoisingObjective
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import IMAGE_RANGE_HINT, check_finite
from mmdiffrep.utils.recorder import temporary_hooks
from ..utils import as_tuple, dry_run_outputs

REGULARIZERS = (None, 'l1', 'kl')
CONDITIONINGS = ('embedding', 'bottleneck')


def pool_code(feat: torch.Tensor) -> torch.Tensor:
    """Global average pooling of an NCHW map; a (B, C) vector is used as it is."""
    if feat.dim() == 4:
        return feat.mean((2, 3))
    if feat.dim() == 2:
        return feat
    raise ValueError(f'the encoder output has shape {tuple(feat.shape)}; DRL pools an NCHW '
                     'map or takes a (B, C) vector as the code (for ViTs use '
                     "out_type='cls_token' or 'featmap')")


def _check_normalisation(data_preprocessor: Optional[dict]) -> None:
    """The denoiser is trained on images in [-1, 1]: the preprocessor must normalise."""
    dp = dict(data_preprocessor or {})
    if dp.get('mean') is None or dp.get('std') is None:
        raise ValueError('DRL needs a data preprocessor that maps 0-255 pixels to [-1, 1], e.g. '
                         "dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3, "
                         f'std=[127.5] * 3); got {data_preprocessor!r}')
    lo = [(0 - m) / s for m, s in zip(dp['mean'], dp['std'])]
    hi = [(255 - m) / s for m, s in zip(dp['mean'], dp['std'])]
    if any(abs(v + 1) > 0.25 for v in lo) or any(abs(v - 1) > 0.25 for v in hi):
        from mmengine.logging import print_log
        print_log(f'DRL: the data preprocessor maps 0-255 to [{min(lo):.2f}, {max(hi):.2f}], '
                  'not [-1, 1]; the noise levels (sigma_min, sigma_max) assume [-1, 1]',
                  logger='current', level=30)


def _add_map(bias: torch.Tensor, module, args):
    sample = args[0]
    bias = F.interpolate(bias, size=sample.shape[-2:], mode='nearest')
    return (sample + bias.to(sample.dtype), ) + tuple(args[1:])


class CodeToBottleneck(nn.Module):
    """DRL's second conditioning path: an MLP maps the code z to a ``(C, s, s)`` map that is
    added to the input of the U-Net's mid block, for the duration of one U-Net call
    (:meth:`inject`)."""

    def __init__(self, code_dim: int, channels: int, size: int):
        super().__init__()
        self.shape = (channels, size, size)
        self.mlp = nn.Sequential(nn.Linear(code_dim, 4 * code_dim), nn.SiLU(),
                                 nn.Linear(4 * code_dim, channels * size ** 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z).view(-1, *self.shape)

    def inject(self, unet: nn.Module, z: torch.Tensor):
        """A context in which ``unet``'s mid block sees the map of ``z`` added to its input."""
        return temporary_hooks(pre_hooks=[(unet.mid_block, functools.partial(_add_map, self(z)))])


@MODELS.register_module()
class DRL(BaseModel):
    """Diffusion-based representation learning (DRL / VDRL and their autoencoder baselines).

    Args:
        encoder: a backbone config (any toolbox) or a ``mmdiffrep.TimeConditionedEncoder``.
        unet_cfg: ``dict(type='UNet2DModel', ...)``: the conditional noise model (its class
            embedding is set to the code path; leave ``class_embed_type`` out). May be None
            only when ``score_weight=0``.
        sde: ``'ve'`` | ``'vp'`` or a dict with the process's arguments.
        t_sampling: ``dict(type='uniform_t' | 'uniform_sigma', t_min=1e-5, t_max=1.0)``.
        loss_weighting: ``'none'`` (= ``'sigma2'``, the eps-MSE) | ``'score'`` (lambda = 1) |
            ``dict(t=[...], weight=[...])`` (see :mod:`mmdiffrep.diffusion.objective`).
        code_dim: project the pooled encoder output to this size (None: use it as it is; a
            Gaussian encoder then predicts mean and log-variance of the same size).
        regularizer: None, ``'l1'`` (DRL) or ``'kl'`` (VDRL: Gaussian encoder).
        reg_weight: weight of the regulariser (1e-5 in the paper's code).
        conditioning: where z enters the U-Net: ``('embedding', )``, ``('embedding',
            'bottleneck')``, ``('bottleneck', )`` or ``()`` (unconditional: the control).
        bottleneck_size: side of the learned map added at the U-Net's bottleneck.
        score_weight: weight of the denoising loss (0: autoencoder baseline).
        decoder: a ``mmdiffrep.CodeDecoder`` config for a reconstruction loss.
        reconstruction_weight: weight of the reconstruction loss.
        code_index: which encoder output is pooled into the code.
        probe_size: side of the dummy image used once to read the encoder's width.
    """

    def __init__(self,
                 encoder: dict,
                 unet_cfg: Optional[dict] = None,
                 sde: Union[str, dict] = 've',
                 t_sampling: dict = dict(type='uniform_t', t_min=1e-5, t_max=1.0),
                 loss_weighting: Union[str, dict] = 'none',
                 code_dim: Optional[int] = None,
                 regularizer: Optional[str] = 'l1',
                 reg_weight: float = 1e-5,
                 conditioning: Sequence[str] = ('embedding', ),
                 bottleneck_size: int = 4,
                 score_weight: float = 1.0,
                 decoder: Optional[dict] = None,
                 reconstruction_weight: float = 0.0,
                 code_index: int = -1,
                 probe_size: int = 32,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        _check_normalisation(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if regularizer not in REGULARIZERS:
            raise ValueError(f'unknown regularizer {regularizer!r}; expected one of '
                             f'{REGULARIZERS}')
        unknown = [c for c in conditioning if c not in CONDITIONINGS]
        if unknown:
            raise ValueError(f'unknown conditioning {unknown}; expected a subset of '
                             f'{CONDITIONINGS}')
        if score_weight <= 0 and (decoder is None or reconstruction_weight <= 0):
            raise ValueError('nothing to train: score_weight=0 needs a decoder and '
                             'reconstruction_weight > 0 (the autoencoder baseline)')
        self.objective = DenoisingObjective(sde, time_sampling=t_sampling,
                                            prediction='epsilon', weighting=loss_weighting,
                                            reduction='sum',
                                            arg_names=dict(weighting='loss_weighting',
                                                           time_sampling='t_sampling'))
        self.sde = self.objective.process
        self.regularizer, self.reg_weight = regularizer, float(reg_weight)
        self.score_weight = float(score_weight)
        self.reconstruction_weight = float(reconstruction_weight)
        self.code_index = code_index

        self.encoder = MODELS.build(encoder)
        # capability, not type: any encoder with forward(x, t) and takes_time = True
        self.time_conditioned = bool(getattr(self.encoder, 'takes_time', False))
        width = self._encoder_width(probe_size)
        self.code_dim = int(code_dim or width)
        gaussian = regularizer == 'kl'
        if gaussian:  # VDRL: mean and log-variance heads
            self.code_head = nn.Linear(width, 2 * self.code_dim)
        elif code_dim is not None:
            self.code_head = nn.Linear(width, self.code_dim)
        else:
            self.code_head = nn.Identity()
        self.gaussian = gaussian

        self.conditioning = tuple(conditioning)
        if self.score_weight > 0:
            self.unet = self._build_unet(unet_cfg)
            if 'embedding' in self.conditioning:
                emb_dim = self.unet.time_embedding.linear_2.out_features
                self.code_to_embedding = nn.Linear(self.code_dim, emb_dim)
            if 'bottleneck' in self.conditioning:
                if self.unet.mid_block is None:
                    raise ValueError('bottleneck conditioning needs a U-Net with a mid block')
                self.code_to_bottleneck = CodeToBottleneck(
                    self.code_dim, self.unet.config.block_out_channels[-1], bottleneck_size)
        elif unet_cfg is not None:
            raise ValueError('score_weight=0 trains no noise model: remove unet_cfg')
        self.decoder = None
        if decoder is not None:
            decoder = dict(decoder)
            decoder.setdefault('code_dim', self.code_dim)
            self.decoder = MODELS.build(decoder)

    #: where the encoder's weights live in a checkpoint (read by export_backbone.py)
    BACKBONE_PREFIXES = ('encoder.', )
    backbone_prefix = 'encoder.'

    @classmethod
    def backbone_prefix_for(cls, model_cfg: dict) -> str:
        return cls.backbone_prefix

    # -- construction ----------------------------------------------------------------------------
    def _encoder_width(self, size: int) -> int:
        outs = dry_run_outputs(self.encoder, size)
        if not -len(outs) <= self.code_index < len(outs):
            raise ValueError(f'code_index={self.code_index} but the encoder gives {len(outs)} '
                             'outputs (set its out_indices)')
        return pool_code(outs[self.code_index]).shape[1]

    def _build_unet(self, unet_cfg: Optional[dict]) -> nn.Module:
        if unet_cfg is None:
            raise ValueError('DRL needs unet_cfg (the conditional noise model) unless '
                             'score_weight=0')
        cfg = copy.deepcopy(dict(unet_cfg))
        if cfg.get('type', 'UNet2DModel') != 'UNet2DModel':
            raise ValueError(f"DRL's noise model is a diffusers UNet2DModel, got {cfg['type']}")
        for key in ('class_embed_type', 'num_class_embeds'):
            if cfg.get(key) is not None:
                raise ValueError(f'unet_cfg.{key} is set by DRL (the code enters through the '
                                 'class-embedding path): remove it')
        if 'embedding' in self.conditioning:
            cfg['class_embed_type'] = 'identity'
        return build_unet(cfg)

    # -- the code ----------------------------------------------------------------------------------
    def encode(self, x0: torch.Tensor, t: Optional[torch.Tensor] = None,
               sample: bool = False) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """(z, stats): the code of clean images ``x0`` (at times ``t`` for a time-conditioned
        encoder). ``sample``: draw z from a Gaussian encoder (else its mean)."""
        if self.time_conditioned:
            outs = self.encoder(x0, t)
        else:
            outs = as_tuple(self.encoder(x0))
        h = self.code_head(pool_code(outs[self.code_index]))
        stats = {}
        if self.gaussian:
            mu, logvar = h.chunk(2, dim=1)
            logvar = logvar.clamp(-30, 20)
            stats.update(mu=mu, logvar=logvar)
            h = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return h, stats

    @torch.no_grad()
    def extract_codes(self, inputs: torch.Tensor,
                      t: Optional[Union[float, torch.Tensor]] = None) -> torch.Tensor:
        """Codes of preprocessed images (the Gaussian encoder's mean), at time ``t`` for a
        time-conditioned encoder (default: its own ``t``)."""
        if t is not None and not self.time_conditioned:
            raise ValueError('this DRL encoder is not time-conditioned: extract codes without t')
        if t is not None:
            t = torch.as_tensor(t, dtype=torch.float32, device=inputs.device)
            t = t.expand(inputs.shape[0]) if t.dim() == 0 else t
        return self.encode(inputs, t)[0]

    def regularization(self, z: torch.Tensor, stats: Dict[str, torch.Tensor]) -> torch.Tensor:
        if self.regularizer == 'l1':
            return z.abs().sum(1).mean()
        mu, logvar = stats['mu'], stats['logvar']
        return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()

    # -- training ----------------------------------------------------------------------------------
    def noise_prediction(self, x_in: torch.Tensor, model_time: torch.Tensor,
                         z: Optional[torch.Tensor]) -> torch.Tensor:
        """eps(x_t, t, z): the U-Net on its input (``x_t`` scaled by the process) and time."""
        kwargs = {}
        if 'embedding' in self.conditioning:
            kwargs['class_labels'] = self.code_to_embedding(z)
        inject = self.code_to_bottleneck.inject(self.unet, z) \
            if 'bottleneck' in self.conditioning else contextlib.nullcontext()
        with inject:
            return self.unet(x_in, model_time, **kwargs).sample

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        if hasattr(self, 'unet'):
            check_image_size(self.unet, inputs)
        check_finite(inputs, 'DRL inputs', bound=10, hint=IMAGE_RANGE_HINT)
        t = self.objective.sample_time(inputs.shape[0], inputs.device)
        z, stats = self.encode(inputs, t, sample=True)
        losses = {}
        if self.score_weight > 0:
            losses['loss_score'] = self.score_weight * self.objective.loss(
                inputs, t, functools.partial(self.noise_prediction, z=z))
        if self.decoder is not None and self.reconstruction_weight > 0:
            rec = self.decoder(z)
            losses['loss_rec'] = self.reconstruction_weight * (
                rec.float() - inputs.float()).pow(2).sum((1, 2, 3)).mean()
        if self.regularizer is not None and self.reg_weight > 0:
            losses[f'loss_{self.regularizer}'] = self.reg_weight * self.regularization(z, stats)
        losses['code_abs'] = z.detach().abs().mean()  # logged, not optimised (no 'loss' key)
        losses['t_mean'] = t.mean()
        return losses

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_codes(inputs)
        raise ValueError(f'DRL has no {mode!r} mode (it learns a code); evaluate the code with '
                         'tools/analysis/probe_codes.py or fine-tune the exported encoder '
                         'downstream (use val_cfg=None while training)')

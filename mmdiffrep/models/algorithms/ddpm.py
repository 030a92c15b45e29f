"""DDPM: train a diffusers U-Net as a denoising diffusion model with mmengine.

The noising, schedules and samplers are diffusers' (``DDPMScheduler.add_noise``,
``get_velocity``, ``DDIMScheduler``), so a trained model exports to a diffusers folder as it is
and :class:`~mmdiffrep.models.backbones.DiffusionUNet` reads it back.

Example config::

    model = dict(type='mmdiffrep.DDPM', unet_cfg=dict(type='UNet2DModel', sample_size=32, ...),
                 prediction_type='epsilon', beta_schedule='linear',
                 data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                        mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmdiffrep.diffusion import build_unet, check_image_size
from mmdiffrep.diffusion.noise_processes import ddpm_scheduler
from mmdiffrep.diffusion.sampling import sample_images
from mmdiffrep.registry import MODELS
from ..utils import gather_labels

PREDICTION_TYPES = ('epsilon', 'v_prediction', 'sample')
LOSS_WEIGHTINGS = ('uniform', 'min_snr')


@MODELS.register_module()
class DDPM(BaseModel):
    """A denoising diffusion model around a diffusers ``UNet2DModel``.

    Args:
        unet_cfg: ``dict(type='UNet2DModel', **kwargs)``; class-conditional when
            ``num_class_embeds`` is set (labels from ``data_samples[i].gt_label``).
        num_train_timesteps: length of the forward process.
        beta_schedule: ``'linear'`` | ``'cosine'`` (= diffusers ``squaredcos_cap_v2``) |
            ``'scaled_linear'``.
        prediction_type: ``'epsilon'`` | ``'v_prediction'`` | ``'sample'``.
        loss_weighting: ``'uniform'`` or ``'min_snr'`` (Min-SNR-gamma, Hang et al. 2023).
        min_snr_gamma: gamma of ``'min_snr'``.
        data_preprocessor: must map images to [-1, 1] (e.g. mean = std = 127.5).
    """

    def __init__(self,
                 unet_cfg: dict,
                 num_train_timesteps: int = 1000,
                 beta_schedule: str = 'linear',
                 prediction_type: str = 'epsilon',
                 loss_weighting: str = 'uniform',
                 min_snr_gamma: float = 5.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'unknown prediction_type {prediction_type!r}; expected one of '
                             f'{PREDICTION_TYPES}')
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f'unknown loss_weighting {loss_weighting!r}; expected one of '
                             f'{LOSS_WEIGHTINGS}')
        self.scheduler = ddpm_scheduler(num_train_timesteps, beta_schedule, prediction_type)
        self.unet = build_unet(unet_cfg)
        self.prediction_type = prediction_type
        self.loss_weighting, self.min_snr_gamma = loss_weighting, min_snr_gamma
        self.class_conditional = self.unet.config.num_class_embeds is not None
        alphas = self.scheduler.alphas_cumprod
        self.register_buffer('snr', alphas / (1 - alphas), persistent=False)

    def _labels(self, data_samples, device) -> Optional[torch.Tensor]:
        if not self.class_conditional:
            return None
        return gather_labels(data_samples, device,
                             'a class-conditional DDPM (num_class_embeds set)')

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        check_image_size(self.unet, inputs)
        b = inputs.shape[0]
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b, ),
                          device=inputs.device)
        noise = torch.randn_like(inputs)
        x_t = self.scheduler.add_noise(inputs, noise, t)
        pred = self.unet(x_t, t, class_labels=self._labels(data_samples, inputs.device)).sample
        if self.prediction_type == 'epsilon':
            target = noise
        elif self.prediction_type == 'v_prediction':
            target = self.scheduler.get_velocity(inputs, noise, t)
        else:
            target = inputs
        per_sample = F.mse_loss(pred.float(), target.float(), reduction='none').mean((1, 2, 3))
        if self.loss_weighting == 'min_snr':  # min(SNR, gamma) in the x0-loss scale
            snr = self.snr.to(inputs.device)[t]
            scale = {'epsilon': snr, 'v_prediction': snr + 1,
                     'sample': torch.ones_like(snr)}[self.prediction_type]
            per_sample = per_sample * torch.clamp(snr, max=self.min_snr_gamma) / scale
        return dict(loss_diffusion=per_sample.mean())

    @torch.no_grad()
    def sample(self, num: int, steps: int = 50, labels: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None, sampler: str = 'ddim') -> torch.Tensor:
        """``num`` images in [-1, 1] from noise with diffusers' DDIM (or DDPM) sampler."""
        if self.class_conditional and labels is None:
            labels = torch.arange(num) % self.unet.config.num_class_embeds
        return sample_images(self.unet, self.scheduler.config, num, steps, labels, generator,
                             sampler)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            t = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
            return self.unet(inputs, t, class_labels=self._labels(data_samples,
                                                                  inputs.device)).sample
        if mode == 'predict':
            raise NotImplementedError('DDPM has no predictions to evaluate; sample with '
                                      'DDPMSampleHook / tools, or use val_cfg=None')
        raise ValueError(f'invalid mode {mode!r}')

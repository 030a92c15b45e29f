"""DDPM: train a diffusers U-Net as a denoising diffusion model with mmengine.

DDPM = the package's one :class:`~mmdiffrep.diffusion.objective.DenoisingObjective` (VP process,
discrete time sampling) + a U-Net. The noising, schedules and samplers are diffusers'
(``DDPMScheduler.add_noise``, ``get_velocity``, ``DDIMScheduler``), so a trained model exports
to a diffusers folder as it is and :class:`~mmdiffrep.models.backbones.DiffusionUNet` reads it
back.

Example config::

    model = dict(type='mmdiffrep.DDPM', unet_cfg=dict(type='UNet2DModel', sample_size=32, ...),
                 prediction_type='epsilon', beta_schedule='linear', loss_weighting='none',
                 data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                        mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
"""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModel

from mmdiffrep.diffusion import build_unet, check_image_size, resolve_block
from mmdiffrep.diffusion.objective import DenoisingObjective
from mmdiffrep.diffusion.sampling import sample_images
from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import IMAGE_RANGE_HINT, check_finite
from mmdiffrep.utils.recorder import OutputRecorder
from ..utils import gather_labels


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
        loss_weighting: ``'none'`` (plain MSE of the target) or ``'min_snr'`` (Min-SNR-gamma,
            Hang et al. 2023); any weighting of the objective.
        min_snr_gamma: gamma of ``'min_snr'``.
        label_dropout: for classifier-free guidance: the probability of replacing a training
            label by the null class, the LAST class embedding (so ``num_class_embeds`` = number
            of classes + 1); sample with ``guidance_scale``.
        representation: a :class:`~mmdiffrep.models.algorithms.rcg.RepresentationConditioner`
            config: condition on a frozen encoder's representation of x0 (RCG); the U-Net's
            class embedding becomes the representation path (leave ``num_class_embeds`` out).
        alignment: a :class:`~mmdiffrep.models.algorithms.alignment.RepresentationAlignment`
            config (REPA: align a block's features on x_t to a frozen encoder's of x0; or the
            dispersive loss); adds ``loss_align``.
        data_preprocessor: must map images to [-1, 1] (e.g. mean = std = 127.5).
    """

    def __init__(self,
                 unet_cfg: dict,
                 num_train_timesteps: int = 1000,
                 beta_schedule: str = 'linear',
                 prediction_type: str = 'epsilon',
                 loss_weighting: str = 'none',
                 min_snr_gamma: float = 5.0,
                 label_dropout: float = 0.0,
                 representation: Optional[dict] = None,
                 alignment: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.objective = DenoisingObjective(
            dict(type='vp', num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule),
            time_sampling='discrete', prediction=prediction_type, weighting=loss_weighting,
            min_snr_gamma=min_snr_gamma, reduction='mean',
            arg_names=dict(prediction='prediction_type', weighting='loss_weighting'))
        self.scheduler = self.objective.process.scheduler  # sampling and export read it
        self.representation = None
        if representation is not None:
            unet_cfg = dict(unet_cfg)
            for key in ('num_class_embeds', 'class_embed_type'):
                if unet_cfg.get(key) is not None:
                    raise ValueError(f'unet_cfg.{key} is set by the representation condition '
                                     '(it uses the identity class-embedding path): remove it')
            unet_cfg['class_embed_type'] = 'identity'
        self.unet = build_unet(unet_cfg)
        if representation is not None:
            self.representation = MODELS.build(representation)
            self.representation.attach(self.unet.time_embedding.linear_2.out_features)
        self.prediction_type = prediction_type
        self.class_conditional = self.unet.config.num_class_embeds is not None
        if not 0 <= label_dropout < 1:
            raise ValueError(f'label_dropout must be in [0, 1), got {label_dropout}')
        if label_dropout and not self.class_conditional:
            raise ValueError('label_dropout (classifier-free guidance) needs a class-conditional '
                             'U-Net: set unet_cfg.num_class_embeds = classes + 1 (the null class)')
        self.label_dropout = float(label_dropout)
        #: the null class of classifier-free guidance (None: trained without label dropout)
        self.null_label = self.unet.config.num_class_embeds - 1 if label_dropout else None
        self.alignment = None
        if alignment is not None:
            self.alignment = MODELS.build(alignment)
            self.alignment.attach(self.unet)

    def _labels(self, data_samples, device, inputs=None) -> Optional[torch.Tensor]:
        if self.representation is not None:  # the representation's embedding
            return self.representation.training_embedding(inputs)
        if not self.class_conditional:
            return None
        num_classes = self.unet.config.num_class_embeds - (self.null_label is not None)
        labels = gather_labels(data_samples, device,
                               'a class-conditional DDPM (num_class_embeds set)', num_classes)
        if self.label_dropout and self.training:
            drop = torch.rand(labels.shape, device=device) < self.label_dropout
            labels = torch.where(drop, torch.full_like(labels, self.null_label), labels)
        return labels

    @staticmethod
    def _check_range(inputs: torch.Tensor) -> None:
        """The schedules assume images in [-1, 1]: a batch far outside (e.g. 0-255 pixels from
        a preprocessor without mean / std) or with NaN / inf values is an error, not a silently
        wrong model (bound 10: noise-augmented batches may leave [-1, 1] a bit)."""
        check_finite(inputs, 'DDPM inputs', bound=10, hint=IMAGE_RANGE_HINT)

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        check_image_size(self.unet, inputs)
        self._check_range(inputs)
        labels = self._labels(data_samples, inputs.device, inputs)
        t = self.objective.sample_time(inputs.shape[0], inputs.device)
        align = self.alignment is not None and self.alignment.active()
        recorder = OutputRecorder(
            {'block': resolve_block(self.unet, self.alignment.block)[1]} if align else {})
        with recorder:  # the aligned block's output on x_t, from the same U-Net call
            loss = self.objective.loss(
                inputs, t, lambda x, steps: self.unet(x, steps, class_labels=labels).sample)
        losses = dict(loss_diffusion=loss)
        if align:
            losses['loss_align'] = self.alignment.loss(recorder.outputs['block'], inputs)
        return losses

    @torch.no_grad()
    def sample(self, num: int, steps: int = 50, labels: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None, sampler: str = 'ddim',
               guidance_scale: Optional[float] = None,
               representations: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``num`` images in [-1, 1] from noise with diffusers' DDIM (or DDPM) sampler;
        ``guidance_scale`` w: classifier-free guidance, ``pred_null + w (pred_label -
        pred_null)`` (needs ``label_dropout`` in training; w = 1 is the plain conditional).
        ``representations`` (num, D): for a representation-conditioned DDPM (RCG); without
        them it samples from the null vector (unconditional)."""
        if self.representation is not None:
            if labels is not None:
                raise ValueError('a representation-conditioned DDPM takes representations=, '
                                 'not labels')
            embeds = self.representation.embed(representations, num)
            null = self.representation.embed(None, num)
            return sample_images(self.unet, self.scheduler.config, num, steps, embeds,
                                 generator, sampler, guidance_scale=guidance_scale,
                                 null_label=null)
        if representations is not None:
            raise ValueError('representations= needs DDPM(representation=...)')
        if self.class_conditional and labels is None:
            classes = self.unet.config.num_class_embeds - (self.null_label is not None)
            labels = torch.arange(num) % classes
        if guidance_scale is not None and self.null_label is None:
            raise ValueError('guidance_scale needs a DDPM trained with label_dropout > 0 (its '
                             'null class)')
        return sample_images(self.unet, self.scheduler.config, num, steps, labels, generator,
                             sampler, guidance_scale=guidance_scale, null_label=self.null_label)

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

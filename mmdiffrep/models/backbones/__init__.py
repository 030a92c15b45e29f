"""Backbones: feature extractors with a uniform ``tuple of NCHW maps`` output."""
from .diffusion_unet import DiffusionUNet
from .time_conditioned import TimeConditionedEncoder

__all__ = ['DiffusionUNet', 'TimeConditionedEncoder']

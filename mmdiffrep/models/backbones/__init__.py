"""Backbones: feature extractors with a uniform ``tuple of NCHW maps`` output."""
from .diffusion_unet import DiffusionUNet

__all__ = ['DiffusionUNet']

"""The shared diffusion core: load a U-Net, name and tap its blocks, stop early, noise inputs.

Everything in mmdiffrep that reads U-Net features (backbone, distillation teacher, analysis
tools) goes through :class:`UNetFeatureExtractor`.
"""
from .blocks import BlockRecorder, block_names, resolve_block
from .feature_extractor import (NOISE_MODES, UNetFeatureExtractor, check_image_size,
                                size_divisor)
from .loading import build_unet, load_scheduler, load_unet, load_vae, weights_fingerprint

__all__ = ['BlockRecorder', 'block_names', 'resolve_block', 'UNetFeatureExtractor',
           'NOISE_MODES', 'check_image_size', 'size_divisor', 'build_unet', 'load_scheduler',
           'load_unet', 'load_vae', 'weights_fingerprint']

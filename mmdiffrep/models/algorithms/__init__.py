"""Algorithms (mmengine ``BaseModel``s with a ``loss()``): DDPM training (with optional
representation alignment and guidance), RepFusion, DRL, the zero-shot Diffusion Classifier."""
from .alignment import RepresentationAlignment
from .ddpm import DDPM
from .diffusion_classifier import DiffusionClassifier
from .drl import DRL
from .rcg import RepresentationConditioner, RepresentationDiffusion, sample_two_stage
from .repfusion import RepFusion

__all__ = ['DDPM', 'DiffusionClassifier', 'DRL', 'RepFusion', 'RepresentationAlignment',
           'RepresentationConditioner', 'RepresentationDiffusion', 'sample_two_stage']

"""Algorithms (mmengine ``BaseModel``s with a ``loss()``): DDPM training (with optional
representation alignment), RepFusion, DRL."""
from .alignment import RepresentationAlignment
from .ddpm import DDPM
from .drl import DRL
from .repfusion import RepFusion

__all__ = ['DDPM', 'DRL', 'RepFusion', 'RepresentationAlignment']

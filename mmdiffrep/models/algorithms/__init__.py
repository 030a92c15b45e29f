"""Algorithms (mmengine ``BaseModel``s with a ``loss()``): DDPM training, RepFusion."""
from .ddpm import DDPM
from .repfusion import RepFusion

__all__ = ['DDPM', 'RepFusion']

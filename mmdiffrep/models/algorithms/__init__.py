"""Algorithms (mmengine ``BaseModel``s with a ``loss()``): DDPM training, RepFusion, DRL."""
from .ddpm import DDPM
from .drl import DRL
from .repfusion import RepFusion

__all__ = ['DDPM', 'DRL', 'RepFusion']

"""Algorithms (mmengine ``BaseModel``s with a ``loss()``): DDPM training."""
from .ddpm import DDPM

__all__ = ['DDPM']

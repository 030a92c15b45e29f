"""Necks that turn DiffusionUNet's block features into what heads expect."""
from .hyperfeature_neck import HyperfeatureNeck
from .upsample_concat_neck import UpsampleConcatNeck

__all__ = ['HyperfeatureNeck', 'UpsampleConcatNeck']

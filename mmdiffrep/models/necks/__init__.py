"""Necks that turn DiffusionUNet's block features into what heads expect."""
from .hyperfeature_neck import HyperfeatureNeck
from .standardized_pooling import StandardizedPooling
from .upsample_concat_neck import UpsampleConcatNeck

__all__ = ['HyperfeatureNeck', 'StandardizedPooling', 'UpsampleConcatNeck']

"""Distillation losses (usable on their own: ``loss(student_feat, teacher_feat)``)."""
from .distill_losses import ATLoss, CosineFeatureLoss, DenseFeatureLoss, HintLoss, RKDLoss

__all__ = ['HintLoss', 'DenseFeatureLoss', 'ATLoss', 'RKDLoss', 'CosineFeatureLoss']

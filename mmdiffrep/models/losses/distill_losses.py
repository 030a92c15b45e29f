"""Feature-distillation losses between a student feature and a teacher feature.

Each loss takes ``(student, teacher)`` NCHW maps (the student already mapped by its connector)
and returns a scalar multiplied by ``loss_weight``. ``needs_same_channels`` says whether the
two must have the same number of channels (a connector is then required when they differ).
The teacher feature is treated as a constant (detached).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.checks import check_number


def _resize_to(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize the student map to the teacher's spatial size (if they differ)."""
    if student.shape[-2:] != teacher.shape[-2:]:
        student = F.interpolate(student, size=teacher.shape[-2:], mode='bilinear',
                                align_corners=False)
    return student


def _pool(x: torch.Tensor) -> torch.Tensor:
    return x.mean((2, 3)) if x.dim() == 4 else x


class _FeatureLoss(nn.Module):
    needs_same_channels = True

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        # a negative weight would push the student AWAY from the teacher
        check_number(type(self).__name__, 'loss_weight', loss_weight, low=0)
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape[0] != teacher.shape[0]:
            raise ValueError(f'{type(self).__name__}: batch sizes differ, student '
                             f'{tuple(student.shape)} vs teacher {tuple(teacher.shape)}')
        if self.needs_same_channels and student.shape[1] != teacher.shape[1]:
            raise ValueError(f'{type(self).__name__}: student has {student.shape[1]} channels, '
                             f'teacher {teacher.shape[1]}; map the student with a connector')
        return self.loss_weight * self.compute(student.float(), teacher.detach().float())

    def compute(self, student, teacher):
        raise NotImplementedError


@MODELS.register_module()
class HintLoss(_FeatureLoss):
    """MSE between globally average-pooled features (RepFusion's classification "hint")."""

    def compute(self, student, teacher):
        return F.mse_loss(_pool(student), _pool(teacher))


@MODELS.register_module()
class DenseFeatureLoss(_FeatureLoss):
    """Per-location L2 (``'l2'``, mean squared error) or L1 (``'l1'``) after resizing the
    student map to the teacher's size (RepFusion's dense variant)."""

    def __init__(self, mode: str = 'l2', loss_weight: float = 1.0):
        super().__init__(loss_weight)
        if mode not in ('l1', 'l2'):
            raise ValueError(f"DenseFeatureLoss mode must be 'l1' or 'l2', got {mode!r}")
        self.mode = mode

    def compute(self, student, teacher):
        student = _resize_to(student, teacher)
        fn = F.mse_loss if self.mode == 'l2' else F.l1_loss
        return fn(student, teacher)


@MODELS.register_module()
class ATLoss(_FeatureLoss):
    """Attention transfer (Zagoruyko & Komodakis): match the L2-normalised spatial maps
    ``mean_c |f|^p``; channel counts may differ. Weight 1000 in RepFusion's configs."""
    needs_same_channels = False

    def __init__(self, p: int = 2, loss_weight: float = 1.0):
        super().__init__(loss_weight)
        check_number('ATLoss', 'p', p, low=1, integer=True)
        self.p = p

    def attention(self, x):
        return F.normalize(x.abs().pow(self.p).mean(1).flatten(1), dim=1)

    def compute(self, student, teacher):
        student = _resize_to(student, teacher)
        return (self.attention(student) - self.attention(teacher)).pow(2).mean()


@MODELS.register_module()
class RKDLoss(_FeatureLoss):
    """Relational KD (Park et al.): match pairwise distances (normalised by their mean) and
    triplet angles of the pooled features across the batch; channel counts may differ."""
    needs_same_channels = False

    def __init__(self, w_dist: float = 25.0, w_angle: float = 50.0, loss_weight: float = 1.0):
        super().__init__(loss_weight)
        check_number('RKDLoss', 'w_dist', w_dist, low=0)
        check_number('RKDLoss', 'w_angle', w_angle, low=0)
        self.w_dist, self.w_angle = w_dist, w_angle

    @staticmethod
    def distances(e):
        d = torch.cdist(e, e)
        mean = d[d > 0].mean() if (d > 0).any() else d.new_tensor(1.0)
        return d / mean

    @staticmethod
    def angles(e):
        diff = F.normalize(e[None] - e[:, None], p=2, dim=2)  # diff[i, j] = e_j - e_i
        return torch.bmm(diff, diff.transpose(1, 2)).flatten()

    def compute(self, student, teacher):
        s, t = _pool(student).flatten(1), _pool(teacher).flatten(1)
        loss = self.w_dist * F.smooth_l1_loss(self.distances(s), self.distances(t))
        return loss + self.w_angle * F.smooth_l1_loss(self.angles(s), self.angles(t))


@MODELS.register_module()
class CosineFeatureLoss(_FeatureLoss):
    """``1 - cos(student, teacher)``: on pooled vectors (``dense=False``) or per location
    after resizing (``dense=True``). Minimising it makes the features agree (the public
    RepFusion code had the sign the other way round)."""

    def __init__(self, dense: bool = False, loss_weight: float = 1.0):
        super().__init__(loss_weight)
        self.dense = dense

    def compute(self, student, teacher):
        if self.dense:
            return (1 - F.cosine_similarity(_resize_to(student, teacher), teacher, dim=1)).mean()
        return (1 - F.cosine_similarity(_pool(student), _pool(teacher), dim=1)).mean()

"""Read class labels from OpenMMLab data samples."""
from typing import Optional, Sequence

import torch


def gather_labels(data_samples: Optional[Sequence], device, needed_by: str) -> torch.Tensor:
    """``(B,)`` labels from ``data_samples[i].gt_label``; a clear error when there are none."""
    if not data_samples or any('gt_label' not in s for s in data_samples):
        raise ValueError(f'{needed_by} needs class labels (data_samples with gt_label, as '
                         'mmpretrain datasets give); this data has none')
    return torch.cat([torch.as_tensor(s.gt_label).view(-1)[:1] for s in data_samples]).to(
        device=device, dtype=torch.long)

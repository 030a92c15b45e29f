"""Read class labels from OpenMMLab data samples."""
from typing import Optional, Sequence

import torch


def gather_labels(data_samples: Optional[Sequence], device, needed_by: str,
                  num_classes: Optional[int] = None) -> torch.Tensor:
    """``(B,)`` labels from ``data_samples[i].gt_label``; a clear error when there are none or,
    with ``num_classes``, when one lies outside ``[0, num_classes)``."""
    if not data_samples or any('gt_label' not in s for s in data_samples):
        raise ValueError(f'{needed_by} needs class labels (data_samples with gt_label, as '
                         'mmpretrain datasets give); this data has none')
    labels = torch.cat([torch.as_tensor(s.gt_label).view(-1)[:1] for s in data_samples])
    if num_classes is not None and labels.numel() and \
            (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = sorted({int(v) for v in labels if not 0 <= int(v) < num_classes})
        raise ValueError(f'{needed_by}: labels {bad} are outside [0, {num_classes}) (the '
                         'number of classes it was built for)')
    return labels.to(device=device, dtype=torch.long)

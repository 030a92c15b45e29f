"""Read class labels from OpenMMLab data samples."""
from typing import Optional, Sequence

import torch

#: the label of an image whose label a few-label regime does not use
UNLABELLED = -1


def gather_labels(data_samples: Optional[Sequence], device, needed_by: str,
                  num_classes: Optional[int] = None,
                  allow_unlabelled: bool = False) -> torch.Tensor:
    """``(B,)`` labels from ``data_samples[i].gt_label``; a clear error when there are none or,
    with ``num_classes``, when one lies outside ``[0, num_classes)``. With
    ``allow_unlabelled``, :data:`UNLABELLED` (-1) marks an image without a label (a
    few-label list that names every image, e.g. ``cls_train_10pct_partial.txt``)."""
    if not data_samples or any('gt_label' not in s for s in data_samples):
        raise ValueError(f'{needed_by} needs class labels (data_samples with gt_label, as '
                         'mmpretrain datasets give); this data has none')
    labels = torch.cat([torch.as_tensor(s.gt_label).view(-1)[:1] for s in data_samples])
    low = UNLABELLED if allow_unlabelled else 0
    if num_classes is not None and labels.numel() and \
            (int(labels.min()) < low or int(labels.max()) >= num_classes):
        bad = sorted({int(v) for v in labels if not low <= int(v) < num_classes})
        extra = f' or {UNLABELLED} (unlabelled)' if allow_unlabelled else ''
        raise ValueError(f'{needed_by}: labels {bad} are outside [0, {num_classes}) (the '
                         f'number of classes it was built for){extra}')
    return labels.to(device=device, dtype=torch.long)

"""Backbone output helpers."""
from typing import Tuple

import torch
import torch.nn as nn


def as_tuple(out) -> Tuple[torch.Tensor, ...]:
    """A backbone's output as a tuple (toolboxes return a tuple, a list or one tensor)."""
    return tuple(out) if isinstance(out, (list, tuple)) else (out, )


def dry_run_outputs(backbone: nn.Module, size: int,
                    in_channels: int = 3) -> Tuple[torch.Tensor, ...]:
    """The outputs of one no-grad forward of a zero image (1, in_channels, size, size), in
    eval mode (so BatchNorm statistics are untouched), the training mode restored after.
    Used at build time to read output widths, and by forward hooks to read inner ones."""
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            return as_tuple(backbone(torch.zeros(1, in_channels, size, size)))
    finally:
        backbone.train(was_training)

"""Backbone output helpers."""
from typing import Tuple

import torch


def as_tuple(out) -> Tuple[torch.Tensor, ...]:
    """A backbone's output as a tuple (toolboxes return a tuple, a list or one tensor)."""
    return tuple(out) if isinstance(out, (list, tuple)) else (out, )

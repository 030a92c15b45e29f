"""Input checks that turn a silently wrong result into a clear error.

One ``aminmax`` per call, i.e. one device -> host read on a GPU (the same cost as mmengine's
per-iteration loss logging), so the checks stay on in every run.
"""
import math
import numbers
from typing import Optional

import torch


def check_finite(x: torch.Tensor, what: str, bound: Optional[float] = None,
                 hint: str = '') -> None:
    """Raise ``ValueError`` if ``x`` holds NaN / inf values, or (with ``bound``) values whose
    magnitude exceeds ``bound``. ``what`` names the tensor in the message, ``hint`` says how to
    fix an out-of-range batch.

    Example:
        >>> check_finite(torch.tensor([0.5, float('nan')]), 'DDPM inputs')
        Traceback (most recent call last):
        ...
        ValueError: DDPM inputs contain NaN or inf (1 of 2 values); ...
    """
    if x.numel() == 0:
        raise ValueError(f'{what} is empty (shape {tuple(x.shape)})')
    lo, hi = (float(v) for v in torch.aminmax(x.detach().float()))  # NaN / inf propagate
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int((~torch.isfinite(x.detach())).sum())
        raise ValueError(f'{what} contain NaN or inf ({bad} of {x.numel()} values); check the '
                         'data (corrupt images, a division by a zero std in the preprocessor) '
                         'or the model that produced them')
    if bound is not None and (lo < -bound or hi > bound):
        raise ValueError(f'{what} span [{lo:.3g}, {hi:.3g}], outside [-{bound:g}, {bound:g}]'
                         + (f'; {hint}' if hint else ''))


#: how to fix a batch of 0-255 pixels given to a model that expects [-1, 1]
IMAGE_RANGE_HINT = ('the data preprocessor must map images to [-1, 1] (e.g. mean=[127.5] * 3, '
                    'std=[127.5] * 3)')


def check_number(owner: str, name: str, value, low: Optional[float] = None,
                 high: Optional[float] = None, low_open: bool = False, high_open: bool = False,
                 integer: bool = False) -> None:
    """Raise ``ValueError`` naming ``owner``, the argument and the allowed interval unless
    ``value`` is a number (an integer with ``integer``) in it.

    Example:
        >>> check_number('HintLoss', 'loss_weight', -1.0, low=0)
        Traceback (most recent call last):
        ...
        ValueError: HintLoss: loss_weight must be a number in [0, inf), got -1.0
    """
    kind = 'an integer' if integer else 'a number'
    interval = (('(' if low_open else '[') + ('-inf' if low is None else f'{low:g}') + ', '
                + ('inf' if high is None else f'{high:g}') + (')' if high_open or high is None
                                                              else ']'))
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = math.isfinite(value) or (high is None and value == math.inf)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f'{owner}: {name} must be {kind} in {interval}, got {value!r}')


def check_unique(owner: str, name: str, values) -> None:
    """Raise ``ValueError`` if ``values`` repeats an entry (a repeated block or timestep is a
    typo, and doubles channels the head then reads twice)."""
    seen, repeated = set(), []
    for v in values:
        if v in seen and v not in repeated:
            repeated.append(v)
        seen.add(v)
    if repeated:
        raise ValueError(f'{owner}: {name} repeats {repeated} (got {list(values)})')

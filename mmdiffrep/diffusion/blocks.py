"""Readable names for the blocks of a diffusers U-Net, and reading their outputs with hooks.

Names (for ``UNet2DModel`` and ``UNet2DConditionModel`` alike):

* ``conv_in``; ``down.{i}``; ``mid``; ``up.{i}`` (the up block's output, i.e. *after* its
  upsampler) and ``up.{i}.pre`` (its last resnet/attention, i.e. *before* the upsampler);
* any sub-module of a block: ``down.{i}.resnets.{j}``, ``down.{i}.attentions.{j}``,
  ``down.{i}.downsamplers.0``, ``mid.resnets.{j}``, ``mid.attentions.{j}``,
  ``up.{i}.resnets.{j}``, ``up.{i}.attentions.{j}``, ``up.{i}.upsamplers.0``.

The forward of a diffusers U-Net is a plain loop over these modules, so a forward hook on a
module sees exactly the activation the U-Net passes on (for down blocks: the first element of
the returned tuple; for transformer blocks: their ``sample``). Recording goes through
:mod:`mmdiffrep.utils.recorder`, the one hook utility of the package.
"""
import re
from typing import Dict, List, Tuple

import torch.nn as nn

from mmdiffrep.utils.recorder import OutputRecorder

_PREFIXES = {'down': 'down_blocks', 'up': 'up_blocks', 'mid': 'mid_block'}
_SUB_BLOCKS = ('resnets', 'attentions', 'downsamplers', 'upsamplers')


def block_names(unet: nn.Module) -> List[str]:
    """All valid block names of ``unet`` (in registration order, not execution order)."""
    names = ['conv_in']
    for i, block in enumerate(unet.down_blocks):
        names.append(f'down.{i}')
        names += [f'down.{i}.{sub}.{j}' for sub in _SUB_BLOCKS
                  for j in range(len(getattr(block, sub, None) or []))]
    if getattr(unet, 'mid_block', None) is not None:
        names.append('mid')
        names += [f'mid.{sub}.{j}' for sub in _SUB_BLOCKS
                  for j in range(len(getattr(unet.mid_block, sub, None) or []))]
    for i, block in enumerate(unet.up_blocks):
        names += [f'up.{i}', f'up.{i}.pre']
        names += [f'up.{i}.{sub}.{j}' for sub in _SUB_BLOCKS
                  for j in range(len(getattr(block, sub, None) or []))]
    return names


def resolve_block(unet: nn.Module, name: str) -> Tuple[str, nn.Module]:
    """Map a readable block name to ``(module path in the U-Net, module)``.

    Raises:
        KeyError: for an unknown name, listing the valid names of this U-Net.
    """
    valid = block_names(unet)
    if name not in valid:
        raise KeyError(f'unknown U-Net block {name!r}; valid names for this '
                       f'{type(unet).__name__}: {valid}')
    if name == 'conv_in':
        return 'conv_in', unet.conv_in
    match = re.fullmatch(r'(down|up)\.(\d+)\.pre', name)
    if match:  # the last resnet / attention before the upsampler
        i = int(match.group(2))
        block = unet.up_blocks[i]
        attentions = getattr(block, 'attentions', None)
        sub = 'attentions' if attentions is not None and len(attentions) else 'resnets'
        j = len(getattr(block, sub)) - 1
        path = f'up_blocks.{i}.{sub}.{j}'
    else:
        parts = name.split('.')
        path = '.'.join([_PREFIXES[parts[0]]] + parts[1:])
    return path, unet.get_submodule(path)


class BlockRecorder(OutputRecorder):
    """An :class:`~mmdiffrep.utils.recorder.OutputRecorder` of U-Net blocks named as above.

    Example:
        >>> recorder = BlockRecorder(unet, ['down.1', 'up.1.pre'])  # doctest: +SKIP
        >>> with recorder:  # doctest: +SKIP
        ...     feats = recorder.run(lambda: unet(x, t))  # {'down.1': ..., 'up.1.pre': ...}
    """

    def __init__(self, unet: nn.Module, names: List[str], stop_after: str = None):
        super().__init__(block_modules(unet, names), stop_after)


def block_modules(unet: nn.Module, names: List[str]) -> Dict[str, nn.Module]:
    """``{name: module}`` for readable block names (duplicates dropped, order kept)."""
    return {n: resolve_block(unet, n)[1] for n in dict.fromkeys(names)}

"""Conditions of a diffusers U-Net as small registered modules: what a feature extractor feeds
the U-Net besides the image and the timestep.

``DiffusionUNet(condition=dict(type=...))`` takes one of:

* :class:`NullContext`: a zero ``encoder_hidden_states`` context for a text-conditioned
  ``UNet2DConditionModel`` read without text (the default for such U-Nets);
* :class:`PromptEmbedding`: a text prompt's CLIP embedding (computed once or read from a cache;
  DIFT's empty prompt, VPD's per-class prompts);
* :class:`ClassLabel`: a fixed class label for a class-conditional U-Net, or a learnable class
  embedding fed in place of the label's.

Each is ``learnable`` (a trained parameter, kept in checkpoints) or fixed (a non-persistent
buffer); ``learnable=None`` means "train it iff the U-Net trains". A condition gives the U-Net
keyword arguments (:meth:`UNetCondition.unet_kwargs`) and, where the U-Net has no argument for
it (the learnable class embedding), changes a module's output only for the duration of one call
(:meth:`UNetCondition.patch`, a scoped hook bound to this module's own parameter, so an EMA copy
uses its own weights).

Example::

    backbone = dict(type='mmdiffrep.DiffusionUNet', pretrained='...',
                    condition=dict(type='mmdiffrep.ClassLabel', learnable=True))
"""
import contextlib
import functools
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn

from mmdiffrep.registry import MODELS
from mmdiffrep.utils.recorder import temporary_hooks


class UNetCondition(nn.Module):
    """Base class: ``attach`` once to a U-Net, then give its forward kwargs per call."""

    def __init__(self, learnable: Optional[bool] = None):
        super().__init__()
        self.learnable = learnable

    def attach(self, unet: nn.Module, unet_trains: bool) -> None:
        """Check that ``unet`` takes this condition and create the state (``learnable=None``
        becomes ``unet_trains``)."""
        if self.learnable is None:
            self.learnable = bool(unet_trains)

    def _state(self, name: str, value: torch.Tensor) -> None:
        """``value`` as a trained parameter or a fixed non-persistent buffer."""
        if self.learnable:
            self.register_parameter(name, nn.Parameter(value.clone()))
        else:
            self.register_buffer(name, value.clone(), persistent=False)

    def unet_kwargs(self, batch: int, device) -> dict:
        return {}

    def patch(self, unet: nn.Module):
        """A context in which ``unet``'s forward sees this condition (default: nothing)."""
        return contextlib.nullcontext()


def _is_context_unet(unet: nn.Module) -> bool:
    return getattr(unet.config, 'cross_attention_dim', None) is not None \
        and type(unet).__name__ == 'UNet2DConditionModel'


def _context_kwargs(context: torch.Tensor, batch: int) -> dict:
    return dict(encoder_hidden_states=context[None].expand(batch, -1, -1))


@MODELS.register_module()
class NullContext(UNetCondition):
    """A zero ``encoder_hidden_states`` of shape ``(tokens, cross_attention_dim)``.

    Args:
        shape: ``(L, D)``; default ``(1, cross_attention_dim)`` of the U-Net.
        learnable: train the context (VPD-style tuned null embedding).
    """

    def __init__(self, shape: Optional[Sequence[int]] = None, learnable: Optional[bool] = None):
        super().__init__(learnable)
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        if self.shape is not None and (len(self.shape) != 2 or min(self.shape) < 1):
            raise ValueError(f'NullContext shape must be (tokens, width) with both >= 1, got '
                             f'{shape!r}')

    def attach(self, unet, unet_trains):
        super().attach(unet, unet_trains)
        if not _is_context_unet(unet):
            raise ValueError('NullContext is the text context of a UNet2DConditionModel; this '
                             f'{type(unet).__name__} takes none')
        width = unet.config.cross_attention_dim
        shape = self.shape or (1, width)
        if shape[1] != width:
            raise ValueError(f'NullContext width {shape[1]} != the U-Net\'s '
                             f'cross_attention_dim {width}')
        self._state('context', torch.zeros(*shape))

    def unet_kwargs(self, batch, device):
        return _context_kwargs(self.context, batch)


@MODELS.register_module()
class PromptEmbedding(UNetCondition):
    """The CLIP embedding of a text prompt as the context of a ``UNet2DConditionModel``.

    Args:
        text: a prompt, or a list (one token per prompt, e.g. ``'a photo of a {class}'``).
        pretrained: the Stable-Diffusion pipeline whose text encoder embeds it (needs
            ``transformers``; only for the first computation).
        cache: a file with the embedding (written on first computation, read afterwards).
        learnable: train the embedding (initialised from the prompt).
    """

    def __init__(self, text: Union[str, Sequence[str]] = '', pretrained: Optional[str] = None,
                 cache: Optional[str] = None, learnable: Optional[bool] = None, **kwargs):
        super().__init__(learnable)
        from mmdiffrep.diffusion.prompts import load_prompt_embeds
        self._initial = load_prompt_embeds(text=text, pretrained=pretrained, cache=cache,
                                           **kwargs)

    def attach(self, unet, unet_trains):
        super().attach(unet, unet_trains)
        if not _is_context_unet(unet):
            raise ValueError('PromptEmbedding needs a UNet2DConditionModel, got '
                             f'{type(unet).__name__}')
        if self._initial.shape[-1] != unet.config.cross_attention_dim:
            raise ValueError(f'prompt embedding width {self._initial.shape[-1]} != the U-Net\'s '
                             f'cross_attention_dim {unet.config.cross_attention_dim}')
        self._state('context', self._initial)
        del self._initial

    def unet_kwargs(self, batch, device):
        return _context_kwargs(self.context, batch)


def _replace_output(embedding: torch.Tensor, module, args, output):
    return embedding.to(output.dtype).expand_as(output)


@MODELS.register_module()
class ClassLabel(UNetCondition):
    """The class input of a class-conditional U-Net (``num_class_embeds`` set).

    Args:
        label: the label fed with every image (fixed condition).
        learnable: instead of a label, one trained class embedding (initialised to the mean of
            the U-Net's class embeddings) replaces the table's output.
    """

    def __init__(self, label: Optional[int] = None, learnable: bool = False):
        super().__init__(bool(learnable))
        if (label is None) != bool(learnable):
            raise ValueError('ClassLabel needs exactly one of label=<int> (fixed) or '
                             f'learnable=True, got label={label!r}, learnable={learnable!r}')
        self.label = label

    def attach(self, unet, unet_trains):
        table = getattr(unet, 'class_embedding', None)
        if not isinstance(table, nn.Embedding):
            raise ValueError('ClassLabel needs a class-conditional U-Net (num_class_embeds set); '
                             f'this {type(unet).__name__} has no class embedding table')
        if self.learnable:
            self.embedding = nn.Parameter(table.weight.detach().mean(0).clone())
        elif not (isinstance(self.label, int) and 0 <= self.label < table.num_embeddings):
            raise ValueError(f'ClassLabel label={self.label!r} must be an int in '
                             f'[0, {table.num_embeddings})')

    def unet_kwargs(self, batch, device):
        label = 0 if self.learnable else self.label  # a dummy label when replaced
        return dict(class_labels=torch.full((batch, ), label, dtype=torch.long, device=device))

    def patch(self, unet):
        if not self.learnable:
            return contextlib.nullcontext()
        return temporary_hooks([(unet.class_embedding,
                                 functools.partial(_replace_output, self.embedding))])


#: the constructor arguments of DiffusionUNet that conditions replaced -> how to write them now
LEGACY_ARGUMENTS = {
    'class_label': "condition=dict(type='mmdiffrep.ClassLabel', label=<int>) or "
                   "dict(type='mmdiffrep.ClassLabel', learnable=True)",
    'prompt': "condition=dict(type='mmdiffrep.PromptEmbedding', text=..., pretrained=..., "
              'cache=...)',
    'encoder_hidden_states_shape': "condition=dict(type='mmdiffrep.NullContext', shape=(L, D))",
    'learnable_condition': 'learnable=True inside the condition dict',
}

"""Text-prompt conditioning for latent U-Nets, computed once and cached.

Stable-Diffusion U-Nets take ``encoder_hidden_states`` from a CLIP text encoder. For feature
extraction the prompt is fixed (the empty prompt of DIFT, or "a photo of a ..."), so its
embedding is computed ONCE, saved next to the config's work as a small tensor file, and the
text encoder is freed: it is never kept in memory.

transformers is needed only for the first computation. Note: transformers 5 breaks
``import mmpretrain.models`` and transformers 4 conflicts with diffusers >= 0.42, so mmdiffrep's
environment does not install it; compute the cache once where it is installed
(``python tools/model_converters/cache_prompt_embeds.py``) and point ``cache`` at the file.
"""
import os
import os.path as osp
from typing import Optional

import torch


def encode_prompt(text: str, pretrained: str, subfolder: str = 'text_encoder',
                  tokenizer_subfolder: str = 'tokenizer') -> torch.Tensor:
    """``(L, D)`` CLIP hidden states of ``text`` (padded to the tokenizer's max length)."""
    try:
        from transformers import CLIPTextModel, CLIPTokenizer
    except ImportError as e:
        raise ImportError(
            'computing a prompt embedding needs `transformers` (not part of mmdiffrep\'s '
            'environment, see mmdiffrep/diffusion/prompts.py); compute it once elsewhere with '
            'tools/model_converters/cache_prompt_embeds.py and pass its file as `cache`') from e
    tokenizer = CLIPTokenizer.from_pretrained(pretrained, subfolder=tokenizer_subfolder)
    encoder = CLIPTextModel.from_pretrained(pretrained, subfolder=subfolder).eval()
    tokens = tokenizer([text], padding='max_length', max_length=tokenizer.model_max_length,
                       truncation=True, return_tensors='pt')
    with torch.no_grad():
        states = encoder(tokens.input_ids)[0][0]
    del encoder
    return states.float()


def load_prompt_embeds(text: str = '', pretrained: Optional[str] = None,
                       cache: Optional[str] = None, **kwargs) -> torch.Tensor:
    """The cached embedding of ``text``: read ``cache`` if it exists, else compute it with the
    text encoder of ``pretrained`` and write ``cache``."""
    if cache is not None and osp.isfile(cache):
        data = torch.load(cache, map_location='cpu')
        states = data['embeds'] if isinstance(data, dict) else data
        if isinstance(data, dict) and data.get('text', text) != text:
            raise ValueError(f'prompt cache {cache!r} holds the embedding of '
                             f'{data["text"]!r}, not of {text!r}')
        if states.dim() != 2:
            raise ValueError(f'prompt cache {cache!r} must hold an (L, D) tensor, got shape '
                             f'{tuple(states.shape)}')
        return states.float()
    if pretrained is None:
        raise FileNotFoundError(f'prompt cache {cache!r} does not exist and no `pretrained` '
                                'text encoder is given to compute it')
    states = encode_prompt(text, pretrained, **kwargs)
    if cache is not None:
        os.makedirs(osp.dirname(osp.abspath(cache)), exist_ok=True)
        torch.save(dict(text=text, embeds=states), cache)
    return states

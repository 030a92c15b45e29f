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
from typing import List, Optional, Union

import torch


def encode_prompt(text: Union[str, List[str]], pretrained: str, subfolder: str = 'text_encoder',
                  tokenizer_subfolder: str = 'tokenizer') -> torch.Tensor:
    """``(L, D)`` CLIP hidden states of one prompt ``text`` (padded to the tokenizer's max
    length); for a list of prompts (e.g. one per class, as VPD), ``(N, D)``: each prompt's
    end-of-text token state, the one CLIP pools a sentence into."""
    try:
        from transformers import CLIPTextModel, CLIPTokenizer
    except ImportError as e:
        raise ImportError(
            'computing a prompt embedding needs `transformers` (not part of mmdiffrep\'s '
            'environment, see mmdiffrep/diffusion/prompts.py); compute it once elsewhere with '
            'tools/model_converters/cache_prompt_embeds.py and pass its file as `cache`') from e
    tokenizer = CLIPTokenizer.from_pretrained(pretrained, subfolder=tokenizer_subfolder)
    encoder = CLIPTextModel.from_pretrained(pretrained, subfolder=subfolder).eval()
    texts = [text] if isinstance(text, str) else list(text)
    tokens = tokenizer(texts, padding='max_length', max_length=tokenizer.model_max_length,
                       truncation=True, return_tensors='pt')
    with torch.no_grad():
        states = encoder(tokens.input_ids)[0]
    del encoder
    if isinstance(text, str):
        return states[0].float()
    eos = tokens.input_ids.argmax(-1)  # CLIP's end-of-text id is the largest in its vocabulary
    return states[torch.arange(len(texts)), eos].float()


def load_prompt_embeds(text: Union[str, List[str]] = '', pretrained: Optional[str] = None,
                       cache: Optional[str] = None, **kwargs) -> torch.Tensor:
    """The cached embedding of ``text``: read ``cache`` if it exists, else compute it with the
    text encoder of ``pretrained`` and write ``cache``."""
    if cache is not None and osp.isfile(cache):
        data = torch.load(cache, map_location='cpu')
        states = data['embeds'] if isinstance(data, dict) else data
        if isinstance(data, dict) and _as_key(data.get('text', text)) != _as_key(text):
            raise ValueError(f'prompt cache {cache!r} holds the embedding of '
                             f'{data["text"]!r}, not of {text!r}')
        if states.dim() != 2:
            raise ValueError(f'prompt cache {cache!r} must hold an (L, D) tensor, got shape '
                             f'{tuple(states.shape)}')
        if not isinstance(text, str) and len(states) != len(text):
            raise ValueError(f'prompt cache {cache!r} holds {len(states)} embeddings for '
                             f'{len(text)} prompts')
        return states.float()
    if pretrained is None:
        raise FileNotFoundError(f'prompt cache {cache!r} does not exist and no `pretrained` '
                                'text encoder is given to compute it')
    states = encode_prompt(text, pretrained, **kwargs)
    if cache is not None:
        os.makedirs(osp.dirname(osp.abspath(cache)), exist_ok=True)
        torch.save(dict(text=text, embeds=states), cache)
    return states


def _as_key(text):
    return text if isinstance(text, str) else tuple(text)

"""Checkpoints from URLs load with ``weights_only=True``.

``init_cfg=dict(type='Pretrained', checkpoint='https://...')`` (and ``http://``,
``torchvision://``, ``open-mmlab://``, which resolve to URLs) reaches mmengine's
``load_from_http``, which calls ``torch.hub.load_state_dict_from_url`` with its default
``weights_only=False``: a crafted file behind a URL runs code on load. mmengine's loader is
given a ``load_url`` that always passes ``weights_only=True``, so URL checkpoints get the same
allow-list as local files (:mod:`.checkpoint_loading`).

Guard: the mmengine checkpoint loader uses torch's ``load_state_dict_from_url`` and that
function does not default to ``weights_only=True``.
"""
import functools
import inspect

import torch


def _torch_loader():
    import mmengine.runner.checkpoint as ckpt
    return ckpt, getattr(ckpt, 'load_url', None)


def needed() -> bool:
    _, load_url = _torch_loader()
    if load_url is None or getattr(load_url, '_mmdiffrep_fixed', False):
        return False
    try:
        default = inspect.signature(load_url).parameters.get('weights_only')
    except (TypeError, ValueError):
        return False
    return default is not None and default.default is not True


def _weights_only(load_url):

    @functools.wraps(load_url)
    def wrapper(*args, **kwargs):
        kwargs['weights_only'] = True
        return load_url(*args, **kwargs)

    wrapper._mmdiffrep_fixed = True
    return wrapper


def apply() -> None:
    if not needed():
        return
    ckpt, load_url = _torch_loader()
    ckpt.load_url = _weights_only(load_url)
    if torch.hub.load_state_dict_from_url is load_url:
        torch.hub.load_state_dict_from_url = ckpt.load_url

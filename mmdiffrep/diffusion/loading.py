"""Load a diffusers U-Net and its noise scheduler from a hub id, a local diffusers folder, an
mmdiffrep / mmengine checkpoint, or a constructor config (random init)."""
import os.path as osp
from typing import Optional, Union

import torch
import torch.nn as nn

UNET_CLASSES = ('UNet2DModel', 'UNet2DConditionModel')
_CKPT_SUFFIXES = ('.pth', '.pt', '.ckpt', '.bin', '.safetensors')


def _unet_class(name: str):
    import diffusers
    if name not in UNET_CLASSES:
        raise ValueError(f'unsupported U-Net class {name!r}; expected one of {UNET_CLASSES}')
    return getattr(diffusers, name)


def build_unet(unet_cfg: dict) -> nn.Module:
    """A randomly initialised U-Net from ``dict(type='UNet2DModel', **constructor_kwargs)``."""
    cfg = dict(unet_cfg)
    cls = _unet_class(cfg.pop('type', 'UNet2DModel'))
    return cls(**cfg)


def _looks_local(path: str) -> bool:
    return path.startswith(('.', '/', '~')) or osp.exists(path) or path.count('/') != 1


def _load_state_dict(path: str) -> dict:
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        ckpt = torch.load(path, map_location='cpu')  # weights_only (see mmdiffrep.compat)
    except Exception as e:  # truncated / corrupt / not a checkpoint: name the file
        raise RuntimeError(f'cannot load the checkpoint {path!r} ({type(e).__name__}): '
                           f'{str(e).splitlines()[0][:200]}. Is the file complete (not '
                           'truncated) and a torch checkpoint?') from e
    return ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt


def _strip_prefix(state_dict: dict, unet: nn.Module, prefix: Optional[str]) -> dict:
    """Keys of ``unet`` from a checkpoint of a larger model (e.g. ``backbone.unet.``)."""
    expected = set(unet.state_dict())
    if prefix is None:
        if expected <= set(state_dict):
            return state_dict
        # find the prefix under which the U-Net's keys live
        probe = next(iter(sorted(expected)))
        hits = [k[:-len(probe)] for k in state_dict if k.endswith(probe)]
        if not hits:
            raise KeyError(f'no U-Net weights found in the checkpoint (looked for keys ending '
                           f'in {probe!r}); pass `checkpoint_prefix`')
        prefix = min(hits, key=len)
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def load_unet(pretrained: Optional[str] = None,
              unet_cfg: Optional[dict] = None,
              subfolder: Optional[str] = None,
              checkpoint_prefix: Optional[str] = None,
              torch_dtype: Optional[Union[str, torch.dtype]] = None) -> nn.Module:
    """Load a ``UNet2DModel`` / ``UNet2DConditionModel``.

    Args:
        pretrained: a hub id (``'google/ddpm-cifar10-32'``), a local diffusers folder (written by
            ``save_pretrained``; the U-Net class is read from its ``config.json``), or a
            checkpoint file (``.pth``/``.safetensors``) whose U-Net is described by ``unet_cfg``.
        unet_cfg: ``dict(type='UNet2DModel', **kwargs)``; random init when ``pretrained`` is None.
        subfolder: e.g. ``'unet'`` for a full pipeline folder / repo.
        checkpoint_prefix: key prefix of the U-Net inside a checkpoint file (found if None).
        torch_dtype: load the weights in this dtype (e.g. ``torch.float16``).
    """
    if isinstance(torch_dtype, str):
        torch_dtype = getattr(torch, torch_dtype)
    if pretrained is None:
        if unet_cfg is None:
            raise ValueError('give `pretrained` (hub id, diffusers folder or checkpoint) or '
                             '`unet_cfg` (for a randomly initialised U-Net)')
        unet = build_unet(unet_cfg)
        return unet.to(torch_dtype) if torch_dtype is not None else unet

    if pretrained.endswith(_CKPT_SUFFIXES):
        if not osp.isfile(pretrained):
            raise FileNotFoundError(f'U-Net checkpoint {pretrained!r} does not exist')
        if unet_cfg is None:
            raise ValueError(f'loading the checkpoint file {pretrained!r} needs `unet_cfg` to '
                             'build the U-Net it holds')
        unet = build_unet(unet_cfg)
        state = _strip_prefix(_load_state_dict(pretrained), unet, checkpoint_prefix)
        missing, unexpected = unet.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise KeyError(f'checkpoint {pretrained!r} does not match unet_cfg: missing '
                           f'{missing[:5]}..., unexpected {unexpected[:5]}...')
        return unet.to(torch_dtype) if torch_dtype is not None else unet

    if _looks_local(pretrained) and not osp.isdir(osp.expanduser(pretrained)):
        raise FileNotFoundError(f'pretrained U-Net folder {pretrained!r} does not exist')
    from diffusers import UNet2DModel
    try:
        config = UNet2DModel.load_config(pretrained, subfolder=subfolder)
        cls = _unet_class(config.get('_class_name', 'UNet2DModel'))
        kwargs = dict(subfolder=subfolder)
        if torch_dtype is not None:
            kwargs['torch_dtype'] = torch_dtype
        return cls.from_pretrained(pretrained, **kwargs)
    except OSError as e:
        where = f'{pretrained!r}' + (f' (subfolder {subfolder!r})' if subfolder else '')
        raise OSError(f'could not load a diffusers U-Net from {where}: {e}. A hub id needs '
                      'network access or a local cache; a folder must hold config.json and '
                      'the weights written by save_pretrained.') from e


def weights_fingerprint(module: nn.Module) -> str:
    """A short hash of a module's weights (names, shapes and per-tensor sums in float64): it
    tells whether two loads of "the same" pretrained folder hold the same weights, without a
    byte-level hash of GBs of weights (one memory pass; ~0.5 s for Stable Diffusion's U-Net)."""
    import hashlib
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            t = t.detach().double()
            h.update(f'{name}{tuple(t.shape)}{t.sum().item():.12e}'
                     f'{t.abs().sum().item():.12e}'.encode())
    return h.hexdigest()[:16]


def load_scheduler(pretrained: Optional[str] = None, scheduler_cfg: Optional[dict] = None):
    """The DDPM noise scheduler that defines ``add_noise`` for the U-Net.

    Order: ``scheduler_cfg`` if given (``DDPMScheduler`` kwargs; ``beta_schedule`` in
    mmdiffrep's vocabulary, e.g. ``'cosine'``, see :mod:`.noise_processes`); else the
    ``scheduler/`` subfolder next to a pretrained diffusers U-Net (pipeline layout) or ``scheduler_config.json`` in the folder itself; else
    diffusers' default DDPM schedule (1000 steps, linear betas 1e-4..0.02).
    """
    from diffusers import DDPMScheduler
    if scheduler_cfg is not None:
        from .noise_processes import diffusers_beta_schedule
        cfg = dict(scheduler_cfg)
        cfg.pop('type', None)
        if 'beta_schedule' in cfg:
            cfg['beta_schedule'] = diffusers_beta_schedule(cfg['beta_schedule'])
        return DDPMScheduler(**cfg)
    if pretrained is not None and osp.isdir(osp.expanduser(pretrained)):
        root = osp.expanduser(pretrained)
        for folder, sub in ((root, 'scheduler'), (root, None), (osp.dirname(root), 'scheduler')):
            path = osp.join(folder, sub) if sub else folder
            if osp.isfile(osp.join(path, 'scheduler_config.json')):
                return DDPMScheduler.from_pretrained(path)
    return DDPMScheduler()


def load_vae(pretrained: Optional[str] = None, vae_cfg: Optional[dict] = None,
             subfolder: Optional[str] = None,
             torch_dtype: Optional[Union[str, torch.dtype]] = None) -> nn.Module:
    """An ``AutoencoderKL`` for latent U-Nets: from a hub id / diffusers folder (e.g. a
    pipeline with ``subfolder='vae'``) or, randomly initialised, from its constructor kwargs."""
    from diffusers import AutoencoderKL
    if isinstance(torch_dtype, str):
        torch_dtype = getattr(torch, torch_dtype)
    if pretrained is None:
        if vae_cfg is None:
            raise ValueError('give the VAE `pretrained` (hub id or folder) or `vae_cfg`')
        cfg = dict(vae_cfg)
        cfg.pop('type', None)
        vae = AutoencoderKL(**cfg)
        return vae.to(torch_dtype) if torch_dtype is not None else vae
    if _looks_local(pretrained) and not osp.isdir(osp.expanduser(pretrained)):
        raise FileNotFoundError(f'pretrained VAE folder {pretrained!r} does not exist')
    kwargs = dict(subfolder=subfolder)
    if torch_dtype is not None:
        kwargs['torch_dtype'] = torch_dtype
    try:
        return AutoencoderKL.from_pretrained(pretrained, **kwargs)
    except OSError as e:
        raise OSError(f'could not load a diffusers AutoencoderKL from {pretrained!r}'
                      f'{f" (subfolder {subfolder!r})" if subfolder else ""}: {e}') from e

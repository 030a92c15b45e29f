"""Frozen modules kept out of an owner's parameters: never optimised or in DDP, shared by copies.

A frozen diffusion U-Net (a backbone's extractor, a distillation teacher), a VAE or an
alignment encoder is used by a model but must not be trained, wrapped in DDP, duplicated by
mmengine's EMA copy or (usually) saved. Registering it as a submodule would do all of that, so
the owner holds it through :func:`hold_frozen` instead:

* it is a plain attribute (a :class:`FrozenModule`), so ``parameters()``, ``state_dict()``,
  optimizers and DDP do not see it;
* ``owner.to(...)`` / ``.cuda()`` / ``.half()`` move it too (:class:`FrozenHolderMixin`);
* ``copy.deepcopy(owner)`` (mmengine's ``ExponentialMovingAverage``) shares it instead of
  copying it: it never changes, so one instance serves the model and its EMA copy;
* with ``save=True`` its weights are written into (and read back from) the owner's state dict
  under ``{name}.``, for frozen modules that cannot be rebuilt from a source (a random U-Net).

Example::

    class Teacher(FrozenHolderMixin, nn.Module):
        def __init__(self, unet):
            super().__init__()
            hold_frozen(self, 'unet', unet)   # self.unet(x, t) works; not a parameter
"""
import functools

import torch.nn as nn


class FrozenModule:
    """A frozen module behind a plain (non-``nn.Module``) handle; calls and attribute reads go
    to the module."""

    def __init__(self, module: nn.Module):
        module.eval()  # (some toolbox backbones' train() returns None: no chaining)
        module.requires_grad_(False)
        self.module = module

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name):
        if name == 'module':  # not set yet (during unpickling)
            raise AttributeError(name)
        return getattr(self.module, name)

    def __deepcopy__(self, memo):
        return self  # shared, never duplicated (EMA copies, deepcopy of the owner)

    def __repr__(self):
        return f'FrozenModule({type(self.module).__name__})'


class FrozenHolderMixin:
    """For ``nn.Module`` owners of :class:`FrozenModule` attributes: moves them with the owner
    and keeps them in eval mode. Put it before ``nn.Module`` in the bases."""

    def frozen_modules(self):
        return {k: v for k, v in vars(self).items() if isinstance(v, FrozenModule)}

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for held in self.frozen_modules().values():
            held.module._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        for held in self.frozen_modules().values():
            held.module.eval()
        return self


def _save_frozen(name, module, state_dict, prefix, local_metadata):
    for key, value in getattr(module, name).module.state_dict().items():
        state_dict[f'{prefix}{name}.{key}'] = value
    return state_dict


def _load_frozen(name, module, state_dict, prefix, local_metadata, strict, missing, unexpected,
                 errors):
    start = f'{prefix}{name}.'
    own = {k[len(start):]: state_dict.pop(k) for k in [k for k in state_dict
                                                       if k.startswith(start)]}
    if own:
        getattr(module, name).module.load_state_dict(own, strict=True)


def hold_frozen(owner: nn.Module, name: str, module: nn.Module, save: bool = False) -> FrozenModule:
    """Freeze ``module`` and attach it to ``owner`` as ``owner.{name}`` outside its parameters
    (see the module docstring); ``save``: keep its weights in the owner's state dict. The
    owner's class must mix in :class:`FrozenHolderMixin`."""
    if not isinstance(owner, FrozenHolderMixin):
        raise TypeError(f'{type(owner).__name__} must inherit FrozenHolderMixin to hold frozen '
                        'modules (so that .to() moves them)')
    if name in owner._modules or name in owner._parameters:
        raise ValueError(f'{name!r} is already a submodule / parameter of '
                         f'{type(owner).__name__}')
    held = FrozenModule(module)
    object.__setattr__(owner, name, held)
    if save:  # partials of module-level functions: copy-safe, no closure over the owner
        owner._register_state_dict_hook(functools.partial(_save_frozen, name))
        owner._register_load_state_dict_pre_hook(functools.partial(_load_frozen, name),
                                                 with_module=True)
    return held

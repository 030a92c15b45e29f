"""The one way mmdiffrep reads or changes inner activations: forward hooks held only for a call.

In the spirit of mmrazor's ``ModuleOutputsRecorder`` and timm's ``FeatureHooks``, but scoped:
every hook is registered on entering a ``with`` block and removed on leaving it, and what a
hook needs (a tensor to add, the dict to record into) is bound as an argument of a
``functools.partial``, never read from an attribute of a model and never captured by a lambda.
So a deep copy of a model (mmengine's EMA) never carries a hook that points back at the
original, and a frozen module shared by several owners never runs another owner's hook.

* :class:`OutputRecorder`: record the outputs of named modules during a forward, optionally
  stopping the forward right after the last one needed (early exit).
* :func:`record_shapes`: one no-grad forward -> the order in which named modules ran and
  their output shapes (channel counts, strides, execution order at build time).
* :func:`temporary_hooks`: register arbitrary forward / forward-pre hooks for a block (used to
  inject a condition: DRL's bottleneck code, FiLM modulation, a learned class embedding).

Example:
    >>> rec = OutputRecorder({'mid': unet.mid_block})  # doctest: +SKIP
    >>> with rec:  # doctest: +SKIP
    ...     outputs = rec.run(lambda: unet(x, t))  # {'mid': tensor}
"""
import contextlib
import functools
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn


def output_tensor(output) -> torch.Tensor:
    """The activation a module passes on, whatever its return type (a tensor, the first
    element of a tuple such as a diffusers down block's, or an output object's ``sample``)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output:
        return output_tensor(output[0])
    sample = getattr(output, 'sample', None)
    if isinstance(sample, torch.Tensor):
        return sample
    raise TypeError(f'cannot read a tensor from a module output of type {type(output)}')


class StopForward(Exception):
    """Raised by the hook of the last needed module to end a forward early."""


def _record(store: dict, name: str, stop: bool, transform, once: bool, module, args, output):
    value = transform(output)
    if value is None:  # the transform skips this call
        return
    if once and name in store:
        raise RuntimeError(f'module {name!r} ran more than once in one recorded forward')
    store[name] = value
    if stop:
        raise StopForward


@contextlib.contextmanager
def temporary_hooks(forward_hooks: Iterable[Tuple[nn.Module, Callable]] = (),
                    pre_hooks: Iterable[Tuple[nn.Module, Callable]] = ()):
    """Register ``(module, hook)`` forward hooks and forward-pre hooks for the ``with`` block."""
    handles = []
    try:
        for module, hook in forward_hooks:
            handles.append(module.register_forward_hook(hook))
        for module, hook in pre_hooks:
            handles.append(module.register_forward_pre_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


class OutputRecorder:
    """Record the outputs of named modules during forwards run inside ``with recorder:``.

    Args:
        modules: ``{name: module}`` to record, in the order wanted.
        stop_after: name whose hook ends the forward (raises :class:`StopForward`, caught by
            :meth:`run`); None runs the forward to the end.
        transform: applied to each raw output (default :func:`output_tensor`; e.g. ``as_tuple``
            to keep a backbone's whole output tuple); a call whose transform gives None is not
            recorded.
        once: a module that runs twice in one :meth:`run` is an error (default: the last
            output wins).
    """

    def __init__(self, modules: Mapping[str, nn.Module], stop_after: Optional[str] = None,
                 transform: Callable = output_tensor, once: bool = False):
        self.modules = dict(modules)
        if stop_after is not None and stop_after not in self.modules:
            raise KeyError(f'stop_after={stop_after!r} is not one of {list(self.modules)}')
        self.stop_after, self.transform, self.once = stop_after, transform, once
        self.outputs: Dict[str, object] = {}
        self._hooks = None

    def __enter__(self):
        self.outputs = {}
        self._hooks = temporary_hooks([
            (m, functools.partial(_record, self.outputs, n, n == self.stop_after, self.transform,
                                  self.once)) for n, m in self.modules.items()])
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        hooks, self._hooks = self._hooks, None
        hooks.__exit__(*exc)
        return exc[0] is StopForward  # an early exit outside run() is not an error

    def run(self, forward: Callable[[], object]) -> Dict[str, object]:
        """Call ``forward()`` and return the recorded outputs (stopping early if asked); every
        module must have run."""
        if self._hooks is None:
            raise RuntimeError('OutputRecorder.run() must be called inside `with recorder:`')
        self.outputs.clear()
        try:
            forward()
        except StopForward:
            pass
        missing = [n for n in self.modules if n not in self.outputs]
        if missing:
            raise RuntimeError(f'modules {missing} did not run in the forward')
        return dict(self.outputs)


def _first_shape(order: list, shapes: dict, name: str, module, args, output):
    if name not in shapes:
        order.append(name)
        shapes[name] = tuple(output_tensor(output).shape)


def record_shapes(modules: Mapping[str, nn.Module],
                  forward: Callable[[], object]) -> Tuple[List[str], Dict[str, tuple]]:
    """Run ``forward()`` once without gradients: (names in the order their modules first ran,
    ``{name: full output shape}``). Modules that did not run are missing from both."""
    order, shapes = [], {}
    with temporary_hooks([(m, functools.partial(_first_shape, order, shapes, n))
                          for n, m in modules.items()]):
        with torch.no_grad():
            forward()
    return order, shapes

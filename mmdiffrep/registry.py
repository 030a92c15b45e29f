"""mmdiffrep's registries: children of mmengine's root registries, scope ``mmdiffrep``.

Because this module exists and every registry declares ``locations``, a config of any
OpenMMLab toolbox can name our components as ``type='mmdiffrep.Name'`` without
``custom_imports``: mmengine imports ``mmdiffrep.registry`` for the ``mmdiffrep.`` prefix and the
registry imports the modules that register ``Name``.

The scope trap. While a ``mmdiffrep.`` component is built from an mmseg / mmpretrain / mmpose
config, mmengine's ``DefaultScope`` is still that toolbox's. A plain
``MODELS.build(dict(type='HintLoss'))`` inside our component would then be looked up in the
toolbox's registry and fail. Our registries therefore build with :func:`build_with_fallback`:
a type is resolved in the current default scope first (so a nested ``type='ResNet'`` in an
mmseg config still means mmseg's ResNet), and only when that scope does not know it, in
mmdiffrep's scope.

Example:
    >>> from mmengine.registry import DefaultScope
    >>> from mmdiffrep.registry import MODELS
    >>> with DefaultScope.overwrite_default_scope('mmseg'):
    ...     # resolves although the default scope is mmseg
    ...     MODELS.get('mmdiffrep.DiffusionUNet')  # doctest: +SKIP
"""
import difflib
from typing import Any, Optional

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry, build_from_cfg, build_model_from_cfg

SCOPE = 'mmdiffrep'


class UnknownTypeError(KeyError):
    """``KeyError`` for an unregistered type, printed as plain text (``KeyError`` quotes and
    escapes its message, which becomes unreadable once mmengine wraps it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class MMDiffRepRegistry(Registry):
    """A :class:`~mmengine.registry.Registry` whose failed look-ups raise a clear ``KeyError``.

    mmengine returns ``None`` (and later says "not in the registry") or raises
    ``RuntimeError('Failed to get ...')`` for a typo such as ``type='mmdiffrep.DifusionUNet'``.
    Ours names the bad value, the closest registered names and everything registered.
    """

    def get(self, key: str) -> Any:
        obj = super().get(key)
        if obj is None and isinstance(key, str) and '.' not in key:
            raise UnknownTypeError(self._unknown_message(key))
        return obj

    def _unknown_message(self, key: str) -> str:
        known = sorted(self.module_dict)
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f' Did you mean {", ".join(map(repr, close))}?' if close else ''
        return (f'{key!r} is not registered in mmdiffrep\'s {self.name!r} registry (nor in '
                f'mmengine\'s).{hint} Registered in mmdiffrep: {known}. Components of other '
                'toolboxes are named with their prefix, e.g. "mmpretrain.ResNet".')


def _type_is_known(cfg: dict, registry: Registry) -> bool:
    """Whether ``cfg['type']`` resolves in the registry that mmengine would build from."""
    obj_type = cfg.get('type')
    if not isinstance(obj_type, str):
        return True  # a class object, used by mmengine as it is
    with registry.switch_scope_and_registry(cfg.get('_scope_')) as scoped:
        try:
            return scoped.get(obj_type) is not None
        except (KeyError, RuntimeError):
            return False


def _fallback(default_build):

    def build(cfg: Any, registry: Registry, default_args: Optional[dict] = None):
        if isinstance(cfg, dict) and 'type' in cfg and '_scope_' not in cfg \
                and not _type_is_known(cfg, registry):
            cfg = cfg.copy()
            cfg['_scope_'] = SCOPE  # not known in the current scope: resolve it in ours
        return default_build(cfg, registry, default_args)

    return build


#: Build functions of mmdiffrep's registries (see the module docstring).
build_with_fallback = _fallback(build_from_cfg)
build_model_with_fallback = _fallback(build_model_from_cfg)


def _registry(name, parent, locations, build_func=build_with_fallback):
    return MMDiffRepRegistry(name, parent=parent, scope=SCOPE, locations=locations,
                             build_func=build_func)


_MODELS = ['mmdiffrep.models']
_ENGINE = ['mmdiffrep.engine']
_DATA = []  # no dataset components: Shapes is written in each toolbox's own formats

RUNNERS = _registry('runner', MMENGINE_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _registry('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _registry('loop', MMENGINE_LOOPS, _ENGINE)
HOOKS = _registry('hook', MMENGINE_HOOKS, _ENGINE)
LOG_PROCESSORS = _registry('log_processor', MMENGINE_LOG_PROCESSORS, _ENGINE)
OPTIMIZERS = _registry('optimizer', MMENGINE_OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _registry('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _registry('optimizer wrapper constructor',
                                       MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE)
PARAM_SCHEDULERS = _registry('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, _ENGINE)

DATASETS = _registry('dataset', MMENGINE_DATASETS, _DATA)
DATA_SAMPLERS = _registry('data sampler', MMENGINE_DATA_SAMPLERS, _DATA)
TRANSFORMS = _registry('transform', MMENGINE_TRANSFORMS, _DATA)

MODELS = _registry('model', MMENGINE_MODELS, _MODELS, build_model_with_fallback)
MODEL_WRAPPERS = _registry('model_wrapper', MMENGINE_MODEL_WRAPPERS, _MODELS)
WEIGHT_INITIALIZERS = _registry('weight initializer', MMENGINE_WEIGHT_INITIALIZERS, _MODELS)
TASK_UTILS = _registry('task util', MMENGINE_TASK_UTILS, _MODELS)

METRICS = _registry('metric', MMENGINE_METRICS, _ENGINE)
EVALUATOR = _registry('evaluator', MMENGINE_EVALUATOR, _ENGINE)
VISUALIZERS = _registry('visualizer', MMENGINE_VISUALIZERS, _ENGINE)
VISBACKENDS = _registry('vis_backend', MMENGINE_VISBACKENDS, _ENGINE)
INFERENCERS = _registry('inferencer', MMENGINE_INFERENCERS, _MODELS)
FUNCTIONS = _registry('function', MMENGINE_FUNCTIONS, _DATA)

#: forward noising processes of the denoising objective (``'ve'``, ``'vp'``)
NOISE_PROCESSES = MMDiffRepRegistry('noise process', scope=SCOPE,
                                    locations=['mmdiffrep.diffusion.noise_processes'])

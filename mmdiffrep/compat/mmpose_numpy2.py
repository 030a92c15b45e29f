"""mmpose visualisation under NumPy 2.

1. ``mmpose.visualization`` calls ``np.array(x, copy=False)``, which raises under NumPy 2
   whenever a copy is needed. The affected mmpose modules get a NumPy namespace whose ``array``
   treats ``copy=False`` as the NumPy-1 meaning ("copy only if needed", ``np.asarray``).
2. ``PoseLocalVisualizer`` passes ``radius=np.array([r])`` and
   ``OpencvBackendVisualizer.draw_circles`` calls ``int(radius)``; NumPy >= 2.4 no longer
   converts 1-element arrays to scalars, so ``draw_circles`` receives the scalar instead.

Applied right after the affected modules load (a meta-path hook), so ``import mmdiffrep``
does not import mmpose. Guard: NumPy >= 2.
"""
import sys
import types

import numpy as np

from ._import_hooks import fix_now_and_on_import


def needed(numpy_version: str = np.__version__) -> bool:
    return np.lib.NumpyVersion(numpy_version) >= '2.0.0'


class _NumPy1CopySemantics(types.ModuleType):
    """A stand-in for the ``numpy`` module whose ``array(copy=False)`` means "copy if needed"."""

    def __init__(self):
        super().__init__('numpy')

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def array(obj, *args, copy=True, **kwargs):
        if copy is False:
            return np.asarray(obj, *args, **kwargs)
        return np.array(obj, *args, copy=copy, **kwargs)


_MMPOSE_NUMPY_COPY_MODULES = (
    'mmpose.visualization.local_visualizer',
    'mmpose.visualization.local_visualizer_3d',
    'mmpose.visualization.opencv_backend_visualizer',
)


def _scalar_radius(draw_circles):

    def wrapper(self, center, radius, *args, **kwargs):
        if self.backend == 'opencv' and isinstance(radius, np.ndarray) and radius.size == 1:
            radius = radius.item()
        return draw_circles(self, center, radius, *args, **kwargs)

    wrapper.__doc__ = draw_circles.__doc__
    wrapper._mmdiffrep_fixed = True
    return wrapper


def _fix_mmpose_numpy2() -> None:
    if not needed():
        return
    for name in _MMPOSE_NUMPY_COPY_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        if getattr(module, 'np', None) is np:
            module.np = _NumPy1CopySemantics()
        visualizer = getattr(module, 'OpencvBackendVisualizer', None)
        if visualizer is not None and not hasattr(visualizer.draw_circles, '_mmdiffrep_fixed'):
            visualizer.draw_circles = _scalar_radius(visualizer.draw_circles)


def apply() -> None:
    if needed():
        fix_now_and_on_import(_MMPOSE_NUMPY_COPY_MODULES, _fix_mmpose_numpy2)

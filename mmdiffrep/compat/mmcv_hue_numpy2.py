"""mmcv's ``adjust_hue`` (used by mmpretrain's ``ColorJitter``) under NumPy 2.

mmcv 2.1 shifts the hue channel with ``h += np.uint8(hue_factor * 255)``, relying on NumPy 1
wrapping a negative value into uint8. NumPy 2 raises ``OverflowError`` instead, so every
``ColorJitter`` with ``hue > 0`` (SimCLR / MoCo / BYOL view pipelines) crashes on its first
negative draw. The fix leaves non-negative factors to mmcv and, for negative ones, runs mmcv's checks and
the same steps with a modular shift (NumPy 1's result: the factor times 255 truncated towards
zero, then taken mod 256).

Applied when ``mmcv.image.photometric`` loads. Guard: NumPy >= 2.
"""
import functools
import sys

import numpy as np

from ._import_hooks import fix_now_and_on_import

_MODULES = ('mmcv.image.photometric', )


def needed(numpy_version: str = np.__version__) -> bool:
    return np.lib.NumpyVersion(numpy_version) >= '2.0.0'


def _shift_hue(hue: np.ndarray, hue_factor: float) -> np.ndarray:
    """``hue + uint8(hue_factor * 255)`` with NumPy 1's wrap-around (mod 256)."""
    return ((hue.astype(np.int16) + int(hue_factor * 255)) % 256).astype(np.uint8)


def _adjust_hue(original):

    @functools.wraps(original)
    def adjust_hue(img: np.ndarray, hue_factor: float, backend=None) -> np.ndarray:
        if hue_factor >= 0:  # mmcv's own code is correct there
            return original(img, hue_factor, backend=backend)
        # mmcv's checks (backend, range, type) on the mirrored factor, then the same steps
        original(img[:1, :1], -hue_factor, backend=backend)
        import cv2
        from PIL import Image
        module = sys.modules['mmcv.image.photometric']
        backend = module.imread_backend if backend is None else backend
        if backend == 'pillow':
            assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
            pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
            h, s, v = pil_image.convert('HSV').split()
            h = Image.fromarray(_shift_hue(np.array(h, dtype=np.uint8), hue_factor), 'L')
            pil_image = Image.merge('HSV', (h, s, v)).convert(pil_image.mode)
            return np.array(pil_image, dtype=img.dtype)[..., ::-1]
        dtype = img.dtype
        hsv_img = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
        h, s, v = cv2.split(hsv_img)
        hsv_img = cv2.merge([_shift_hue(h, hue_factor), s, v])
        return cv2.cvtColor(hsv_img, cv2.COLOR_HSV2BGR_FULL).astype(dtype)

    adjust_hue._mmdiffrep_fixed = True
    return adjust_hue


def _fix() -> None:
    module = sys.modules.get('mmcv.image.photometric')
    if module is None or getattr(module.adjust_hue, '_mmdiffrep_fixed', False):
        return
    original = module.adjust_hue
    module.adjust_hue = _adjust_hue(original)
    for name in ('mmcv.image', 'mmcv'):
        parent = sys.modules.get(name)
        if parent is not None and getattr(parent, 'adjust_hue', None) is original:
            parent.adjust_hue = module.adjust_hue


def apply() -> None:
    if needed():
        fix_now_and_on_import(_MODULES, _fix)

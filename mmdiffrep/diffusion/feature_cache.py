"""Reuse the features of a frozen, deterministic extractor across epochs.

Probing a frozen DiffusionUNet (linear probe, probe sweep, frozen-backbone heads) recomputes
the same features every epoch. When the U-Net is frozen and its input -> feature map is
deterministic (noise ``'none'`` or ``'fixed'``, no trainable condition), the features of an
image can be computed once: :class:`FeatureCache` keys them by a digest of the image tensor the
extractor sees, so a re-ordered, re-batched epoch still hits. When the inputs differ every time
(random augmentation), the cache cannot hit; it then says so in the log (once) instead of only
costing memory silently. Where reuse would be WRONG (random noise, a trainable part before the
cached blocks) :class:`~mmdiffrep.models.backbones.DiffusionUNet` refuses ``cache_features``.
"""
import hashlib
from typing import Callable, Dict, List, Optional

import torch
from mmengine.logging import print_log


def _digest(x: torch.Tensor) -> bytes:
    return hashlib.blake2b(x.detach().contiguous().cpu().numpy().tobytes(),
                           digest_size=16).digest()


class FeatureCache:
    """Per-image cache of ``{block: (T, C, h, w)}`` feature dicts (kept on their device).

    Args:
        max_items: images kept at most (None: no limit); later images are computed, not kept.
        report_every: every this many look-ups the hit rate of that window is logged; a window
            without a single hit while more than a window of images is cached is a warning
            (once): the inputs do not repeat (random augmentation?).
    """

    def __init__(self, max_items: Optional[int] = None, report_every: int = 4096):
        self.max_items, self.report_every = max_items, int(report_every)
        self.store: Dict[bytes, Dict[str, torch.Tensor]] = {}
        self.hits = self.misses = 0
        self._window = [0, 0]  # hits, look-ups of the current window
        self._warned = False

    def __deepcopy__(self, memo):
        return self  # the features of a frozen extractor: one cache for a model and its EMA copy

    def __len__(self) -> int:
        return len(self.store)

    def __call__(self, x: torch.Tensor,
                 compute: Callable[[torch.Tensor], Dict[str, torch.Tensor]]):
        """Features of the batch ``x`` (B, ...) as ``compute`` would give them ({block: (T, B,
        ...)}), computing only the images not cached yet."""
        keys: List[bytes] = [_digest(img) for img in x]
        missing = [i for i, k in enumerate(keys) if k not in self.store]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        self._window[0] += len(keys) - len(missing)
        self._window[1] += len(keys)
        fresh = {}
        if missing:
            out = compute(x[missing])
            for j, i in enumerate(missing):
                fresh[keys[i]] = {b: f[:, j] for b, f in out.items()}
                if self.max_items is None or len(self.store) < self.max_items:
                    self.store[keys[i]] = fresh[keys[i]]
        self._check_hit_rate()
        rows = [self.store[k] if k in self.store else fresh[k] for k in keys]
        return {b: torch.stack([r[b] for r in rows], dim=1) for b in rows[0]}

    def _check_hit_rate(self) -> None:
        hits, looked = self._window
        if looked < self.report_every:
            return
        self._window = [0, 0]
        rate = hits / looked
        print_log(f'feature cache: {len(self.store)} images cached, {100 * rate:.1f} % hits '
                  f'over the last {looked} look-ups', logger='current')
        if rate == 0 and len(self.store) > looked and not self._warned:
            print_log(f'feature cache: no hit in {looked} look-ups with {len(self.store)} images '
                      'cached: the inputs differ every time (random augmentation?), so nothing '
                      'is reused; set cache_features=False to save the memory',
                      logger='current', level=30)
            self._warned = True

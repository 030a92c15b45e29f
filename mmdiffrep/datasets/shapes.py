"""Shapes: mmdiffrep's embedded, procedurally generated dataset.

One image set serves classification, segmentation and keypoint detection, written in each
toolbox's *standard* on-disk format so that their own dataset classes and metrics read it:

* mmpretrain ``CustomDataset``: ``annotations/cls_{split}.txt`` (``file label`` lines) over
  ``images/{split}/``;
* mmseg ``BaseSegDataset``: ``images/{split}/*.png`` with label maps ``masks/{split}/*.png``
  (0 = background, ``k`` = category ``k``), split lists ``annotations/seg_{split}.txt``;
* mmpose ``CocoDataset``: COCO keypoint JSON ``annotations/kpt_{split}.json`` with one
  instance (the main shape) per image and :data:`KEYPOINT_NAMES` landmarks.

Every image shows one *main* shape (its category is the image label) with random colour,
scale, rotation and position over a textured, noisy background, partially occluded by up to
two smaller distractor shapes. Each sample is generated from its own seeded random stream
``(seed, split, index)``, so a split is identical whatever the size of the others, and two
runs with the same arguments write identical bytes.

Example:
    >>> from mmdiffrep.datasets.shapes import generate_shapes
    >>> info = generate_shapes('data/shapes32', size=32, num_train=200)  # doctest: +SKIP
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
from matplotlib.path import Path
from PIL import Image, ImageDraw

#: Shape categories; segmentation label / COCO ``shape_category`` of ``CLASSES[i]`` is ``i + 1``.
CLASSES = ('circle', 'triangle', 'square', 'pentagon', 'star', 'cross')
SEG_CLASSES = ('background', ) + CLASSES
#: Landmarks of the main shape: its centre and the extreme vertices in each image direction.
KEYPOINT_NAMES = ('center', 'top', 'right', 'bottom', 'left')
SKELETON = (('center', 'top'), ('center', 'right'), ('center', 'bottom'), ('center', 'left'),
            ('top', 'right'), ('right', 'bottom'), ('bottom', 'left'), ('left', 'top'))
#: Background textures (ShapesSample.background): a nuisance factor, for probing what a
#: representation encodes besides the shape.
BACKGROUNDS = ('stripes', 'checker', 'blobs')
PALETTE = ((0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
           (245, 130, 48), (145, 30, 180))
SPLITS = ('train', 'val', 'test')
_SPLIT_IDS = {'train': 0, 'val': 1, 'test': 2}
MIN_SIZE = 16


@dataclass
class ShapesSample:
    """One generated image with all of its annotations."""
    image: np.ndarray  # (S, S, 3) uint8
    mask: np.ndarray  # (S, S) uint8, 0 = background, k = CLASSES[k - 1]
    label: int  # index into CLASSES of the main shape
    keypoints: np.ndarray  # (K, 3) float: x, y, visibility (COCO: 0 none, 1 occluded, 2 visible)
    bbox: Tuple[float, float, float, float]  # main shape, x, y, w, h (clipped to the image)
    polygons: List[Tuple[int, np.ndarray]] = field(default_factory=list)  # (category, (N, 2))
    background: int = -1  # index into BACKGROUNDS of the background texture


def shape_polygon(category: int, center: Sequence[float], radius: float,
                  angle: float) -> np.ndarray:
    """Vertices (N, 2) in pixel coordinates (x right, y down) of a shape of ``CLASSES[category]``.

    ``radius`` is the circumradius, ``angle`` the rotation in radians.
    """
    name = CLASSES[category]
    if name == 'circle':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        r = np.ones_like(t)
    elif name in ('triangle', 'square', 'pentagon'):
        n = {'triangle': 3, 'square': 4, 'pentagon': 5}[name]
        t = np.arange(n) * 2 * np.pi / n - np.pi / 2
        r = np.ones_like(t)
    elif name == 'star':
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
    elif name == 'cross':
        w = 0.35  # half width of the arms relative to the radius
        arm = np.array([[w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1], [-w, w],
                        [-1, w], [-1, -w], [-w, -w], [-w, -1]]) / np.hypot(1, w)
        t = np.arctan2(arm[:, 1], arm[:, 0])
        r = np.hypot(arm[:, 0], arm[:, 1])
    else:  # pragma: no cover - CLASSES is closed
        raise ValueError(name)
    t = t + angle
    return np.stack([center[0] + radius * r * np.cos(t), center[1] + radius * r * np.sin(t)], 1)


def _extreme(points: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    values = points[:, axis]
    best = values.max() if largest else values.min()
    return points[np.abs(values - best) < 1e-6].mean(0)


def shape_keypoints(polygon: np.ndarray, center: Sequence[float]) -> np.ndarray:
    """(K, 2) landmarks of :data:`KEYPOINT_NAMES`: centre, top/right/bottom/left-most vertex."""
    return np.stack([
        np.asarray(center, dtype=np.float64),
        _extreme(polygon, 1, False),
        _extreme(polygon, 0, True),
        _extreme(polygon, 1, True),
        _extreme(polygon, 0, False),
    ])


def _covers(polygon: np.ndarray, point: np.ndarray, margin: float) -> bool:
    """Whether ``point`` lies inside ``polygon`` or within ``margin`` px of its outline."""
    a, b = polygon, np.roll(polygon, -1, 0)
    ab, ap = b - a, point - a
    t = np.clip((ap * ab).sum(1) / (ab * ab).sum(1), 0, 1)
    if np.min(np.linalg.norm(a + t[:, None] * ab - point, axis=1)) <= margin:
        return True
    crosses = (a[:, 1] > point[1]) != (b[:, 1] > point[1])
    x_at = a[:, 0] + (point[1] - a[:, 1]) * ab[:, 0] / np.where(ab[:, 1] == 0, 1, ab[:, 1])
    return bool(np.sum(crosses & (x_at > point[0])) % 2)


def _rasterise(polygon: np.ndarray, size: int) -> np.ndarray:
    """Pixels whose centre (integer coordinates, as in cv2 / mmpose) lies inside ``polygon``."""
    yy, xx = np.mgrid[0:size, 0:size]
    centres = np.stack([xx.ravel(), yy.ravel()], 1)
    return Path(polygon).contains_points(centres).reshape(size, size)


def _background(rng: np.random.Generator, size: int) -> Tuple[np.ndarray, int]:
    """A smooth colour gradient plus one of three textures (:data:`BACKGROUNDS`): the image
    and the texture's index."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xx + np.sin(direction) * yy)
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-8)
    img = c0 * (1 - ramp[..., None]) + c1 * ramp[..., None]
    kind = rng.integers(3)
    if kind == 0:  # stripes
        freq, phase, theta = rng.uniform(2, 8), rng.uniform(0, 2 * np.pi), rng.uniform(0, np.pi)
        tex = np.sin(2 * np.pi * freq * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)
    elif kind == 1:  # checker
        cells = rng.integers(2, 8)
        tex = ((np.floor(xx * cells) + np.floor(yy * cells)) % 2) * 2 - 1.0
    else:  # low-frequency blobs
        grid = rng.normal(size=(5, 5))
        tex = np.asarray(Image.fromarray(grid.astype(np.float32)).resize((size, size),
                                                                         Image.BICUBIC))
        tex = tex / (np.abs(tex).max() + 1e-8)
    tint = rng.uniform(-1, 1, 3)
    img = img + rng.uniform(0.05, 0.2) * tex[..., None] * tint
    return img, int(kind)


def _pick_colour(rng: np.random.Generator, against: np.ndarray) -> np.ndarray:
    for _ in range(100):
        colour = rng.uniform(0, 1, 3)
        if np.linalg.norm(colour - against) > 0.45:
            return colour
    return 1.0 - against  # pragma: no cover - practically unreachable


def render_sample(seed: int, split: str, index: int, size: int = 32) -> ShapesSample:
    """Generate sample ``index`` of ``split``; a pure function of its arguments."""
    if size < MIN_SIZE:
        raise ValueError(f'Shapes size must be at least {MIN_SIZE} px, got {size}')
    if split not in _SPLIT_IDS:
        raise ValueError(f'unknown split {split!r}; expected one of {SPLITS}')
    rng = np.random.default_rng([seed, _SPLIT_IDS[split], index])
    img, background = _background(rng, size)

    label = int(rng.integers(len(CLASSES)))
    radius = rng.uniform(0.24, 0.4) * size
    center = rng.uniform(0.32, 0.68, 2) * size
    angle = rng.uniform(0, 2 * np.pi)
    main_poly = shape_polygon(label, center, radius, angle)
    main_area = _rasterise(main_poly, size)
    mask = np.zeros((size, size), np.uint8)
    mask[main_area] = label + 1
    colour = _pick_colour(rng, img[main_area].mean(0) if main_area.any() else img.mean((0, 1)))
    img[main_area] = colour + rng.normal(0, 0.03, 3)
    polygons = [(label, main_poly)]

    occluded = np.zeros((size, size), bool)
    distractors = []
    for _ in range(int(rng.choice(3, p=[0.3, 0.45, 0.25]))):
        cat = int(rng.integers(len(CLASSES)))
        r = rng.uniform(0.1, 0.18) * size
        theta = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(0.6, 1.2) * radius
        c = center + dist * np.array([np.cos(theta), np.sin(theta)])
        poly = shape_polygon(cat, c, r, rng.uniform(0, 2 * np.pi))
        area = _rasterise(poly, size)
        d_colour = _pick_colour(rng, colour)
        # keep at least half of the main shape visible
        if (main_area & ~(occluded | area)).sum() < 0.5 * main_area.sum():
            continue
        occluded |= area
        mask[area] = cat + 1
        img[area] = d_colour
        polygons.append((cat, poly))
        distractors.append(poly)

    img = img + rng.normal(0, rng.uniform(0.02, 0.06), img.shape)
    image = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

    kpts = np.zeros((len(KEYPOINT_NAMES), 3))
    for k, (x, y) in enumerate(shape_keypoints(main_poly, center)):
        xi, yi = int(round(x)), int(round(y))
        if 0 <= xi < size and 0 <= yi < size:
            # occluded: under a distractor or within a pixel of its outline
            hidden = any(_covers(p, np.array([x, y]), 1.0) for p in distractors)
            kpts[k] = (x, y, 1 if hidden else 2)
    x0, y0 = np.clip(main_poly.min(0), 0, size - 1)
    x1, y1 = np.clip(main_poly.max(0), 0, size - 1)
    return ShapesSample(image, mask, label, kpts, (float(x0), float(y0), float(x1 - x0),
                                                   float(y1 - y0)), polygons, background)


def labelled_subset(labels: Sequence[int], fraction: float, seed: int) -> List[int]:
    """Class-stratified indices of a ``fraction`` of a split (at least one per present class)."""
    if not 0 < fraction <= 1:
        raise ValueError(f'labelled fraction must be in (0, 1], got {fraction}')
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 1000, int(round(fraction * 1e6))])
    chosen = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = max(1, int(round(fraction * len(idx))))
        chosen.extend(rng.choice(idx, n, replace=False).tolist())
    return sorted(chosen)


def subset_name(fraction: float) -> str:
    """``0.1 -> 'train_10pct'``, ``0.005 -> 'train_0.5pct'``."""
    pct = fraction * 100
    return f'train_{pct:g}pct'


def coco_categories() -> List[dict]:
    names = list(KEYPOINT_NAMES)
    return [dict(id=1, name='shape', supercategory='shape', keypoints=names,
                 skeleton=[[names.index(a) + 1, names.index(b) + 1] for a, b in SKELETON])]


def _coco(samples: Dict[int, ShapesSample], size: int, split: str) -> dict:
    images, annotations = [], []
    for i, s in samples.items():
        name = f'{i:05d}.png'
        images.append(dict(id=i, file_name=name, height=size, width=size))
        kpts = [round(float(v), 3) for v in s.keypoints.reshape(-1)]
        annotations.append(
            dict(id=i, image_id=i, category_id=1, iscrowd=0,
                 bbox=[round(v, 3) for v in s.bbox],
                 area=float((s.mask == s.label + 1).sum()),
                 num_keypoints=int((s.keypoints[:, 2] > 0).sum()), keypoints=kpts,
                 shape_category=s.label + 1, segmentation=[]))
    return dict(info=dict(description=f'mmdiffrep Shapes ({split}, {size}px)'),
                images=images, annotations=annotations, categories=coco_categories())


def _write_annotations(root: str, name: str, samples: Dict[int, ShapesSample],
                       size: int) -> None:
    ann = osp.join(root, 'annotations')
    with open(osp.join(ann, f'cls_{name}.txt'), 'w') as f:
        f.writelines(f'{i:05d}.png {s.label}\n' for i, s in samples.items())
    with open(osp.join(ann, f'seg_{name}.txt'), 'w') as f:
        f.writelines(f'{i:05d}\n' for i in samples)
    with open(osp.join(ann, f'kpt_{name}.json'), 'w') as f:
        json.dump(_coco(samples, size, name), f, sort_keys=True)


def generate_shapes(root: str,
                    size: int = 32,
                    num_train: int = 2000,
                    num_val: int = 500,
                    num_test: int = 500,
                    labelled_fractions: Sequence[float] = (0.01, 0.1),
                    seed: int = 0,
                    contact_sheet: bool = True,
                    progress: bool = False) -> dict:
    """Write the Shapes dataset under ``root`` and return its metadata (also ``meta.json``).

    Args:
        root: output folder (created).
        size: image side in pixels (>= 16; 32 and 64 are the configs' sizes).
        num_train, num_val, num_test: number of images per split.
        labelled_fractions: fractions of the training split written as extra, class-stratified
            annotation files ``*_train_{pct}pct.*`` (images are shared with ``train``).
        seed: the dataset seed; the same arguments give byte-identical files.
        contact_sheet: also write ``contact_sheet.png`` (images, masks, keypoints).
        progress: show a progress bar.
    """
    counts = dict(train=num_train, val=num_val, test=num_test)
    for split, n in counts.items():
        if n < 1:
            raise ValueError(f'num_{split} must be >= 1, got {n}')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    all_samples = {}
    for split in SPLITS:
        for sub in ('images', 'masks'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
        indices = range(counts[split])
        if progress:
            from tqdm import tqdm
            indices = tqdm(indices, desc=f'Shapes {split}', unit='img')
        samples = {}
        for i in indices:
            s = render_sample(seed, split, i, size)
            Image.fromarray(s.image).save(osp.join(root, 'images', split, f'{i:05d}.png'))
            Image.fromarray(s.mask).save(osp.join(root, 'masks', split, f'{i:05d}.png'))
            s.polygons = []  # not needed any more; keep memory flat
            samples[i] = s
        _write_annotations(root, split, samples, size)
        all_samples[split] = samples

    subsets = {}
    train = all_samples['train']
    for frac in labelled_fractions:
        chosen = labelled_subset([s.label for s in train.values()], frac, seed)
        name = subset_name(frac)
        _write_annotations(root, name, {i: train[i] for i in chosen}, size)
        write_partial_labels(root, name)
        subsets[name] = len(chosen)

    meta = dict(name='Shapes', size=size, seed=seed, classes=list(CLASSES),
                seg_classes=list(SEG_CLASSES), palette=[list(p) for p in PALETTE],
                keypoints=list(KEYPOINT_NAMES), splits=counts, labelled_subsets=subsets)
    with open(osp.join(root, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2, sort_keys=True)
    if contact_sheet:
        draw_contact_sheet([render_sample(seed, 'train', i, size) for i in range(24)],
                           osp.join(root, 'contact_sheet.png'))
    return meta


def draw_contact_sheet(samples: Sequence[ShapesSample], out_file: str, cols: int = 4,
                       cell: int = 96) -> None:
    """Save a PNG: for each sample the image, its mask and its keypoints (green = visible,
    orange = occluded) with the class name."""
    rows = (len(samples) + cols - 1) // cols
    pad, text_h = 4, 12
    w = cols * (3 * cell + 2 * pad) + (cols + 1) * pad * 2
    h = rows * (cell + text_h + pad) + pad
    sheet = Image.new('RGB', (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    palette = np.array(PALETTE, np.uint8)
    for n, s in enumerate(samples):
        r, c = divmod(n, cols)
        x0 = pad * 2 + c * (3 * cell + 4 * pad)
        y0 = pad + r * (cell + text_h + pad)
        size = s.image.shape[0]
        scale = cell / size
        img = Image.fromarray(s.image).resize((cell, cell), Image.NEAREST)
        msk = Image.fromarray(palette[s.mask]).resize((cell, cell), Image.NEAREST)
        kpt = img.copy()
        kd = ImageDraw.Draw(kpt)
        for a, b in SKELETON:
            pa, pb = s.keypoints[KEYPOINT_NAMES.index(a)], s.keypoints[KEYPOINT_NAMES.index(b)]
            if pa[2] > 0 and pb[2] > 0:
                kd.line([((pa[0] + .5) * scale, (pa[1] + .5) * scale),
                         ((pb[0] + .5) * scale, (pb[1] + .5) * scale)], fill=(255, 255, 255))
        for x, y, v in s.keypoints:
            if v > 0:
                cx, cy = (x + .5) * scale, (y + .5) * scale
                kd.ellipse([cx - 3, cy - 3, cx + 3, cy + 3],
                           fill=(0, 255, 0) if v == 2 else (255, 140, 0), outline=(0, 0, 0))
        for k, im in enumerate((img, msk, kpt)):
            sheet.paste(im, (x0 + k * (cell + pad), y0 + text_h))
        draw.text((x0, y0), f'{CLASSES[s.label]}', fill=(0, 0, 0))
    sheet.save(out_file)


def write_partial_labels(root: str, subset: str) -> str:
    """``annotations/cls_{subset}_partial.txt``: every training image, with its label if it is
    in the labelled subset ``cls_{subset}.txt`` and -1 (unlabelled) otherwise. A learned
    timestep policy distilling on all images reads its reward labels from it, so a few-label
    regime's reward sees only that regime's labels. Returns the file's path."""
    ann = osp.join(root, 'annotations')
    with open(osp.join(ann, f'cls_{subset}.txt')) as f:
        labelled = dict(line.split() for line in f if line.strip())
    out = osp.join(ann, f'cls_{subset}_partial.txt')
    with open(osp.join(ann, 'cls_train.txt')) as f, open(out, 'w') as g:
        for line in f:
            if line.strip():
                name = line.split()[0]
                g.write(f'{name} {labelled.get(name, -1)}\n')
    return out


def read_cls_split(root: str, ann_file: str, image_dir: str, limit: int = None) -> tuple:
    """The images (float N x 3 x H x W, RGB, 0-255) and labels of a classification list
    (``annotations/cls_{split}.txt``) in memory, for the analysis tools."""
    import torch
    lines = [line.split() for line in open(osp.join(root, ann_file)) if line.strip()]
    lines = lines[:limit] if limit else lines
    if not lines:
        raise ValueError(f'{osp.join(root, ann_file)} lists no images')
    images = np.stack([np.array(Image.open(osp.join(root, image_dir, f)).convert('RGB'))
                       for f, _ in lines])
    labels = np.array([int(lab) for _, lab in lines])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float(), torch.from_numpy(labels)

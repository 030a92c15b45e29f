"""mmdiffrep data: the procedural Shapes dataset (written in each toolbox's standard format)."""
from .shapes import (CLASSES, KEYPOINT_NAMES, SEG_CLASSES, generate_shapes, read_cls_split,
                     render_sample, shape_keypoints, shape_polygon)

__all__ = ['CLASSES', 'SEG_CLASSES', 'KEYPOINT_NAMES', 'generate_shapes', 'read_cls_split', 'render_sample',
           'shape_polygon', 'shape_keypoints']

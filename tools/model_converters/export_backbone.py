"""Export the trained backbone of a RepFusion or DRL checkpoint as a plain backbone checkpoint.

    python tools/model_converters/export_backbone.py work_dirs/repfusion/iter_600.pth \
        checkpoints/student.pth
    python tools/model_converters/export_backbone.py work_dirs/drl/iter_600.pth \
        checkpoints/drl_encoder.pth

The output holds ``state_dict`` (the backbone's weights, no prefix: load it with
``init_cfg=dict(type='Pretrained', checkpoint='checkpoints/student.pth')`` in any toolbox) and
``meta.export``: the algorithm, the backbone config and how it was trained (RepFusion: teacher,
timestep sampler, distillation pairs; DRL: noise process, t sampling, regulariser), and the
iteration. Which part is exported is the algorithm's own ``backbone_prefix`` (RepFusion
two-stage: ``student.``, one-stage: ``architecture.backbone.``; DRL: ``encoder.``, the code head
and noise model stay behind; a time-conditioned encoder exports as a whole and loads into
``mmdiffrep.TimeConditionedEncoder(t=...)``): read from the algorithm named by the checkpoint's
config, else found among the registered algorithms' ``BACKBONE_PREFIXES``, or given with
``--prefix``. The stored config is READ, never executed (plain values only).
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401  (checkpoint allow-list for torch.load)
from mmdiffrep.registry import MODELS  # noqa: E402
from mmdiffrep.utils import register_all_modules  # noqa: E402
from mmdiffrep.utils.checkpoints import ema_weights  # noqa: E402
from mmdiffrep.utils.config import read_config_text, refuse_overwrite  # noqa: E402


def stored_model_cfg(checkpoint: dict) -> dict:
    """The ``model`` of the config stored in the checkpoint, read without executing it."""
    text = checkpoint.get('meta', {}).get('cfg')
    return dict(read_config_text(text).get('model') or {}) if text else {}


def known_prefixes(model_cfg: dict) -> tuple:
    """Backbone prefixes: the configured algorithm's, else those of every registered one."""
    register_all_modules(init_default_scope=False)
    name = str(model_cfg.get('type', '')).split('.')[-1]
    cls = MODELS.module_dict.get(name)
    if cls is not None and hasattr(cls, 'backbone_prefix_for'):
        return (cls.backbone_prefix_for(model_cfg), )
    return tuple(p for c in MODELS.module_dict.values()
                 for p in getattr(c, 'BACKBONE_PREFIXES', ()))


def extract(checkpoint: dict, ema: bool = False, prefix: str = None):
    """(backbone state dict, prefix it had) of a RepFusion or DRL training checkpoint;
    ``ema``: the EMAHook's averaged weights (``ema_state_dict``) instead of the raw ones."""
    if ema:
        state = ema_weights(checkpoint, '--ema: export the raw weights without --ema')
    else:
        state = checkpoint.get('state_dict', checkpoint)
    prefixes = (prefix, ) if prefix else known_prefixes(stored_model_cfg(checkpoint))
    for p in prefixes:
        part = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
        if part:
            return part, p
    raise ValueError('no backbone weights in this checkpoint: expected keys starting with '
                     f'{" or ".join(prefixes)} (is it a RepFusion or DRL checkpoint? else '
                     'give --prefix)')


def describe(checkpoint: dict) -> dict:
    """How the backbone was trained, read (not executed) from the config saved in the
    checkpoint."""
    meta = checkpoint.get('meta', {})
    info = dict(iter=meta.get('iter'), epoch=meta.get('epoch'))
    model = stored_model_cfg(checkpoint)
    if model:
        info['algorithm'] = model.get('type')
        if 'encoder' in model:  # DRL
            info.update(backbone=model.get('encoder'), sde=model.get('sde', 've'),
                        t_sampling=model.get('t_sampling'),
                        regularizer=model.get('regularizer', 'l1'),
                        score_weight=model.get('score_weight', 1.0))
        else:  # RepFusion
            info.update(
                backbone=model.get('student') or model.get('architecture', {}).get('backbone'),
                teacher=model.get('teacher'), timestep_sampler=model.get('timestep_sampler'),
                teacher_input=model.get('teacher_input', 'clean'),
                distill_pairs=model.get('distill_pairs'))
    # plain JSON types: the file then loads with torch.load(weights_only=True)
    return json.loads(json.dumps(info, default=str))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a RepFusion or DRL training checkpoint')
    parser.add_argument('out', help='output .pth')
    parser.add_argument('--prefix', help='the backbone\'s key prefix (default: the algorithm\'s)')
    parser.add_argument('--ema', action='store_true',
                        help="export the EMAHook's averaged weights (e.g. the CIFAR DRL configs)")
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    args = parser.parse_args(argv)
    refuse_overwrite(args.out, args.overwrite, 'an exported backbone')
    checkpoint = torch.load(args.checkpoint, map_location='cpu')
    backbone, prefix = extract(checkpoint, args.ema, args.prefix)
    meta = dict(export=dict(describe(checkpoint), source=osp.abspath(args.checkpoint),
                            prefix=prefix, weights='ema' if args.ema else 'raw'))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(dict(state_dict=backbone, meta=meta), args.out)
    n = sum(v.numel() for v in backbone.values())
    print(f'{len(backbone)} tensors ({n / 1e6:.2f}M values) under {prefix!r} -> {args.out}')


if __name__ == '__main__':
    main()

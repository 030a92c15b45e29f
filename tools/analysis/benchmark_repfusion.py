"""Cost of a RepFusion training iteration and size of its checkpoint, as ratios measured side
by side in one run.

    python tools/analysis/benchmark_repfusion.py [--config CONFIG] [--batch 64] [--repeats 10]

(a) one RepFusion iteration (sampler, teacher, student, connectors, losses, backward, step) vs
    the sum of its two unavoidable parts timed alone: the teacher's forward truncated at the
    distilled blocks + the student's forward/backward/step (target <= 1.15); for the fixed
    timestep of CONFIG and for the learned policy (which adds its own network and update);
(b) the distillation checkpoint's model weights vs the student's own weights (target <= 1.05),
    and the full training checkpoint with optimizer state for information.
Times are the best of ``--repeats`` interleaved runs. Default: the Shapes distillation config
(shipped teacher, CIFAR-style ResNet-18), its teacher at 32 px.
"""
import argparse
import copy
import io
import os.path as osp
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmdiffrep  # noqa: E402,F401
from mmdiffrep.registry import MODELS  # noqa: E402

CONFIG = ('configs/repfusion/'
          'repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py')


def nbytes(obj) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def build(model_cfg, policy: bool):
    cfg = copy.deepcopy(model_cfg)
    if policy:
        cfg['timestep_sampler'] = dict(type='mmdiffrep.LearnedTimestepPolicy', num_classes=6,
                                       candidates=list(range(0, 1000, 10)))
    model = MODELS.build(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, opt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=10)
    args = parser.parse_args(argv)
    from mmengine.config import Config
    from mmpretrain.structures import DataSample
    model_cfg = Config.fromfile(args.config).model.to_dict()
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    labels = [DataSample().set_gt_label(i % 6) for i in range(args.batch)]

    results = {}
    for policy in (False, True):
        model, opt = build(model_cfg, policy)
        teacher, student = model.teacher, model.student
        t = torch.zeros(args.batch, dtype=torch.long)
        s_opt = torch.optim.AdamW(student.parameters(), lr=1e-3)

        def repfusion_iter():
            losses = model.loss(x, labels)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        def teacher_only():
            with torch.no_grad():
                teacher(x, timesteps=t)

        def student_only():
            outs = student(x)
            sum(o.float().pow(2).mean() for o in outs).backward()
            s_opt.step()
            s_opt.zero_grad(set_to_none=True)

        for fn in (repfusion_iter, teacher_only, student_only):
            fn()  # warm-up
        best = dict(rf=float('inf'), teacher=float('inf'), student=float('inf'))
        for _ in range(args.repeats):  # interleaved: drifts hit all three alike
            for key, fn in (('rf', repfusion_iter), ('teacher', teacher_only),
                            ('student', student_only)):
                start = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - start)
        results['learned policy' if policy else 'fixed t'] = best
        if not policy:
            model_bytes = nbytes(model.state_dict())
            student_bytes = nbytes(student.state_dict())
            full_bytes = nbytes(dict(state_dict=model.state_dict(), optimizer=opt.state_dict()))
        else:
            policy_bytes = nbytes(model.state_dict())

    print(f'RepFusion cost, {osp.basename(args.config)}, batch {args.batch}, {args.size} px, '
          f'{torch.get_num_threads()} threads, best of {args.repeats}:')
    print('| timestep sampler | RepFusion iteration (s) | teacher truncated fwd (s) | '
          'student fwd/bwd/step (s) | ratio (target <= 1.15) |')
    print('|---|---|---|---|---|')
    for name, b in results.items():
        ratio = b['rf'] / (b['teacher'] + b['student'])
        print(f'| {name} | {b["rf"]:.3f} | {b["teacher"]:.3f} | {b["student"]:.3f} | '
              f'{ratio:.3f} |')
    print('\n| checkpoint | bytes | vs student weights (target <= 1.05) |')
    print('|---|---|---|')
    for name, n in (('student weights alone', student_bytes),
                    ('RepFusion model weights, fixed t', model_bytes),
                    ('RepFusion model weights, learned policy (+ its Adam state)', policy_bytes),
                    ('training checkpoint incl. AdamW state, fixed t', full_bytes)):
        print(f'| {name} | {n:,} | {n / student_bytes:.3f} |')


if __name__ == '__main__':
    main()

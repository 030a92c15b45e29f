"""The analysis tools on the test Shapes data with a tiny random U-Net."""
import csv
import math
import os
import os.path as osp
import statistics
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mmdiffrep.evaluation import knn_accuracy, linear_probe_accuracy

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                            'analysis'))
import probe_sweep  # noqa: E402
import sample_quality  # noqa: E402
import visualize_features  # noqa: E402

TINY = """unet_cfg = dict(type='UNet2DModel', sample_size=32, block_out_channels=(8, 16),
    layers_per_block=1, norm_num_groups=4, down_block_types=('DownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'UpBlock2D'))
"""


def test_pca_rgb_recovers_the_dominant_direction():
    torch.manual_seed(0)
    pattern = torch.linspace(-1, 1, 8).view(1, 1, 1, 8).expand(2, 1, 8, 8)
    direction = torch.randn(1, 16, 1, 1)
    feats = 10 * pattern * direction + 0.01 * torch.randn(2, 16, 8, 8)
    rgb = visualize_features.pca_rgb(feats)
    assert rgb.shape == (2, 3, 8, 8) and rgb.min() >= 0 and rgb.max() <= 1
    corr = np.corrcoef(rgb[:, 0].flatten(), pattern.flatten())[0, 1]
    assert abs(corr) > 0.99


def test_probe_sweep_writes_csv_and_heatmap(tmp_path, shapes_root):
    cfg = tmp_path / 'unet.py'
    cfg.write_text(TINY)
    out = tmp_path / 'sweep'
    probe_sweep.main(['--unet-config', str(cfg), '--data', shapes_root, '--blocks', 'down.0',
                      'mid', '--timesteps', '0', '10', '--out-dir', str(out)])
    rows = list(csv.DictReader(open(out / 'probe_sweep.csv')))
    assert [(r['block'], r['timestep']) for r in rows] == [('down.0', '0'), ('down.0', '10'),
                                                           ('mid', '0'), ('mid', '10')]
    assert all(0 <= float(r['val_top1']) <= 100 for r in rows)
    assert Image.open(out / 'probe_sweep.png').size[0] > 100


def test_probe_separates_linearly_separable_features():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (120, ))
    x = torch.randn(120, 5) * 0.1 + torch.nn.functional.one_hot(y, 3).float().repeat(1, 2)[:, :5]
    assert linear_probe_accuracy(x[:80], y[:80], x[80:], y[80:], 3) == 100.0


def test_knn_matches_brute_force_vote():
    torch.manual_seed(0)
    xtr, ytr = torch.randn(50, 4), torch.randint(0, 3, (50, ))
    xva, yva = torch.randn(10, 4), torch.randint(0, 3, (10, ))
    k, temp = 5, 0.1
    right = 0
    for q, label in zip(xva, yva):  # independent: explicit loop over every training point
        sims = [float(torch.dot(q / q.norm(), x / x.norm())) for x in xtr]
        order = sorted(range(50), key=lambda i: -sims[i])[:k]
        votes = [0.0] * 3
        for i in order:
            votes[int(ytr[i])] += math.exp(sims[i] / temp)
        right += int(max(range(3), key=lambda c: votes[c]) == int(label))
    assert knn_accuracy(xtr, ytr, xva, yva, 3, k=k, temperature=temp) == pytest.approx(
        right * 10.0)
    with pytest.raises(ValueError, match='k=60 is larger than the 50'):
        knn_accuracy(xtr, ytr, xva, yva, 3, k=60)


def test_visualize_features_png(tmp_path, shapes_root):
    cfg = tmp_path / 'unet.py'
    cfg.write_text(TINY)
    out = tmp_path / 'f.png'
    visualize_features.main(['--unet-config', str(cfg), '--images',
                             osp.join(shapes_root, 'images', 'val'), '--num', '3', '--blocks',
                             'down.0', 'up.0', '--timesteps', '5', '--tile', '32',
                             '--out', str(out)])
    w, h = Image.open(out).size
    assert w == 3 * 36 + 4 and h == 14 + 3 * 36 + 4  # input + 2 maps, 3 rows


def test_frechet_distance_matches_closed_form():
    """Diagonal Gaussians: FD = |mu1 - mu2|^2 + sum (s1 - s2)^2."""
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (200000, 2))
    b = rng.normal(0, 1, (200000, 2)) * [2.0, 0.5] + [1.0, -2.0]
    expected = 1 + 4 + (1 - 2)**2 + (1 - 0.5)**2
    assert abs(sample_quality.frechet_distance(a, b) - expected) < 0.05
    assert abs(sample_quality.frechet_distance(a, a)) < 1e-6


def test_sample_quality_table(tmp_path, shapes_root, repo_root):
    """End to end with a tiny U-Net folder and an untrained Shapes classifier checkpoint."""
    from diffusers import DDPMScheduler, UNet2DModel
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    UNet2DModel(sample_size=32, block_out_channels=(8, 16), layers_per_block=1,
                norm_num_groups=4, down_block_types=('DownBlock2D', 'DownBlock2D'),
                up_block_types=('UpBlock2D', 'UpBlock2D')).save_pretrained(tmp_path / 'm' / 'unet')
    DDPMScheduler().save_pretrained(tmp_path / 'm' / 'scheduler')
    config = osp.join(repo_root, 'configs/baselines/cls_resnet18-cifar_1xb64-30e_shapes-32x32.py')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        clf = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=clf.state_dict(), meta={}), tmp_path / 'clf.pth')
    out = tmp_path / 'quality'
    sample_quality.main([str(tmp_path / 'm'), '--classifier', config, str(tmp_path / 'clf.pth'),
                         '--data', shapes_root, '--num', '16', '--steps', '2', '--batch', '8',
                         '--out-dir', str(out)])
    table = (out / 'sample_quality.md').read_text().splitlines()
    assert len(table) == 2 + 2  # header, rule, real val, samples
    assert (out / 'samples_m.png').exists()


def test_self_labels_kmeans_recovers_separated_clusters_and_scores_them():
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                                'dataset_converters'))
    import self_labels
    torch.manual_seed(0)
    centres = torch.eye(4) * 10
    truth = torch.arange(200) % 4
    x = centres[truth] + 0.3 * torch.randn(200, 4)
    clusters = self_labels.kmeans(x, 4, seed=0)
    purity, nmi = self_labels.purity_and_nmi(clusters, truth)
    assert purity == 1.0 and nmi == pytest.approx(1.0, abs=1e-6)  # a relabelling of the truth
    purity, nmi = self_labels.purity_and_nmi(torch.zeros(200, dtype=torch.long), truth)
    assert purity == 0.25 and nmi == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match='k=201 must be in'):
        self_labels.kmeans(x, 201)


def test_self_labels_tool_writes_the_toolbox_format(tmp_path, shapes_root, repo_root):
    """A random encoder's clusters in mmpretrain's list format, one line per training image;
    an existing file is not overwritten without --overwrite."""
    import self_labels
    cfg = tmp_path / 'enc.py'
    cfg.write_text("default_scope = 'mmpretrain'\nmodel = dict(backbone=dict("
                   "type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8), "
                   "data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3))\n")
    from mmpretrain.models import ResNet_CIFAR
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in ResNet_CIFAR(
        depth=18, stem_channels=8, base_channels=8).state_dict().items()}), tmp_path / 'w.pth')
    args = [str(cfg), str(tmp_path / 'w.pth'), '--data', shapes_root, '--k', '3',
            '--out', 'annotations/cls_train_self_k3.txt']
    self_labels.main(args)
    lines = open(osp.join(shapes_root, 'annotations/cls_train_self_k3.txt')).read().split('\n')
    names = [ln.split()[0] for ln in open(osp.join(shapes_root, 'annotations/cls_train.txt'))
             if ln.strip()]
    rows = [ln.split() for ln in lines if ln]
    assert [r[0] for r in rows] == names and {int(r[1]) for r in rows} <= {0, 1, 2}
    with pytest.raises(FileExistsError, match='--overwrite'):
        self_labels.main(args)


def test_sample_quality_rcg_rows_load_the_ema_weights(tmp_path, shapes_root, repo_root):
    """--rcg builds both stages from their configs with the checkpoints' EMA weights (not the
    raw ones) and writes one row and grid per guidance scale."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmdiffrep.registry import MODELS as DIFF_MODELS
    from mmpretrain.registry import MODELS
    enc = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8)
    unet = dict(type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
                block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                down_block_types=('DownBlock2D', 'DownBlock2D'),
                up_block_types=('UpBlock2D', 'UpBlock2D'))
    models = dict(
        ddpm=dict(type='mmdiffrep.DDPM', unet_cfg=unet, representation=dict(
            type='mmdiffrep.RepresentationConditioner', encoder=enc),
            # an unprefixed type of the config's default scope, as in the Shapes configs
            data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3,
                                   std=[127.5] * 3)),
        rdm=dict(type='mmdiffrep.RepresentationDiffusion', encoder=enc, width=16, depth=1))
    paths = []
    torch.manual_seed(0)
    for name, cfg in models.items():
        (tmp_path / f'{name}.py').write_text(f"default_scope = 'mmpretrain'\nmodel = {cfg!r}\n")
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = DIFF_MODELS.build(cfg)
        raw = model.state_dict()
        ema = {f'module.{k}': v + 1 if v.is_floating_point() else v for k, v in raw.items()}
        torch.save(dict(state_dict=raw, ema_state_dict=ema), tmp_path / f'{name}.pth')
        paths += [str(tmp_path / f'{name}.py'), str(tmp_path / f'{name}.pth')]
        loaded = sample_quality.load_trained(*paths[-2:])
        for k, v in loaded.state_dict().items():
            torch.testing.assert_close(v, ema[f'module.{k}'])
    config = osp.join(repo_root, 'configs/baselines/cls_resnet18-cifar_1xb64-30e_shapes-32x32.py')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        clf = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=clf.state_dict(), meta={}), tmp_path / 'clf.pth')
    out = tmp_path / 'quality'
    sample_quality.main(['--rcg', *paths, '--classifier', config, str(tmp_path / 'clf.pth'),
                         '--data', shapes_root, '--num', '4', '--steps', '2', '--batch', '4',
                         '--guidance-scales', '0', '2', '--out-dir', str(out)])
    table = (out / 'sample_quality.md').read_text()
    assert 'CFG w=0)' in table and 'CFG w=2)' in table
    assert (out / 'samples_rcg_w0.png').exists() and (out / 'samples_rcg_w2.png').exists()
    # the oracle row: conditioned on the encoder's representations of real val images, which
    # it must read (a spy on the frozen encoder sees exactly those images, in [-1, 1])
    seen = []
    real = torch.rand(4, 3, 32, 32)
    ddpm = sample_quality.load_trained(*paths[:2])
    enc = ddpm.representation.encoder
    orig = enc.forward
    enc.forward = lambda x: seen.append(x) or orig(x)
    imgs = sample_quality.generate_rcg(ddpm, None, 4, 2, 4, 0, 1.0, real)
    assert imgs.shape == (4, 3, 32, 32) and len(seen) == 1
    torch.testing.assert_close(seen[0], real * 2 - 1)
    sample_quality.main(['--rcg', *paths, '--rcg-real-representations', '--classifier', config,
                         str(tmp_path / 'clf.pth'), '--data', shapes_root, '--num', '4',
                         '--steps', '2', '--batch', '4', '--out-dir', str(out)])
    assert 'conditioned on real val representations' in (out / 'sample_quality.md').read_text()
    assert (out / 'samples_rcg_realrep_w1.png').exists()
    with pytest.raises(SystemExit):  # the oracle flag alone would be ignored: refused
        sample_quality.main(['--rcg-real-representations', str(tmp_path / 'm'), '--classifier',
                             config, str(tmp_path / 'clf.pth')])
    with pytest.raises(ValueError, match='not a representation-conditioned DDPM'):
        sample_quality.main(['--rcg', paths[2], paths[3], *paths[2:], '--classifier', config,
                             str(tmp_path / 'clf.pth'), '--data', shapes_root, '--num', '4',
                             '--out-dir', str(out)])


def test_label_efficiency_plot_reads_only_protocol_runs_once(tmp_path):
    """The curve's values are the mean / std of the runs' own test metrics; a run of another
    schedule, an unknown method, and the same run reached through a symlink are not counted."""
    import json
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools'))
    import plot_label_efficiency as tool
    from experiments import regime_options, run_record

    def make(folder, name, value, options):
        run = tmp_path / folder / name
        (run / 'test').mkdir(parents=True)
        (run / 'test' / 'test_metrics.json').write_text(json.dumps({'accuracy/top1': value}))
        (run / 'run_record.json').write_text(json.dumps(run_record('c.py', 0, options)))
        return run

    full, few = regime_options('cls', 'full'), regime_options('cls', '1pct')
    for seed, value in enumerate((96.0, 97.0, 98.5)):
        make('a', f'cls_full_scratch_seed{seed}', value, full)
    make('a', 'cls_1pct_repfusion_seed0', 20.0, few + ['model.backbone.init_cfg.checkpoint=x'])
    make('a', 'cls_full_repfusion_seed0', 50.0, regime_options('cls', 'full', iters=1000))
    make('a', 'cls_full_scratch-2x_seed0', 99.0, regime_options('cls', 'full', iters=4000))
    (tmp_path / 'b').mkdir()
    os.symlink(tmp_path / 'a' / 'cls_full_scratch_seed0', tmp_path / 'b' / 'cls_full_scratch_seed0')
    out = tmp_path / 'curve.png'
    stats = tool.main([str(tmp_path / 'a'), str(tmp_path / 'b'), '--out', str(out)])
    assert {k: v[:3] for k, v in stats.items()} == {
        ('full', 'scratch'): (statistics.mean([96.0, 97.0, 98.5]),
                              statistics.stdev([96.0, 97.0, 98.5]), 3),
        ('1pct', 'repfusion'): (20.0, 0.0, 1)}
    assert out.stat().st_size > 10000  # a PNG with the curves
    _, skipped = tool.collect([str(tmp_path / 'a')], 'cls')
    assert sorted(osp.basename(d) for d, _ in skipped) == ['cls_full_repfusion_seed0',
                                                            'cls_full_scratch-2x_seed0']


def test_label_efficiency_plot_reads_runner_tables(tmp_path):
    """Rows of a runner's results table are plotted with their own mean ± std; a doubled
    table, a row given twice with other values and an unknown method are errors, not silently
    mixed."""
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools'))
    import plot_label_efficiency as tool
    header = ('| task | toolbox | labels | backbone | test metric (best-val checkpoint) | value '
              '| seeds | train min |\n|---|---|---|---|---|---|---|---|\n')
    table = tmp_path / 'results.md'
    table.write_text(header + '| seg | mmseg | 1pct | student from scratch | mIoU (%) | '
                     '15.00 ± 0.32 | 3 | 3.9 |\n| kpt | mmpose | 1pct | student from scratch '
                     '| AP x 100 | 0.87 ± 0.16 | 3 | 4.0 |\n| seg | mmseg | full | frozen '
                     'DiffusionUNet (teacher) + head | mIoU (%) | 40.50 | 1 | 9.0 |\n\nnotes\n')
    out = tmp_path / 'seg.png'
    stats = tool.main(['--task', 'seg', '--tables', str(table), '--out', str(out)])
    assert {k: v[:3] for k, v in stats.items()} == {('1pct', 'scratch'): (15.0, 0.32, 3),
                                                    ('full', 'probe'): (40.5, 0.0, 1)}
    assert out.stat().st_size > 10000
    doubled = tmp_path / 'doubled.md'
    doubled.write_text(table.read_text() + "\nFine-tuning schedule: twice the protocol's (seg"
                       ' 1pct: 600 iterations), the convergence check.\n')
    with pytest.raises(ValueError, match='--doubled'):
        tool.read_tables([str(doubled)], 'seg')
    doubled.write_text(table.read_text() + "\nFine-tuning schedule: 4 times the protocol's (seg"
                       ' 1pct: 1200 iterations), the convergence check.\n')
    with pytest.raises(ValueError, match='longer schedule'):
        tool.read_tables([str(doubled)], 'seg')
    assert tool.read_tables([str(table), str(table)], 'seg') == tool.read_tables(
        [str(table)], 'seg')  # the same rows re-tabulated: read once
    other = tmp_path / 'other.md'
    other.write_text(table.read_text().replace('15.00 ± 0.32', '15.10 ± 0.32'))
    with pytest.raises(ValueError, match=r"given by both .*results.md .*15.0.*other.md .*15.1"):
        tool.read_tables([str(table), str(other)], 'seg')
    bad = tmp_path / 'bad.md'
    bad.write_text(header + '| seg | mmseg | 1pct | student, MAE init | mIoU (%) | 1.0 | 1 | 1 |')
    with pytest.raises(ValueError, match="MAE init"):
        tool.read_tables([str(bad)], 'seg')


def test_merge_results_recomputes_rows_from_the_per_seed_lines(tmp_path):
    """Seeds tabulated by different runner invocations merge into one row whose mean ± std is
    that of the seeds' test values; the same run given twice counts once; a seed given with
    another value, or a --doubled table beside a protocol one, is an error. The plot tool
    reads the merged table."""
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools'))
    import merge_results
    import plot_label_efficiency
    drl = 'student, DRL init (encoder pre-trained without labels)'
    first = tmp_path / 'first.md'
    first.write_text('| summary rows are not read | 99.00 |\n\nPer seed: ...\n'
                     '- seg, full, student from scratch, seed 0: test 83.58; val 75.46 / 84.88\n'
                     f'- seg, full, {drl}, seed 0: test 84.28; val 76.75 / 85.60\n'
                     f'- seg, full, {drl}, seed 1: test 84.20; val not logged\n')
    second = tmp_path / 'second.md'
    second.write_text(f'- seg, full, {drl}, seed 2: test 85.01; val 80.00\n'
                      f'- seg, full, {drl}, seed 1: test 84.20; val not logged\n')
    out = tmp_path / 'merged.md'
    table = merge_results.main([str(first), str(second), '--out', str(out)])
    assert out.read_text() == table + '\n'
    values = [84.28, 84.20, 85.01]
    row = (f'| seg | mmseg | full | {drl} | mIoU (%) | {statistics.mean(values):.2f} ± '
           f'{statistics.stdev(values):.2f} | 3 | seed 0: first.md, seed 1: first.md, '
           'seed 2: second.md |')
    assert row in table.splitlines()
    assert '| seg | mmseg | full | student from scratch | mIoU (%) | 83.58 | 1 | first.md |' \
        in table.splitlines()
    assert f'- seg, full, {drl}, seed 2: test 85.01; val 80.00' in table.splitlines()
    stats = plot_label_efficiency.read_tables([str(out)], 'seg')
    assert stats[('full', 'drl')][2] == 3

    def body(text):  # all but the "from" column (a re-merge reads every seed from one file)
        return [line.rsplit('|', 2)[0] for line in text.split('\n\nMerged')[0].splitlines()]
    assert body(merge_results.merge([str(out)])) == body(table)  # a merged table merges again
    other = tmp_path / 'other.md'
    other.write_text(f'- seg, full, {drl}, seed 2: test 85.10; val 80.00\n')
    with pytest.raises(ValueError, match=r'given by both .*second.md \(test 85.01\) and '
                       r'.*other.md \(test 85.1\)'):
        merge_results.merge([str(second), str(other)])
    doubled = tmp_path / 'doubled.md'
    doubled.write_text(other.read_text().replace('seed 2', 'seed 3') + "\nFine-tuning schedule: "
                       "twice the protocol's (seg full: 8000 iterations), the convergence check.")
    with pytest.raises(ValueError, match='different fine-tuning schedules'):
        merge_results.merge([str(first), str(doubled)])
    assert "twice the protocol's (seg full: 8000" in merge_results.merge([str(doubled)])
    four = tmp_path / 'four.md'
    four.write_text(other.read_text().replace('seed 2', 'seed 4') + "\nFine-tuning schedule: "
                    "4 times the protocol's (seg full: 16000 iterations), the convergence check.")
    with pytest.raises(ValueError, match='different fine-tuning schedules'):
        merge_results.merge([str(doubled), str(four)])
    only = merge_results.merge([str(first), str(second)], methods=['scratch'])
    assert 'DRL' not in only.split('\n\nMerged')[0] and '--methods scratch`' in only
    with pytest.raises(ValueError, match="no per-seed lines of the methods \\['probe'\\]"):
        merge_results.merge([str(first)], methods=['probe'])
    empty = tmp_path / 'empty.md'
    empty.write_text('| no | lines |\n')
    with pytest.raises(ValueError, match='no per-seed lines'):
        merge_results.merge([str(empty)])

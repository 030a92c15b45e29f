"""The label-efficiency protocol of the experiment runners (tools/experiments.py)."""
import argparse
import os
import os.path as osp
import sys
import time
from functools import partial

import pytest
from mmengine.config import Config, DictAction

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools'))
import experiments  # noqa: E402
from experiments import PROTOCOL, REGIMES, best_checkpoint, regime_options  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FINETUNE = {
    'cls': 'configs/repfusion/cls_vgg11-bn_1xb64-600it_shapes10pct-32x32.py',
    'seg': 'configs/repfusion/semfpn_resnet18-cifar_1xb32-1000it_shapes10pct-32x32.py',
    'kpt': 'configs/repfusion/td-hm_resnet18-cifar_1xb64-800it_shapes10pct-32x32.py',
}
PROBES = ['configs/diffusion_unet/linear-probe_diffusion-unet_1xb64-600it_shapes10pct-32x32.py',
          'configs/diffusion_unet/semfpn_diffusion-unet_1xb32-1000it_shapes10pct-32x32.py',
          'configs/diffusion_unet/td-hm_diffusion-unet_1xb64-800it_shapes10pct-32x32.py']


def apply(config, options):
    """What tools/train.py does with --cfg-options (mmengine's own parser and merge)."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


@pytest.mark.parametrize('task', sorted(PROTOCOL))
@pytest.mark.parametrize('regime', sorted(REGIMES))
def test_regime_options_set_subset_schedule_and_selection(task, regime):
    cfg = apply(FINETUNE[task], regime_options(task, regime))
    ann, metric, iters = PROTOCOL[task]
    expected_ann = {'1pct': '_1pct', '10pct': '_10pct', 'full': ''}[regime]
    assert cfg.train_dataloader.dataset.ann_file == ann.format(expected_ann)
    assert osp.basename(cfg.train_dataloader.dataset.ann_file).startswith(f'{task}_train')
    assert cfg.train_cfg.max_iters == iters[regime]
    assert cfg.param_scheduler[-1].end == iters[regime]  # the decay ends with the run
    assert cfg.train_cfg.val_interval * 5 <= iters[regime]
    assert cfg.default_hooks.checkpoint.save_best == metric
    assert cfg.default_hooks.checkpoint.rule == 'greater'


@pytest.mark.parametrize('config', PROBES)
def test_frozen_probe_configs_take_the_same_schedule(config):
    task = {'linear': 'cls', 'semfpn': 'seg', 'td-hm': 'kpt'}[
        osp.basename(config).split('_')[0].split('-probe')[0]]
    cfg = apply(config, regime_options(task, 'full'))
    assert len(cfg.param_scheduler) == 2
    assert cfg.param_scheduler[1].end == cfg.train_cfg.max_iters == PROTOCOL[task][2]['full']


def test_regime_options_reject_unknown_names():
    with pytest.raises(KeyError, match='unknown regime'):
        regime_options('cls', '5pct')
    with pytest.raises(KeyError, match='unknown task'):
        regime_options('det', 'full')


def test_regime_sizes_count_the_images_of_each_labelled_list(tmp_path):
    from mmdiffrep.datasets.shapes import generate_shapes
    root = str(tmp_path / 'shapes32')
    generate_shapes(root, size=32, num_train=120, num_val=6, num_test=6,
                    labelled_fractions=(0.01, 0.1), seed=0, contact_sheet=False)

    def lines(name):
        with open(osp.join(root, 'annotations', f'cls_{name}.txt')) as f:
            return sum(1 for line in f if line.strip())

    sizes = experiments.regime_sizes(root)  # an absolute root is taken as it is
    assert sizes == {'1pct': lines('train_1pct'), '10pct': lines('train_10pct'),
                     'full': lines('train')}
    assert sizes['full'] == 120 and sizes['1pct'] < sizes['10pct'] < 120


def test_best_checkpoint_prefers_the_val_selected_file(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, 'ROOT', str(tmp_path))
    work = tmp_path / 'run'
    work.mkdir()
    (work / 'iter_600.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'iter_600.pth'))
    assert best_checkpoint('run') == str(work / 'iter_600.pth')  # no validation: the last
    (work / 'best_accuracy_top1_iter_240.pth').write_bytes(b'')
    time.sleep(0.01)
    (work / 'best_accuracy_top1_iter_480.pth').write_bytes(b'')
    os.utime(work / 'best_accuracy_top1_iter_240.pth', (1, 1))
    assert best_checkpoint('run') == osp.join('run', 'best_accuracy_top1_iter_480.pth')


def test_reuse_returns_results_only_for_the_same_run(tmp_path, monkeypatch):
    """Regression: --reuse returned an earlier run's metrics without checking its config,
    options or seed."""
    import json
    monkeypatch.setattr(experiments, 'ROOT', str(tmp_path))
    (tmp_path / 'run' / 'test').mkdir(parents=True)
    (tmp_path / 'run' / 'test' / 'test_metrics.json').write_text(json.dumps({'acc': 1.0}))
    (tmp_path / 'run' / 'train_minutes.txt').write_text('2.5')
    with pytest.raises(ValueError, match='no run_record.json'):
        experiments.train_and_test('a.py', 'run', 0, ['x=1'], reuse=True)
    (tmp_path / 'run' / 'run_record.json').write_text(json.dumps(
        experiments.run_record('a.py', 0, ['x=1'])))
    assert experiments.train_and_test('a.py', 'run', 0, ['x=1'], reuse=True) == (
        {'acc': 1.0}, 2.5)
    with pytest.raises(ValueError, match=r"other settings .*'seed': \(0, 1\)"):
        experiments.train_and_test('a.py', 'run', 1, ['x=1'], reuse=True)
    with pytest.raises(ValueError, match="'cfg_options'"):
        experiments.train_and_test('a.py', 'run', 0, ['x=2'], reuse=True)


def _fake_run(tmp_path, monkeypatch):
    """A repository in tmp_path: a config with a _base_, a teacher folder it names, a student
    file passed by option, a data folder; one finished run of it recorded by train()."""
    import json
    monkeypatch.setattr(experiments, 'ROOT', str(tmp_path))
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'configs' / 'base.py').write_text("lr = 0.1\n")
    (tmp_path / 'configs' / 'a.py').write_text(
        "_base_ = ['./base.py']\nteacher = 'ckpt/teacher'\ndata_root = 'data'\n"
        "model = dict(init=dict(checkpoint=None))\n")
    (tmp_path / 'ckpt' / 'teacher' / 'unet').mkdir(parents=True)
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'config.json').write_text('{}')
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'model.safetensors').write_bytes(b'w1')
    (tmp_path / 'student.pth').write_bytes(b's1')
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'img.png').write_bytes(b'x')
    options = ['model.init.checkpoint=student.pth']
    monkeypatch.setattr(experiments, 'run', lambda cmd: None)  # no real training
    experiments.train('configs/a.py', 'run', 0, options)
    (tmp_path / 'run' / 'test').mkdir()
    (tmp_path / 'run' / 'test' / 'test_metrics.json').write_text(json.dumps({'acc': 1.0}))
    return options


def test_reuse_checks_the_inputs_a_run_read(tmp_path, monkeypatch):
    """Regression: --reuse compared only paths and options, so a retrained teacher, a re-run
    pre-training or an edited config (same paths) silently returned the old results."""
    options = _fake_run(tmp_path, monkeypatch)
    reuse = partial(experiments.train_and_test, 'configs/a.py', 'run', 0, options, reuse=True)
    assert reuse()[0] == {'acc': 1.0}
    (tmp_path / 'data' / 'img.png').write_bytes(b'y')  # data and non-weight files: not hashed
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'config.json').write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r'inputs\[ckpt/teacher\]'):  # a model folder's file
        reuse()
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'config.json').write_text('{}')
    assert reuse()[0] == {'acc': 1.0}
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'model.safetensors').write_bytes(b'w2')
    with pytest.raises(ValueError, match=r'inputs\[ckpt/teacher\]'):
        reuse()
    (tmp_path / 'ckpt' / 'teacher' / 'unet' / 'model.safetensors').write_bytes(b'w1')
    (tmp_path / 'student.pth').write_bytes(b's2')  # the weights named by an option
    with pytest.raises(ValueError, match=r'inputs\[student.pth\]'):
        reuse()
    (tmp_path / 'student.pth').unlink()  # gone: no longer found, still a difference
    with pytest.raises(ValueError, match=r"inputs\[student.pth\]': \('[0-9a-f]+', None\)"):
        reuse()
    (tmp_path / 'student.pth').write_bytes(b's1')
    (tmp_path / 'configs' / 'base.py').write_text("lr = 0.2\n")  # an edited _base_
    with pytest.raises(ValueError, match=r'inputs\[config\]'):
        reuse()
    (tmp_path / 'configs' / 'base.py').write_text("lr = 0.1\n")
    assert reuse()[0] == {'acc': 1.0}


def test_reuse_takes_a_renamed_config_only_with_the_same_contents(tmp_path, monkeypatch,
                                                                   capsys):
    """A config renamed after its run (e.g. to match a new schedule name) still reuses the
    run when its merged contents and weights are unchanged; an edit is still refused."""
    options = _fake_run(tmp_path, monkeypatch)
    text = (tmp_path / 'configs' / 'a.py').read_text()
    (tmp_path / 'configs' / 'b.py').write_text(text)
    reuse = partial(experiments.train_and_test, 'configs/b.py', 'run', 0, options, reuse=True)
    assert reuse()[0] == {'acc': 1.0}
    assert 'renamed config' in capsys.readouterr().out
    (tmp_path / 'configs' / 'b.py').write_text(text + 'lr = 0.2\n')  # renamed and edited
    with pytest.raises(ValueError, match=r"'config': \('configs/a.py', 'configs/b.py'\).*"
                                         r"inputs\[config\]"):
        reuse()
    (tmp_path / 'configs' / 'b.py').write_text(text)
    with pytest.raises(ValueError, match="'seed'"):  # a rename with another seed: refused
        experiments.train_and_test('configs/b.py', 'run', 1, options, reuse=True)


def test_reuse_resumes_an_interrupted_training_of_the_same_run(tmp_path, monkeypatch):
    """--reuse after a killed protocol run: the finished trainings are not repeated, the
    interrupted one continues from its checkpoint (tools/train.py --resume) and its minutes
    count both parts; other settings or no checkpoint start anew."""
    import json
    options = _fake_run(tmp_path, monkeypatch)
    commands = []

    def killed(cmd):  # writes a checkpoint and a log line, then dies
        commands.append(cmd)
        (tmp_path / 'run2' / 'iter_10.pth').write_bytes(b'c')
        (tmp_path / 'run2' / 'last_checkpoint').write_text(str(tmp_path / 'run2' / 'iter_10.pth'))
        (tmp_path / 'run2' / 'log.txt').write_text('Iter(train) [10/20]')
        raise RuntimeError('killed')

    monkeypatch.setattr(experiments, 'run', killed)
    with pytest.raises(RuntimeError, match='killed'):
        experiments.train('configs/a.py', 'run2', 0, options, resume=True)
    assert '--overwrite' in commands[-1] and '--resume' not in commands[-1]
    assert experiments.training_state('run2') == 'interrupted'
    start = os.path.getmtime(tmp_path / 'run2' / 'run_record.json')
    os.utime(tmp_path / 'run2' / 'log.txt', (start + 120, start + 120))  # ran for 2 minutes

    with pytest.raises(ValueError, match="'seed'"):  # another run's checkpoint: refused
        experiments.train('configs/a.py', 'run2', 1, options, resume=True)
    (tmp_path / 'student.pth').write_bytes(b's2')  # re-made weights: not the same run
    with pytest.raises(ValueError, match=r'inputs\[student.pth\]'):
        experiments.train('configs/a.py', 'run2', 0, options, resume=True)
    (tmp_path / 'student.pth').write_bytes(b's1')
    monkeypatch.setattr(experiments, 'run', commands.append)
    fingerprints = []
    real_fingerprint = experiments.input_fingerprint
    monkeypatch.setattr(experiments, 'input_fingerprint',
                        lambda *a: fingerprints.append(a) or real_fingerprint(*a))
    minutes = experiments.train('configs/a.py', 'run2', 0, options, resume=True)
    assert len(fingerprints) == 1  # hashed once for the check and the new record
    assert '--resume' in commands[-1] and '--overwrite' not in commands[-1]
    assert commands[-1][commands[-1].index('--work-dir') + 1] == 'run2'
    record = json.loads((tmp_path / 'run2' / 'run_record.json').read_text())
    assert record['resumed'] == 1 and record['minutes_before_resume'] == pytest.approx(2.0)
    assert 2.0 <= minutes < 2.5
    assert float((tmp_path / 'run2' / 'train_minutes.txt').read_text()) == pytest.approx(
        minutes, abs=1e-3)

    calls = len(commands)  # finished: neither trained again nor resumed
    assert experiments.train('configs/a.py', 'run2', 0, options, resume=True) == pytest.approx(
        minutes, abs=1e-3)
    assert len(commands) == calls
    experiments.train('configs/a.py', 'run2', 0, options)  # without resume: a new training
    assert '--overwrite' in commands[-1]
    experiments.train('configs/a.py', 'run3', 0, options, resume=True)  # nothing to resume
    assert '--overwrite' in commands[-1]

    # a new training over a finished one of other settings, killed before its first checkpoint:
    # the old run's weights and test metrics must not pass for the new run's
    (tmp_path / 'run' / 'iter_600.pth').write_bytes(b'old')
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(tmp_path / 'run' / 'iter_600.pth'))
    monkeypatch.setattr(experiments, 'run', lambda cmd: (_ for _ in ()).throw(RuntimeError()))
    with pytest.raises(RuntimeError):
        experiments.train('configs/a.py', 'run', 5, options)  # seed 5, not 0
    assert experiments.training_state('run') == 'none'
    assert not (tmp_path / 'run' / 'test' / 'test_metrics.json').exists()
    assert sorted(os.listdir(tmp_path / 'run')) == ['run_record.json', 'test']
    monkeypatch.setattr(experiments, 'run', commands.append)
    experiments.train('configs/a.py', 'run', 5, options, resume=True)  # --reuse: starts anew
    assert '--overwrite' in commands[-1]


def test_reuse_of_a_record_without_inputs_checks_the_command_line(tmp_path, monkeypatch,
                                                                  capsys):
    """Runs recorded before inputs were fingerprinted stay reusable, with a note saying so."""
    import json
    options = _fake_run(tmp_path, monkeypatch)
    record = tmp_path / 'run' / 'run_record.json'
    record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items()
                                  if k != 'inputs'}))
    (tmp_path / 'student.pth').write_bytes(b's2')
    assert experiments.train_and_test('configs/a.py', 'run', 0, options, reuse=True)[0] == {
        'acc': 1.0}
    assert 'not checked' in capsys.readouterr().out
    with pytest.raises(ValueError, match="'seed'"):
        experiments.train_and_test('configs/a.py', 'run', 1, options, reuse=True)


def test_runs_in_parallel_fingerprint_configs_with_package_bases_safely():
    """Regression: run_jobs' threads loading configs with `mmpose::` bases at the same time
    raced in pkg_resources (TypeError 'Expected str, Requirement, or Distribution', which
    stopped a protocol run). A fresh interpreter, where that state is not yet built."""
    import subprocess
    code = ("import sys, threading; sys.path.insert(0, 'tools'); import experiments\n"
            "errors = []\n"
            "def go():\n"
            "    try:\n"
            "        experiments.input_fingerprint(sys.argv[1], [])\n"
            "    except Exception as e:\n"
            "        errors.append(repr(e))\n"
            "threads = [threading.Thread(target=go) for _ in range(4)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "assert not errors, errors\n")
    for config in (FINETUNE['kpt'], FINETUNE['seg']):
        subprocess.run([sys.executable, '-c', code, config], cwd=ROOT, check=True)


@pytest.mark.parametrize('key', ['cls', 'seg', 'kpt'])
def test_doubled_baseline_options_double_the_whole_schedule(key):
    """run_baselines --doubled: twice the length AND the LR schedule's length, the same number
    of validations, against the baseline config read by mmengine itself."""
    import run_baselines
    config = run_baselines.BASELINES[key][1]
    base = Config.fromfile(osp.join(ROOT, config))
    doubled = apply(config, run_baselines.DOUBLED[key])
    length = 'max_iters' if 'max_iters' in base.train_cfg else 'max_epochs'
    assert doubled.train_cfg[length] == 2 * base.train_cfg[length]
    assert doubled.train_cfg.val_interval == 2 * base.train_cfg.val_interval
    for before, after in zip(base.param_scheduler, doubled.param_scheduler):
        for field in ('total_steps', 'T_max'):
            if field in before:
                assert after[field] == 2 * before[field], field
        if before.get('end', 0) > 100:  # the decay (the warm-up keeps its length)
            assert after['end'] == 2 * before['end']
    if key == 'cls':  # OneCycleLR counts iterations: 32 per epoch on 2000 images, batch 64
        assert base.param_scheduler[0].total_steps == base.train_cfg.max_epochs * 32


def test_run_baselines_doubled_reports_the_gain(tmp_path, monkeypatch, capsys):
    import run_baselines
    calls = []

    def fake_train_and_test(config, work_dir, seed, cfg_options=(), reuse=False):
        calls.append((work_dir, seed, list(cfg_options)))
        return {'mIoU': 70.0 + seed + (0.5 if cfg_options else 0.0)}, 1.0

    monkeypatch.setattr(run_baselines, 'train_and_test', fake_train_and_test)
    monkeypatch.setattr(run_baselines, 'write_table', lambda *a: None)
    run_baselines.main(['--only', 'seg', '--seeds', '0', '1', '--doubled',
                        '--work-dir', str(tmp_path)])
    assert [c[0] for c in calls] == [osp.join(str(tmp_path), n) for n in
                                     ('seg_seed0', 'seg_2x_seed0', 'seg_seed1', 'seg_2x_seed1')]
    assert calls[1][2] == run_baselines.DOUBLED['seg'] and calls[0][2] == []
    out = capsys.readouterr().out
    assert 'gain of x2' in out and '| 70.50 ± 0.71 | 71.00 ± 0.71 | 0.50 ± 0.00 |' in out
    calls.clear()  # the same runs two at a time: the same table
    run_baselines.main(['--only', 'seg', '--seeds', '0', '1', '--doubled', '--jobs', '2',
                        '--work-dir', str(tmp_path)])
    assert sorted(c[0] for c in calls) == sorted(osp.join(str(tmp_path), n) for n in (
        'seg_seed0', 'seg_2x_seed0', 'seg_seed1', 'seg_2x_seed1'))
    assert '| 70.50 ± 0.71 | 71.00 ± 0.71 | 0.50 ± 0.00 |' in capsys.readouterr().out


def test_drl_method_pretrains_the_student_and_fine_tunes_it_from_scratch_config(
        tmp_path, monkeypatch):
    """run_repfusion --methods scratch drl: one DRL pre-training per seed (no labels), its
    exported encoder initialises the scratch config's backbone, same protocol options."""
    import run_repfusion
    trained, tested, exported = [], [], []
    monkeypatch.setattr(run_repfusion, 'train', lambda config, work, seed, options, resume:
                        trained.append((config, work)) or 1.0)
    monkeypatch.setattr(run_repfusion, 'run', lambda cmd: exported.append(cmd))
    monkeypatch.setattr(run_repfusion, 'last_checkpoint', lambda work: work + '/iter_600.pth')

    def fake_train_and_test(config, work, seed, options, reuse=False):
        tested.append((config, work, list(options)))
        return {'accuracy/top1': 50.0}, 1.0

    monkeypatch.setattr(run_repfusion, 'train_and_test', fake_train_and_test)
    monkeypatch.setattr(run_repfusion, 'write_table', lambda *a: None)
    run_repfusion.main(['--methods', 'scratch', 'drl', '--regimes', '1pct', '--seeds', '3',
                        '--work-dir', str(tmp_path)])
    assert trained == [(run_repfusion.PRETRAIN_DRL['cls'], osp.join(str(tmp_path),
                                                                     'drl_vgg11-bn_seed3'))]
    encoder = osp.join(str(tmp_path), 'drl_vgg11-bn_seed3', 'student.pth')
    assert exported[0][-2:] == [encoder, '--overwrite']
    scratch, drl = tested
    assert scratch[0] == drl[0] == run_repfusion.TASKS['cls'][3]['scratch']
    assert drl[2][:len(scratch[2])] == scratch[2] == regime_options('cls', '1pct')
    assert drl[2][len(scratch[2]):] == ['model.backbone.init_cfg.type=Pretrained',
                                        f'model.backbone.init_cfg.checkpoint={encoder}',
                                        'model.backbone.init_cfg.prefix=None']
    # a task whose student has no DRL config is refused before anything runs
    monkeypatch.setattr(run_repfusion, 'PRETRAIN_DRL', {'cls': run_repfusion.PRETRAIN_DRL['cls']})
    trained.clear()
    with pytest.raises(SystemExit):
        run_repfusion.main(['--methods', 'drl', '--tasks', 'seg', '--work-dir', str(tmp_path)])
    assert trained == []


def test_drl_pretrains_one_encoder_per_seed_for_seg_and_kpt(tmp_path, monkeypatch):
    """seg and kpt share their student (the CIFAR ResNet-18), so one DRL pre-training per
    seed initialises both fine-tunes."""
    import run_repfusion
    trained, tested = [], []
    monkeypatch.setattr(run_repfusion, 'train',
                        lambda config, work, seed, options, resume: trained.append(config) or 1.0)
    monkeypatch.setattr(run_repfusion, 'run', lambda cmd: None)
    monkeypatch.setattr(run_repfusion, 'last_checkpoint', lambda work: work + '/iter_600.pth')
    monkeypatch.setattr(run_repfusion, 'regime_sizes', lambda: {'10pct': 200})
    monkeypatch.setattr(run_repfusion, 'write_table', lambda *a: None)
    monkeypatch.setattr(run_repfusion, 'train_and_test', lambda c, w, s, o, reuse=False: (
        tested.append((c, o)) or ({'mIoU': 20.0, 'coco/AP': 0.3}, 1.0)))
    run_repfusion.main(['--tasks', 'seg', 'kpt', '--methods', 'drl', '--seeds', '0',
                        '--work-dir', str(tmp_path)])
    assert trained == [run_repfusion.PRETRAIN_DRL['seg']] == [run_repfusion.PRETRAIN_DRL['kpt']]
    assert [c for c, _ in tested] == [run_repfusion.TASKS[t][3]['scratch'] for t in ('seg', 'kpt')]
    encoder = osp.join(str(tmp_path), 'drl_resnet18-cifar-w32_seed0', 'student.pth')
    assert all(f'model.backbone.init_cfg.checkpoint={encoder}' in o for _, o in tested)


@pytest.mark.parametrize('task,scope', [('cls', 'mmpretrain'), ('seg', 'mmseg'),
                                        ('kpt', 'mmpose')])
def test_drl_encoder_export_loads_into_the_scratch_student(tmp_path, task, scope):
    """The options the runner adds put an exported DRL encoder's weights into the task's
    scratch config's backbone, every tensor and no key left over."""
    import torch

    import mmdiffrep  # noqa: F401
    from mmdiffrep.registry import MODELS
    from mmengine.registry import DefaultScope
    import run_repfusion
    drl_cfg = Config.fromfile(osp.join(ROOT, run_repfusion.PRETRAIN_DRL[task]))
    with DefaultScope.overwrite_default_scope('mmdiffrep'):
        drl = MODELS.build(drl_cfg.model)
    encoder_file = str(tmp_path / 'encoder.pth')
    torch.save(dict(state_dict=drl.encoder.state_dict()), encoder_file)
    cfg = apply(run_repfusion.TASKS[task][3]['scratch'],
                ['model.backbone.init_cfg.type=Pretrained',
                 f'model.backbone.init_cfg.checkpoint={encoder_file}',
                 'model.backbone.init_cfg.prefix=None'])
    with DefaultScope.overwrite_default_scope(scope):
        backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    loaded, expected = backbone.state_dict(), drl.encoder.state_dict()
    assert set(loaded) == set(expected)
    for name, value in expected.items():
        assert torch.equal(loaded[name], value), name


def test_run_jobs_runs_independent_jobs_together_and_waits_for_dependencies():
    """Two workers: the distillation and the scratch baseline run at the same time (each sees
    the other started), the RepFusion fine-tune starts only after the distillation ended; one
    worker: strictly the listed order."""
    import threading
    for workers in (2, 1):
        started = {name: threading.Event() for name in ('distill', 'scratch')}
        order = []

        def job(name, other=None):
            def fn():
                order.append(('start', name))
                if other:
                    started[name].set()
                    saw_other = started[other].wait(timeout=0.5 if workers == 1 else 10)
                order.append(('end', name))
                return saw_other if other else name
            return fn

        jobs = [experiments.Job('distill', 'distil', job('distill', 'scratch')),
                experiments.Job('repfusion', 'fine-tune', job('repfusion'), deps=('distill', )),
                experiments.Job('scratch', 'baseline', job('scratch', 'distill'))]
        results = experiments.run_jobs(jobs, workers=workers)
        assert results == {'distill': workers == 2, 'scratch': True, 'repfusion': 'repfusion'}
        assert order.index(('start', 'repfusion')) > order.index(('end', 'distill'))
        if workers == 1:
            assert [name for what, name in order if what == 'start'] == \
                ['distill', 'repfusion', 'scratch']


def test_run_jobs_sends_child_output_to_each_jobs_log(tmp_path, capfd):
    def child(word):
        return lambda: experiments.run([sys.executable, '-c', f'print("{word}")'])

    logs = [str(tmp_path / name / 'output.log') for name in ('a', 'b')]
    experiments.run_jobs([experiments.Job('a', 'a', child('alpha'), log=logs[0]),
                          experiments.Job('b', 'b', child('beta'), log=logs[1])], workers=2)
    out = capfd.readouterr().out
    assert 'alpha' in open(logs[0]).read() and 'beta' not in open(logs[0]).read()
    assert 'beta' in open(logs[1]).read()
    assert 'alpha\n' not in out and 'beta\n' not in out and 'output: ' + logs[0] in out
    failing = experiments.Job('c', 'c', lambda: experiments.run(
        [sys.executable, '-c', 'import sys; print("boom"); sys.exit(3)']), log=logs[0])
    with pytest.raises(RuntimeError, match=r'failed \(exit 3\).*a/output.log'):
        experiments.run_jobs([failing], workers=2)
    assert 'boom' in open(logs[0]).read()


def test_run_jobs_stops_starting_after_a_failure_and_rejects_bad_plans():
    ran = []

    def fail():
        raise ValueError('bad run')

    jobs = [experiments.Job('pre', 'pre', fail),
            experiments.Job('slow', 'slow', lambda: time.sleep(0.2) or ran.append('slow')),
            experiments.Job('post', 'post', lambda: ran.append('post'), deps=('pre', )),
            experiments.Job('later', 'later', lambda: ran.append('later'))]
    with pytest.raises(ValueError, match='bad run'):
        experiments.run_jobs(jobs, workers=2)
    assert ran == ['slow']  # the running one finished, nothing new started
    with pytest.raises(ValueError, match="dependencies \\['x'\\] are not jobs"):
        experiments.run_jobs([experiments.Job('a', 'a', int, deps=('x', ))])
    with pytest.raises(ValueError, match='duplicate job keys'):
        experiments.run_jobs([experiments.Job('a', 'a', int), experiments.Job('a', 'b', int)])
    with pytest.raises(ValueError, match='wait on each other'):
        experiments.run_jobs([experiments.Job('a', 'a', int, deps=('b', )),
                              experiments.Job('b', 'b', int, deps=('a', ))])
    with pytest.raises(ValueError, match='workers must be >= 1, got 0'):
        experiments.run_jobs([experiments.Job('a', 'a', int)], workers=0)


def test_run_repfusion_jobs_plan_of_the_main_job(tmp_path, monkeypatch):
    """--jobs 2: the RepFusion fine-tune waits on the distillation it loads, scratch and the
    probe wait on nothing, each run logs into its own work dir; the table is unchanged."""
    import run_repfusion
    plans = []
    real_run_jobs = run_repfusion.run_jobs

    def spy(jobs, workers, name):
        plans.append((list(jobs), workers))
        return real_run_jobs(jobs, workers, name)

    monkeypatch.setattr(run_repfusion, 'run_jobs', spy)
    monkeypatch.setattr(run_repfusion, 'train', lambda config, work, seed, options, resume: 1.0)
    monkeypatch.setattr(run_repfusion, 'run', lambda cmd: None)
    monkeypatch.setattr(run_repfusion, 'last_checkpoint', lambda work: work + '/iter_600.pth')
    monkeypatch.setattr(run_repfusion, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: ({'accuracy/top1': 40.0 + seed}, 2.0))
    tables = {}
    monkeypatch.setattr(run_repfusion, 'write_table',
                        lambda work, name, text: tables.__setitem__(name, text))
    # the data is not generated here (make test does not need it): its subset sizes
    monkeypatch.setattr(run_repfusion, 'regime_sizes',
                        lambda: {'1pct': 18, '10pct': 200, 'full': 2000})
    run_repfusion.main(['--jobs', '2', '--seeds', '0', '1', '--work-dir', str(tmp_path)])
    (jobs, workers), = plans
    assert workers == 2
    deps = {job.key: job.deps for job in jobs}
    distill = ('distill', run_repfusion.DISTILL['cls'], 0)
    assert deps[('cls', '10pct', 'repfusion', 0)] == (distill, )
    assert deps[('cls', '10pct', 'scratch', 0)] == deps[('cls', '10pct', 'probe', 0)] == ()
    assert deps[distill] == ()
    work = {job.key: job.log for job in jobs}
    assert work[('cls', '10pct', 'probe', 1)] == osp.join(
        ROOT, str(tmp_path), 'cls_10pct_probe_seed1', 'output.log')
    assert '| 40.50 ± 0.71 | 2 | 2.0 |' in tables['results.md']
    assert len(tables['commands.txt'].splitlines()) == len(jobs) == 8
    assert 'Labels: 1pct = 18, 10pct = 200, full = 2000 images.' in tables['results.md']
    # fine-tunes regime by regime, so an interrupted run leaves whole rows
    run_repfusion.main(['--jobs', '2', '--seeds', '0', '1', '--regimes', '1pct', '10pct',
                        '--work-dir', str(tmp_path)])
    fine_tunes = [job.key for job in plans[-1][0] if job.key[0] == 'cls']
    assert [key[1] for key in fine_tunes] == ['1pct'] * 6 + ['10pct'] * 6
    assert [key[3] for key in fine_tunes[:6]] == [0, 0, 0, 1, 1, 1]
    with pytest.raises(SystemExit):
        run_repfusion.main(['--jobs', '0', '--work-dir', str(tmp_path)])


def test_run_repfusion_longer_schedules_multiply_the_protocol_schedule(tmp_path, monkeypatch):
    import run_repfusion
    tested, tables = [], {}
    monkeypatch.setattr(run_repfusion, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: tested.append((work, options)) or ({'coco/AP': 0.5}, 1.0))
    monkeypatch.setattr(run_repfusion, 'write_table',
                        lambda work, name, text: tables.__setitem__(name, text))
    run_repfusion.main(['--tasks', 'kpt', '--regimes', 'full', '--methods', 'scratch',
                        '--doubled', '--work-dir', str(tmp_path)])
    (work, options), = tested
    assert work == osp.join(str(tmp_path), 'kpt_full_scratch-2x_seed0')
    cfg = apply(run_repfusion.TASKS['kpt'][3]['scratch'], options)
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[-1].end == 2 * PROTOCOL['kpt'][2]['full']
    assert '| 50.00 |' in tables['results.md'] and 'kpt full: 2000 iterations' in tables['results.md']
    tested.clear()
    run_repfusion.main(['--tasks', 'kpt', '--regimes', 'full', '--methods', 'scratch',
                        '--schedule-factor', '4', '--work-dir', str(tmp_path)])
    (work, options), = tested
    assert work == osp.join(str(tmp_path), 'kpt_full_scratch-4x_seed0')
    cfg = apply(run_repfusion.TASKS['kpt'][3]['scratch'], options)
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[-1].end == 4 * PROTOCOL['kpt'][2]['full']
    assert cfg.train_cfg.val_interval == 4 * PROTOCOL['kpt'][2]['full'] // 5
    assert "4 times the protocol's (kpt full: 4000 iterations)" in tables['results.md']
    for bad in (['--schedule-factor', '0'], ['--doubled', '--schedule-factor', '4']):
        with pytest.raises(SystemExit):
            run_repfusion.main(['--tasks', 'kpt', '--work-dir', str(tmp_path)] + bad)


def test_parallel_jobs_show_the_progress_lines_of_their_logs(tmp_path, capsys):
    """While jobs run in parallel the terminal gets each one's last mmengine progress line."""
    import threading
    log = tmp_path / 'run' / 'output.log'
    release = threading.Event()

    def job():
        log.parent.mkdir(exist_ok=True)
        log.write_text('12/02 01:30:42 - mmengine - INFO - Iter(train) [  20/2000]  lr: 1.7e-02'
                       '  eta: 0:23:04  time: 0.7171  data_time: 0.0198  loss: 1.7806\n')
        release.wait(timeout=10)

    timer = threading.Timer(0.5, release.set)
    timer.start()
    experiments.run_jobs([experiments.Job('a', 'distil', job, log=str(log)),
                          experiments.Job('b', 'other', lambda: None)], workers=2,
                         progress_every=0.1)
    out = capsys.readouterr().out
    assert 'distil: Iter(train) [  20/2000]  eta: 0:23:04' in out
    assert experiments.last_progress_line(str(tmp_path / 'missing.log')) == 'starting'


def test_run_jobs_sets_the_children_threads_only_for_its_own_call(monkeypatch):
    """Two workers give each child cpu_count // 2 OpenMP threads while they run; the caller's
    environment is as before afterwards (unset stays unset, a user's value is kept)."""
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    seen = experiments.run_jobs([experiments.Job('a', 'a', lambda: os.environ.get(
        'OMP_NUM_THREADS'))], workers=2)
    assert seen == {'a': str(max(1, (os.cpu_count() or 1) // 2))}
    assert 'OMP_NUM_THREADS' not in os.environ
    monkeypatch.setenv('OMP_NUM_THREADS', '7')
    assert experiments.run_jobs([experiments.Job('a', 'a', lambda: os.environ[
        'OMP_NUM_THREADS'])], workers=2) == {'a': '7'}
    assert os.environ['OMP_NUM_THREADS'] == '7'


def test_run_drl_reprobes_a_retrained_encoder(tmp_path, monkeypatch):
    """Regression: run_drl --reuse returned an earlier probe result of a work dir whose encoder
    had been trained again since."""
    import json
    import run_drl
    monkeypatch.setattr(run_drl, 'ROOT', str(tmp_path))
    calls = []

    def fake_probe_tool(cmd):
        calls.append(cmd)
        out = tmp_path / cmd[cmd.index('--out-dir') + 1]
        out.mkdir(parents=True, exist_ok=True)
        (out / 'probe_codes.json').write_text(json.dumps({'rows': [{'linear': len(calls)}]}))

    monkeypatch.setattr(run_drl, 'run', fake_probe_tool)
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'iter_600.pth').write_bytes(b'1')
    first = run_drl.probe('c.py', 'w/iter_600.pth', 'w/probe', 0, reuse=True)
    assert run_drl.probe('c.py', 'w/iter_600.pth', 'w/probe', 0, reuse=True) == first
    assert len(calls) == 1  # reused
    result = tmp_path / 'w' / 'probe' / 'probe_codes.json'
    os.utime(result, (1, 1))  # the encoder was trained again after this probe
    assert run_drl.probe('c.py', 'w/iter_600.pth', 'w/probe', 0, reuse=True) != first
    assert len(calls) == 2


def test_val_curve_follows_resumes_and_skips_a_replaced_run(tmp_path, monkeypatch):
    """Real mmengine runs in one work dir: a run, a fresh run replacing it, then a resume of
    the fresh one (each start logs into its own timestamped folder). The curve is the fresh
    run's validations followed by the resume's, in order, without the replaced run's."""
    import torch
    from mmengine.evaluator import BaseMetric, Evaluator
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import mmdiffrep  # noqa: F401 (its compat lets torch's weights-only load read the resume state)

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='tensor'):
            if mode == 'loss':
                return dict(loss=((inputs - self.weight) ** 2).mean())
            return [inputs]

    class Scripted(BaseMetric):  # the value of the k-th validation: values[k]
        def __init__(self, values):
            super().__init__(prefix='toy')
            self.values = list(values)

        def process(self, data_batch, data_samples):
            self.results.append(0)

        def compute_metrics(self, results):
            return dict(score=self.values.pop(0))

    def start(values, iters, resume):
        loader = dict(dataset=[dict(inputs=torch.ones(1))] * 4, batch_size=2, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'))
        Runner(model=Toy(), work_dir=str(tmp_path / 'run'), train_dataloader=loader,
               val_dataloader=loader, val_cfg=dict(), val_evaluator=Evaluator([Scripted(values)]),
               train_cfg=dict(by_epoch=False, max_iters=iters, val_interval=2),
               optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), resume=resume,
               default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                                  by_epoch=False)),
               experiment_name=f'toy_{time.time()}').train()
        time.sleep(1.1)  # the next start gets its own (second-resolution) timestamp folder

    monkeypatch.setattr(experiments, 'ROOT', str(tmp_path))
    assert experiments.val_curve('run', 'toy/score') == []  # nothing logged yet
    start([90.0, 91.0], iters=4, resume=False)  # an earlier run, replaced by the next one
    start([1.0, 2.0], iters=4, resume=False)
    start([3.0, 4.0], iters=8, resume=True)  # continues from iteration 4: validates at 6, 8
    assert len([d for d in os.listdir(tmp_path / 'run') if d[:1].isdigit()
                and (tmp_path / 'run' / d).is_dir()]) == 3
    assert experiments.val_curve('run', 'toy/score') == [1.0, 2.0, 3.0, 4.0]
    assert experiments.val_curve('run', 'toy/other') == []


def test_run_repfusion_lists_each_seed_with_its_val_curve(tmp_path, monkeypatch):
    import run_repfusion
    tables = {}
    monkeypatch.setattr(run_repfusion, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: ({'coco/AP': 0.5 + seed / 10}, 1.0))
    monkeypatch.setattr(experiments, 'val_curve', lambda work, metric: [0.25, 0.375]
                        if work.endswith('seed1') else [])
    monkeypatch.setattr(run_repfusion, 'write_table',
                        lambda work, name, text: tables.__setitem__(name, text))
    run_repfusion.main(['--tasks', 'kpt', '--regimes', 'full', '--methods', 'scratch',
                        '--seeds', '0', '1', '--work-dir', str(tmp_path)])
    lines = tables['results.md'].splitlines()
    assert '| 55.00 ± 7.07 |' in tables['results.md']
    assert '- kpt, full, student from scratch, seed 0: test 50.00; val not logged' in lines
    assert '- kpt, full, student from scratch, seed 1: test 60.00; val 25.00 / 37.50' in lines


def test_run_baselines_lists_each_run_and_its_command(tmp_path, monkeypatch):
    """With --doubled, the convergence check: each run (protocol and doubled schedule) gets its
    own line with its val curve, and commands.txt repeats every training with its options."""
    import run_baselines
    tables = {}
    monkeypatch.setattr(run_baselines, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: ({'mIoU': 80.0 + len(options) + seed}, 2.0))
    monkeypatch.setattr(experiments, 'val_curve', lambda work, metric: [70.0, 75.5]
                        if '_2x' in work else [])
    monkeypatch.setattr(run_baselines, 'write_table',
                        lambda work, name, text: tables.__setitem__(name, text))
    run_baselines.main(['--only', 'seg', '--seeds', '0', '1', '--doubled',
                        '--work-dir', str(tmp_path)])
    lines = tables['results.md'].splitlines()
    doubled = len(run_baselines.DOUBLED['seg'])
    assert '- seg baseline, seed 1: test 81.00; val not logged' in lines
    assert f'- seg baseline x2, seed 0: test {80 + doubled:.2f}; val 70.00 / 75.50' in lines
    commands = tables['commands.txt'].splitlines()
    assert len(commands) == 4
    config = run_baselines.BASELINES['seg'][1]
    assert commands[0] == (f'python tools/train.py {config} --work-dir '
                           f'{osp.join(str(tmp_path), "seg_seed0")} --cfg-options '
                           'randomness.seed=0')
    assert commands[1].endswith('randomness.seed=0 ' + ' '.join(run_baselines.DOUBLED['seg']))


def test_run_drl_lists_every_training_it_ran(tmp_path, monkeypatch):
    """commands.txt repeats each run: the DRL pre-training and both 10 %-label fine-tunes, the
    DRL one with the options that load the pre-trained encoder."""
    import run_drl
    tables, tested = {}, []
    monkeypatch.setattr(run_drl, 'train', lambda config, work, seed, resume=False: 1.0)
    monkeypatch.setattr(run_drl, 'last_checkpoint', lambda work: f'{work}/iter_600.pth')
    monkeypatch.setattr(run_drl, 'probe', lambda *a, **k: [{'linear': 40.0, 'knn': 30.0}])
    monkeypatch.setattr(run_drl, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: tested.append((config, work, options))
                        or ({'accuracy/top1': 25.0}, 2.0))
    monkeypatch.setattr(run_drl, 'write_table',
                        lambda work, name, text: tables.__setitem__(name, text))
    run_drl.main(['--methods', 'drl', '--seeds', '3', '--work-dir', 'w'])
    commands = tables['commands.txt'].splitlines()
    assert len(commands) == 3 and len(tested) == 2
    assert commands[0] == (f'python tools/train.py configs/drl/{run_drl.METHODS["drl"][0]} '
                           '--work-dir w/drl_seed3 --cfg-options randomness.seed=3')
    for (config, work, options), command in zip(tested, commands[1:]):
        assert command == (f'python tools/train.py {config} --work-dir {work} --cfg-options '
                           f'randomness.seed=3 {" ".join(options)}').rstrip()
    assert commands[2].endswith('model.backbone.init_cfg.checkpoint=w/drl_seed3/iter_600.pth')


def test_table_only_trains_nothing_and_names_every_unfinished_run(tmp_path, monkeypatch):
    """--table-only re-tabulates finished runs (as --reuse) but, unlike --reuse, refuses
    before anything starts when a run is missing or interrupted, naming each one."""
    import run_repfusion
    called = []
    monkeypatch.setattr(run_repfusion, 'train_and_test', lambda config, work, seed, options,
                        reuse=False: called.append((work, reuse)) or ({'coco/AP': 0.5}, 1.0))
    monkeypatch.setattr(run_repfusion, 'write_table', lambda work, name, text: None)
    work = {s: tmp_path / f'kpt_full_scratch_seed{s}' for s in range(3)}
    work[0].mkdir()
    (work[0] / 'train_minutes.txt').write_text('1.0')           # finished
    work[1].mkdir()
    (work[1] / experiments.RUN_RECORD).write_text('{}')          # interrupted after a save
    (work[1] / 'iter_200.pth').write_bytes(b'')
    argv = ['--tasks', 'kpt', '--regimes', 'full', '--methods', 'scratch', '--seeds', '0', '1',
            '2', '--work-dir', str(tmp_path), '--table-only']
    with pytest.raises(SystemExit) as error:
        run_repfusion.main(argv)
    message = str(error.value)
    assert '2 of 3 run(s)' in message
    assert f'{work[1]} (interrupted)' in message and f'{work[2]} (none)' in message
    assert str(work[0]) + ' ' not in message
    assert called == []
    for s in (1, 2):
        work[s].mkdir(exist_ok=True)
        (work[s] / 'train_minutes.txt').write_text('1.0')
    run_repfusion.main(argv)
    assert [reuse for _, reuse in called] == [True] * 3  # finished runs are read, not retrained


@pytest.mark.parametrize('driver', ['run_baselines', 'run_drl'])
def test_other_drivers_table_only_refuses_before_training(driver, tmp_path, monkeypatch):
    module = __import__(driver)
    trained = []
    for name in ('train', 'train_and_test'):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, lambda *a, **k: trained.append(a))
    with pytest.raises(SystemExit, match='--table-only trains nothing'):
        module.main(['--seeds', '0', '--work-dir', str(tmp_path), '--table-only'])
    assert trained == []


def test_run_control_options_are_checked_alike_in_every_driver(capsys):
    """The drivers' shared --reuse / --table-only / --jobs: --table-only implies --reuse, and a
    --jobs below 1 is a usage error naming the value, in each driver that runs jobs."""
    parser = argparse.ArgumentParser()
    experiments.add_run_control_args(parser)
    assert not hasattr(parser.parse_args([]), 'jobs')  # only where a driver asks for it
    args = experiments.parse_run_control_args(parser, ['--table-only'])
    assert args.reuse and args.table_only
    assert not experiments.parse_run_control_args(parser, []).reuse
    for driver in ('run_baselines', 'run_repfusion'):
        with pytest.raises(SystemExit):
            __import__(driver).main(['--jobs', '-1'])
        assert '--jobs must be >= 1, got -1' in capsys.readouterr().err

"""tools/train.py and tools/test.py on the three baseline configs (a few iterations each),
kill + --resume, a 2-process CPU torchrun, and the tools' clear errors."""
import glob
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

CLS = 'configs/baselines/cls_resnet18-cifar_1xb64-30e_shapes-32x32.py'
SEG = 'configs/baselines/semfpn_resnet18-cifar_1xb32-1k_shapes-32x32.py'
KPT = 'configs/baselines/td-hm_resnet18-cifar_1xb64-30e_shapes-32x32.py'
DU_CLS = 'configs/diffusion_unet/linear-probe_diffusion-unet_1xb64-10e_shapes-32x32.py'
DU_SEG = 'configs/diffusion_unet/semfpn_diffusion-unet_1xb32-1k_shapes-32x32.py'
DU_KPT = 'configs/diffusion_unet/td-hm_diffusion-unet_1xb64-20e_shapes-32x32.py'


def tiny_config(tmp_path, repo_root, base, data_root, extra=''):
    """A config inheriting ``base`` that trains on the test dataset in-process (no workers)."""
    lines = [f'_base_ = {osp.join(repo_root, base)!r}']
    for name in ('train', 'val', 'test'):
        lines.append(
            f"{name}_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,"
            f" dataset=dict(data_root={data_root + '/'!r}))")
    if 'td-hm' in base:  # mmpose's CocoMetric reads the annotation file itself
        for name in ('val', 'test'):
            ann = osp.join(data_root, 'annotations', f'kpt_{name}.json')
            lines.append(f"{name}_evaluator = [dict(type='CocoMetric', ann_file={ann!r}), "
                         "dict(type='PCKAccuracy', thr=0.1)]")
    path = tmp_path / ('tiny_' + osp.basename(base))
    path.write_text('\n'.join(lines) + '\n' + extra)
    return str(path)


def run_tool(args, env, cwd, timeout=600):
    out = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-5000:])
    return out.stdout + out.stderr


def ckpt_meta(path):
    # loads with torch's default weights_only=True thanks to mmdiffrep's allow-list
    import mmdiffrep  # noqa: F401
    return torch.load(path, map_location='cpu')['meta']


@pytest.mark.parametrize('base,extra,metric', [
    (CLS, 'train_cfg = dict(max_epochs=1, val_interval=1)', 'accuracy/top1'),
    (SEG, "train_cfg = dict(max_iters=4, val_interval=4)\n"
     "default_hooks = dict(checkpoint=dict(interval=4))", 'mIoU'),
    (KPT, 'train_cfg = dict(max_epochs=1, val_interval=1)', 'coco/AP'),
    # frozen DiffusionUNet under each toolbox's own head
    (DU_CLS, 'train_cfg = dict(max_epochs=1, val_interval=1)', 'accuracy/top1'),
    (DU_SEG, "train_cfg = dict(max_iters=4, val_interval=4)\n"
     "default_hooks = dict(checkpoint=dict(interval=4))", 'mIoU'),
    (DU_KPT, 'train_cfg = dict(max_epochs=1, val_interval=1)', 'coco/AP'),
])
def test_train_then_test_each_toolbox(tmp_path, repo_root, shapes_root, subprocess_env, base,
                                      extra, metric):
    cfg = tiny_config(tmp_path, repo_root, base, shapes_root, extra)
    work = str(tmp_path / 'work')
    log = run_tool(['tools/train.py', cfg, '--work-dir', work], subprocess_env, repo_root)
    assert metric in log
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    meta = ckpt_meta(ckpt)  # full mmengine checkpoint, weights_only=True
    assert meta['iter'] > 0
    log = run_tool(['tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 'test')],
                   subprocess_env, repo_root)
    assert re.search(re.escape(metric) + r': \d', log), log[-2000:]


def test_kill_and_resume_continues_from_checkpoint(tmp_path, repo_root, shapes_root,
                                                   subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      'train_cfg = dict(max_epochs=40, val_interval=100)\n'
                      'default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1,'
                      ' save_best=None))')
    work = str(tmp_path / 'work')
    proc = subprocess.Popen([sys.executable, 'tools/train.py', cfg, '--work-dir', work],
                            cwd=repo_root, env=subprocess_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not glob.glob(osp.join(work, 'epoch_2.pth')) and time.time() < deadline:
        assert proc.poll() is None, 'training exited before it was killed'
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # a crash, not a clean exit
    proc.wait()
    last = open(osp.join(work, 'last_checkpoint')).read().strip()
    epoch = ckpt_meta(last)['epoch']
    iters_per_epoch = 96 // 16
    # the kill may land between writing epoch_2.pth and updating last_checkpoint
    assert 1 <= epoch < 40 and ckpt_meta(last)["iter"] == epoch * iters_per_epoch

    log = run_tool(['tools/train.py', cfg, '--work-dir', work, '--resume', '--cfg-options',
                    f'train_cfg.max_epochs={epoch + 1}'], subprocess_env, repo_root)
    assert f'resumed epoch: {epoch}, iter: {epoch * iters_per_epoch}' in log
    assert f'Epoch(train) [{epoch + 1}]' in log and f'Epoch(train) [{epoch}]' not in log
    final = ckpt_meta(osp.join(work, f'epoch_{epoch + 1}.pth'))
    assert final['iter'] == (epoch + 1) * iters_per_epoch


def test_resume_from_explicit_checkpoint(tmp_path, repo_root, shapes_root, subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      'train_cfg = dict(max_epochs=2, val_interval=100)\n'
                      'default_hooks = dict(checkpoint=dict(interval=1, save_best=None))')
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work], subprocess_env, repo_root)
    log = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w2'), '--resume',
                    osp.join(work, 'epoch_1.pth')], subprocess_env, repo_root)
    assert 'resumed epoch: 1, iter: 6' in log


def test_resume_with_nothing_to_resume_is_an_error(tmp_path, repo_root, shapes_root,
                                                   subprocess_env):
    """Regression: --resume on an empty work dir trained from scratch with exit code 0."""
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root, 'train_cfg = dict(max_epochs=1)')
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'empty'), '--resume'], cwd=repo_root,
                         env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'nothing to resume in' in out.stderr and 'run without --resume' in out.stderr
    assert not (tmp_path / 'empty' / 'epoch_1.pth').exists()


def test_kill_during_checkpoint_save_leaves_a_resumable_checkpoint(tmp_path, repo_root,
                                                                   shapes_root, subprocess_env):
    """Regression: with max_keep_ckpts=1 mmengine deleted the old checkpoint before writing the
    new one, so a kill during the write left nothing to resume. The process is killed inside
    torch.save of the third checkpoint; epoch 2 must survive, complete, and --resume must
    continue from it."""
    (tmp_path / 'killer.py').write_text(
        'import os, signal, torch\n'
        '_save, _n = torch.save, [0]\n'
        'def save(obj, f, *a, **k):\n'
        '    if isinstance(obj, dict) and "state_dict" in obj and "meta" in obj:\n'
        '        _n[0] += 1\n'
        '        if _n[0] == 3:\n'
        '            os.kill(os.getpid(), signal.SIGKILL)\n'
        '    return _save(obj, f, *a, **k)\n'
        'torch.save = save\n')
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      'train_cfg = dict(max_epochs=4, val_interval=100)\n'
                      'default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1, '
                      'save_best=None))\n'
                      "custom_imports = dict(imports=['killer', 'mmdiffrep'], "
                      'allow_failed_imports=False)\n')
    work = tmp_path / 'work'
    env = dict(subprocess_env, PYTHONPATH=f'{tmp_path}{os.pathsep}'
               + subprocess_env.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(work)],
                         cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr[-2000:]
    assert not (work / 'epoch_3.pth').exists()
    assert ckpt_meta(work / 'epoch_2.pth')['epoch'] == 2  # complete and loadable
    log = run_tool(['tools/train.py', cfg, '--work-dir', str(work), '--resume'], env,
                   repo_root)  # (two saves: the killer does not fire)
    assert 'resumed epoch: 2, iter: 12' in log
    assert ckpt_meta(work / 'epoch_4.pth')['epoch'] == 4
    assert not (work / 'epoch_2.pth').exists()  # max_keep_ckpts=1 still holds


def test_resume_falls_back_to_the_newest_loadable_checkpoint(tmp_path):
    from mmdiffrep.utils.config import resumable_checkpoint
    torch.save(dict(meta=dict(epoch=1), state_dict={}), tmp_path / 'epoch_1.pth')
    (tmp_path / 'epoch_2.pth').write_bytes(b'PK\x03\x04 truncated')
    os.utime(tmp_path / 'epoch_2.pth')  # the newer one
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    lines = []
    assert resumable_checkpoint(str(tmp_path), lines.append) == str(tmp_path / 'epoch_1.pth')
    assert any('cannot be loaded' in ln for ln in lines)
    assert any('falling back to the newest loadable checkpoint' in ln for ln in lines)


def test_training_into_a_used_work_dir_needs_resume_or_overwrite(tmp_path, repo_root,
                                                                 shapes_root, subprocess_env):
    """Regression: re-running tools/train.py into a used work dir silently replaced its
    checkpoints and moved last_checkpoint into a mixed run."""
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      'train_cfg = dict(max_epochs=1, val_interval=100)\n'
                      'default_hooks = dict(checkpoint=dict(interval=1, save_best=None))')
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work], subprocess_env, repo_root)
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work],
                         cwd=repo_root, env=subprocess_env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode != 0 and 'holds the checkpoints of an earlier run' in out.stderr
    run_tool(['tools/train.py', cfg, '--work-dir', work, '--overwrite'], subprocess_env,
             repo_root)


def test_torchrun_two_cpu_processes(tmp_path, repo_root, shapes_root, subprocess_env):
    """2-process DDP on the CPU (gloo): each rank sees half of the data."""
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      'train_cfg = dict(max_epochs=2, val_interval=2)\n'
                      'default_hooks = dict(checkpoint=dict(interval=2, save_best=None))')
    work = str(tmp_path / 'work')
    env = dict(subprocess_env, PYTHON=sys.executable, PORT=str(29500 + os.getpid() % 1000))
    out = subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work],
                         cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-5000:]
    log = out.stdout + out.stderr
    assert 'Distributed training: True' in log
    meta = ckpt_meta(osp.join(work, 'epoch_2.pth'))
    assert meta['iter'] == 2 * (96 // 2 // 16)  # 3 iterations per epoch per rank
    assert 'accuracy/top1' in log


TINY_DDPM_UNET = dict(type='UNet2DModel', sample_size=32, in_channels=3, out_channels=3,
                      block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                      down_block_types=('DownBlock2D', 'DownBlock2D'),
                      up_block_types=('UpBlock2D', 'UpBlock2D'))


def run_tiny_ddpm_torchrun(tmp_path, repo_root, shapes_root, subprocess_env, hook_module,
                           hook_code, config_lines, port, batch_size):
    """A tiny Shapes DDPM under 2-process torchrun with a recording hook (``hook_module``.py
    written from ``hook_code``); returns (work dir, config file)."""
    (tmp_path / f'{hook_module}.py').write_text(hook_code)
    cfg = tmp_path / f'ddpm_{hook_module}.py'
    cfg.write_text('\n'.join([
        f"_base_ = {osp.join(repo_root, 'configs/ddpm/ddpm_unet-shapes32_1xb64-1100it_shapes-32x32.py')!r}",
        f"train_dataloader = dict(batch_size={batch_size}, num_workers=0, "
        f"persistent_workers=False, dataset=dict(data_root={shapes_root + '/'!r}))",
        'randomness = dict(seed=0)',
        f"custom_imports = dict(imports=[{hook_module!r}], allow_failed_imports=False)"]
        + config_lines))
    work = tmp_path / 'work'
    env = dict(subprocess_env, PYTHON=sys.executable, PORT=str(port + os.getpid() % 90),
               PYTHONPATH=f'{tmp_path}{os.pathsep}' + subprocess_env.get('PYTHONPATH', ''))
    out = subprocess.run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', str(work)],
                         cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-5000:]
    return work, cfg


def test_ddp_ranks_draw_their_own_timesteps_and_noise(tmp_path, repo_root, shapes_root,
                                                     subprocess_env):
    """Regression: under DDP every rank drew the same timesteps and noise (mmengine seeds all
    ranks alike unless randomness.diff_rank_seed). tools/train.py now sets it for distributed
    launches: the ranks' generators differ after an iteration, while each rank still gets its
    own half of the data (the sampler's seed stays shared)."""
    work, _ = run_tiny_ddpm_torchrun(
        tmp_path, repo_root, shapes_root, subprocess_env, 'rankdraws',
        'import os, torch\n'
        'from mmengine.hooks import Hook\n'
        'from mmengine.registry import HOOKS\n'
        '@HOOKS.register_module(force=True)\n'
        'class RankDraws(Hook):\n'
        '    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):\n'
        '        if runner.iter == 1:\n'
        '            idx = [s.metainfo["sample_idx"] for s in data_batch["data_samples"]]\n'
        '            torch.save(dict(rng=torch.get_rng_state(), idx=idx), os.path.join(\n'
        '                runner.work_dir, f"rank{runner.rank}.pt"))\n',
        [f'model = dict(unet_cfg={TINY_DDPM_UNET!r})',
         'train_cfg = dict(max_iters=2)', "custom_hooks = [dict(type='RankDraws')]"],
        port=29700, batch_size=8)
    r0, r1 = (torch.load(work / f'rank{r}.pt') for r in (0, 1))
    assert not torch.equal(r0['rng'], r1['rng'])  # their own timesteps and noise
    assert not set(r0['idx']) & set(r1['idx'])  # and their own images


def test_missing_data_root_is_a_clear_error(tmp_path, repo_root, subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, CLS, str(tmp_path / 'nowhere' / 'shapes32'))
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'w')], cwd=repo_root, env=subprocess_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'train_dataloader.dataset.data_root' in out.stderr
    assert 'nowhere/shapes32' in out.stderr and 'tools/dataset_converters/shapes.py' in out.stderr


def test_missing_evaluator_annotation_is_a_clear_error(tmp_path, repo_root, shapes_root,
                                                        subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, KPT, shapes_root,
                      "val_evaluator = [dict(type='CocoMetric', ann_file='nowhere/kpt_val.json')]")
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'w')], cwd=repo_root, env=subprocess_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "val_evaluator.ann_file: 'nowhere/kpt_val.json' does not exist" in out.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only message')
def test_amp_without_accelerator_is_a_clear_error(tmp_path, repo_root, shapes_root,
                                                  subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root)
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--amp', '--work-dir',
                          str(tmp_path / 'w')], cwd=repo_root, env=subprocess_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and '--amp needs an accelerator' in out.stderr


def test_typo_in_mmdiffrep_type_is_a_clear_error(tmp_path, repo_root, shapes_root,
                                                 subprocess_env):
    cfg = tiny_config(tmp_path, repo_root, CLS, shapes_root,
                      "model = dict(neck=dict(_delete_=True, type='mmdiffrep.GlobalPool'))")
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'w')], cwd=repo_root, env=subprocess_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "'GlobalPool' is not registered in mmdiffrep's 'model' registry" in out.stderr


@pytest.mark.parametrize('base,extra', [
    ('configs/ddpm/ddpm_unet-shapes32_1xb64-1100it_shapes-32x32.py',
     "custom_hooks = [dict(type='EMAHook', momentum=0.1, update_buffers=True, priority=49)]\n"),
    ('configs/repfusion/'
     'repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py',
     "custom_hooks = [dict(type='mmdiffrep.EntropyDecayHook', end=4, by_epoch=False)]\n"
     "model = dict(student=dict(stem_channels=16, base_channels=16))\n"),
    ('configs/drl/drl-tc_resnet18-cifar_1xb64-600it_shapes-32x32.py',
     "custom_hooks = [dict(type='EMAHook', momentum=0.1, update_buffers=True, priority=49)]\n"),
], ids=['ddpm', 'repfusion-policy', 'drl-time-conditioned'])
def test_torchrun_two_cpu_processes_algorithms(tmp_path, repo_root, shapes_root, subprocess_env,
                                               base, extra):
    """DDPM (with EMA), RepFusion (hidden teacher, self-updating policy) and DRL (FiLM and
    bottleneck hooks, EMA) under 2-process DDP."""
    cfg = tmp_path / 'algo.py'
    cfg.write_text(
        f'_base_ = {osp.join(repo_root, base)!r}\n'
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root={shapes_root + '/'!r}))\n"
        'train_cfg = dict(max_iters=4)\n'
        'default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=2))\n' + extra)
    work = str(tmp_path / 'work')
    env = dict(subprocess_env, PYTHON=sys.executable, PORT=str(29600 + os.getpid() % 1000))
    out = subprocess.run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', work],
                         cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-5000:]
    assert 'Distributed training: True' in out.stdout + out.stderr
    assert ckpt_meta(osp.join(work, 'iter_4.pth'))['iter'] == 4


def test_every_tool_script_imports(repo_root):
    """Every script under tools/ imports (a refactor that moves a name breaks a tool nobody
    runs in the suite otherwise: benchmark_diffusion_unet.py imported a moved class)."""
    import importlib.util
    scripts = sorted(glob.glob(osp.join(repo_root, 'tools', '**', '*.py'), recursive=True))
    assert len(scripts) > 20
    failed = {}
    saved_path = list(sys.path)
    try:
        for path in scripts:
            spec = importlib.util.spec_from_file_location(
                'tool_' + re.sub(r'\W', '_', osp.relpath(path, repo_root)), path)
            try:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            except Exception as e:  # noqa: BLE001 - collect every broken tool
                failed[osp.relpath(path, repo_root)] = repr(e)
    finally:
        sys.path[:] = saved_path
    assert not failed, failed


def test_converters_refuse_to_replace_their_outputs(tmp_path, repo_root):
    """Regression: ddpm_to_diffusers.py, the Shapes converter and cache_prompt_embeds.py
    silently replaced (or, for the prompt cache, silently re-used) an existing output."""
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    sys.path.insert(0, osp.join(repo_root, 'tools', 'dataset_converters'))
    try:
        import cache_prompt_embeds
        import ddpm_to_diffusers
        import shapes as shapes_converter
    finally:
        del sys.path[:2]
    # the Shapes converter: a second run over a dataset
    data = tmp_path / 'shapes'
    args = [str(data), '--size', '16', '--num-train', '4', '--num-val', '2', '--num-test', '2',
            '--no-contact-sheet']
    shapes_converter.main(args)
    meta = (data / 'meta.json').read_bytes()
    with pytest.raises(FileExistsError, match=r'meta\.json exists \(a Shapes dataset\); pass '
                                              r'--overwrite'):
        shapes_converter.main(args[:1] + ['--size', '16', '--num-train', '8', '--num-val', '2',
                                          '--num-test', '2', '--no-contact-sheet'])
    assert (data / 'meta.json').read_bytes() == meta
    shapes_converter.main(args + ['--overwrite'])
    # ddpm_to_diffusers: a re-export over an exported model (e.g. the shipped teacher)
    from mmdiffrep.models.algorithms import DDPM
    tiny = dict(type='UNet2DModel', sample_size=16, block_out_channels=(16, 32),
                layers_per_block=1, norm_num_groups=8,
                down_block_types=('DownBlock2D', 'DownBlock2D'),
                up_block_types=('UpBlock2D', 'UpBlock2D'))
    ckpt = tmp_path / 'iter_1.pth'
    torch.save(dict(state_dict=DDPM(tiny).state_dict(), meta=dict(iter=1)), ckpt)
    cfg_file = tmp_path / 'ddpm.py'
    cfg_file.write_text(f'model = dict(type="mmdiffrep.DDPM", unet_cfg={tiny!r})')
    out = tmp_path / 'exported'
    ddpm_to_diffusers.main([str(cfg_file), str(ckpt), str(out), '--no-ema'])
    weights = sorted(glob.glob(str(out / 'unet' / '*')))
    stamp = [os.path.getmtime(p) for p in weights]
    with pytest.raises(FileExistsError, match=r'exported exists \(the converted model\)'):
        ddpm_to_diffusers.main([str(cfg_file), str(ckpt), str(out), '--no-ema'])
    assert [os.path.getmtime(p) for p in weights] == stamp
    ddpm_to_diffusers.main([str(cfg_file), str(ckpt), str(out), '--no-ema', '--overwrite'])
    # cache_prompt_embeds: refused before any text encoder is loaded
    cached = tmp_path / 'empty_prompt.pt'
    torch.save(dict(text='', embeds=torch.zeros(77, 8)), cached)
    with pytest.raises(FileExistsError, match=r'empty_prompt\.pt exists \(a cached prompt '
                                              r'embedding\); pass --overwrite'):
        cache_prompt_embeds.main(['some/sd-folder', '--out', str(cached)])


def test_ddp_step_equals_one_process_step_on_the_same_global_batch(tmp_path, repo_root,
                                                                   shapes_root, subprocess_env):
    """2-process DDP against 1 process: one SGD step (lr 1) of a DDPM under torchrun equals,
    to 1e-6, the step computed in this process on the union of the two ranks' batches with
    each rank's own random draws (its generator state replayed): the mean of the two
    half-batch losses is the global-batch loss. So under DDP each rank really trains on its own
    images with its own timesteps and noise, and the gradients are averaged exactly."""
    work, cfg = run_tiny_ddpm_torchrun(
        tmp_path, repo_root, shapes_root, subprocess_env, 'steprecord',
        'import os, torch\n'
        'from mmengine.hooks import Hook\n'
        'from mmengine.registry import HOOKS\n'
        '@HOOKS.register_module(force=True)\n'
        'class StepRecord(Hook):\n'
        '    def before_train_iter(self, runner, batch_idx, data_batch=None):\n'
        '        self.rec = dict(rng=torch.get_rng_state(), inputs=data_batch["inputs"],\n'
        '            w0={k: v.clone() for k, v in runner.model.module.state_dict().items()})\n'
        '    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):\n'
        '        self.rec["w1"] = runner.model.module.state_dict()\n'
        '        torch.save(self.rec, os.path.join(runner.work_dir, f"rank{runner.rank}.pt"))\n',
        [f'model = dict(unet_cfg={TINY_DDPM_UNET!r}, prediction_type="v_prediction", '
         'loss_weighting="min_snr")',
         "optim_wrapper = dict(_delete_=True, type='OptimWrapper', "
         "optimizer=dict(type='SGD', lr=1.0))",
         'param_scheduler = []', 'train_cfg = dict(max_iters=1)',
         "custom_hooks = [dict(type='StepRecord')]"], port=29900, batch_size=4)
    ranks = [torch.load(work / f'rank{r}.pt') for r in (0, 1)]
    for k, v in ranks[0]['w1'].items():  # DDP keeps the replicas identical
        torch.testing.assert_close(v, ranks[1]['w1'][k], rtol=0, atol=0)

    from mmengine.config import Config

    from mmdiffrep.registry import MODELS
    from mmdiffrep.utils import register_all_modules
    from mmengine.registry import DefaultScope
    register_all_modules(init_default_scope=False)
    built = Config.fromfile(str(cfg), import_custom_modules=False)
    with DefaultScope.overwrite_default_scope(built.default_scope):
        model = MODELS.build(built.model)
    model.load_state_dict(ranks[0]['w0'])
    saved = torch.get_rng_state()
    loss = 0
    for rec in ranks:  # the union of the two ranks' batches, each with its own draws
        torch.set_rng_state(rec['rng'])
        batch = model.data_preprocessor(dict(inputs=rec['inputs'], data_samples=None), True)
        loss = loss + model.loss(batch['inputs'])['loss_diffusion'] / len(ranks)
    torch.set_rng_state(saved)
    loss.backward()
    moved = 0
    for name, p in model.named_parameters():
        expected = ranks[0]['w0'][name] - p.grad  # SGD, lr 1
        torch.testing.assert_close(ranks[0]['w1'][name], expected, rtol=1e-5, atol=1e-6)
        moved += int(not torch.equal(ranks[0]['w1'][name], ranks[0]['w0'][name]))
    assert moved > 10
    # the ranks' halves differ: their own images and their own draws (diff_rank_seed)
    assert not torch.equal(ranks[0]['inputs'][0], ranks[1]['inputs'][0])
    assert not torch.equal(ranks[0]['rng'], ranks[1]['rng'])

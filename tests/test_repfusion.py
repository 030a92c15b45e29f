"""RepFusion: teacher isolation, connectors/losses, timestep policy, hand-off to the toolboxes."""
import os.path as osp
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffusers import UNet2DModel

import mmdiffrep  # noqa: F401
from mmdiffrep.models.losses import ATLoss, CosineFeatureLoss, DenseFeatureLoss, HintLoss, RKDLoss
from mmdiffrep.models.policies import FixedTimesteps, LearnedTimestepPolicy, UniformTimesteps
from mmdiffrep.registry import MODELS

UNET = dict(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(16, 32, 32),
            layers_per_block=1, norm_num_groups=8,
            down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'))
STUDENT = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16,
               out_indices=(2, 3))
IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


@pytest.fixture(scope='module')
def teacher_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('teacher') / 'unet'
    UNet2DModel(**UNET).save_pretrained(path)
    return str(path)


def build(teacher_dir, **kw):
    cfg = dict(type='mmdiffrep.RepFusion',
               data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', to_rgb=True,
                                      **IMAGENET),
               teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir),
               student=STUDENT,
               distill_pairs=[dict(student_index=1, teacher_block='mid')])
    cfg.update(kw)
    return MODELS.build(cfg)


def samples(labels):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(int(y)) for y in labels]


# -- teacher isolation and input range ------------------------------------------------------------
def test_teacher_gets_no_gradient_and_is_not_in_optimizer_or_checkpoint(teacher_dir):
    from mmengine.optim import build_optim_wrapper
    model = build(teacher_dir)
    losses = model.loss(torch.randn(4, 3, 32, 32))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert list(model.teacher.parameters()) == []
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.unet.parameters())
    # no teacher weights; only the record of which U-Net it is (its weights fingerprint), so
    # that resuming with another U-Net under the same folder is an error
    state = model.state_dict()
    assert [k for k in state if k.startswith('teacher')] == ['teacher.unet_fingerprint']
    assert bytes(state['teacher.unet_fingerprint'].tolist()).hex() == \
        model.teacher.pretrained_fingerprint
    ow = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    in_optim = {id(p) for g in ow.optimizer.param_groups for p in g['params']}
    assert in_optim == {id(p) for p in model.student.parameters()} | \
        {id(p) for p in model.connectors.parameters()}
    assert all(p.grad is not None for p in model.student.parameters())


def test_ema_copy_shares_the_frozen_teacher_instead_of_duplicating_it(teacher_dir):
    """Regression: mmengine's EMA (a deep copy of the model) duplicated the hidden teacher
    U-Net. The frozen teacher is now shared: one set of weights for model and EMA copy."""
    from mmengine.model import ExponentialMovingAverage
    model = build(teacher_dir)
    ema = ExponentialMovingAverage(model, momentum=0.1)
    teacher_params = {p.data_ptr() for p in model.teacher.unet.parameters()}
    assert {p.data_ptr() for p in ema.module.teacher.unet.parameters()} == teacher_params
    assert ema.module.teacher.unet.module is model.teacher.unet.module
    # the trainable parts are copied as usual
    assert ema.module.student is not model.student
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ema.module.teacher(x, timesteps=torch.tensor([3, 4]))[0],
                                   model.teacher(x, timesteps=torch.tensor([3, 4]))[0])


def test_teacher_sees_its_own_range_at_the_sampled_timesteps(teacher_dir):
    """Teacher features = a plain diffusers forward on the image mapped back to [-1, 1]
    (from ImageNet normalisation) with each image's own timestep."""
    model = build(teacher_dir, timestep_sampler=dict(type='mmdiffrep.UniformTimesteps',
                                                     low=0, high=1000))
    pixels = torch.rand(3, 3, 32, 32) * 255
    mean, std = (torch.tensor(IMAGENET[k]).view(1, 3, 1, 1) for k in ('mean', 'std'))
    x = (pixels - mean) / std
    t = torch.tensor([0, 500, 999])
    unet = UNet2DModel.from_pretrained(teacher_dir).eval()
    store = {}
    h = unet.mid_block.register_forward_hook(lambda m, a, o: store.setdefault('mid', o))
    with torch.no_grad():
        unet(pixels / 127.5 - 1, t)
    h.remove()
    torch.testing.assert_close(model.teacher(x, timesteps=t)[0], store['mid'], atol=1e-4,
                               rtol=1e-4)


def test_noisy_teacher_input_is_the_closed_form(teacher_dir):
    from diffusers import DDPMScheduler
    model = build(teacher_dir, teacher_input='noisy')
    ext = model.teacher.extractor
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.manual_seed(3)
    x_t, t = ext.noisy_input(x, torch.tensor([10, 900]))
    torch.manual_seed(3)
    eps = torch.randn_like(x)
    abar = DDPMScheduler().alphas_cumprod[torch.tensor([10, 900])].view(2, 1, 1, 1)
    torch.testing.assert_close(x_t, abar.sqrt() * x + (1 - abar).sqrt() * eps)


# -- losses ----------------------------------------------------------------------------------------
def test_distillation_losses_against_hand_computations():
    torch.manual_seed(0)
    s, t = torch.randn(4, 8, 6, 6), torch.randn(4, 8, 3, 3)
    assert torch.allclose(HintLoss(loss_weight=2.0)(s, t),
                          2 * ((s.mean((2, 3)) - t.mean((2, 3)))**2).mean())
    s_small = F.interpolate(s, size=(3, 3), mode='bilinear', align_corners=False)
    assert torch.allclose(DenseFeatureLoss('l1')(s, t), (s_small - t).abs().mean())
    a = lambda x: F.normalize(x.pow(2).mean(1).flatten(1), dim=1)  # noqa: E731
    assert torch.allclose(ATLoss()(s_small, torch.randn(4, 5, 3, 3) * 0 + t[:, :5]),
                          (a(s_small) - a(t[:, :5])).pow(2).mean())
    # cosine: 0 for the same direction, 2 for the opposite one (the public code's sign bug)
    assert CosineFeatureLoss()(t, 3 * t).item() == pytest.approx(0, abs=1e-6)
    assert CosineFeatureLoss()(-t, t).item() == pytest.approx(2, abs=1e-6)
    # RKD is invariant to scaling the student (distances are normalised by their mean)
    assert RKDLoss()(2 * s, s).item() == pytest.approx(0, abs=1e-5)
    assert RKDLoss()(torch.randn(4, 3, 2, 2), s).item() > 0
    with pytest.raises(ValueError, match='student has 8 channels, teacher 5'):
        HintLoss()(s, t[:, :5])


# -- timestep samplers and the learned policy --------------------------------------------------
def test_fixed_and_uniform_samplers():
    x = torch.zeros(64, 3, 8, 8)
    assert FixedTimesteps(7)(x).unique().tolist() == [7]
    assert set(FixedTimesteps([0, 50])(x).tolist()) == {0, 50}
    t = UniformTimesteps(100, 200)(x)
    assert t.min() >= 100 and t.max() < 200
    with pytest.raises(ValueError, match=r'timesteps \[1000\] out of range \[0, 1000\)'):
        FixedTimesteps(1000)
    with pytest.raises(ValueError, match='0 <= low < high <= 1000'):
        UniformTimesteps(300, 200)


def _policy_step(pol, opt, images, feat, labels):
    """One draw + one update of the policy's own loss, as RepFusion.train_step does it."""
    with torch.no_grad():
        t, index = pol(images, return_index=True)
    logs = pol(images, index=index, teacher_feat=feat, labels=labels, mode='loss')
    opt.zero_grad()
    logs['policy.loss'].backward()
    opt.step()
    return t, logs


def test_reinforce_gradient_matches_hand_computation():
    """Free logits over 3 timesteps, SGD(lr=1), no entropy, no normalisation: the update is
    logits -= -(1/B) sum_i A_i (onehot(a_i) - softmax), with A_i = r_i - mean(r) on the first
    step and r_i = -CE of the reward head (as it was before the step)."""
    torch.manual_seed(0)
    pol = LearnedTimestepPolicy(num_classes=3, candidates=[0, 10, 20], net='logits',
                                entropy_coef=0.0, normalize_advantage=False)
    pol.build_reward_head(5)
    opt = torch.optim.SGD(pol.parameters(), lr=1.0)
    with torch.no_grad():
        pol.policy.logits.copy_(torch.tensor([0.5, -0.2, 0.1]))
    before = pol.policy.logits.detach().clone()
    head = [m.clone() for m in pol.reward_head.state_dict().values()]
    feat, labels = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    pol.train()
    t, logs = _policy_step(pol, opt, torch.zeros(6, 3, 8, 8), feat, labels)
    actions = (t // 10).long()
    # reward from the head's weights before the update
    w1, b1, w2, b2, w3, b3 = head
    hidden = F.relu(F.relu(feat @ w1.T + b1) @ w2.T + b2)
    reward = -F.cross_entropy(hidden @ w3.T + b3, labels, reduction='none')
    adv = reward - reward.mean()
    p = before.softmax(0)
    grad = -(adv[:, None] * (F.one_hot(actions, 3) - p)).mean(0)
    torch.testing.assert_close(pol.policy.logits.detach(), before - grad)
    assert logs['policy.reward'].item() == pytest.approx(reward.mean().item(), abs=1e-6)
    assert float(pol.baseline) == pytest.approx(reward.mean().item(), abs=1e-6)  # first mean


def test_policy_learns_the_informative_timestep():
    """A bandit where only t=20 carries the label: the policy concentrates on it."""
    torch.manual_seed(0)
    pol = LearnedTimestepPolicy(num_classes=2, candidates=[0, 10, 20], net='logits',
                                entropy_coef=0.0)
    pol.build_reward_head(2)
    opt = torch.optim.Adam(pol.parameters(), lr=0.05)
    pol.train()
    for _ in range(150):
        labels = torch.randint(0, 2, (32, ))
        images = torch.zeros(32, 3, 8, 8)
        with torch.no_grad():
            t, index = pol(images, return_index=True)
        informative = (t == 20).float()[:, None]
        feat = informative * F.one_hot(labels, 2).float() * 3 + torch.randn(32, 2) * 0.1
        logs = pol(images, index=index, teacher_feat=feat, labels=labels, mode='loss')
        opt.zero_grad()
        logs['policy.loss'].backward()
        opt.step()
    probs = pol.probs(torch.zeros(1, 3, 8, 8))[0]
    assert probs[2] > 0.8, probs


def test_policy_reward_uses_only_the_labelled_images():
    """The few-label protocol: images marked -1 (outside the labelled subset) get no reward,
    no policy gradient and no task-head loss; the reward, the reward head's gradient and the
    policy-gradient part equal a run on the labelled images alone (computed independently:
    that run sees only those rows)."""
    torch.manual_seed(0)
    pol = LearnedTimestepPolicy(num_classes=3, candidates=[0, 10, 20], net='logits')
    pol.build_reward_head(4)
    pol.train()
    images = torch.zeros(6, 3, 8, 8)
    feat, index = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    labels = torch.tensor([2, -1, 0, -1, -1, 1])
    keep = torch.tensor([0, 2, 5])

    def run(rows, lab):
        pol.baseline.fill_(0.5)
        pol.zero_grad()
        logs = pol(images[rows], index=index[rows], teacher_feat=feat[rows], labels=lab,
                   mode='loss')
        logs['policy.loss'].backward()
        return logs, pol.reward_head[-1].weight.grad.clone()

    masked, g_masked = run(torch.arange(6), labels)
    alone, g_alone = run(keep, labels[keep])
    for key in ('policy.reward', 'policy.reward_head_ce'):
        torch.testing.assert_close(masked[key], alone[key])
    torch.testing.assert_close(g_masked, g_alone)  # the task head learns from labels only
    assert float(pol.baseline) != 0.5  # the baseline moved with the labelled rewards
    # the unlabelled images' features do not change the reward
    feat[[1, 3, 4]] += 10
    torch.testing.assert_close(run(torch.arange(6), labels)[0]['policy.reward'],
                               masked['policy.reward'])
    # a batch without any labelled image: nothing learnt, baseline kept, a finite log
    pol.baseline.fill_(0.5)
    logs = pol(images[:2], index=index[:2], teacher_feat=feat[:2],
               labels=torch.tensor([-1, -1]), mode='loss')
    assert float(pol.baseline) == 0.5 and float(logs['policy.reward']) == 0.5
    # every logged value finite (a NaN here stopped a 10 %-label run through FiniteLossHook)
    assert all(torch.isfinite(v).all() for v in logs.values()), logs
    from mmdiffrep.models.utils import gather_labels
    with pytest.raises(ValueError, match=r'labels \[-2\] are outside \[0, 3\) .* or -1 '
                                         r'\(unlabelled\)'):
        gather_labels(samples([0, -2]), 'cpu', 'the policy', 3, allow_unlabelled=True)
    with pytest.raises(ValueError, match=r'labels \[-1\] are outside \[0, 3\)'):
        gather_labels(samples([0, -1]), 'cpu', 'DDPM', 3)


def test_policy_needs_labels_and_a_draw(teacher_dir):
    model = build(teacher_dir, timestep_sampler=dict(
        type='mmdiffrep.LearnedTimestepPolicy', num_classes=6, candidates=[0, 100, 200]))
    with pytest.raises(ValueError, match='learned timestep policy .* needs class labels'):
        model.loss(torch.randn(2, 3, 32, 32), None)
    losses = model.loss(torch.randn(4, 3, 32, 32), samples([0, 1, 2, 3]))
    assert {'distill.loss_0', 'policy.reward', 'policy.entropy', 'timestep_mean'} <= set(losses)
    assert not any('loss' in k and not k.startswith(('distill', 'policy.')) for k in losses)
    # the policy is a model part with its own optimizer (OptimWrapperDict), checkpointed as
    # ordinary parameters and buffers; the student part shares no parameter with it
    parts = model.optim_parts()
    assert parts['policy'] is model.timestep_sampler
    assert not {id(p) for p in parts['student'].parameters()} & \
        {id(p) for p in parts['policy'].parameters()}
    assert {'timestep_sampler.policy.fc.weight', 'timestep_sampler.baseline'} <= \
        set(model.state_dict())
    # its loss must not reach the student's optimizer: one plain optimizer is refused
    from mmengine.optim import build_optim_wrapper
    with pytest.raises(TypeError, match='PartsOptimWrapperConstructor'):
        model.train_step(dict(inputs=[torch.zeros(3, 32, 32, dtype=torch.uint8)],
                              data_samples=samples([0])),
                         build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(RuntimeError, match='MMSeparateDistributedDataParallel'):
        model(torch.randn(1, 3, 32, 32), samples([0]), mode='loss')
    with pytest.raises(TypeError, match=r'was replaced by mmengine.s optimizer'):
        LearnedTimestepPolicy(num_classes=2, optimizer=dict(type='Adam', lr=1e-3))


def test_policy_train_step_updates_each_part_with_its_own_optimizer(teacher_dir):
    """Through PartsOptimWrapperConstructor: the student's SGD sees only distillation
    gradients, the policy's Adam only the policy loss (the policy's weights move, the student
    weights equal an SGD step on the distillation loss alone)."""
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    model = build(teacher_dir, timestep_sampler=dict(
        type='mmdiffrep.LearnedTimestepPolicy', num_classes=6, candidates=[0, 100, 200]))
    ow = build_optim_wrapper(model, dict(
        constructor='mmdiffrep.PartsOptimWrapperConstructor',
        student=dict(optimizer=dict(type='SGD', lr=0.1)),
        policy=dict(optimizer=dict(type='Adam', lr=0.01))))
    assert set(ow.keys()) == {'student', 'policy'}
    data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                        for _ in range(4)], data_samples=samples([0, 1, 2, 3]))
    state_before = {k: v.clone() for k, v in model.state_dict().items()}
    policy_before = {k: v.clone() for k, v in model.timestep_sampler.state_dict().items()}
    student_before = {k: v.clone() for k, v in model.student.named_parameters()}
    torch.manual_seed(1)
    logs = model.train_step(data, ow)
    assert {'loss', 'policy.loss', 'policy.reward', 'distill.loss_0'} <= set(logs)
    moved = [k for k, v in model.timestep_sampler.state_dict().items()
             if not torch.equal(v, policy_before[k])]
    assert any(k.startswith('policy.') for k in moved) and 'baseline' in moved
    # recompute the distillation loss with the same draw: its SGD step is the student's
    ref = build(teacher_dir, timestep_sampler=dict(
        type='mmdiffrep.LearnedTimestepPolicy', num_classes=6, candidates=[0, 100, 200]))
    ref.load_state_dict(state_before)
    torch.manual_seed(1)
    batch = ref.data_preprocessor(data, True)
    losses = ref.loss(**batch)
    distill = sum(v for k, v in losses.items() if k.startswith('distill'))
    grads = torch.autograd.grad(distill, [p for _, p in ref.student.named_parameters()])
    for (k, p), g in zip(model.student.named_parameters(), grads):
        torch.testing.assert_close(p.detach(), student_before[k] - 0.1 * g, atol=1e-6,
                                   rtol=1e-5)


def test_entropy_decay_hook_follows_its_schedule():
    from mmdiffrep.engine.hooks import EntropyDecayHook
    pol = LearnedTimestepPolicy(num_classes=2, candidates=[0, 1], entropy_coef=0.1)
    model = SimpleNamespace(timestep_sampler=pol)
    hub = SimpleNamespace(update_scalar=lambda *a: None)
    hook = EntropyDecayHook(end=100, by_epoch=True)
    for epoch, expected in [(0, 0.1), (25, 0.075), (50, 0.05), (100, 0.0), (150, 0.0)]:
        hook.before_train_iter(SimpleNamespace(model=model, epoch=epoch, iter=0,
                                               message_hub=hub), 0)
        assert pol.entropy_coef == pytest.approx(expected)


# -- connectors and bad input ----------------------------------------------------------------------
def test_connector_and_bad_input_errors(teacher_dir):
    model = build(teacher_dir, distill_pairs=[
        dict(student_index=1, teacher_block='mid'),
        dict(student_index=0, teacher_block='down.1', connector=None,
             loss=dict(type='mmdiffrep.ATLoss'))])
    assert model.connectors[0].in_channels == 128 and model.connectors[0].out_channels == 32
    assert isinstance(model.connectors[1], torch.nn.Identity)  # AT compares channel-free maps
    with pytest.raises(ValueError, match="student output has 128 channels but teacher block "
                       "'mid' has 32, and there is no connector"):
        build(teacher_dir, distill_pairs=[dict(student_index=1, teacher_block='mid',
                                               connector=None)])
    with pytest.raises(KeyError, match='mid.resnets.7'):  # lists the valid names
        build(teacher_dir, distill_pairs=[dict(teacher_block='mid.resnets.7')])
    with pytest.raises(ValueError, match='student_index=5 but the student gives 2 outputs'):
        build(teacher_dir, distill_pairs=[dict(student_index=5, teacher_block='mid')])
    with pytest.raises(ValueError, match='exactly one of `student`'):
        build(teacher_dir, student=None)
    with pytest.raises(ValueError, match='teacher needs `pretrained`'):
        build(teacher_dir, teacher=dict(type='mmdiffrep.DiffusionUNet', unet_cfg=dict(
            type='UNet2DModel', **UNET)))
    with pytest.raises(ValueError, match='teacher.timesteps is set by RepFusion'):
        build(teacher_dir, teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir,
                                        timesteps=[5]))
    with pytest.raises(ValueError, match=r'teacher.data_mean=\[127.5, 127.5, 127.5\] but the '
                       r'data preprocessor normalises with mean=\[123.675'):
        build(teacher_dir, teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir,
                                        data_mean=[127.5] * 3))
    # no normalisation at all: the teacher reads raw 0-255 pixels
    raw = build(teacher_dir, data_preprocessor=None)
    assert raw.teacher.data_mean.flatten().tolist() == [0.0] * 3
    assert raw.teacher.data_std.flatten().tolist() == [1.0] * 3
    with pytest.raises(ValueError, match="unknown teacher_input 'x0'"):
        build(teacher_dir, teacher_input='x0')


# -- one-stage variant ---------------------------------------------------------------------------
def test_one_stage_adds_distillation_to_a_task_model(teacher_dir):
    arch = dict(type='mmpretrain.ImageClassifier', backbone=STUDENT,
                neck=dict(type='mmpretrain.GlobalAveragePooling', dim=2),
                head=dict(type='mmpretrain.LinearClsHead', num_classes=6, in_channels=128,
                          topk=(1, )),
                data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', to_rgb=True,
                                       mean=[127.5] * 3, std=[127.5] * 3))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as in an mmpretrain config
        model = build(teacher_dir, student=None, architecture=arch, data_preprocessor=None)
    losses = model.loss(torch.randn(4, 3, 32, 32), samples([0, 1, 2, 3]))
    assert set(losses) == {'task.loss', 'distill.loss_0', 'timestep_mean'}
    preds = model(torch.randn(2, 3, 32, 32), samples([0, 1]), mode='predict')
    assert preds[0].pred_score.shape == (6, )
    assert model.teacher.data_mean.flatten().tolist() == [127.5] * 3


# -- hand-off to the three toolboxes --------------------------------------------------------------
@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmseg', 'mmpose'])
def test_student_loads_into_each_toolbox(teacher_dir, tmp_path, toolbox, repo_root):
    from mmengine.config import Config
    model = build(teacher_dir)
    ckpt = tmp_path / 'distill.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    config = {
        'mmpretrain': 'configs/repfusion/cls_resnet18-cifar-repfusion_1xb64-300it_shapes10pct-32x32.py',
        'mmseg': 'configs/repfusion/semfpn_resnet18-cifar-repfusion_1xb32-1000it_shapes10pct-32x32.py',
        'mmpose': 'configs/repfusion/td-hm_resnet18-cifar-repfusion_1xb64-800it_shapes10pct-32x32.py',
    }[toolbox]
    cfg = Config.fromfile(osp.join(repo_root, config))
    backbone = dict(cfg.model.backbone, stem_channels=16, base_channels=16)
    backbone['init_cfg'] = dict(backbone['init_cfg'], checkpoint=str(ckpt))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(toolbox):
        from mmdiffrep.registry import MODELS as M
        net = M.build(backbone)
    net.init_weights()
    student = model.student.state_dict()
    loaded = net.state_dict()
    assert set(loaded) == set(student)  # no missing, no unexpected keys
    for k, v in student.items():
        assert torch.equal(loaded[k], v), k


def test_converter_writes_a_plain_backbone_checkpoint(teacher_dir, tmp_path, repo_root):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    import export_backbone
    model = build(teacher_dir)
    ckpt = tmp_path / 'distill.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=7)), ckpt)
    export_backbone.main([str(ckpt), str(tmp_path / 'student.pth')])
    out = torch.load(tmp_path / 'student.pth', map_location='cpu')  # weights_only default
    assert set(out['state_dict']) == set(model.student.state_dict())
    assert out['meta']['export']['prefix'] == 'student.'
    assert out['meta']['export']['iter'] == 7
    # an existing output is not replaced silently
    with pytest.raises(FileExistsError, match='pass --overwrite'):
        export_backbone.main([str(ckpt), str(tmp_path / 'student.pth')])
    export_backbone.main([str(ckpt), str(tmp_path / 'student.pth'), '--overwrite'])
    with pytest.raises(ValueError, match='no backbone weights'):
        export_backbone.extract(dict(state_dict={'backbone.x': torch.zeros(1)}))


def test_converter_reads_the_stored_config_without_executing_it(teacher_dir, tmp_path, repo_root,
                                                                 monkeypatch):
    """Regression (security): the exporter ran Config.fromstring on the config text stored in
    a checkpoint, so a crafted checkpoint of plain types executed code. It now reads plain
    values only; the prefix comes from the named algorithm's backbone_prefix."""
    sys.path.insert(0, osp.join(repo_root, 'tools', 'model_converters'))
    import export_backbone
    model = build(teacher_dir)
    marker = tmp_path / 'PWNED'
    cfg = ("model = dict(type='mmdiffrep.RepFusion', student=dict(type='mmpretrain.ResNet_CIFAR'"
           ", depth=18), teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='t'))\n"
           f"x = __import__('os').system('touch {marker}')\n")
    ckpt = tmp_path / 'crafted.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=3, cfg=cfg)), ckpt)
    monkeypatch.chdir(tmp_path)
    export_backbone.main([str(ckpt), str(tmp_path / 'student.pth')])
    assert not marker.exists()
    out = torch.load(tmp_path / 'student.pth', map_location='cpu')
    assert out['meta']['export']['algorithm'] == 'mmdiffrep.RepFusion'
    assert out['meta']['export']['prefix'] == model.backbone_prefix == 'student.'


# -- any toolbox's backbone as the student ----------------------------------------------------
@pytest.mark.parametrize('student', [
    dict(type='mmpretrain.ResNet', depth=18, out_indices=(3, )),
    dict(type='mmseg.ResNetV1c', depth=18, out_indices=(3, )),
    dict(type='mmpose.HRNet', extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(16, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64), multiscale_output=True))),
], ids=['mmpretrain.ResNet', 'mmseg.ResNetV1c', 'mmpose.HRNet'])
def test_students_from_every_toolbox(teacher_dir, student):
    model = build(teacher_dir, student=student, distill_pairs=[
        dict(student_index=-1, teacher_block='mid',
             loss=dict(type='mmdiffrep.DenseFeatureLoss'))])
    losses = model.loss(torch.randn(2, 3, 64, 64))
    losses['distill.loss_0'].backward()
    assert losses['distill.loss_0'] > 0
    assert all(p.grad is not None for p in model.connectors.parameters())


# -- through tools/train.py: policy, hooks, kill + resume ---------------------------------------
def test_policy_run_resumes_policy_and_student_state(tmp_path, repo_root, shapes_root,
                                                     train_cli, teacher_dir):
    """Train the learned-policy config 4 iterations (checkpoints at 2 and 4), then resume a
    second run from iteration 2: right after loading, its policy (weights, Adam state,
    baseline) and student equal the checkpoint's, and the Adam step counter continues to 4."""
    base = osp.join(repo_root, 'configs/repfusion/'
                    'repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py')
    cfg = tmp_path / 'policy_tiny.py'
    cfg.write_text('\n'.join([
        f'_base_ = {base!r}',
        f"model = dict(teacher=dict(pretrained={teacher_dir!r}, subfolder=None), "
        f"student=dict(stem_channels=16, base_channels=16))",
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root={shapes_root + '/'!r}))",
        'train_cfg = dict(max_iters=4)',
        "default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=-1), "
        "logger=dict(interval=1))",
        "custom_hooks = [dict(type='mmdiffrep.EntropyDecayHook', end=4, by_epoch=False),"
        " dict(type='mmdiffrep.TimestepPolicyVisHook', interval=2, by_epoch=False)]",
    ]))

    def train(*extra):
        return train_cli(cfg, *extra)

    first = tmp_path / 'w1'
    log = train('--work-dir', str(first))
    assert 'policy.entropy' in log and 'policy.reward' in log and 'entropy_coef' in log
    assert 'policy.lr' in log and 'student.lr' in log  # mmengine logs both optimizers
    assert (first / 'timestep_policy.png').exists()
    ckpt2 = torch.load(first / 'iter_2.pth', map_location='cpu')
    assert [k for k in ckpt2['state_dict'] if k.startswith('teacher')] == [
        'teacher.unet_fingerprint']  # no teacher weights, only its fingerprint
    assert len(ckpt2['timestep_policy_hist']['columns']) == 1

    # resume: load the checkpoint into a fresh model exactly as the runner does
    from mmengine.config import Config
    from mmengine.runner import Runner
    rcfg = Config.fromfile(str(cfg))
    rcfg.work_dir = str(tmp_path / 'w2')
    rcfg.resume, rcfg.load_from = True, str(first / 'iter_2.pth')
    runner = Runner.from_cfg(rcfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.load_or_resume()
    policy = runner.model.timestep_sampler
    for k, v in policy.state_dict().items():  # weights and reward baseline
        assert torch.equal(v, ckpt2['state_dict']['timestep_sampler.' + k]), k
    assert not torch.isnan(policy.baseline)
    policy_adam = runner.optim_wrapper['policy'].optimizer.state_dict()['state']
    assert {int(s['step']) for s in policy_adam.values()} == {2}
    for k, v in runner.model.student.state_dict().items():
        assert torch.equal(v, ckpt2['state_dict']['student.' + k]), k
    # and a resumed run through the CLI continues the policy's optimizer from step 2
    log = train('--work-dir', str(tmp_path / 'w3'), '--resume', str(first / 'iter_2.pth'))
    assert 'resumed epoch: 0, iter: 2' in log
    final = torch.load(tmp_path / 'w3' / 'iter_4.pth', map_location='cpu')
    state = final['optimizer']['policy']['state']
    assert {int(s['step']) for s in state.values()} == {4}
    assert len(final['timestep_policy_hist']['columns']) == 2


def _policy_rank(rank, world, port, out_dir):
    import os
    from torch.nn.parallel import DistributedDataParallel
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
    torch.manual_seed(rank)  # different initial weights: DDP broadcasts rank 0's
    pol = LearnedTimestepPolicy(num_classes=3, candidates=[0, 10, 20], net='cnn')
    pol.build_reward_head(4)
    pol.train()
    ddp = DistributedDataParallel(pol)  # the policy's wrapper under MMSeparateDDP
    opt = torch.optim.Adam(pol.parameters(), lr=0.01)
    torch.manual_seed(100 + rank)  # each rank sees other images and draws other timesteps
    for _ in range(3):
        images = torch.randn(8, 3, 16, 16)
        with torch.no_grad():
            _, index = ddp(images, return_index=True)
        logs = ddp(images, index=index, teacher_feat=torch.randn(8, 4),
                   labels=torch.randint(0, 3, (8, )), mode='loss')
        opt.zero_grad()
        logs['policy.loss'].backward()
        opt.step()
    torch.save(pol.state_dict(), osp.join(out_dir, f'rank{rank}.pt'))
    torch.distributed.destroy_process_group()


def test_policy_stays_identical_on_all_ranks(tmp_path):
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_policy_rank, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f'rank{r}.pt', map_location='cpu') for r in (0, 1))
    assert torch.equal(a['baseline'], b['baseline'])
    for k, v in a.items():
        assert torch.equal(v, b[k]), k
    # and it did learn (the weights moved away from rank 0's start)
    torch.manual_seed(0)
    fresh = LearnedTimestepPolicy(num_classes=3, candidates=[0, 10, 20], net='cnn')
    assert not torch.equal(fresh.policy.fc.weight, a['policy.fc.weight'])


REPFUSION_GPU_CONFIGS = [
    'configs/repfusion/repfusion-hint-policy_ddpm-cifar10-32_resnet18-cifar_1xb128-200e_cifar10-32x32.py',
    'configs/repfusion/repfusion-dense_ddpm-celebahq-256_hrnetv2-w18_8xb64-60e_wflw-256x256.py',
    'configs/repfusion/repfusion-dense_ddpm-celebahq-256_r18_4xb16-40k_celebamask-hq-448x448.py',
    'configs/repfusion/repfusion-hint-policy_ddpm-adm64_resnet18-cifar_8xb64-200e_tiny-imagenet-64x64.py',
    'configs/repfusion/repfusion-dense_ddpm-celebahq-256_res50_8xb64-60e_wflw-256x256.py',
]


@pytest.mark.parametrize('path', REPFUSION_GPU_CONFIGS, ids=osp.basename)
def test_gpu_repfusion_configs_build_and_distil(repo_root, teacher_dir, path):
    """The paper-setup configs build their student, pairs and sampler and run one loss; the
    hub teacher is replaced by the tiny local U-Net (no download here), the student's
    ImageNet init is skipped."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(osp.join(repo_root, path))
    cfg.model.teacher.pretrained = teacher_dir
    cfg.model.teacher.pop('subfolder', None)
    cfg.model.student.pop('init_cfg', None)
    if cfg.model.student.get('norm_cfg', {}).get('type') == 'SyncBN':  # needs a process group
        cfg.model.student.norm_cfg = dict(type='BN', requires_grad=True)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    size = 32 if 'cifar' in path else 64
    losses = model.loss(torch.randn(2, 3, size, size), samples([0, 1]))
    assert all(torch.isfinite(v) for v in losses.values())
    torch.testing.assert_close(model.teacher.data_mean.flatten(),
                               torch.tensor(cfg.model.data_preprocessor.mean))


def test_celebamask_converter_and_dataset(tmp_path, repo_root):
    """A fake two-image CelebAMask-HQ: label maps follow the part order (later parts win),
    the split is seeded, and mmseg reads the result through the dataset base config."""
    sys.path.insert(0, osp.join(repo_root, 'tools', 'dataset_converters'))
    import celebamask_hq
    from PIL import Image
    src = tmp_path / 'src'
    (src / 'CelebA-HQ-img').mkdir(parents=True)
    (src / 'CelebAMask-HQ-mask-anno' / '0').mkdir(parents=True)
    for i in range(10):
        Image.new('RGB', (64, 64), (i * 20, 0, 0)).save(src / 'CelebA-HQ-img' / f'{i}.jpg')
    skin = np.zeros((32, 32), np.uint8)
    skin[4:28, 4:28] = 255
    nose = np.zeros((32, 32), np.uint8)
    nose[10:14, 10:14] = 255
    Image.fromarray(skin).save(src / 'CelebAMask-HQ-mask-anno' / '0' / '00003_skin.png')
    Image.fromarray(nose).save(src / 'CelebAMask-HQ-mask-anno' / '0' / '00003_nose.png')
    out = tmp_path / 'out'
    celebamask_hq.main([str(src), str(out), '--size', '32', '--val', '0.2', '--test', '0.2'])
    label = np.array(Image.open(out / 'masks' / '3.png'))
    assert label[0, 0] == 0 and label[5, 5] == 1 and label[11, 11] == 2  # bg, skin, nose
    splits = {n: (out / 'splits' / f'{n}.txt').read_text().split() for n in
              ('train', 'val', 'test')}
    assert sorted(sum(splits.values(), [])) == sorted(str(i) for i in range(10))
    assert [len(splits[n]) for n in ('train', 'val', 'test')] == [6, 2, 2]
    again = celebamask_hq.split_ids(range(10), 0, 0.2, 0.2)
    assert [str(i) for i in again['val']] == splits['val']  # same seed, same split
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(osp.join(repo_root, 'configs/_base_/datasets/celebamask-hq_512.py'))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = str(out)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(ds_cfg)
    assert len(ds) == 2 and len(ds.metainfo['classes']) == 19
    item = ds[0]  # image resized to 512; labels stay at full resolution (mmseg evaluates there)
    assert item['inputs'].shape[-2:] == (512, 512)
    assert item['data_samples'].gt_sem_seg.data.shape[-2:] == (32, 32)


def test_celebamask_student_fits_bisenet_context_path(repo_root, tmp_path):
    """The distilled ResNet-18 loads into BiSeNetV1's context path with no missing keys."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    distill = Config.fromfile(osp.join(repo_root, REPFUSION_GPU_CONFIGS[2]))
    seg = Config.fromfile(osp.join(
        repo_root, 'configs/repfusion/bisenetv1_r18-d32-repfusion_4xb4-160k_celebamask-hq-448x448.py'))
    bn = dict(type='BN', requires_grad=True)
    with DefaultScope.overwrite_default_scope('mmseg'):
        student = MODELS.build(dict(distill.model.student, norm_cfg=bn))
        torch.save(dict(state_dict={f'student.{k}': v for k, v in student.state_dict().items()}),
                   tmp_path / 'distill.pth')
        backbone = seg.model.backbone
        backbone.norm_cfg = bn
        backbone.backbone_cfg.norm_cfg = bn
        backbone.backbone_cfg.init_cfg.checkpoint = str(tmp_path / 'distill.pth')
        net = MODELS.build(backbone)
    net.init_weights()
    loaded = net.context_path.backbone.state_dict()
    assert set(loaded) == set(student.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in student.state_dict().items())
    assert seg.model.decode_head.num_classes == 19
    assert all(h.num_classes == 19 for h in seg.model.auxiliary_head)


@pytest.mark.parametrize('config', [
    'configs/repfusion/semfpn_resnet18-cifar_1xb32-1000it_shapes10pct-32x32.py',
    'configs/repfusion/td-hm_resnet18-cifar_1xb64-800it_shapes10pct-32x32.py',
], ids=['mmseg', 'mmpose'])
def test_one_stage_wraps_seg_and_pose_models(teacher_dir, repo_root, shapes_root, config):
    """RepFusion around an existing mmseg / mmpose model config: task losses + distillation
    from one backbone pass; predictions are the task model's."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(osp.join(repo_root, config))
    arch = cfg.model.to_dict()
    arch['backbone'].update(stem_channels=16, base_channels=16)
    if 'neck' in arch:
        arch['neck']['in_channels'] = [16, 32, 64, 128]
    else:
        arch['head']['in_channels'] = 128
    arch['type'] = f'{cfg.default_scope}.{arch["type"]}'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = build(teacher_dir, student=None, architecture=arch, data_preprocessor=None,
                      distill_pairs=[dict(student_index=-1, teacher_block='mid')])
        ds_cfg = cfg.train_dataloader.dataset
        ds_cfg.data_root = shapes_root + '/'
        if 'ann_file' in ds_cfg:
            ds_cfg.ann_file = ds_cfg.ann_file.replace('_10pct', '')
        from mmengine.registry import DATASETS
        ds = DATASETS.build(ds_cfg)
        from mmengine.dataset import pseudo_collate
        batch = model.data_preprocessor(pseudo_collate([ds[0], ds[1]]), training=True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert any(k.startswith('task.') and 'loss' in k for k in losses)
    assert 'distill.loss_0' in losses
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.architecture.backbone.parameters())


def test_tiny_imagenet_lists(tmp_path, repo_root):
    sys.path.insert(0, osp.join(repo_root, 'tools', 'dataset_converters'))
    import tiny_imagenet
    from PIL import Image
    root = tmp_path / 'tiny-imagenet-200'
    wnids = ['n01', 'n02']
    for w in wnids:
        (root / 'train' / w / 'images').mkdir(parents=True)
        for k in range(2):
            Image.new('RGB', (64, 64)).save(root / 'train' / w / 'images' / f'{w}_{k}.JPEG')
    (root / 'val' / 'images').mkdir(parents=True)
    Image.new('RGB', (64, 64)).save(root / 'val' / 'images' / 'val_0.JPEG')
    (root / 'wnids.txt').write_text('\n'.join(wnids) + '\n')
    (root / 'val' / 'val_annotations.txt').write_text('val_0.JPEG\tn02\t0\t0\t63\t63\n')
    tiny_imagenet.main([str(root)])
    assert (root / 'meta' / 'val.txt').read_text().split() == ['val/images/val_0.JPEG', '1']
    train = (root / 'meta' / 'train.txt').read_text().splitlines()
    assert train[0] == 'train/n01/images/n01_0.JPEG 0' and len(train) == 4
    from mmengine.config import Config
    from mmpretrain.datasets import CustomDataset
    cfg = Config.fromfile(osp.join(repo_root, 'configs/_base_/datasets/tiny-imagenet_64.py'))
    ds_cfg = dict(cfg.val_dataloader.dataset, data_root=str(root), pipeline=[])
    ds_cfg.pop('type')
    ds = CustomDataset(**ds_cfg)
    assert len(ds) == 1 and ds.get_gt_labels().tolist() == [1]


def test_wflw_res50_student_fits_simplebaseline(repo_root, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    distill = Config.fromfile(osp.join(
        repo_root, 'configs/repfusion/repfusion-dense_ddpm-celebahq-256_res50_8xb64-60e_wflw-256x256.py'))
    pose = Config.fromfile(osp.join(
        repo_root, 'configs/repfusion/td-hm_res50-repfusion_8xb64-60e_wflw-256x256.py'))
    with DefaultScope.overwrite_default_scope('mmpose'):
        student = MODELS.build(dict(distill.model.student, init_cfg=None))
        torch.save(dict(state_dict={f'student.{k}': v for k, v in student.state_dict().items()}),
                   tmp_path / 'distill.pth')
        pose.model.backbone.init_cfg.checkpoint = str(tmp_path / 'distill.pth')
        model = MODELS.build(pose.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(student.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in student.state_dict().items())
    heatmaps = model(torch.randn(1, 3, 256, 256), None, mode='tensor')
    assert heatmaps.shape == (1, 98, 64, 64)


# -- the hook form: RepFusion added to an unmodified toolbox config -----------------------------
def test_repfusion_hook_matches_the_wrapper_form(tmp_path, repo_root, shapes_root, train_cli,
                                                 teacher_dir):
    """The same short Shapes run, once with the one-stage wrapper (model=RepFusion(
    architecture=...)) and once as the unmodified classifier config + RepFusionHook: same
    logged losses and the same backbone weights; the hook's teacher is in no checkpoint, its
    connectors are, and --resume restores them."""
    from mmengine.config import Config
    base = Config.fromfile(osp.join(
        repo_root, 'configs/repfusion/cls_resnet18-cifar_1xb64-300it_shapes10pct-32x32.py'))
    task_model = base.model.to_dict()
    task_model['backbone'].update(stem_channels=16, base_channels=16)
    task_model['head']['in_channels'] = 128
    task_model['data_preprocessor'] = dict(type='mmpretrain.ClsDataPreprocessor',
                                           **base.data_preprocessor)
    pairs = [dict(student_index=-1, teacher_block='mid', name='mid')]
    teacher = dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir)
    # one fixed timestep: the draw does not depend on how much randomness each form consumed
    # while building; both start from the same weights (load_from), as a user would compare
    sampler = dict(type='mmdiffrep.FixedTimesteps', timesteps=300)
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        init = MODELS.build(dict(type='mmdiffrep.RepFusion', architecture=task_model,
                                 teacher=teacher, distill_pairs=pairs,
                                 timestep_sampler=sampler)).state_dict()
    torch.save(dict(state_dict=init, meta={}), tmp_path / 'init_w.pth')
    torch.save(dict(state_dict={k[len('architecture.'):]: v for k, v in init.items()
                                if k.startswith('architecture.')}, meta={},
                    repfusion_hook=dict(trainable={k: v for k, v in init.items()
                                                   if k.startswith('connectors.')})),
               tmp_path / 'init_h.pth')
    common = [
        f'_base_ = {osp.join(repo_root, "configs/repfusion/cls_resnet18-cifar_1xb64-300it_shapes10pct-32x32.py")!r}',
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root={shapes_root + '/'!r}))",
        'val_dataloader = None', 'val_evaluator = None', 'val_cfg = None',
        'test_dataloader = None', 'test_evaluator = None', 'test_cfg = None',
        'train_cfg = dict(max_iters=4, val_interval=100)',
        "default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=-1), "
        "logger=dict(interval=1))",
    ]
    wrapper = tmp_path / 'wrapper.py'
    wrapper.write_text('\n'.join(common + [
        f"model = dict(_delete_=True, type='mmdiffrep.RepFusion', architecture={task_model!r}, "
        f"teacher={teacher!r}, distill_pairs={pairs!r}, timestep_sampler={sampler!r})",
        f"load_from = {str(tmp_path / 'init_w.pth')!r}"]))
    hooked = tmp_path / 'hooked.py'
    hooked.write_text('\n'.join(common + [
        "model = dict(backbone=dict(stem_channels=16, base_channels=16), "
        "head=dict(in_channels=128))",
        f"custom_hooks = [dict(type='mmdiffrep.RepFusionHook', teacher={teacher!r}, "
        f"pairs={pairs!r}, sampler={sampler!r})]",
        f"load_from = {str(tmp_path / 'init_h.pth')!r}"]))

    def losses(log):
        import re
        return [float(v) for v in re.findall(r'distill\.loss_mid: ([0-9.]+)', log)]

    log_w = train_cli(wrapper, '--work-dir', str(tmp_path / 'w'))
    log_h = train_cli(hooked, '--work-dir', str(tmp_path / 'h'))
    assert len(losses(log_h)) == 4
    np.testing.assert_allclose(losses(log_h), losses(log_w), rtol=1e-4)
    ck_w = torch.load(tmp_path / 'w' / 'iter_4.pth', map_location='cpu')
    ck_h = torch.load(tmp_path / 'h' / 'iter_4.pth', map_location='cpu')
    back_w = {k[len('architecture.'):]: v for k, v in ck_w['state_dict'].items()
              if k.startswith('architecture.backbone.')}
    back_h = {k: v for k, v in ck_h['state_dict'].items() if k.startswith('backbone.')}
    assert back_w.keys() == back_h.keys()
    for k, v in back_h.items():
        torch.testing.assert_close(v, back_w[k], atol=1e-5, rtol=1e-4)
    assert not any('teacher' in k for k in ck_h['state_dict'])  # the model is unmodified
    conn = ck_h['repfusion_hook']['trainable']
    torch.testing.assert_close(conn['connectors.0.weight'],
                               ck_w['state_dict']['connectors.0.weight'], atol=1e-5, rtol=1e-4)
    # --resume from iteration 2 restores the connectors and ends where the full run ended
    log_r = train_cli(hooked, '--work-dir', str(tmp_path / 'r'), '--resume',
                      str(tmp_path / 'h' / 'iter_2.pth'))
    assert 'resumed epoch: 0, iter: 2' in log_r
    ck_r = torch.load(tmp_path / 'r' / 'iter_4.pth', map_location='cpu')
    assert ck_r['repfusion_hook']['trainable'].keys() == conn.keys()
    assert len(ck_r['optimizer']['param_groups']) == len(ck_h['optimizer']['param_groups'])


def test_repfusion_hook_refuses_what_it_cannot_do(teacher_dir):
    from mmdiffrep.engine.hooks import RepFusionHook
    with pytest.raises(ValueError, match=r"names \['a'\] are used more than once"):
        RepFusionHook(teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir),
                      pairs=[dict(teacher_block='mid', name='a'),
                             dict(teacher_block='down.1', name='a')])
    hook = RepFusionHook(teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained=teacher_dir),
                         sampler=dict(type='mmdiffrep.LearnedTimestepPolicy', num_classes=2))
    model = torch.nn.Sequential()
    model.backbone = torch.nn.Conv2d(3, 4, 1)
    runner = SimpleNamespace(model=model)
    with pytest.raises(ValueError, match='use the model form'):
        hook.before_run(runner)
    with pytest.raises(TypeError, match='distils into model.backbone'):
        hook.before_run(SimpleNamespace(model=torch.nn.Conv2d(3, 4, 1)))

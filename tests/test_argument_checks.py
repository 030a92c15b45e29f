"""The argument audit: every invalid public argument of mmdiffrep's components is a clear error
at construction, naming the argument and what is allowed. Each case below was accepted silently
(or failed later with an unrelated message) before the audit."""
import pytest

from mmdiffrep.registry import HOOKS, MODELS
from mmdiffrep.utils.checks import check_number, check_unique

TINY = dict(type='UNet2DModel', sample_size=16, block_out_channels=(16, 32), layers_per_block=1,
            norm_num_groups=8, down_block_types=('DownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'UpBlock2D'))
COND = dict(TINY, num_class_embeds=7)
ENC = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8)
DU = dict(type='mmdiffrep.DiffusionUNet', unet_cfg=TINY, blocks=['mid'], timesteps=[10])
TEACHER = dict(type='mmdiffrep.DiffusionUNet', pretrained='unused', blocks=['mid'])
POLICY = dict(type='mmdiffrep.LearnedTimestepPolicy', num_classes=6, candidates=[0, 100, 200])

MODEL_CASES = [  # (config, message pattern)
    (dict(DU, blocks=['mid', 'mid']), r"blocks repeats \['mid'\]"),
    (dict(DU, timesteps=[]), 'must list at least one timestep'),
    (dict(DU, timesteps=[10, 10]), r'timesteps repeats \[10\]'),
    (dict(DU, data_std=[0, 1, 1]), r'data_std=\[0, 1, 1\] must be > 0'),
    (dict(DU, data_std=[-1, 1, 1]), 'data_std=.* must be > 0'),
    (dict(DU, input_range=(1, -1)), r'input_range=\(1, -1\) must be \(low, high\) with low < high'),
    (dict(DU, weights_dtype='float17'), r"weights_dtype='float17' must be one of \('float32'"),
    (dict(DU, weights_dtype='int8'), "weights_dtype='int8' must be one of"),
    (dict(DU, autocast='int8'), "autocast='int8' must be one of"),
    (dict(DU, max_forward_batch=0), r'max_forward_batch must be an integer in \[1, inf\)'),
    (dict(DU, frozen=False, frozen_stages=-2), r'frozen_stages must be an integer in \[-1, inf\)'),
    (dict(type='mmdiffrep.DDPM', unet_cfg=TINY, num_train_timesteps=0),
     r'num_train_timesteps must be an integer in \[2, inf\), got 0'),
    (dict(type='mmdiffrep.DDPM', unet_cfg=TINY, loss_weighting='min_snr', min_snr_gamma=0),
     r'min_snr_gamma must be a number in \(0, inf\), got 0'),
    (dict(type='mmdiffrep.DDPM', unet_cfg=TINY, loss_weighting='min_snr', min_snr_gamma=-1),
     'min_snr_gamma must be a number in'),
    (dict(type='mmdiffrep.HintLoss', loss_weight=-1), r'HintLoss: loss_weight must be a number in '
                                                      r'\[0, inf\), got -1'),
    (dict(type='mmdiffrep.CosineFeatureLoss', loss_weight=-0.5), 'CosineFeatureLoss: loss_weight'),
    (dict(type='mmdiffrep.ATLoss', loss_weight=-1), 'ATLoss: loss_weight'),
    (dict(type='mmdiffrep.ATLoss', p=0), r'ATLoss: p must be an integer in \[1, inf\)'),
    (dict(type='mmdiffrep.RKDLoss', loss_weight=-1), 'RKDLoss: loss_weight'),
    (dict(type='mmdiffrep.RKDLoss', w_angle=-1), 'RKDLoss: w_angle'),
    (dict(type='mmdiffrep.DenseFeatureLoss', loss_weight=-1), 'DenseFeatureLoss: loss_weight'),
    (dict(POLICY, num_classes=0), r'num_classes must be an integer in \[2, inf\), got 0'),
    (dict(POLICY, candidates=[5]), r'needs >= 2 candidate timesteps .* got \[5\]'),
    (dict(POLICY, entropy_coef=-1), 'entropy_coef must be a number in'),
    (dict(POLICY, baseline_momentum=1.5), r'baseline_momentum must be a number in \[0, 1\)'),
    (dict(POLICY, reward_hidden=0), 'reward_hidden must be an integer'),
    (dict(type='mmdiffrep.RepresentationDiffusion', encoder=ENC, width=0),
     'RepresentationDiffusion: width must be an integer'),
    (dict(type='mmdiffrep.RepresentationDiffusion', encoder=ENC, depth=0),
     'RepresentationDiffusion: depth must be an integer'),
    (dict(type='mmdiffrep.RepresentationAlignment', encoder=ENC, loss_weight=-1),
     'RepresentationAlignment: loss_weight'),
    (dict(type='mmdiffrep.RepresentationAlignment', encoder=ENC, hidden=0),
     'RepresentationAlignment: hidden'),
    (dict(type='mmdiffrep.RepresentationAlignment', mode='dispersive', temperature=0),
     r'temperature must be a number in \(0, inf\)'),
    (dict(type='mmdiffrep.HyperfeatureNeck', in_channels=[32, 32], out_channels=0),
     'HyperfeatureNeck: out_channels must be an integer'),
    (dict(type='mmdiffrep.HyperfeatureNeck', in_channels=[]), 'in_channels is empty'),
    (dict(type='mmdiffrep.HyperfeatureNeck', in_channels=[32, 32], out_index=5, num_groups=8),
     'out_index=5 is out of range for 2 inputs'),
    (dict(type='mmdiffrep.UpsampleConcatNeck', in_channels=[]), 'in_channels is empty'),
    (dict(type='mmdiffrep.UpsampleConcatNeck', in_channels=[8, 8], out_index=5),
     'out_index=5 is out of range for 2 inputs'),
    (dict(type='mmdiffrep.UpsampleConcatNeck', in_channels=[8, 8], scale_factor=0),
     r'scale_factor must be a number in \(0, inf\)'),
    (dict(type='mmdiffrep.CodeDecoder', code_dim=0), 'CodeDecoder: code_dim must be an integer'),
    (dict(type='mmdiffrep.NullContext', shape=(0, 8)), r'shape must be \(tokens, width\) with both'),
    (dict(type='mmdiffrep.DiffusionClassifier', unet_cfg=COND, null_label=6,
          score_temperature=0), r'score_temperature must be a number in \(0, inf\)'),
]

HOOK_CASES = [
    (dict(type='mmdiffrep.DDPMSampleHook', num_samples=0), 'num_samples must be an integer'),
    (dict(type='mmdiffrep.DDPMSampleHook', steps=0), 'steps must be an integer'),
    (dict(type='mmdiffrep.DDPMSampleHook', sampler='euler'), "unknown sampler 'euler'"),
    (dict(type='mmdiffrep.DDPMSampleHook', guidance_scale=-1), 'guidance_scale must be a number'),
    (dict(type='mmdiffrep.EntropyDecayHook', end=10, final=-1), 'final must be a number'),
    (dict(type='mmdiffrep.TimestepPolicyVisHook', interval=0), 'interval must be an integer'),
    (dict(type='mmdiffrep.TimestepPolicyVisHook', bins=0), 'bins must be an integer'),
    (dict(type='mmdiffrep.RepFusionHook', teacher=TEACHER, loss_weight=-1),
     'RepFusionHook: loss_weight'),
    (dict(type='mmdiffrep.RepFusionHook', teacher=TEACHER, lr_mult=-1), 'RepFusionHook: lr_mult'),
    (dict(type='mmdiffrep.RepFusionHook', teacher=TEACHER, teacher_input='blurred'),
     r"unknown teacher_input 'blurred'; expected one of \['clean', 'noisy'\]"),
    (dict(type='mmdiffrep.FiniteLossHook', interval=0), 'interval must be a positive integer'),
]


CASES = [(MODELS, cfg, match) for cfg, match in MODEL_CASES] + [
    (HOOKS, cfg, match) for cfg, match in HOOK_CASES]


@pytest.mark.parametrize('registry,cfg,match', CASES,
                         ids=[f'{c["type"].split(".")[-1]}-{i}' for i, (_, c, _) in
                              enumerate(CASES)])
def test_invalid_arguments_are_clear_errors(registry, cfg, match):
    with pytest.raises(ValueError, match=match):
        registry.build(cfg)


def test_the_checks_accept_the_valid_boundaries():
    import numpy as np
    check_number('X', 'a', 0, low=0)
    check_number('X', 'a', np.int64(3), low=1, integer=True)  # numpy scalars are numbers
    check_number('X', 'a', 0.999, low=0, high=1, high_open=True)
    check_number('X', 'a', float('inf'), low=0)  # unbounded above
    check_unique('X', 'a', ['mid', 'up.1'])
    for bad, kw in ((True, {}), (float('nan'), {}), (1.0, dict(high=1, high_open=True)),
                    (2.5, dict(integer=True))):
        with pytest.raises(ValueError, match='X: a must be'):
            check_number('X', 'a', bad, **kw)

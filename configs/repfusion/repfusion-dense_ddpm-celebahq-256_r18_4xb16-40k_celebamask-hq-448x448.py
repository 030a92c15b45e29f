# RepFusion for face parsing (the paper's CelebAMask-HQ setup), for GPU users: the CelebA-HQ
# DDPM google/ddpm-ema-celebahq-256 (frozen, t = 0, clean input) teaches the ResNet-18 that
# BiSeNetV1's context path uses (mmseg ResNet, the same config as in BiSeNetV1). Dense L2
# between the student's last stage (512 ch, stride 32) -> 1x1 conv and the teacher's mid
# block (512 ch, stride 32), resized to the teacher's grid. Distils on the TRAIN split only
# (the public code distilled on all 30k images, its test images included). Then
# bisenetv1_r18-d32-repfusion_4xb4-160k_celebamask-hq-448x448.py vs the scratch config.
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/datasets/celebamask-hq_512.py',
]
model = dict(
    type='mmdiffrep.RepFusion',
    data_preprocessor=dict(
        type='mmseg.SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
        size=(448, 448)),
    teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='google/ddpm-ema-celebahq-256'),
    student=dict(
        type='mmseg.ResNet', in_channels=3, depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=dict(type='SyncBN',
                                                                     requires_grad=True),
        norm_eval=False, style='pytorch', contract_dilation=True),
    distill_pairs=[
        dict(name='mid', student_index=-1, teacher_block='mid',
             loss=dict(type='mmdiffrep.DenseFeatureLoss', mode='l2', loss_weight=1.0)),
    ],
    timestep_sampler=dict(type='mmdiffrep.FixedTimesteps', timesteps=0),
    teacher_input='clean')
train_dataloader = dict(batch_size=16)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=1000, end=40000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=2),
    visualization=None)
log_processor = dict(by_epoch=False)

# RepFusion for face landmarks (the paper's WFLW setup), for GPU users: the CelebA-HQ DDPM
# google/ddpm-ema-celebahq-256 (frozen) teaches mmpose's HRNetV2-W18 on WFLW face crops.
# Dense variant: the student's lowest-resolution branch (144 ch, 8 x 8) -> 1x1 conv -> dense
# L1 x 10 against the teacher's mid block (512 x 8 x 8) at t = 0 (the public code's setting;
# no labels needed). The student starts as in the landmark config (mmpose's ImageNet HRNet
# initialisation, its init_cfg); same data pipeline and Adam 2e-3 / 60-epoch schedule as the landmark
# config it inherits; then fine-tune with
#   td-hm_hrnetv2-w18-repfusion_8xb64-60e_wflw-256x256.py and compare NME with the
# scratch config mmpose::face_2d_keypoint/topdown_heatmap/wflw/td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py
_base_ = ['mmpose::face_2d_keypoint/topdown_heatmap/wflw/td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py']
model = dict(
    _delete_=True,
    type='mmdiffrep.RepFusion',
    data_preprocessor=dict(
        type='mmpose.PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    teacher=dict(type='mmdiffrep.DiffusionUNet', pretrained='google/ddpm-ema-celebahq-256'),
    student={{_base_.model.backbone}},
    distill_pairs=[
        dict(name='mid', student_index=-1, teacher_block='mid',
             loss=dict(type='mmdiffrep.DenseFeatureLoss', mode='l1', loss_weight=10.0)),
    ],
    timestep_sampler=dict(type='mmdiffrep.FixedTimesteps', timesteps=0),
    teacher_input='clean')
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=dict(save_best=None, interval=10, max_keep_ckpts=2))

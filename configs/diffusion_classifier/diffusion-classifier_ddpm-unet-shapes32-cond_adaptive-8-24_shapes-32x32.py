# Zero-shot Diffusion Classifier (Li et al. 2023; survey §3.1.3) on the Shapes test split with
# the class-conditional Shapes DDPM (configs/ddpm/ddpm_unet-shapes32-vminsnr-cond_1xb64-
# 1500it_shapes-32x32.py, exported with tools/model_converters/ddpm_to_diffusers.py). Adaptive
# schedule: all 6 classes get 8 shared (t, noise) draws, the 2 best get 24 more (96 U-Net
# forwards per image). Nothing is trained: test it with
#   python tools/test.py THIS_CONFIG none
_base_ = ['mmpretrain::_base_/default_runtime.py', '../_base_/datasets/shapes32_cls.py']
model = dict(
    type='mmdiffrep.DiffusionClassifier',
    pretrained='work_dirs/ddpm_shapes32_cond/diffusers',
    subfolder='unet',
    null_label=6,  # the label-dropout class of classifier-free guidance is not scored
    stages=[(None, 8), (2, 24)],
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3,
                           std=[127.5] * 3, to_rgb=True))
test_dataloader = dict(batch_size=50)
train_dataloader = None
train_cfg = None
optim_wrapper = None
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = dict()

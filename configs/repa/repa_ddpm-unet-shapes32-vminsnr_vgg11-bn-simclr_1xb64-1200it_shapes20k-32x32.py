# A LABEL-FREE REPA teacher for Shapes: the shipped teacher's U-Net, data and loss, with its mid
# block (4 x 4) aligned on x_t to a frozen SELF-SUPERVISED encoder of x0 (SimCLR VGG-11-BN,
# configs/simclr, trained on the same unlabelled images).
# No label is read anywhere in the chain, so this teacher may serve the label-efficiency
# protocol's RepFusion and probe rows (the supervised-encoder REPA config may not). A shorter
# schedule than the plain 3000-iteration run (1200 iterations, warm-up 100, cosine to 1e-5):
# the supervised REPA run had reached a 90 % probe by iteration 1000.
#   python tools/train.py configs/simclr/simclr_vgg11-bn_1xb256-800it_shapes20k-32x32.py \
#       --work-dir work_dirs/simclr_shapes32
#   python tools/train.py THIS_CONFIG --work-dir work_dirs/repa_simclr_shapes32
_base_ = ['./repa_ddpm-unet-shapes32-vminsnr_vgg11-bn_1xb64-3k_shapes20k-32x32.py']
# the same VGG-11-BN and normalisation; its weights: the SimCLR checkpoint's backbone
model = dict(alignment=dict(encoder=dict(init_cfg=dict(
    checkpoint='work_dirs/simclr_shapes32/iter_800.pth'))))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=100, end=1200),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1200)
default_hooks = dict(checkpoint=dict(interval=400))
custom_hooks = [
    dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=400, num_samples=36, steps=50),
]

# The shipped Shapes teacher (v2): the same 1.1M-parameter U-Net as the 1100-iteration model
# (configs/_base_/models/unet_shapes32.py), with a recipe changed where the first one was
# weakest: a cosine noise schedule (more steps at the mid noise levels where shape, not
# texture, is denoised), v-prediction with Min-SNR-5 loss weighting (Hang et al. 2023:
# faster convergence, less weight on the near-clean steps), 10x more (unlabelled) training
# images so 3000 iterations are ~10 epochs instead of ~100, and a longer cosine LR decay.
# Generate the images first (the DDPM reads no labels):
#   python tools/dataset_converters/shapes.py data/shapes32-train20k --size 32 \
#       --num-train 20000 --num-val 1 --num-test 1 --labelled-fractions --no-contact-sheet
# (its first 2000 training images are data/shapes32's training split; val/test are not used).
_base_ = ['./ddpm_unet-shapes32_1xb64-1100it_shapes-32x32.py']
model = dict(
    beta_schedule='cosine',
    prediction_type='v_prediction',
    loss_weighting='min_snr',
    min_snr_gamma=5.0)
train_dataloader = dict(dataset=dict(data_root='data/shapes32-train20k'))
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.0), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=200, end=3000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    # every 500 iterations, all kept: the probe / Frechet-distance curve reads them
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=-1))
custom_hooks = [
    # ~200-iteration average (momentum 0.005): long enough to smooth a 3000-iteration run,
    # short enough that the checkpoints at 500 / 1000 are usable for the curve
    dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=1000, num_samples=36, steps=50),
]

# RCG stage 1 on Shapes: a representation diffusion model (MLP denoiser, 4 residual blocks of
# width 512, VP linear, epsilon) on the frozen VGG-11-BN encoder's 512-d representations of the
# 20k unlabelled Shapes images; it samples the representations that condition stage 2.
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py']
encoder_checkpoint = 'work_dirs/baselines/cls_vgg11vf_seed0/best_accuracy_top1_epoch_30.pth'
encoder = dict(
    type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
    norm_cfg=dict(type='BN'), with_last_pool=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=encoder_checkpoint))
model = dict(
    _delete_=True, type='mmdiffrep.RepresentationDiffusion', encoder=encoder,
    encoder_mean=[127.5] * 3, encoder_std=[127.5] * 3, width=512, depth=4,
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3,
                           std=[127.5] * 3, to_rgb=True))
custom_hooks = [dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49)]

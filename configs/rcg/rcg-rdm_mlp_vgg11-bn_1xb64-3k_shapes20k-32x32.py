# RCG stage 1 on Shapes: a representation diffusion model (MLP denoiser, 4 residual blocks of
# width 512, VP linear, epsilon) on the frozen VGG-11-BN encoder's 512-d representations of the
# 20k unlabelled Shapes images; it samples the representations that condition stage 2.
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py',
          '../_base_/models/encoder_vgg11-bn_shapes32.py']
model = dict(
    _delete_=True, type='mmdiffrep.RepresentationDiffusion', encoder={{_base_.encoder}},
    encoder_mean={{_base_.encoder_mean}}, encoder_std={{_base_.encoder_std}}, width=512,
    depth=4, data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5] * 3,
                                    std=[127.5] * 3, to_rgb=True))
custom_hooks = [dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49)]

# RCG stage 2 on Shapes: the teacher recipe's DDPM conditioned on a FROZEN encoder's pooled
# representation of x0 (the supervised VGG-11-BN baseline's last stage, 512-d), projected by a
# zero-initialised linear map into the timestep embedding, the null vector 10 % of the time
# (classifier-free guidance). Stage 1 (the representation sampler) is
# rcg-rdm_mlp_vgg11-bn_1xb64-3k_shapes20k-32x32.py; sample both with
# mmdiffrep.models.algorithms.sample_two_stage. Make the encoder as for configs/repa/.
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py']
encoder_checkpoint = 'work_dirs/baselines/cls_vgg11vf_seed0/best_accuracy_top1_epoch_30.pth'
encoder = dict(
    type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
    norm_cfg=dict(type='BN'), with_last_pool=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=encoder_checkpoint))
model = dict(representation=dict(
    type='mmdiffrep.RepresentationConditioner', encoder=encoder,
    encoder_mean=[127.5] * 3, encoder_std=[127.5] * 3, drop_prob=0.1))

# RCG stage 2 on Shapes: the teacher recipe's DDPM conditioned on a FROZEN encoder's pooled
# representation of x0 (the supervised VGG-11-BN baseline's last stage, 512-d), projected by a
# zero-initialised linear map into the timestep embedding, the null vector 10 % of the time
# (classifier-free guidance). Stage 1 (the representation sampler) is
# rcg-rdm_mlp_vgg11-bn_1xb64-3k_shapes20k-32x32.py; sample both with
# mmdiffrep.models.algorithms.sample_two_stage. Make the encoder as for configs/repa/.
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py',
          '../_base_/models/encoder_vgg11-bn_shapes32.py']
model = dict(representation=dict(
    type='mmdiffrep.RepresentationConditioner', encoder={{_base_.encoder}},
    encoder_mean={{_base_.encoder_mean}}, encoder_std={{_base_.encoder_std}}, drop_prob=0.1))

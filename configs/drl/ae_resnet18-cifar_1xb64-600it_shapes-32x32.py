# The autoencoder baseline of DRL: the same encoder and code, trained to reconstruct the image
# through a small convolutional decoder (no diffusion, no noise model), L1 on z as DRL.
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    unet_cfg=None, score_weight=0.0,
    decoder=dict(type='mmdiffrep.CodeDecoder', size=32, channels=64),
    reconstruction_weight=1.0)

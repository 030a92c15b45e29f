# The U-Net of google/ddpm-cifar10-32 (Ho et al. 2020, 35.7M parameters; its config.json),
# dropout 0.1 as in the paper's CIFAR-10 training.
unet_cfg = dict(
    type='UNet2DModel',
    sample_size=32,
    in_channels=3,
    out_channels=3,
    block_out_channels=(128, 256, 256, 256),
    layers_per_block=2,
    dropout=0.1,
    down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'))

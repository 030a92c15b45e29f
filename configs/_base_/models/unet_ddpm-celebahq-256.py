# The U-Net of google/ddpm-ema-celebahq-256 (Ho et al. 2020, 114M parameters; its
# config.json): six resolutions 256 -> 8, self-attention at 16 x 16.
unet_cfg = dict(
    type='UNet2DModel',
    sample_size=256,
    in_channels=3,
    out_channels=3,
    block_out_channels=(128, 128, 256, 256, 512, 512),
    layers_per_block=2,
    down_block_types=('DownBlock2D', ) * 4 + ('AttnDownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'AttnUpBlock2D') + ('UpBlock2D', ) * 4)

# The small pixel-space DDPM U-Net used on Shapes 32 px (diffusers UNet2DModel constructor).
# Resolution levels 32 -> 16 -> 8; block strides: conv_in 1, down.0 2, down.1 4, down.2 4,
# mid 4, up.0 2 (up.0.pre 4), up.1 1 (up.1.pre 2), up.2 1.
unet_cfg = dict(
    type='UNet2DModel',
    sample_size=32,
    in_channels=3,
    out_channels=3,
    block_out_channels=(32, 64, 64),
    layers_per_block=1,
    norm_num_groups=8,
    down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D'),
    up_block_types=('UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'))

# An ADM-style 64 px pixel-space U-Net as a diffusers UNet2DModel (Dhariwal & Nichol 2021's
# ImageNet-64 model has channels 192 x (1, 2, 3, 4), 3 blocks per level, attention at 32, 16
# and 8 px; diffusers' UNet2DModel has no scale-shift norm or attention heads of 64 channels,
# so this is the architecture in spirit, ~270M parameters).
unet_cfg = dict(
    type='UNet2DModel',
    sample_size=64,
    in_channels=3,
    out_channels=3,
    block_out_channels=(192, 384, 576, 768),
    layers_per_block=3,
    attention_head_dim=64,
    dropout=0.1,
    down_block_types=('DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'),
    up_block_types=('AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'))

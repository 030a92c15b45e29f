# VPD-style segmentation (Zhao et al., ICCV 2023) for GPU users: Stable Diffusion 1.5 through
# diffusers, image -> VAE latent (posterior mean, NOT scaled by 0.18215, as VPD does) -> U-Net at
# t=1 without noise; VPD's decoder blocks [1, 4, 7, 11] = diffusers up.0.resnets.1,
# up.1.attentions.1, up.2.attentions.1, up.3 (image strides 64/32/16/8; listed fine to coarse)
# into mmseg's Semantic FPN. The U-Net is fine-tuned with lr_mult 0.1 (VAE frozen).
# Difference from VPD: a single cached prompt embedding instead of per-class CLIP embeddings
# with a TextAdapter. Compute the cache once (needs transformers):
#   python tools/model_converters/cache_prompt_embeds.py runwayml/stable-diffusion-v1-5 \
#       --text "" --out checkpoints/sd15_empty_prompt.pt
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
sd = 'runwayml/stable-diffusion-v1-5'
crop_size = (512, 512)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmdiffrep.DiffusionUNet',
        pretrained=sd,
        subfolder='unet',
        vae=dict(pretrained=sd, subfolder='vae', scaling_factor=1.0, sample='mean'),
        condition=dict(type='mmdiffrep.PromptEmbedding', text='', pretrained=sd,
                       cache='checkpoints/sd15_empty_prompt.pt'),
        blocks=['up.3', 'up.2.attentions.1', 'up.1.attentions.1', 'up.0.resnets.1'],
        timesteps=[1],
        noise='none',
        frozen=False,
        gradient_checkpointing=True,
        data_mean=[127.5, 127.5, 127.5],
        data_std=[127.5, 127.5, 127.5]),
    neck=dict(type='FPN', in_channels=[320, 640, 1280, 1280], out_channels=256, num_outs=4),
    decode_head=dict(
        type='FPNHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        feature_strides=[8, 16, 32, 64],
        channels=128,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=8e-5, weight_decay=1e-3),
    paramwise_cfg=dict(custom_keys={'backbone.unet': dict(lr_mult=0.1)}))

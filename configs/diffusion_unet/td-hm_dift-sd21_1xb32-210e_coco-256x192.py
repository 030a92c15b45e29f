# DIFT-style features (Tang et al., NeurIPS 2023) for GPU users, under mmpose's top-down
# heatmap head: Stable Diffusion 2.1 through diffusers, frozen; image -> VAE latent (sampled,
# x scaling factor) -> noise at t=261 with an ensemble of 8 noise draws averaged, the empty
# prompt, features of up_blocks[1] (stride 16); the forward stops right after that block.
# Compute the empty-prompt cache once (needs transformers):
#   python tools/model_converters/cache_prompt_embeds.py stabilityai/stable-diffusion-2-1 \
#       --text "" --out checkpoints/sd21_empty_prompt.pt
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py']
sd = 'stabilityai/stable-diffusion-2-1'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdiffrep.DiffusionUNet',
        pretrained=sd,
        subfolder='unet',
        vae=dict(pretrained=sd, subfolder='vae', sample='sample'),
        condition=dict(type='mmdiffrep.PromptEmbedding', text='', pretrained=sd,
                       cache='checkpoints/sd21_empty_prompt.pt'),
        blocks=['up.1'],
        timesteps=[261],
        noise='random',
        ensemble=8,
        weights_dtype='float16',
        # mmpose's COCO preprocessor normalisation (ImageNet mean / std, RGB)
        data_mean=[123.675, 116.28, 103.53],
        data_std=[58.395, 57.12, 57.375]),
    head=dict(in_channels=1280, deconv_out_channels=(256, 256),
              deconv_kernel_sizes=(4, 4)))
train_dataloader = dict(batch_size=32)

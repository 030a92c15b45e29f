# Class-conditional Shapes DDPM on the ground-truth labels of the 2000 training images: the
# teacher recipe (1.1M U-Net, cosine, v-prediction, Min-SNR-5) with a class embedding for the
# 6 classes plus a null class (label dropout 0.1) for classifier-free guidance. Made for the
# zero-shot Diffusion Classifier (configs/diffusion_classifier/) and the CFG scale sweep; it
# uses labels, so it is never a label-free teacher.
_base_ = ['./ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py']
model = dict(unet_cfg=dict(num_class_embeds=7), label_dropout=0.1)  # 6 classes + null (6)
train_dataloader = dict(dataset=dict(
    data_root='data/shapes32', ann_file='annotations/cls_train.txt'))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=100, end=1500),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500)
custom_hooks = [
    dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=500, num_samples=36, steps=50,
         guidance_scale=2.0),
]

# Self-guided diffusion (survey §3.2.1) on Shapes: the teacher recipe (v-prediction, cosine,
# Min-SNR-5, same U-Net) made class-conditional on SELF-LABELS instead of labels: 6 k-means
# clusters of a frozen encoder's features of the 20k unlabelled training images (the teacher's
# data), plus a null class (label dropout 0.1) for classifier-free guidance at sampling
# (scale 2). Make the labels first
# (any encoder; here the supervised VGG baseline, whose clusters are 99 % pure; a RepFusion
# student or DRL encoder gives truly unsupervised ones):
#   python tools/dataset_converters/self_labels.py \
#       configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py ENCODER_CKPT --k 6 \
#       --data data/shapes32-train20k --out annotations/cls_train_selflabels_k6.txt
_base_ = ['./ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py']
model = dict(unet_cfg=dict(num_class_embeds=7), label_dropout=0.1)  # 6 clusters + null
train_dataloader = dict(dataset=dict(
    data_root='data/shapes32-train20k', ann_file='annotations/cls_train_selflabels_k6.txt'))
custom_hooks = [
    dict(type='EMAHook', momentum=0.005, update_buffers=True, priority=49),
    dict(type='mmdiffrep.DDPMSampleHook', interval=1000, num_samples=36, steps=50,
         guidance_scale=2.0),
]

# REPA for a diffusers U-Net on Shapes: the shipped teacher's recipe (same U-Net, data,
# schedule, budget) plus representation alignment of the U-Net's mid block (4 x 4 at 32 px)
# on x_t to a FROZEN supervised Shapes encoder's last stage on x0 (mmpretrain VGG-11-BN, the
# classification baseline; its weights are the baseline checkpoint's backbone), MLP projector
# per position, lambda 0.5, for the whole run. Make the encoder once:
#   python tools/train.py configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py \
#       --work-dir work_dirs/baselines/cls_vgg11-bn_seed0
# and point encoder.init_cfg.checkpoint at its best_accuracy_top1_*.pth (prefix 'backbone.').
# Compare with the plain run (ddpm_unet-shapes32-vminsnr...) at the same iterations:
#   python tools/analysis/teacher_curve.py THIS_CONFIG WORK_DIR --classifier CFG CKPT
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py']
encoder_checkpoint = 'work_dirs/baselines/cls_vgg11vf_seed0/best_accuracy_top1_epoch_30.pth'
model = dict(
    alignment=dict(
        type='mmdiffrep.RepresentationAlignment',
        block='mid',
        encoder=dict(
            type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1),
            out_indices=(3, ), norm_cfg=dict(type='BN'), with_last_pool=False,
            init_cfg=dict(type='Pretrained', checkpoint=encoder_checkpoint,
                          prefix='backbone.')),
        # the classifier's own normalisation (its data preprocessor)
        encoder_mean=[127.5] * 3, encoder_std=[127.5] * 3,
        projector='mlp', hidden=256, loss_weight=0.5, stop_after=None))

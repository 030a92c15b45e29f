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
_base_ = ['../ddpm/ddpm_unet-shapes32-vminsnr_1xb64-3k_shapes20k-32x32.py',
          '../_base_/models/encoder_vgg11-bn_shapes32.py']
model = dict(
    alignment=dict(
        type='mmdiffrep.RepresentationAlignment',
        block='mid',
        encoder={{_base_.encoder}},
        encoder_mean={{_base_.encoder_mean}}, encoder_std={{_base_.encoder_std}},
        projector='mlp', hidden=256, loss_weight=0.5, stop_after=None))

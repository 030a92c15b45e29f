# The frozen Shapes encoder of the REPA / RCG configs: the supervised VGG-11-BN classification
# baseline's backbone (configs/baselines/cls_vgg11-bn_1xb64-30e_shapes-32x32.py), its weights
# read from the baseline checkpoint (prefix 'backbone.'); the classifier's normalisation.
encoder_checkpoint = 'work_dirs/baselines/cls_vgg11vf_seed0/best_accuracy_top1_epoch_30.pth'
encoder = dict(
    type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
    norm_cfg=dict(type='BN'), with_last_pool=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=encoder_checkpoint))
encoder_mean = [127.5] * 3
encoder_std = [127.5] * 3

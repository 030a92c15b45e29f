# A LABEL-FREE frozen Shapes encoder for REPA / RCG: the same VGG-11-BN backbone as
# encoder_vgg11-bn_shapes32.py, trained by mmpretrain's SimCLR on the 20k unlabelled teacher
# images (configs/simclr/simclr_vgg11-bn_1xb256-800it_shapes20k-32x32.py; no label is read);
# its weights are the SimCLR checkpoint's backbone (prefix 'backbone.'). Same normalisation.
encoder_checkpoint = 'work_dirs/simclr_shapes32/iter_800.pth'
encoder = dict(
    type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1), out_indices=(3, ),
    norm_cfg=dict(type='BN'), with_last_pool=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=encoder_checkpoint))
encoder_mean = [127.5] * 3
encoder_std = [127.5] * 3

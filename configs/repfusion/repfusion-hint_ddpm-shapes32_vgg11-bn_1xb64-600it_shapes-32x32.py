# RepFusion distillation on Shapes 32 px into the VGG-11-BN of the classification baseline
# (configs/baselines/cls_vgg11-bn_...): the shipped Shapes DDPM (frozen) teaches it with the
# same losses as the ResNet-18 config this inherits from. Pairs: the student's stage 2
# (128 ch, stride 4) <-> the teacher's up.0 pre-upsample map (stride 4), dense L2; its last
# stage (512 ch, stride 8) <-> the teacher's mid block, hint loss (pooled MSE). No labels.
_base_ = ['./repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    student=dict(
        _delete_=True, type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1),
        out_indices=(1, 3), norm_cfg=dict(type='BN'), with_last_pool=False))

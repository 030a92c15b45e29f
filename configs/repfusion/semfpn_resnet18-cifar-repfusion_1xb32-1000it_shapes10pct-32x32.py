# Few-label segmentation from a RepFusion-distilled student (prefix 'student.').
_base_ = ['./semfpn_resnet18-cifar_1xb32-1000it_shapes10pct-32x32.py']
model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32'
        '/iter_600.pth',
        prefix='student.')))

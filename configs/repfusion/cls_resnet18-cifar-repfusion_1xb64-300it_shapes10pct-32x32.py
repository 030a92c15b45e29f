# Few-label classification on Shapes from a RepFusion-distilled student (see the scratch
# config for the schedule). Point `checkpoint` at a distillation checkpoint (prefix
# 'student.') or at an exported backbone (prefix ''), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/repfusion/iter_600.pth
_base_ = ['./cls_resnet18-cifar_1xb64-300it_shapes10pct-32x32.py']
model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/repfusion-hint_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32'
        '/iter_600.pth',
        prefix='student.')))

# Few-label classification on Shapes from a RepFusion-distilled VGG-11-BN student (same
# schedule as the scratch config). Point `checkpoint` at a distillation checkpoint (prefix
# 'student.') or at an exported backbone (prefix None), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/repfusion/iter_600.pth
_base_ = ['./cls_vgg11-bn_1xb64-600it_shapes10pct-32x32.py']
model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/repfusion-hint_ddpm-shapes32_vgg11-bn_1xb64-600it_shapes-32x32'
        '/iter_600.pth',
        prefix='student.')))

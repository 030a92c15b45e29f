# Few-label classification on Shapes from a DRL-trained encoder (fine-tuned end to end with
# the 200 labelled images). Point `checkpoint` at a DRL checkpoint (prefix 'encoder.') or at
# an exported encoder (tools/model_converters/export_backbone.py, then prefix=None), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/drl/iter_600.pth
_base_ = ['./cls_resnet18-cifar-w16_1xb64-300it_shapes10pct-32x32.py']
model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/drl_resnet18-cifar_1xb64-600it_shapes-32x32/iter_600.pth',
        prefix='encoder.')))

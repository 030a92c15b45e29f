# CelebAMask-HQ face parsing from a RepFusion-distilled ResNet-18: the BiSeNetV1 context path's
# ResNet starts from the student of
# repfusion-dense_ddpm-celebahq-256_r18_4xb16-40k_celebamask-hq-448x448.py (prefix 'student.').
_base_ = ['./bisenetv1_r18-d32_4xb4-160k_celebamask-hq-448x448.py']
model = dict(backbone=dict(backbone_cfg=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/repfusion-dense_ddpm-celebahq-256_r18_4xb16-40k_celebamask-hq-448x448/'
    'iter_40000.pth',
    prefix='student.'))))

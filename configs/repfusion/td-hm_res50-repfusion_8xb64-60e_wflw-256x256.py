# WFLW landmarks (NME) with SimpleBaseline ResNet-50 initialised from the RepFusion student.
_base_ = ['./td-hm_res50_8xb64-60e_wflw-256x256.py']
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True,
    type='Pretrained',
    checkpoint='work_dirs/repfusion-dense_ddpm-celebahq-256_res50_8xb64-60e_wflw-256x256/'
    'epoch_60.pth',
    prefix='student.')))

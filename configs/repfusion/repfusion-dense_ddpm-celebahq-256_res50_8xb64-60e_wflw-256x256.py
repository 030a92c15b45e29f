# RepFusion for WFLW with the ResNet-50 student (SimpleBaseline), for GPU users: the CelebA-HQ
# DDPM's mid block (512 x 8 x 8 at 256 px) <- 1x1 conv <- the student's last stage (2048 ch,
# 8 x 8), dense L1 x 10, t = 0; then td-hm_res50-repfusion_8xb64-60e_wflw-256x256.py.
_base_ = ['./repfusion-dense_ddpm-celebahq-256_hrnetv2-w18_8xb64-60e_wflw-256x256.py']
model = dict(
    student=dict(_delete_=True, type='mmpose.ResNet', depth=50,
                 init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))

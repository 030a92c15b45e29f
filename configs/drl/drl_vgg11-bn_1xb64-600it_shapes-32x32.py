# DRL on Shapes with the classification student of the label-efficiency protocol as the
# encoder (mmpretrain VGG-11-BN, the baseline's backbone), so that a DRL-initialised student
# is compared with the same student from scratch and RepFusion-initialised under one schedule
# (`python tools/run_repfusion.py --methods scratch drl`). The pooled 512-d last stage is
# projected to a 128-d code (the paper's code size); everything else is the ResNet config's
# recipe (VE SDE, t ~ U[1e-5, 1], L1 on z, 600 iterations, no labels).
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    encoder=dict(
        _delete_=True, type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1),
        out_indices=(3, ), norm_cfg=dict(type='BN'), with_last_pool=False),
    code_dim=128)

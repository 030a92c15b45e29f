# DRL on Shapes with the segmentation and keypoint student of the label-efficiency protocol as
# the encoder (mmpretrain ResNet_CIFAR depth 18, stem and base width 32: the backbone of the
# seg and kpt baselines and of their RepFusion distillation), so that a DRL-initialised
# student is compared with the same student from scratch and RepFusion-initialised under one
# schedule (`python tools/run_repfusion.py --tasks seg kpt --methods scratch drl`). The pooled
# 256-d last stage is projected to a 128-d code (the paper's code size); everything else is the
# width-16 config's recipe (VE SDE, t ~ U[1e-5, 1], L1 on z, 600 iterations, no labels).
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    encoder=dict(stem_channels=32, base_channels=32),
    code_dim=128)

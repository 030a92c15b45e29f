# Few-label (semi-supervised) classification on Shapes: the 10% labelled subset (200 images),
# the DRL encoder's architecture (CIFAR ResNet-18, width 16) trained from scratch: the
# reference row for the -drl config, which is identical except for its initialisation.
_base_ = ['../repfusion/cls_resnet18-cifar_1xb64-300it_shapes10pct-32x32.py']
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    head=dict(in_channels=128))

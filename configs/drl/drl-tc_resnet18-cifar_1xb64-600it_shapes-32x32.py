# DRL with the time-conditioned encoder E(x0, t) (paper Eq. 8, the "infinite-dimensional"
# code): every ResNet stage is FiLM-modulated by an embedding of the training sample's t.
# Read the code at any t afterwards:
#   python tools/analysis/probe_codes.py CONFIG CKPT --times 0 0.2 0.4 0.6 0.8 1.0
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(encoder=dict(
    _delete_=True, type='mmdiffrep.TimeConditionedEncoder', mode='film',
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16,
                  base_channels=16)))

# DRL with the paper's high-noise focus: sigma uniform on [0.01, 50] instead of t uniform
# (sigma log-uniform), so most training images are heavily noised and the code has to carry
# global content (the paper's MNIST code then encodes the class, not the stroke width).
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(t_sampling=dict(type='uniform_sigma', t_min=0.0, t_max=1.0))

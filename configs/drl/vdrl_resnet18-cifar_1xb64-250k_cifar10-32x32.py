# VDRL on CIFAR-10 (for GPU users): the DRL setup with a Gaussian encoder and a KL term
# (1e-5), the variant with the best 100-label CIFAR-10 result in the paper's Table 1.
_base_ = ['./drl_resnet18-cifar_1xb64-250k_cifar10-32x32.py']
model = dict(regularizer='kl', reg_weight=1e-5)

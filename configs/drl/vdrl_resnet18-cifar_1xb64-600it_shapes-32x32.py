# VDRL on Shapes: DRL with a Gaussian encoder (mean and log-variance heads on the pooled
# features) and a KL term to N(0, I) instead of the L1 penalty; z is sampled while training,
# its mean is the code at evaluation.
_base_ = ['./drl_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(regularizer='kl', reg_weight=1e-5)

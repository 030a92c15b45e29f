# DRL on CIFAR-100 (for GPU users): the CIFAR-10 setup on CIFAR-100's training images.
_base_ = ['./drl_resnet18-cifar_1xb64-250k_cifar10-32x32.py']
train_dataloader = dict(dataset=dict(type='CIFAR100', data_root='data/cifar100'))

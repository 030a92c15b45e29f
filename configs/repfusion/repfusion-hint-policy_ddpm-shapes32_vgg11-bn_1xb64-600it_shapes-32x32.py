# RepFusion with the learned timestep policy into the VGG-11-BN student of the
# classification protocol: the policy config of the ResNet student with the student of
# repfusion-hint_ddpm-shapes32_vgg11-bn_... . The reward reads the labels of the training list;
# under the label-efficiency protocol tools/run_repfusion.py gives it the regime's partial list
# (annotations/cls_train_10pct_partial.txt: every image, -1 = unlabelled), so distillation uses
# all images and the reward only the regime's labels.
_base_ = ['./repfusion-hint-policy_ddpm-shapes32_resnet18-cifar_1xb64-600it_shapes-32x32.py']
model = dict(
    student=dict(
        _delete_=True, type='mmpretrain.VGG', depth=11, num_stages=4, dilations=(1, 1, 1, 1),
        out_indices=(1, 3), norm_cfg=dict(type='BN'), with_last_pool=False))

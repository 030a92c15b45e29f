"""Why did the Shapes classification baseline stall at ~37 %? Train backbone variants in one
plain PyTorch loop (no mmengine runner), side by side, and print train / val top-1 per epoch.

    python tools/analysis/diagnose_cls_baseline.py --variants mmpretrain mmpretrain-nozero \
        torchvision --epochs 10 [--optimizer sgd|adamw] [--out work_dirs/diagnose_cls.csv]

Variants (all: global average pool + linear head, the Shapes preprocessor's [-1, 1] input):
  mmpretrain          mmpretrain ResNet_CIFAR-18 (stem/base 32), its own init (zero-init residual)
  mmpretrain-nozero   the same with ``zero_init_residual=False``
  mmpretrain-w64      ResNet_CIFAR-18 at full width (stem/base 64)
  mmpretrain-avgdown-nozero  avg-pool shortcut (ResNet-D style), no zero-init
  mmpretrain-noskip-nozero   diagnostic: the same blocks with the identity shortcut removed
  mmpretrain-maxpool-nozero  diagnostic: stride-1 stages with 2x2 max-pools between them
  torchvision         torchvision ResNet-18 with a CIFAR stem (3x3 conv, no max-pool), width 64
  resnet18            mmpretrain ResNet-18 with its standard stem (7x7 stride-2 conv, max-pool)
  vgg11 / vgg13       mmpretrain VGG with BN, 4 stages (64-128-256-512), 3 max-pools
  plain-cnn           8 conv3x3-BN-ReLU layers (32-32-64-64-128-128-256), three max-pools
The data augmentation is the config's: pad-2 reflect random crop + horizontal flip.
"""
import argparse
import csv
import os
import os.path as osp
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdiffrep.datasets import read_cls_split  # noqa: E402


class Classifier(nn.Module):

    def __init__(self, backbone, channels, num_classes=6):
        super().__init__()
        self.backbone, self.head = backbone, nn.Linear(channels, num_classes)

    def forward(self, x):
        out = self.backbone(x)
        if isinstance(out, (tuple, list)):
            out = out[-1]
        return self.head(out.mean((2, 3)))


def _no_shortcut_forward(block, x):
    out = block.relu(block.norm1(block.conv1(x)))
    return block.relu(block.norm2(block.conv2(out)))


def build(variant):
    if variant.startswith('mmpretrain'):
        from mmpretrain.models import ResNet_CIFAR
        width = 64 if 'w64' in variant else 32
        maxpool = 'maxpool' in variant
        net = ResNet_CIFAR(depth=18, stem_channels=width, base_channels=width,
                           zero_init_residual='nozero' not in variant,
                           avg_down='avgdown' in variant,
                           strides=(1, 1, 1, 1) if maxpool else (1, 2, 2, 2))
        net.init_weights()
        if maxpool:  # diagnostic only: downsample by 2x2 max-pool between stages
            for name in ('layer2', 'layer3', 'layer4'):
                setattr(net, name, nn.Sequential(nn.MaxPool2d(2), getattr(net, name)))
        if 'noskip' in variant:  # diagnostic only: residual branches without the shortcut
            import types
            for block in net.modules():
                if type(block).__name__ == 'BasicBlock':
                    block.forward = types.MethodType(_no_shortcut_forward, block)
        return Classifier(net, 8 * width)
    if variant == 'resnet18':  # mmpretrain's standard ResNet-18: 7x7/2 stem + max-pool
        from mmpretrain.models import ResNet
        net = ResNet(depth=18)
        net.init_weights()
        return Classifier(net, 512)
    if variant.startswith('vgg'):  # mmpretrain VGG-11/13 with BN, 3 stages with max-pools
        from mmpretrain.models import VGG
        depth = int(variant[3:5])
        net = VGG(depth=depth, num_stages=4, dilations=(1, 1, 1, 1), norm_cfg=dict(type='BN'),
                  out_indices=(3, ),
                  with_last_pool=False)
        net.init_weights()
        return Classifier(net, 512)
    if variant == 'torchvision':
        import torchvision
        net = torchvision.models.resnet18(num_classes=6)
        net.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        net.avgpool = nn.Identity()

        class TV(nn.Module):

            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                n = self.net
                x = n.relu(n.bn1(n.conv1(x)))
                return n.layer4(n.layer3(n.layer2(n.layer1(x))))

        return Classifier(TV(), 512)
    if variant == 'plain-cnn':
        layers, c_in = [], 3
        for i, c in enumerate((32, 32, 64, 64, 128, 128, 256)):
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True)]
            if i in (1, 3, 5):
                layers.append(nn.MaxPool2d(2))
            c_in = c
        return Classifier(nn.Sequential(*layers), 256)
    raise ValueError(f'unknown variant {variant!r}')


def augment(x, generator):
    """Pad-2 reflect random crop + horizontal flip, per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (2, 2, 2, 2), mode='reflect')
    dx = torch.randint(0, 5, (n, ), generator=generator)
    dy = torch.randint(0, 5, (n, ), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    out[flip] = out[flip].flip(-1)
    return out


@torch.no_grad()
def accuracy(model, x, y, batch=250):
    model.eval()
    correct = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
                  for i in range(0, len(x), batch))
    return 100 * correct / len(x)


def train(variant, data, epochs, optimizer, lr, seed, batch=64):
    torch.manual_seed(seed)
    model = build(variant)
    (xtr, ytr), (xva, yva) = data
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    if optimizer == 'sgd':
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                              weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.time()
        order = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(augment(xtr[idx], gen)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        row = dict(variant=variant, optimizer=optimizer, epoch=epoch,
                   loss=round(total / len(xtr), 4), train_top1=round(accuracy(model, xtr, ytr), 1),
                   val_top1=round(accuracy(model, xva, yva), 1),
                   sec=round(time.time() - start, 1))
        print(row, flush=True)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', default='data/shapes32')
    parser.add_argument('--variants', nargs='+', default=['mmpretrain', 'mmpretrain-nozero'])
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--optimizer', choices=['sgd', 'adamw'], default='sgd')
    parser.add_argument('--lr', type=float, default=None,
                        help='default: 0.05 (SGD OneCycle max) / 2e-3 (AdamW)')
    parser.add_argument('--train-ann', default='annotations/cls_train.txt')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--blur', action='store_true',
                        help='diagnostic: 3x3 box-blur all images (tests the noise hypothesis)')
    parser.add_argument('--out', default='work_dirs/diagnose_cls_baseline.csv')
    args = parser.parse_args(argv)
    lr = args.lr or (0.05 if args.optimizer == 'sgd' else 2e-3)
    norm = lambda x: (x - 127.5) / 127.5  # noqa: E731 - the Shapes preprocessor
    xtr, ytr = read_cls_split(args.data, args.train_ann, 'images/train')
    xva, yva = read_cls_split(args.data, 'annotations/cls_val.txt', 'images/val')
    if args.blur:  # diagnostic only: a 3x3 box blur of every image (train and val)
        blur = lambda x: F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode='replicate'), 3, 1)  # noqa
        xtr, xva = blur(xtr), blur(xva)
    data = ((norm(xtr), ytr), (norm(xva), yva))
    rows = []
    for variant in args.variants:
        rows += train(variant, data, args.epochs, args.optimizer, lr, args.seed)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()

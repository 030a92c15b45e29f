"""Necks for DiffusionUNet features."""
import pytest
import torch
import torch.nn.functional as F

from mmdiffrep.models.necks import HyperfeatureNeck
from mmdiffrep.registry import MODELS


def test_upsample_concat_equals_manual_resize_and_cat():
    xs = (torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 6, 4, 4))
    neck = MODELS.build(dict(type='UpsampleConcatNeck', in_channels=[4, 8, 6]))
    (out, ) = neck(xs)
    ref = torch.cat([xs[0]] + [F.interpolate(x, size=(16, 16), mode='bilinear',
                                             align_corners=False) for x in xs[1:]], 1)
    assert torch.equal(out, ref) and neck.out_channels == 18
    with pytest.raises(ValueError, match='differ from in_channels'):
        neck(xs[:2])


def test_hyperfeature_neck_mixing():
    # two blocks x three timesteps, block-major as DiffusionUNet(combine='separate') gives
    xs = tuple([torch.randn(2, 8, 16, 16)] * 3 + [torch.randn(2, 16, 8, 8)] * 3)
    neck = HyperfeatureNeck(in_channels=[8] * 3 + [16] * 3, num_timesteps=3, out_channels=32,
                            num_groups=8)
    w = neck.mixing_weights()
    assert w.shape == (2, 3) and torch.allclose(w.sum(), torch.tensor(1.0))
    torch.testing.assert_close(w, torch.full((2, 3), 1 / 6))  # uniform at init
    (out, ) = neck(xs)
    assert out.shape == (2, 32, 16, 16)
    # the output is the weighted sum of the projected maps
    with torch.no_grad():
        neck.mix_logits.copy_(torch.tensor([[0.0, -1e4, -1e4], [-1e4, -1e4, -1e4]]))
    (only_first, ) = neck(xs)
    torch.testing.assert_close(only_first, neck.projections[0](xs[0]), atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert neck.mix_logits.grad is not None and neck.mix_logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='different channels across timesteps'):
        HyperfeatureNeck(in_channels=[8, 16], num_timesteps=2)


def test_standardized_pooling_is_pooling_then_standardisation():
    """Train mode: each channel of the pooled batch has zero mean and unit (biased) variance;
    eval mode: the running statistics are used, i.e. (x - running_mean) / sqrt(running_var)."""
    from mmdiffrep.models.necks import StandardizedPooling
    torch.manual_seed(0)
    x = torch.randn(16, 5, 3, 3) * torch.tensor([1e-3, 1.0, 10.0, 100.0, 1e3]).view(1, 5, 1, 1)
    neck = MODELS.build(dict(type='mmdiffrep.StandardizedPooling', in_channels=[5],
                             momentum=1.0))
    (out, ) = neck((x, ))
    pooled = x.mean((2, 3))
    ref = (pooled - pooled.mean(0)) / (pooled.var(0, unbiased=False) + 1e-5).sqrt()
    assert torch.allclose(out, ref, atol=1e-4)
    neck.eval()  # momentum 1: running statistics are the last batch's (unbiased variance)
    (out, ) = neck((x, ))
    ref = (pooled - pooled.mean(0)) / (pooled.var(0, unbiased=True) + 1e-5).sqrt()
    assert torch.allclose(out, ref, atol=1e-4)
    assert not list(neck.parameters())  # nothing to learn: the probe stays linear
    with pytest.raises(ValueError, match='configured 5 channels'):
        neck((torch.randn(2, 4, 3, 3), ))
    with pytest.raises(ValueError, match='got 2 inputs'):
        neck((x, x))
    with pytest.raises(ValueError, match='positive channel counts'):
        StandardizedPooling(in_channels=[0])

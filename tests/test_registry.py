"""mmdiffrep's registries from the scopes of mmpretrain, mmseg and mmpose."""
import subprocess
import sys

import pytest
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope

from mmdiffrep.registry import HOOKS, MODELS

TOOLBOXES = ['mmpretrain', 'mmseg', 'mmpose']


def _toolbox_models(scope):
    import importlib
    module = importlib.import_module(f'{scope}.registry')
    importlib.import_module(f'{scope}.models')
    return module.MODELS


@pytest.fixture(scope='module')
def toy_modules():
    """Two mmdiffrep components, the outer building the inner (and a toolbox model) by bare
    names: exactly what a backbone or algorithm of ours does inside another toolbox's run."""

    class _ToyInner(nn.Module):

        def __init__(self, width=2):
            super().__init__()
            self.width = width

    class _ToyOuter(BaseModule):

        def __init__(self, inner, other=None):
            super().__init__()
            self.inner = MODELS.build(inner)
            self.other = MODELS.build(other) if other is not None else None

    MODELS.register_module(name='_ToyInner', module=_ToyInner, force=True)
    MODELS.register_module(name='_ToyOuter', module=_ToyOuter, force=True)
    yield _ToyOuter, _ToyInner
    MODELS._module_dict.pop('_ToyInner')
    MODELS._module_dict.pop('_ToyOuter')


@pytest.mark.parametrize('scope', TOOLBOXES)
def test_prefixed_type_from_toolbox_scope(scope, toy_modules):
    outer_cls, inner_cls = toy_modules
    registry = _toolbox_models(scope)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='mmdiffrep._ToyOuter', inner=dict(type='_ToyInner',
                                                                         width=3)))
    assert isinstance(model, outer_cls)
    # the scope trap: the nested bare name resolved in mmdiffrep although the default
    # scope during the build was the toolbox's
    assert isinstance(model.inner, inner_cls) and model.inner.width == 3


@pytest.mark.parametrize('scope', TOOLBOXES)
def test_nested_toolbox_types_keep_the_toolbox_meaning(scope, toy_modules):
    """A bare toolbox name nested in our component means the current toolbox's class."""
    registry = _toolbox_models(scope)
    name = {'mmpretrain': 'ResNet', 'mmseg': 'ResNetV1c', 'mmpose': 'ResNet'}[scope]
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='mmdiffrep._ToyOuter', inner=dict(type='_ToyInner'),
                                    other=dict(type=name, depth=18)))
        expected = registry.get(name)
    assert type(model.other) is expected
    assert type(model.other).__module__.startswith(scope)


def test_prefixed_types_inside_mmdiffrep_scope(toy_modules):
    with DefaultScope.overwrite_default_scope('mmdiffrep'):
        model = MODELS.build(dict(type='_ToyOuter', inner=dict(type='_ToyInner'),
                                  other=dict(type='mmpretrain.ResNet', depth=18)))
    assert type(model.other).__module__.startswith('mmpretrain')


def test_unknown_type_error_lists_names(toy_modules):
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(KeyError, match=r"'_ToyInnr'.*Did you mean '_ToyInner'"):
            _toolbox_models('mmseg').build(dict(type='mmdiffrep._ToyInnr'))
    with DefaultScope.overwrite_default_scope('mmdiffrep'):
        with pytest.raises(KeyError, match='mmpretrain.ResNet'):
            MODELS.build(dict(type='_ToyOuter', inner=dict(type='ResNet')))


def test_registries_are_children_of_mmengine_roots():
    from mmengine.registry import HOOKS as ROOT_HOOKS
    from mmengine.registry import MODELS as ROOT_MODELS
    assert MODELS.parent is ROOT_MODELS and MODELS.scope == 'mmdiffrep'
    assert HOOKS.parent is ROOT_HOOKS
    assert ROOT_MODELS.children['mmdiffrep'] is MODELS
    # mmengine / mmcv components stay reachable through the parent
    with DefaultScope.overwrite_default_scope('mmdiffrep'):
        assert HOOKS.build(dict(type='EMAHook')).__class__.__name__ == 'EMAHook'


@pytest.mark.parametrize('scope', TOOLBOXES)
def test_prefix_imports_the_plugin_without_custom_imports(scope):
    """In a fresh interpreter that never imported mmdiffrep, the ``mmdiffrep.`` prefix alone
    reaches our registry (mmengine imports ``mmdiffrep.registry``)."""
    code = f"""
import sys
from mmengine.registry import DefaultScope
from {scope}.registry import MODELS
assert 'mmdiffrep' not in sys.modules
with DefaultScope.overwrite_default_scope('{scope}'):
    try:
        MODELS.build(dict(type='mmdiffrep.NoSuchBackbone'))
    except KeyError as e:
        print('KEYERROR', e)
assert 'mmdiffrep.registry' in sys.modules
unet_cfg = dict(type='UNet2DModel', sample_size=8, block_out_channels=(8, 8), layers_per_block=1,
                norm_num_groups=4, down_block_types=('DownBlock2D', 'DownBlock2D'),
                up_block_types=('UpBlock2D', 'UpBlock2D'))
with DefaultScope.overwrite_default_scope('{scope}'):
    bb = MODELS.build(dict(type='mmdiffrep.DiffusionUNet', unet_cfg=unet_cfg, blocks=['mid']))
print('BUILT', type(bb).__module__, bb.out_channels)
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "KEYERROR 'NoSuchBackbone' is not registered in mmdiffrep's 'model'" in out.stdout
    assert 'BUILT mmdiffrep.models.backbones.diffusion_unet [8]' in out.stdout

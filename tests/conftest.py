"""Shared fixtures: a small Shapes dataset generated once per test session."""
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """Shapes at 32 px, small enough for tests (train 96 / val 32 / test 32)."""
    from mmdiffrep.datasets.shapes import generate_shapes
    root = str(tmp_path_factory.mktemp('data') / 'shapes32')
    generate_shapes(root, size=32, num_train=96, num_val=32, num_test=32,
                    labelled_fractions=(0.1, ), seed=0)
    return root


@pytest.fixture
def subprocess_env():
    """Environment for running tools/*.py in a child process from the repo root."""
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


@pytest.fixture
def train_cli(repo_root, subprocess_env):
    """``train_cli(config, *args)``: run tools/train.py in a child process, return its log."""
    import subprocess

    def train(config, *extra):
        out = subprocess.run([sys.executable, 'tools/train.py', str(config), *extra],
                             cwd=repo_root, env=subprocess_env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout + out.stderr
    return train

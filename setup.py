"""Install mmdiffrep. The full pinned stack (mmcv with ops, NumPy-2 xtcocotools, ...) is set up
by ``make env`` (tools/setup_env.sh); ``install_requires`` names the real runtime dependencies."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'mmdiffrep', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_readme():
    path = osp.join(osp.dirname(__file__), 'README.md')
    return open(path, encoding='utf-8').read() if osp.exists(path) else ''


setup(
    name='mmdiffrep',
    version=read_version(),
    description='Diffusion models as representation learners for OpenMMLab 2.x: '
    'diffusion U-Net backbones, RepFusion distillation and DRL.',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['mmdiffrep', 'mmdiffrep.*']),
    include_package_data=True,
    install_requires=[
        'torch>=2.1',
        'torchvision',
        'numpy',
        'mmengine>=0.10.7,<1.0.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmpretrain>=1.2.0',
        'mmsegmentation>=1.2.2',
        'mmpose>=1.3.2',
        'mmdet>=3.3.0',
        'diffusers>=0.30',
        'safetensors',
        'pillow',
        'matplotlib',
        'tqdm',
    ],
    extras_require={'tests': ['pytest'], 'text': ['transformers']},
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)

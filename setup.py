"""Packaging for probpose_ext.

``install_requires`` deliberately lists only light, pure-Python packages: the
OpenMMLab stack (torch, mmcv, mmengine, mmpose, ...) is a prerequisite the
user already has, or that ``make install`` provides from ``requirements.txt``
and ``constraints.txt``. Listing it here would make ``pip install -e .`` into
an existing MMPose environment try to install chumpy, mmcv or another torch.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    text = (HERE / 'probpose_ext' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


setup(
    name='probpose_ext',
    version=read_version(),
    description='Probabilistic keypoints (ProbPose, CropCOCO / Ex-OKS, '
    'TIC-TAC) as an MMPose 1.x extension',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['probpose_ext', 'probpose_ext.*']),
    include_package_data=True,
    install_requires=['numpy', 'tqdm'],
    extras_require={
        'tests': ['pytest', 'entmax'],
        # ONNX export and ONNX Runtime inference (docs/deploy.md)
        'deploy': ['onnx>=1.17', 'onnxruntime>=1.20', 'onnxscript>=0.5',
                   'onnx-ir'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)

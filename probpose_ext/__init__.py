"""probpose_ext: probabilistic keypoints for MMPose 1.x.

Importing the package (directly or through
``custom_imports=dict(imports=['probpose_ext'])`` in an MMPose config) first
applies the compatibility shims of :mod:`probpose_ext.compat` for the pinned
third-party stack, then registers every component into MMPose's registries.
"""
from .version import __version__
from .utils.env import check_stack_versions

check_stack_versions()

from . import compat  # noqa: E402

compat.apply_all()

from . import codecs, datasets, engine, evaluation, models  # noqa: E402,F401
from . import deploy, visualization  # noqa: E402,F401

__all__ = [
    '__version__', 'codecs', 'compat', 'datasets', 'deploy', 'engine',
    'evaluation',
    'models', 'visualization'
]

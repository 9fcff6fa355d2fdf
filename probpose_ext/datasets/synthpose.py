"""Alias of :mod:`probpose_ext.datasets.generators.synthpose`, where the
SynthPose generator lives; kept so that ``from
probpose_ext.datasets.synthpose import make_synthpose`` keeps working."""
from .generators.synthpose import *  # noqa: F401,F403
from .generators.synthpose import __all__  # noqa: F401

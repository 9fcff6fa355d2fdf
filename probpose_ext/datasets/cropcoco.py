"""Alias of :mod:`probpose_ext.datasets.generators.cropcoco`, where the
CropCOCO generator lives; kept so that ``from
probpose_ext.datasets.cropcoco import make_cropcoco`` keeps working."""
from .generators.cropcoco import *  # noqa: F401,F403
from .generators.cropcoco import __all__  # noqa: F401

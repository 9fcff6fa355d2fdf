"""Scalar radii in MMPose's OpenCV visualiser on numpy >= 1.25.

Problem (ENVIRONMENT.md problem 5): ``PoseLocalVisualizer`` passes
``radius=np.array([r])`` to ``OpencvBackendVisualizer.draw_circles``, which
calls ``int(radius)``. numpy 1.25 deprecated converting a 1-element array of
ndim > 0 to a scalar and numpy 2.4 raises ``TypeError: only 0-dimensional
arrays can be converted``, breaking ``--show-dir`` and the inferencer's
drawing (mmpose 1.3.2).

Workaround: wrap ``draw_circles`` to pass a one-element radius array as a
Python scalar to the OpenCV backend. Not applied on numpy < 1.25.
"""
import functools

import numpy as np

from ._shim import Shim

_originals = {}


def _numpy_version():
    return tuple(int(p) for p in np.__version__.split('.')[:2])


def needed() -> bool:
    return _numpy_version() >= (1, 25)


def _as_scalar(value):
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim > 0:
        return value.reshape(()).item()
    if hasattr(value, 'numel') and value.numel() == 1 and value.dim() > 0:
        return value.reshape(()).item()
    return value


def _make_draw_circles(original):

    @functools.wraps(original)
    def draw_circles(self, center, radius, *args, **kwargs):
        if getattr(self, 'backend', None) == 'opencv':
            radius = _as_scalar(radius)
        return original(self, center, radius, *args, **kwargs)

    return draw_circles


def _install() -> None:
    from mmpose.visualization.opencv_backend_visualizer import \
        OpencvBackendVisualizer
    _originals['draw_circles'] = OpencvBackendVisualizer.draw_circles
    OpencvBackendVisualizer.draw_circles = _make_draw_circles(
        _originals['draw_circles'])


def _uninstall() -> None:
    from mmpose.visualization.opencv_backend_visualizer import \
        OpencvBackendVisualizer
    OpencvBackendVisualizer.draw_circles = _originals.pop('draw_circles')


_SHIM = Shim(needed, _install, _uninstall)
apply, remove, is_applied = _SHIM.apply, _SHIM.remove, _SHIM.is_applied

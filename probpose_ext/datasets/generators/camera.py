"""Pinhole cameras in MMPose's conventions, and a Human3.6M-like rig.

A :class:`PinholeCamera` holds the fields of MMPose's Human3.6M
``cameras.pkl`` (written by MMPose's ``preprocess_h36m.py``) and projects
exactly like ``mmpose.utils.camera.SimpleCamera`` built from them:

* ``R`` (3, 3): rotation camera -> world (its columns are the camera axes
  in world coordinates); ``T`` (3, 1): the camera centre in the world. So
  ``X_cam = R^T (X_world - T)``, or with points as rows (MMPose's way)
  ``X_cam = (X_world - T^T) R``.
* Camera frame: x right, y down, z along the optical axis (OpenCV).
* ``f`` (2, 1) focal lengths and ``c`` (2, 1) principal point in pixels;
  ``k`` (3, 1) radial and ``p`` (2, 1) tangential distortion with MMPose's
  (Human3.6M) model: for ``x = X_cam[:2] / X_cam[2]`` and ``r2 = |x|^2``,
  ``x' = x (1 + k1 r2 + k2 r2^2 + k3 r2^3 + 2 (p2 x + p1 y)) + r2 (p2,
  p1)``, then ``u = f * x' + c``;
* ``w``, ``h`` image size in pixels; ``name`` and ``id`` as in the file.

The world is z-up, in metres (as MMPose's Human3.6M annotations);
:func:`~probpose_ext.datasets.generators.kinematics.body_to_world` places
the body model in it.

Note:
    - ``...``: any leading axes, e.g. (T, N, J) for T frames of N people
      with J joints
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .kinematics import unit_vector

__all__ = ['PinholeCamera', 'look_at', 'h36m_like_rig', 'H36M_CAMERA_IDS']

ArrayLike = Union[np.ndarray, Sequence[float]]

#: Camera ids and image sizes (w, h) of the four Human3.6M cameras, in
#: MMPose's order.
H36M_CAMERA_IDS: Tuple[Tuple[str, Tuple[int, int]], ...] = (
    ('54138969', (1000, 1002)),
    ('55011271', (1000, 1000)),
    ('58860488', (1000, 1000)),
    ('60457274', (1000, 1002)),
)


def _column(value: ArrayLike, rows: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1, 1)
    if array.shape != (rows, 1):
        raise ValueError(f'{name} must have {rows} values, got '
                         f'{np.size(value)}')
    return array


@dataclass
class PinholeCamera:
    """A pinhole camera with the fields of MMPose's ``cameras.pkl``.

    Args:
        R (np.ndarray): Rotation camera -> world, shape (3, 3).
        T (np.ndarray): Camera centre in the world, shape (3, 1).
        f (np.ndarray): Focal lengths (fx, fy) in pixels, shape (2, 1).
        c (np.ndarray): Principal point (cx, cy) in pixels, shape (2, 1).
        w (int): Image width.
        h (int): Image height.
        k (np.ndarray): Radial distortion (k1, k2, k3), shape (3, 1).
        p (np.ndarray): Tangential distortion (p1, p2), shape (2, 1).
        name (str): Camera name.
        id (str): Camera id.
    """
    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    w: int
    h: int
    k: np.ndarray = field(default_factory=lambda: np.zeros((3, 1)))
    p: np.ndarray = field(default_factory=lambda: np.zeros((2, 1)))
    name: str = ''
    id: str = ''

    def __post_init__(self) -> None:
        self.R = np.asarray(self.R, dtype=np.float64)
        if self.R.shape != (3, 3):
            raise ValueError(f'R must have shape (3, 3), got {self.R.shape}')
        if not np.allclose(self.R.T @ self.R, np.eye(3), atol=1e-6) or \
                np.linalg.det(self.R) < 0:
            raise ValueError('R must be a rotation matrix')
        self.T = _column(self.T, 3, 'T')
        self.f = _column(self.f, 2, 'f')
        self.c = _column(self.c, 2, 'c')
        self.k = _column(self.k, 3, 'k')
        self.p = _column(self.p, 2, 'p')
        self.w, self.h = int(self.w), int(self.h)

    @classmethod
    def from_dict(cls, param: Dict) -> 'PinholeCamera':
        """Build from a ``cameras.pkl`` entry (extra keys are ignored;
        missing ``k``/``p`` mean no distortion).

        Args:
            param (dict): ``R, T, f, c, w, h`` and optionally ``k, p,
                name, id``.

        Returns:
            PinholeCamera: The camera.
        """
        keys = ('R', 'T', 'f', 'c', 'w', 'h', 'k', 'p', 'name', 'id')
        return cls(**{k: param[k] for k in keys if k in param})

    def to_dict(self) -> Dict:
        """The ``cameras.pkl`` entry of this camera (float64 arrays), also a
        valid ``param`` of MMPose's ``SimpleCamera``.

        Returns:
            dict: ``R`` (3, 3), ``T`` (3, 1), ``c`` (2, 1), ``f`` (2, 1),
            ``k`` (3, 1), ``p`` (2, 1), ``w``, ``h``, ``name``, ``id``.
        """
        return dict(
            R=self.R.copy(),
            T=self.T.copy(),
            c=self.c.copy(),
            f=self.f.copy(),
            k=self.k.copy(),
            p=self.p.copy(),
            w=self.w,
            h=self.h,
            name=self.name,
            id=self.id)

    @property
    def intrinsic_matrix(self) -> np.ndarray:
        """``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``, shape (3, 3)."""
        K = np.eye(3)
        K[[0, 1], [0, 1]] = self.f[:, 0]
        K[:2, 2] = self.c[:, 0]
        return K

    def world_to_camera(self, points: ArrayLike) -> np.ndarray:
        """World -> camera coordinates.

        Args:
            points (ArrayLike): World points, shape (..., 3).

        Returns:
            np.ndarray: Camera points, shape (..., 3).
        """
        return (np.asarray(points, dtype=np.float64) - self.T[:, 0]) @ self.R

    def camera_to_world(self, points: ArrayLike) -> np.ndarray:
        """Camera -> world coordinates (inverse of
        :meth:`world_to_camera`).

        Args:
            points (ArrayLike): Camera points, shape (..., 3).

        Returns:
            np.ndarray: World points, shape (..., 3).
        """
        return np.asarray(points, dtype=np.float64) @ self.R.T + self.T[:, 0]

    def camera_to_pixel(self, points: ArrayLike) -> np.ndarray:
        """Project camera points to pixels, with the distortion model of the
        module docstring.

        Args:
            points (ArrayLike): Camera points (z > 0), shape (..., 3).

        Returns:
            np.ndarray: Pixels (u, v), shape (..., 2).
        """
        points = np.asarray(points, dtype=np.float64)
        xy = points[..., :2] / points[..., 2:]
        if self.k.any() or self.p.any():
            k1, k2, k3 = self.k[:, 0]
            p1, p2 = self.p[:, 0]
            r2 = np.sum(xy**2, axis=-1)
            radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
            tangential = 2 * (p2 * xy[..., 0] + p1 * xy[..., 1])
            xy = (
                xy * (radial + tangential)[..., None] +
                r2[..., None] * np.array([p2, p1]))
        return xy * self.f[:, 0] + self.c[:, 0]

    def world_to_pixel(self, points: ArrayLike) -> np.ndarray:
        """Project world points to pixels.

        Args:
            points (ArrayLike): World points, shape (..., 3).

        Returns:
            np.ndarray: Pixels (u, v), shape (..., 2).
        """
        return self.camera_to_pixel(self.world_to_camera(points))

    def pixel_to_camera(self, pixels: ArrayLike,
                        depth: ArrayLike) -> np.ndarray:
        """Back-project undistorted pixels at given depths (ignores ``k``
        and ``p``, as MMPose's ``SimpleCamera.pixel_to_camera``).

        Args:
            pixels (ArrayLike): Pixels (u, v), shape (..., 2).
            depth (ArrayLike): Camera z of each pixel, shape (...).

        Returns:
            np.ndarray: Camera points, shape (..., 3).
        """
        pixels = np.asarray(pixels, dtype=np.float64)
        depth = np.asarray(depth, dtype=np.float64)[..., None]
        xy = (pixels - self.c[:, 0]) / self.f[:, 0] * depth
        return np.concatenate(
            [xy, np.broadcast_to(depth, xy[..., :1].shape)], axis=-1)

    def in_image(self, pixels: ArrayLike) -> np.ndarray:
        """Whether pixels lie in the closed image box ``[0, w-1] x [0,
        h-1]``.

        Args:
            pixels (ArrayLike): Pixels (u, v), shape (..., 2).

        Returns:
            np.ndarray: Booleans, shape (...).
        """
        pixels = np.asarray(pixels, dtype=np.float64)
        return ((pixels[..., 0] >= 0) & (pixels[..., 0] <= self.w - 1)
                & (pixels[..., 1] >= 0) & (pixels[..., 1] <= self.h - 1))


def look_at(position: ArrayLike,
            target: ArrayLike,
            up: ArrayLike = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Rotation camera -> world of a camera at ``position`` looking at
    ``target``, with its image y axis pointing down along the world's
    ``-up``.

    Args:
        position (ArrayLike): Camera centre, shape (3, ).
        target (ArrayLike): Point on the optical axis, shape (3, ).
        up (ArrayLike): World up direction, shape (3, ).

    Returns:
        np.ndarray: ``R`` with columns (x right, y down, z forward) in world
        coordinates, shape (3, 3).
    """
    forward = unit_vector(np.subtract(target, position, dtype=np.float64))
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(right) < 1e-9:
        raise ValueError('the viewing direction is parallel to up')
    right = unit_vector(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1)


def h36m_like_rig(distance: float = 5.3,
                  height: float = 1.55,
                  target: ArrayLike = (0.0, 0.0, 0.9),
                  azimuths: Sequence[float] = (70.0, -70.0, 110.0, -110.0),
                  focal: float = 1145.0,
                  centre: Optional[ArrayLike] = None) -> List[PinholeCamera]:
    """Four cameras placed like Human3.6M's: around the capture area at
    about 5 m, 1.5 m above the floor, looking at the middle.

    Args:
        distance (float): Horizontal distance of each camera from the
            target (metres).
        height (float): Camera height above the floor (world z = 0).
        target (ArrayLike): Point all cameras look at, shape (3, ).
        azimuths (Sequence[float]): Camera positions around the target,
            degrees counter-clockwise from the world's +x, one per camera
            of :data:`H36M_CAMERA_IDS`.
        focal (float): Focal length in pixels (fx = fy).
        centre (ArrayLike, optional): Principal point; defaults to the
            image centre ``((w - 1) / 2, (h - 1) / 2)``.

    Returns:
        list[PinholeCamera]: The cameras ``camera1`` .. ``camera4`` with
        the ids and image sizes of :data:`H36M_CAMERA_IDS`, no distortion.
    """
    if len(azimuths) != len(H36M_CAMERA_IDS):
        raise ValueError(f'azimuths must have {len(H36M_CAMERA_IDS)} '
                         f'values, got {len(azimuths)}')
    target = np.asarray(target, dtype=np.float64)
    cameras = []
    for i, ((cam_id, (w, h)),
            azimuth) in enumerate(zip(H36M_CAMERA_IDS, azimuths)):
        a = np.radians(azimuth)
        position = np.array([
            target[0] + distance * np.cos(a), target[1] + distance * np.sin(a),
            height
        ])
        c = ((w - 1) / 2, (h - 1) / 2) if centre is None else centre
        cameras.append(
            PinholeCamera(
                R=look_at(position, target),
                T=position,
                f=(focal, focal),
                c=c,
                w=w,
                h=h,
                name=f'camera{i + 1}',
                id=cam_id))
    return cameras

"""Shapes of the SynthPose renderer: circles, tapered capsules, the
elliptic cross-sections of the torso and random convex polygons."""
import cv2
import numpy as np

__all__ = ['CIRCLE', 'capsule', 'circle', 'ellipse_ring', 'sample_polygon']

CIRCLE = np.stack([
    np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)),
    np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))
], 1)


def capsule(p1: np.ndarray, p2: np.ndarray, r1: float,
            r2: float) -> np.ndarray:
    """Convex polygon of a tapered capsule between two 2D points.

    Returns:
        np.ndarray: Polygon vertices, shape (N, 2), float32.
    """
    pts = np.concatenate([p1 + r1 * CIRCLE, p2 + r2 * CIRCLE])
    return cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)


def ellipse_ring(centre: np.ndarray,
                 rot: np.ndarray,
                 half_w: float,
                 half_d: float,
                 n: int = 10) -> np.ndarray:
    """3D points of a horizontal ellipse of a body frame, shape (n, 3)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    local = np.stack([half_w * np.cos(t), np.zeros(n), half_d * np.sin(t)], 1)
    return centre + local @ rot.T


def circle(c: np.ndarray, r: float) -> np.ndarray:
    """16-gon approximating a circle of radius ``r`` at ``c``, shape
    (16, 2), float32."""
    return (c + r * CIRCLE).astype(np.float32)


def sample_polygon(rng: np.random.Generator, centre: np.ndarray,
                   size: float) -> np.ndarray:
    """Random convex polygon (rotated rectangle, ellipse or polygon) of
    about ``size`` pixels, shape (N, 2)."""
    kind = rng.integers(0, 3)
    angle = rng.uniform(0, 180)
    if kind == 0:
        aspect = rng.uniform(0.3, 1.0)
        pts = cv2.boxPoints(((float(centre[0]), float(centre[1])),
                             (float(size), float(size * aspect)), angle))
    elif kind == 1:
        axes = (max(1, int(size / 2)),
                max(1, int(size / 2 * rng.uniform(0.4, 1.0))))
        pts = cv2.ellipse2Poly((int(centre[0]), int(centre[1])), axes,
                               int(angle), 0, 360, 15)
    else:
        n = int(rng.integers(4, 8))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = size / 2 * rng.uniform(0.5, 1.0, n)
        pts = centre + np.stack([r * np.cos(t), r * np.sin(t)], 1)
        pts = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
    return np.asarray(pts, dtype=np.float32).reshape(-1, 2)

"""Activation-window geometry: the region a top-down model's output covers.

At evaluation the activation window (AW) of an instance is its bounding box
grown to the model's aspect ratio (``w / h`` of the input, 0.75 for
192x256) and scaled about its centre by the padding factor (1.25 by
default), the same box MMPose's top-down pipeline crops. A keypoint is "in"
when it lies in that closed box.

Everything here is pure NumPy (float64), vectorised over leading axes.

Note:
    - N: number of instances (any leading shape ``...`` is allowed)
    - K: number of keypoints
"""
from typing import Optional, Sequence, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float], float]

#: Keypoint domains of :func:`keypoint_domains` (the paper's areas A-E).
DOMAIN_NAMES = ('A', 'B', 'C', 'D', 'E')
DOMAIN_DESCRIPTIONS = (
    'A: in the image, in the bbox',
    'B: in the image, out of the bbox, in the activation window',
    'C: in the image, out of the activation window',
    'D: out of the image, in the activation window',
    'E: out of the image, out of the activation window',
)


def _as_boxes(bboxes: ArrayLike) -> np.ndarray:
    boxes = np.asarray(bboxes, dtype=np.float64)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError('bboxes must have shape (..., 4), got '
                         f'{boxes.shape}')
    return boxes


def _check_window_args(aspect_ratio: float, padding: float) -> None:
    if not np.isfinite(aspect_ratio) or aspect_ratio <= 0:
        raise ValueError(f'aspect_ratio must be > 0, got {aspect_ratio}')
    if not np.isfinite(padding) or padding <= 0:
        raise ValueError(f'padding must be > 0, got {padding}')


def fixed_aspect_size(bboxes: ArrayLike,
                      aspect_ratio: float = 0.75) -> np.ndarray:
    """Size of each bbox grown (never shrunk) to ``w / h = aspect_ratio``.

    Args:
        bboxes (ArrayLike): Boxes ``[x, y, w, h]`` in shape (..., 4).
        aspect_ratio (float): Target ``w / h``.

    Returns:
        np.ndarray: Sizes ``[w', h']`` in shape (..., 2).
    """
    _check_window_args(aspect_ratio, 1.0)
    boxes = _as_boxes(bboxes)
    w, h = boxes[..., 2], boxes[..., 3]
    wide = w > aspect_ratio * h
    return np.stack([np.where(wide, w, h * aspect_ratio),
                     np.where(wide, w / aspect_ratio, h)], axis=-1)


def activation_window(bboxes: ArrayLike,
                      aspect_ratio: float = 0.75,
                      padding: float = 1.25) -> np.ndarray:
    """Activation window of each bbox.

    Args:
        bboxes (ArrayLike): Boxes ``[x, y, w, h]`` in shape (..., 4).
        aspect_ratio (float): Model input ``w / h``. Defaults to 0.75.
        padding (float): Scale applied about the centre after fixing the
            aspect ratio. Defaults to 1.25.

    Returns:
        np.ndarray: Windows ``[x0, y0, x1, y1]`` in shape (..., 4).
    """
    _check_window_args(aspect_ratio, padding)
    boxes = _as_boxes(bboxes)
    centre = boxes[..., :2] + boxes[..., 2:] / 2
    half = fixed_aspect_size(boxes, aspect_ratio) * (padding / 2)
    return np.concatenate([centre - half, centre + half], axis=-1)


def pad_to_contain(points: ArrayLike,
                   bboxes: ArrayLike,
                   aspect_ratio: float = 0.75) -> np.ndarray:
    """Smallest padding factor whose activation window contains each point.

    A point is inside ``activation_window(bbox, aspect_ratio, p)`` iff
    ``pad_to_contain(point, bbox, aspect_ratio) <= p``. For a box of zero
    width and height the value is ``inf`` except at its centre.

    Args:
        points (ArrayLike): Points in shape (..., K, 2).
        bboxes (ArrayLike): Boxes ``[x, y, w, h]`` in shape (..., 4).
        aspect_ratio (float): Model input ``w / h``.

    Returns:
        np.ndarray: Padding factors in shape (..., K).
    """
    pts = np.asarray(points, dtype=np.float64)
    boxes = _as_boxes(bboxes)
    centre = (boxes[..., :2] + boxes[..., 2:] / 2)[..., None, :]
    half = fixed_aspect_size(boxes, aspect_ratio)[..., None, :] / 2
    offset = np.abs(pts - centre)
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(offset == 0, 0.0, offset / half)
    return ratio.max(axis=-1)


def cropcoco_visibility(visibility: ArrayLike,
                        pad: ArrayLike,
                        padding: float = 1.25,
                        has_pad: Optional[ArrayLike] = None) -> np.ndarray:
    """CropCOCO visibility at an activation-window padding.

    Where ``pad_to_contain`` is known it decides what is out of the AW, as
    the authors' exococotools does: an annotated keypoint with
    ``pad_to_contain > padding`` gets ``v=3``, a ``v=3`` keypoint that the
    padded window contains gets ``v=1``. Elsewhere ``v`` is kept.

    Args:
        visibility (ArrayLike): Annotated ``v`` in {0, 1, 2, 3}, (N, K).
        pad (ArrayLike): ``pad_to_contain`` in shape (N, K), NaN where
            unknown.
        padding (float): Activation-window padding.
        has_pad (ArrayLike, optional): Where ``pad`` is known, broadcastable
            to (N, K). Defaults to ``~isnan(pad)``.

    Returns:
        np.ndarray: Effective ``v`` (int64) in shape (N, K); ``v == 3`` is
        "out of the activation window".
    """
    v = np.asarray(visibility).astype(np.int64)
    pad = np.asarray(pad, dtype=np.float64)
    known = ~np.isnan(pad) if has_pad is None else np.asarray(has_pad, bool)
    out = (pad > padding) & (v > 0)
    return np.where(known, np.where(out, 3, np.where(v > 2, 1, v)), v)


def in_window(points: ArrayLike, windows: ArrayLike) -> np.ndarray:
    """Whether each point lies in its (closed) window.

    Args:
        points (ArrayLike): Points in shape (..., K, 2).
        windows (ArrayLike): Windows ``[x0, y0, x1, y1]`` in shape (..., 4).

    Returns:
        np.ndarray: Booleans in shape (..., K).
    """
    pts = np.asarray(points, dtype=np.float64)
    win = _as_boxes(windows)[..., None, :]
    return ((pts[..., 0] >= win[..., 0]) & (pts[..., 0] <= win[..., 2])
            & (pts[..., 1] >= win[..., 1]) & (pts[..., 1] <= win[..., 3]))


def in_image(points: ArrayLike, image_size: ArrayLike) -> np.ndarray:
    """Whether each point lies in its image, ``0 <= x < w, 0 <= y < h``.

    Args:
        points (ArrayLike): Points in shape (..., K, 2).
        image_size (ArrayLike): Image ``(w, h)`` in shape (..., 2).

    Returns:
        np.ndarray: Booleans in shape (..., K).
    """
    pts = np.asarray(points, dtype=np.float64)
    size = np.asarray(image_size, dtype=np.float64)[..., None, :]
    return ((pts >= 0) & (pts < size)).all(axis=-1)


def sq_distance_outside_window(points: ArrayLike,
                               windows: ArrayLike) -> np.ndarray:
    """Squared Euclidean distance from each point to its window; 0 inside.

    Args:
        points (ArrayLike): Points in shape (..., 2).
        windows (ArrayLike): Windows ``[x0, y0, x1, y1]`` broadcastable to
            shape (..., 4).

    Returns:
        np.ndarray: Squared distances in shape (...).
    """
    pts = np.asarray(points, dtype=np.float64)
    win = _as_boxes(windows)
    dx = (np.maximum(0, win[..., 0] - pts[..., 0]) +
          np.maximum(0, pts[..., 0] - win[..., 2]))
    dy = (np.maximum(0, win[..., 1] - pts[..., 1]) +
          np.maximum(0, pts[..., 1] - win[..., 3]))
    return dx**2 + dy**2


def sq_distance_to_window_boundary(points: ArrayLike,
                                   windows: ArrayLike,
                                   mode: str = 'edge') -> np.ndarray:
    """Squared distance from each point to the boundary of its window.

    ``mode='edge'`` (the ProbPose paper) is the Euclidean distance to the
    nearest point of the rectangle's boundary, from inside or outside.
    ``mode='corner'`` reproduces the authors' ``exococotools``: with
    ``dx = min(x - x0, x1 - x)`` and ``dy = min(y - y0, y1 - y)`` it returns
    ``dx^2 + dy^2``, i.e. the distance to the nearest *corner* for a point
    inside the window.

    Args:
        points (ArrayLike): Points in shape (..., 2).
        windows (ArrayLike): Windows ``[x0, y0, x1, y1]`` broadcastable to
            shape (..., 4).
        mode (str): ``'edge'`` or ``'corner'``.

    Returns:
        np.ndarray: Squared distances in shape (...).
    """
    pts = np.asarray(points, dtype=np.float64)
    win = _as_boxes(windows)
    dx = np.minimum(pts[..., 0] - win[..., 0], win[..., 2] - pts[..., 0])
    dy = np.minimum(pts[..., 1] - win[..., 1], win[..., 3] - pts[..., 1])
    if mode == 'corner':
        return dx**2 + dy**2
    if mode != 'edge':
        raise ValueError(f"mode must be 'edge' or 'corner', got {mode!r}")
    inside = (dx >= 0) & (dy >= 0)
    return np.where(inside,
                    np.minimum(dx, dy)**2,
                    sq_distance_outside_window(pts, win))


def keypoint_domains(keypoints: ArrayLike,
                     visibility: ArrayLike,
                     bboxes: ArrayLike,
                     image_size: ArrayLike,
                     aspect_ratio: float = 0.75,
                     padding: float = 1.25) -> np.ndarray:
    """Domain (area A-E) of each annotated keypoint.

    The areas partition annotated keypoints by where they lie relative to
    the image, the bbox and the activation window (see
    :data:`DOMAIN_DESCRIPTIONS`): 0=A, 1=B, 2=C for keypoints in the image
    (in the bbox; out of the bbox but in the AW; out of the AW) and 3=D,
    4=E for keypoints out of the image (in the AW; out of it). Keypoints
    with ``v == 0`` get -1.

    Args:
        keypoints (ArrayLike): Keypoints in shape (N, K, 2).
        visibility (ArrayLike): Raw visibility ``v`` in shape (N, K).
        bboxes (ArrayLike): Boxes ``[x, y, w, h]`` in shape (N, 4).
        image_size (ArrayLike): Image ``(w, h)`` of each instance, (N, 2).
        aspect_ratio (float): Model input ``w / h``.
        padding (float): Activation-window padding.

    Returns:
        np.ndarray: Integer codes in shape (N, K).
    """
    kpts = np.asarray(keypoints, dtype=np.float64)
    boxes = _as_boxes(bboxes)
    xyxy = np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]],
                          axis=-1)
    img = in_image(kpts, image_size)
    aw = in_window(kpts, activation_window(boxes, aspect_ratio, padding))
    box = in_window(kpts, xyxy)
    codes = np.where(img,
                     np.where(box, 0, np.where(aw, 1, 2)),
                     np.where(aw, 3, 4))
    return np.where(np.asarray(visibility) > 0, codes, -1)

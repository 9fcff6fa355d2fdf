"""Image and video corruptions of a pose-estimation robustness benchmark
(PoseBench-style image corruptions and a Human3.6M-C-style video analogue).

Image corruptions. Every corruption is a function
``f(img, severity, rng, bbox=None) -> img`` on a BGR ``uint8`` image of
shape (H, W, 3); ``severity`` is an int in ``0..5``, 0 returns an unchanged
copy and the strength grows monotonically with the severity. The severity
constants (:data:`SEVERITY_PARAMS`) are those of ImageNet-C (Hendrycks &
Dietterich 2019, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations"), whose corruption set PoseBench (Ma et al.
2024) reuses for pose estimation, where one exists; the others are this
project's choice. Ten corruptions in five groups
(:data:`CORRUPTION_GROUPS`):

- blur: :func:`motion_blur`;
- noise: :func:`gaussian_noise`, :func:`impulse_noise`;
- digital (compression): :func:`pixelate`, :func:`jpeg`,
  :func:`colour_quantisation`;
- photometric: :func:`brightness`, :func:`darkness`, :func:`contrast`;
- occlusion: :func:`mask`.

Only ``mask`` uses the person ``bbox``; the others ignore it. Pixel-sized
constants (blur radii) are in pixels of the image the function receives, as
in ImageNet-C (which works on 224 x 224 crops): on a full-resolution image
a blur of the same radius is relatively weaker. :func:`corrupt_image`
dispatches by name with argument checks.

Video corruptions (:func:`video_corruption`, names
:data:`VIDEO_CORRUPTIONS`): a corruption applied frame by frame but
consistent over a video, for Human3.6M-style image sequences whose file
names give the video and the frame (:func:`parse_video_frame`). Every random
draw comes from a generator seeded by ``(seed, video_key[, ...])``
(:func:`corruption_rng`), so a frame is corrupted the same way whatever
order or subset of frames is processed:

- ``occlusion``: temporary occlusion by a solid box covering a fraction of
  the person bbox, present in periodic spans of consecutive frame indices
  (period :data:`VIDEO_OCCLUSION_PERIOD`, random phase per video); within a
  span the box's position (relative to the bbox) and colour are fixed.
- ``motion_blur``: :func:`motion_blur`'s kernel with one angle per video.
- ``gaussian_noise``: :func:`gaussian_noise`, fresh per frame.

The module is longer than the project's usual 520 lines (about 840): ten
documented corruptions plus the video variants, which share the private
blur kernel, checks and seeding and so live with them.

Note:
    - H, W: image height and width
    - All images are BGR ``uint8`` arrays of shape (H, W, 3).
    - Boxes ``bbox`` are ``(x1, y1, x2, y2)`` in pixels, shape (4,) or
      (1, 4) (MMPose's top-down ``results['bbox']``).
"""
import functools
import math
import os.path as osp
import re
import zlib
from numbers import Integral
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

__all__ = [
    'SEVERITY_PARAMS', 'IMAGE_CORRUPTIONS', 'CORRUPTION_GROUPS',
    'MAX_SEVERITY', 'VIDEO_CORRUPTIONS', 'VIDEO_OCCLUSION_PERIOD',
    'VIDEO_OCCLUSION_PARAMS', 'MASK_SIDE_RANGE', 'motion_blur',
    'motion_blur_kernel', 'gaussian_noise', 'impulse_noise', 'pixelate',
    'jpeg', 'colour_quantisation', 'brightness', 'darkness', 'contrast',
    'mask', 'corrupt_image', 'corruption_rng', 'parse_video_frame',
    'video_occlusion_schedule', 'video_occlusion_box', 'video_corruption'
]

BBoxLike = Union[np.ndarray, Sequence[float], None]
Corruption = Callable[..., np.ndarray]

#: Highest severity; severities are the integers ``0..MAX_SEVERITY``.
MAX_SEVERITY = 5

#: Constants of severities 1..5 per corruption (index ``severity - 1``):
#:
#: - ``motion_blur``: ``(radius, sigma)`` in pixels (ImageNet-C);
#: - ``gaussian_noise``: noise std on the ``[0, 1]`` intensity scale
#:   (ImageNet-C);
#: - ``impulse_noise``: fraction of salt-and-pepper values (ImageNet-C);
#: - ``pixelate``: resize factor (ImageNet-C);
#: - ``jpeg``: JPEG quality (ImageNet-C);
#: - ``colour_quantisation``: bits per channel (``2 ** bits`` levels; ours);
#: - ``brightness``: added to HSV value V in ``[0, 1]`` (ImageNet-C);
#: - ``darkness``: subtracted from V (ImageNet-C's brightness constants with
#:   the opposite sign; ours);
#: - ``contrast``: factor on the deviation from the channel mean
#:   (ImageNet-C);
#: - ``mask``: masked fraction of the person bbox (of the image without a
#:   bbox; ours).
SEVERITY_PARAMS: Dict[str, tuple] = {
    'motion_blur': ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    'gaussian_noise': (0.08, 0.12, 0.18, 0.26, 0.38),
    'impulse_noise': (0.03, 0.06, 0.09, 0.17, 0.27),
    'pixelate': (0.6, 0.5, 0.4, 0.3, 0.25),
    'jpeg': (25, 18, 15, 10, 7),
    'colour_quantisation': (5, 4, 3, 2, 1),
    'brightness': (0.1, 0.2, 0.3, 0.4, 0.5),
    'darkness': (0.1, 0.2, 0.3, 0.4, 0.5),
    'contrast': (0.4, 0.3, 0.2, 0.1, 0.05),
    'mask': (0.1, 0.2, 0.3, 0.4, 0.5),
}

#: Side of one ``mask`` rectangle as a fraction of the region's side
#: (drawn uniformly per rectangle and axis).
MASK_SIDE_RANGE = (0.2, 0.5)

#: Angle range of the motion blur, in degrees (ImageNet-C).
MOTION_BLUR_ANGLES = (-45.0, 45.0)


def _param(name: str, severity: int):
    return SEVERITY_PARAMS[name][severity - 1]


# ----------------------------------------------------------------- checks
def _check_image(img: np.ndarray, name: str = 'img') -> None:
    """Raise unless ``img`` is a ``uint8`` array of shape (H, W, 3)."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name} must be a numpy array, got {type(img)}')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 \
            or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f'{name} must be a BGR uint8 image of shape '
                         f'(H, W, 3), got {img.dtype} {img.shape}')


def _check_severity(severity: int) -> int:
    """The severity as an int, or a ValueError unless it is in 0..5."""
    if isinstance(severity, bool) or not isinstance(severity, Integral) \
            or not 0 <= int(severity) <= MAX_SEVERITY:
        raise ValueError(f'severity must be an int in 0..{MAX_SEVERITY}, '
                         f'got {severity!r}')
    return int(severity)


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError('rng must be a numpy.random.Generator (e.g. '
                        f'np.random.default_rng(seed)), got {type(rng)}')


def _as_bbox(bbox: BBoxLike) -> Optional[np.ndarray]:
    """``bbox`` as float64 ``(x1, y1, x2, y2)`` of shape (4,), or None."""
    if bbox is None:
        return None
    box = np.asarray(bbox, dtype=np.float64)
    if box.shape not in ((4, ), (1, 4)) or not np.isfinite(box).all():
        raise ValueError('bbox must be finite (x1, y1, x2, y2) of shape (4,)'
                         f' or (1, 4), got {box.shape}: {box.tolist()}')
    return box.reshape(4)


def _check(img: np.ndarray, severity: int, rng: np.random.Generator) -> int:
    _check_image(img)
    severity = _check_severity(severity)
    _check_rng(rng)
    return severity


def _identity_at_zero(fn: Callable) -> Callable:
    """Check a corruption's arguments (image, severity, rng, bbox) and
    return a copy of the image at severity 0; ``fn`` only sees severities
    1..5."""

    @functools.wraps(fn)
    def corruption(img: np.ndarray,
                   severity: int,
                   rng: np.random.Generator,
                   bbox: BBoxLike = None) -> np.ndarray:
        severity = _check(img, severity, rng)
        _as_bbox(bbox)
        if severity == 0:
            return img.copy()
        return fn(img, severity, rng, bbox)

    return corruption


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip a float image on the 0..255 scale to ``uint8``."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# -------------------------------------------------------------------- blur
def motion_blur_kernel(radius: int, sigma: float,
                       angle: float) -> np.ndarray:
    """Linear motion-blur kernel: ``2 radius + 1`` taps on a line through
    the centre at ``angle``, with Gaussian weights along the line.

    Tap ``i`` in ``-radius..radius`` sits at ``(i cos a, i sin a)`` from the
    centre (x right, y down) with weight ``exp(-i^2 / (2 sigma^2))`` and is
    splatted bilinearly onto the pixel grid; the kernel sums to 1. The
    radius and sigma play the roles of ImageMagick's motion blur used by
    ImageNet-C, but the kernel is centred (ImageMagick's is one-sided and so
    also shifts the image by about its mean offset; a pose benchmark should
    measure blur, not a global translation of the keypoints).

    Args:
        radius (int): Taps each side of the centre, ``>= 0``.
        sigma (float): Gaussian std along the line, in taps, ``> 0``.
        angle (float): Direction in degrees.

    Returns:
        np.ndarray: Kernel of shape (2 radius + 3, 2 radius + 3), float32,
        sum 1, point-symmetric about the centre.
    """
    radius = int(radius)
    if radius < 0 or not sigma > 0:
        raise ValueError(f'radius must be >= 0 and sigma > 0, got {radius}, '
                         f'{sigma}')
    size = 2 * radius + 3
    c = radius + 1
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-taps**2 / (2.0 * float(sigma)**2))
    theta = math.radians(float(angle))
    xs = c + taps * math.cos(theta)
    ys = c + taps * math.sin(theta)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    kernel = np.zeros((size, size), dtype=np.float64)
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                      (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weights * w)
    return (kernel / kernel.sum()).astype(np.float32)


def _blur(img: np.ndarray, radius: int, sigma: float,
          angle: float) -> np.ndarray:
    kernel = motion_blur_kernel(radius, sigma, angle)
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


@_identity_at_zero
def motion_blur(img: np.ndarray,
                severity: int,
                rng: np.random.Generator,
                bbox: BBoxLike = None) -> np.ndarray:
    """Linear motion blur in a random direction.

    The angle is drawn uniformly from :data:`MOTION_BLUR_ANGLES` (one draw);
    the kernel is :func:`motion_blur_kernel` with ``(radius, sigma)`` from
    :data:`SEVERITY_PARAMS` and image borders are reflected.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Source of randomness.
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    angle = rng.uniform(*MOTION_BLUR_ANGLES)
    return _blur(img, *_param('motion_blur', severity), angle)


# ------------------------------------------------------------------- noise
@_identity_at_zero
def gaussian_noise(img: np.ndarray,
                   severity: int,
                   rng: np.random.Generator,
                   bbox: BBoxLike = None) -> np.ndarray:
    """Additive i.i.d. Gaussian noise per pixel and channel.

    ``out = clip(round(img + 255 c z), 0, 255)`` with ``z ~ N(0, 1)`` and
    ``c`` the std on the ``[0, 1]`` scale from :data:`SEVERITY_PARAMS`.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Source of randomness.
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    std = 255.0 * _param('gaussian_noise', severity)
    return _to_uint8(img + std * rng.standard_normal(img.shape))


@_identity_at_zero
def impulse_noise(img: np.ndarray,
                  severity: int,
                  rng: np.random.Generator,
                  bbox: BBoxLike = None) -> np.ndarray:
    """Salt-and-pepper noise: each channel value independently becomes 0 or
    255 (equally likely) with probability ``amount`` from
    :data:`SEVERITY_PARAMS`.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Source of randomness.
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    out = img.copy()
    amount = _param('impulse_noise', severity)
    hit = rng.random(img.shape) < amount
    salt = rng.random(img.shape) < 0.5
    out[hit] = np.where(salt[hit], 255, 0).astype(np.uint8)
    return out


# ----------------------------------------------------------------- digital
@_identity_at_zero
def pixelate(img: np.ndarray,
             severity: int,
             rng: np.random.Generator,
             bbox: BBoxLike = None) -> np.ndarray:
    """Pixelation: the image is cut into ``round(c W) x round(c H)`` (at
    least 1 x 1) blocks and every block is filled with its (rounded) mean
    colour (``c`` from :data:`SEVERITY_PARAMS`).

    Column ``x`` belongs to block ``floor(x round(c W) / W)`` (rows alike),
    so blocks are ``floor(1 / c)`` or ``ceil(1 / c)`` pixels wide, the
    partition of nearest-neighbour upsampling. ImageNet-C's PIL box
    down-and-up resize gives the same sizes, but its fractional box weights
    mix neighbouring blocks; exact block means keep the error growing with
    the block size.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    h, w = img.shape[:2]
    factor = _param('pixelate', severity)
    idx = []
    for size in (h, w):
        blocks = max(1, int(round(size * factor)))
        idx.append(np.arange(size) * blocks // size)
    starts = [np.flatnonzero(np.diff(np.r_[-1, i])) for i in idx]
    sums = np.add.reduceat(
        np.add.reduceat(img.astype(np.float64), starts[0], axis=0),
        starts[1], axis=1)
    counts = np.outer(np.bincount(idx[0]), np.bincount(idx[1]))
    means = _to_uint8(sums / counts[..., None])
    return means[idx[0]][:, idx[1]]


@_identity_at_zero
def jpeg(img: np.ndarray,
         severity: int,
         rng: np.random.Generator,
         bbox: BBoxLike = None) -> np.ndarray:
    """JPEG compression: OpenCV encode / decode at the quality from
    :data:`SEVERITY_PARAMS`.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    quality = int(_param('jpeg', severity))
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover (OpenCV built without JPEG)
        raise RuntimeError('OpenCV could not encode a JPEG image')
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


@_identity_at_zero
def colour_quantisation(img: np.ndarray,
                        severity: int,
                        rng: np.random.Generator,
                        bbox: BBoxLike = None) -> np.ndarray:
    """Colour quantisation to ``L = 2 ** bits`` evenly spaced levels per
    channel, including 0 and 255 (``bits`` from :data:`SEVERITY_PARAMS`):
    ``out = round(round(x (L - 1) / 255) 255 / (L - 1))``, the nearest level.

    Unlike bit truncation (PIL's ``posterize``), rounding to the nearest
    level does not darken the image on average.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8, at most ``L``
        distinct values per channel.
    """
    step = 255.0 / (2**_param('colour_quantisation', severity) - 1)
    return _to_uint8(np.rint(img / step) * step)


# ------------------------------------------------------------- photometric
def _shift_value(img: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` to the HSV value (``[0, 1]`` scale), clipped to
    ``[0, 1]``, keeping hue and saturation."""
    hsv = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_BGR2HSV)
    hsv[..., 2] = np.clip(hsv[..., 2] + delta, 0.0, 1.0)
    return _to_uint8(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.0)


@_identity_at_zero
def brightness(img: np.ndarray,
               severity: int,
               rng: np.random.Generator,
               bbox: BBoxLike = None) -> np.ndarray:
    """Brighter image: ``c`` from :data:`SEVERITY_PARAMS` is added to the
    HSV value ``V = max(B, G, R) / 255`` (clipped to 1), keeping hue and
    saturation. Equivalently every channel is scaled by
    ``min(V + c, 1) / V`` (a black pixel becomes grey ``c``).

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    return _shift_value(img, _param('brightness', severity))


@_identity_at_zero
def darkness(img: np.ndarray,
             severity: int,
             rng: np.random.Generator,
             bbox: BBoxLike = None) -> np.ndarray:
    """Darker image (under-exposure): ``c`` from :data:`SEVERITY_PARAMS` is
    subtracted from the HSV value ``V = max(B, G, R) / 255`` (clipped to 0),
    keeping hue and saturation: every channel is scaled by
    ``max(V - c, 0) / V``, so shadows below ``c`` turn black.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    return _shift_value(img, -_param('darkness', severity))


@_identity_at_zero
def contrast(img: np.ndarray,
             severity: int,
             rng: np.random.Generator,
             bbox: BBoxLike = None) -> np.ndarray:
    """Lower contrast: ``out = round((x - m) c + m)`` with ``m`` the mean of
    each channel over the image and ``c < 1`` from :data:`SEVERITY_PARAMS`,
    which keeps every channel's mean and scales its std by ``c``.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Unused (deterministic corruption).
        bbox (ArrayLike, optional): Ignored.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    factor = _param('contrast', severity)
    means = img.mean(axis=(0, 1), keepdims=True)
    return _to_uint8((img - means) * factor + means)


# --------------------------------------------------------------- occlusion
def _region(bbox: Optional[np.ndarray],
            shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """Pixel region ``[x0, x1) x [y0, y1)`` of a bbox (outward-rounded,
    clipped to the image); the whole image without a bbox or when the clipped
    bbox holds no pixel."""
    h, w = shape
    if bbox is not None:
        x0 = int(np.clip(np.floor(bbox[0]), 0, w))
        y0 = int(np.clip(np.floor(bbox[1]), 0, h))
        x1 = int(np.clip(np.ceil(bbox[2]), 0, w))
        y1 = int(np.clip(np.ceil(bbox[3]), 0, h))
        if x1 > x0 and y1 > y0:
            return x0, y0, x1, y1
    return 0, 0, w, h


@_identity_at_zero
def mask(img: np.ndarray,
         severity: int,
         rng: np.random.Generator,
         bbox: BBoxLike = None) -> np.ndarray:
    """Occlusion by random solid rectangles over (and around) the person.

    The region is the person ``bbox`` (outward-rounded to pixels and clipped
    to the image), or the whole image without a bbox. Rectangles are added
    one at a time until they cover a fraction ``f`` (from
    :data:`SEVERITY_PARAMS`) of the region's pixels: each one is centred on
    a random not yet covered pixel of the region, has sides drawn uniformly
    from :data:`MASK_SIDE_RANGE` times the region's sides (so it may stick
    out of the bbox by up to a quarter of its side) and a random uniform
    colour. The last rectangle is cut from below to the first row at which
    the coverage reaches ``f``, so the covered fraction of the region is
    at least ``f`` and exceeds it by less than one rectangle row (about
    ``0.5 / region height``).

    The draws of severity ``s`` are a prefix of those of ``s + 1``: with
    generators in the same state, the masks are nested.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        severity (int): 0..5; 0 returns a copy.
        rng (np.random.Generator): Source of randomness.
        bbox (ArrayLike, optional): Person box ``(x1, y1, x2, y2)``, shape
            (4,) or (1, 4). Defaults to None (whole image).

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.
    """
    box = _as_bbox(bbox)
    out = img.copy()
    h, w = img.shape[:2]
    rx0, ry0, rx1, ry1 = _region(box, (h, w))
    rw, rh = rx1 - rx0, ry1 - ry0
    covered = np.zeros((rh, rw), dtype=bool)  # region coordinates
    target = int(math.ceil(_param('mask', severity) * rh * rw))
    count = 0
    lo, hi = MASK_SIDE_RANGE
    while count < target:
        free = np.flatnonzero(~covered)
        cy, cx = divmod(int(free[rng.integers(free.size)]), rw)
        bw = max(1, int(round(rng.uniform(lo, hi) * rw)))
        bh = max(1, int(round(rng.uniform(lo, hi) * rh)))
        colour = rng.integers(0, 256, size=3).astype(np.uint8)
        # rectangle in region coordinates, clipped to the image
        x0 = max(cx - bw // 2, -rx0)
        y0 = max(cy - bh // 2, -ry0)
        x1 = min(cx - bw // 2 + bw, w - rx0)
        y1 = min(cy - bh // 2 + bh, h - ry0)
        # new covered region pixels per rectangle row
        new = np.zeros(y1 - y0, dtype=np.int64)
        cy0, cy1 = max(y0, 0), min(y1, rh)
        cx0, cx1 = max(x0, 0), min(x1, rw)
        new[cy0 - y0:cy1 - y0] = (~covered[cy0:cy1, cx0:cx1]).sum(axis=1)
        reached = np.flatnonzero(count + np.cumsum(new) >= target)
        if reached.size:  # cut the rectangle below the row reaching f
            y1 = y0 + int(reached[0]) + 1
            cy1 = min(y1, rh)
        covered[cy0:cy1, cx0:cx1] = True
        count = int(covered.sum())
        out[ry0 + y0:ry0 + y1, rx0 + x0:rx0 + x1] = colour
    return out


# ---------------------------------------------------------------- registry
#: Image corruptions by name, in group order.
IMAGE_CORRUPTIONS: Dict[str, Corruption] = {
    'motion_blur': motion_blur,
    'gaussian_noise': gaussian_noise,
    'impulse_noise': impulse_noise,
    'pixelate': pixelate,
    'jpeg': jpeg,
    'colour_quantisation': colour_quantisation,
    'brightness': brightness,
    'darkness': darkness,
    'contrast': contrast,
    'mask': mask,
}

#: Names of the image corruptions per group.
CORRUPTION_GROUPS: Dict[str, Tuple[str, ...]] = {
    'blur': ('motion_blur', ),
    'noise': ('gaussian_noise', 'impulse_noise'),
    'digital': ('pixelate', 'jpeg', 'colour_quantisation'),
    'photometric': ('brightness', 'darkness', 'contrast'),
    'occlusion': ('mask', ),
}


def _check_name(name: str, choices: Sequence[str], what: str) -> None:
    if not isinstance(name, str) or name not in choices:
        raise ValueError(f'unknown {what} {name!r}; choose one of '
                         f'{", ".join(choices)}')


def corrupt_image(img: np.ndarray,
                  name: str,
                  severity: int,
                  rng: np.random.Generator,
                  bbox: BBoxLike = None) -> np.ndarray:
    """Apply the image corruption ``name`` (see :data:`IMAGE_CORRUPTIONS`).

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        name (str): Corruption name, a key of :data:`IMAGE_CORRUPTIONS`.
        severity (int): 0..5; 0 returns an unchanged copy.
        rng (np.random.Generator): Source of randomness.
        bbox (ArrayLike, optional): Person box ``(x1, y1, x2, y2)``, shape
            (4,) or (1, 4); used by ``mask``. Defaults to None.

    Returns:
        np.ndarray: Corrupted image, (H, W, 3) uint8.

    Raises:
        ValueError: Unknown name (the message lists the choices), severity
            outside 0..5, image not (H, W, 3) uint8 or malformed bbox.
        TypeError: ``img`` not an array or ``rng`` not a Generator.
    """
    _check_name(name, tuple(IMAGE_CORRUPTIONS), 'image corruption')
    _as_bbox(bbox)
    return IMAGE_CORRUPTIONS[name](img, severity, rng, bbox=bbox)


# ------------------------------------------------------------------- video
#: Video corruptions of :func:`video_corruption`.
VIDEO_CORRUPTIONS = ('occlusion', 'motion_blur', 'gaussian_noise')

#: Period of the occlusion schedule, in frame indices (1 s at 50 fps).
VIDEO_OCCLUSION_PERIOD = 50

#: Per severity 1..5: frames of each occlusion span (on-fraction
#: ``span / VIDEO_OCCLUSION_PERIOD``: 0.1 .. 0.5) and area of the box as a
#: fraction of the person bbox.
VIDEO_OCCLUSION_PARAMS: Dict[str, Tuple[float, ...]] = {
    'span': (5, 10, 15, 20, 25),
    'area': (0.2, 0.3, 0.4, 0.5, 0.6),
}

#: Aspect ratio range ``w / h`` (relative to the bbox) of the occluder.
_OCCLUDER_ASPECT = 1.5

_FRAME_RE = re.compile(r'^(?P<key>.+)_(?P<frame>\d+)$')


def _key_word(key: Union[int, str]) -> int:
    """One uint32 word per key: ints in ``[0, 2**32)`` as they are,
    anything else through ``zlib.crc32`` of its string."""
    if isinstance(key, Integral) and not isinstance(key, bool) \
            and 0 <= int(key) < 2**32:
        return int(key)
    return zlib.crc32(str(key).encode('utf-8'))


def corruption_rng(seed: int, *keys: Union[int, str]) -> np.random.Generator:
    """Generator seeded by ``seed`` and any number of keys.

    The entropy is ``[seed, len(keys), *words]`` with one uint32 word per
    key (ints in ``[0, 2**32)`` as they are, strings and other values via
    ``zlib.crc32`` of their UTF-8 string), so distinct key tuples give
    distinct streams (the length word avoids NumPy's padding of short
    entropy with zeros, under which ``[s, k]`` and ``[s, k, 0]`` collide).

    Args:
        seed (int): Base seed in ``[0, 2**32)``.
        *keys (int | str): E.g. an image id, or a video key and a frame.

    Returns:
        np.random.Generator: ``np.random.default_rng`` of that entropy.
    """
    if isinstance(seed, bool) or not isinstance(seed, Integral) \
            or not 0 <= int(seed) < 2**32:
        raise ValueError(f'seed must be an int in [0, 2**32), got {seed!r}')
    words = [_key_word(k) for k in keys]
    return np.random.default_rng([int(seed), len(words), *words])


def parse_video_frame(img_path: str) -> Tuple[str, int]:
    """Video key and frame index of a Human3.6M-style frame path.

    The file name (without directory and extension) must be
    ``<video_key>_<digits>``; e.g.
    ``'.../S9_Walk_1.54138969/S9_Walk_1.54138969_000012.jpg'`` gives
    ``('S9_Walk_1.54138969', 12)``.

    Args:
        img_path (str): Frame path.

    Returns:
        tuple[str, int]: ``(video_key, frame_index)``.

    Raises:
        ValueError: If the name has no ``_<digits>`` suffix.
    """
    stem = osp.splitext(osp.basename(str(img_path)))[0]
    match = _FRAME_RE.match(stem)
    if match is None:
        raise ValueError('expected a frame file name <video>_<frame index>'
                         f'.<ext> (e.g. S9_Walk_1.54138969_000012.jpg), got '
                         f'{img_path!r}')
    return match.group('key'), int(match.group('frame'))


def video_occlusion_schedule(severity: int, video_key: str,
                             frame_index: Union[int, np.ndarray],
                             seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Whether the occluder is on at given frames, and its span index.

    Frames are on when ``(frame_index + phase) mod P < L`` with period
    ``P = VIDEO_OCCLUSION_PERIOD``, span length ``L`` from
    :data:`VIDEO_OCCLUSION_PARAMS` and ``phase`` drawn uniformly from
    ``0..P-1`` by ``corruption_rng(seed, 'occlusion', video_key)``: spans of
    ``L`` consecutive frame indices every ``P`` frames, with a phase of its
    own per video. The span index is ``(frame_index + phase) // P``.

    Args:
        severity (int): 1..5 (0: never on).
        video_key (str): Video identifier.
        frame_index (int | np.ndarray): Frame index(es), any shape.
        seed (int): Base seed. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``on`` (bool) and ``span`` (int64),
        both of the shape of ``frame_index``.
    """
    severity = _check_severity(severity)
    frames = np.asarray(frame_index, dtype=np.int64)
    period = VIDEO_OCCLUSION_PERIOD
    phase = int(
        corruption_rng(seed, 'occlusion', video_key).integers(period))
    shifted = frames + phase
    on_len = VIDEO_OCCLUSION_PARAMS['span'][severity - 1] if severity else 0
    return shifted % period < on_len, shifted // period


def video_occlusion_box(severity: int, video_key: str, span: int,
                        region: Tuple[float, float, float, float],
                        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Occluder of one span: a box of area ``a`` (from
    :data:`VIDEO_OCCLUSION_PARAMS`) times the region's, inside the region.

    Relative to the region, the box has width ``sqrt(a r)`` and height
    ``sqrt(a / r)`` with aspect ``r`` log-uniform in ``[1 / 1.5, 1.5]``, a
    uniform position inside the region and a uniform random colour, all
    drawn by ``corruption_rng(seed, 'occlusion', video_key, span)``: fixed
    within a span and relative to the (moving) person box.

    Args:
        severity (int): 1..5.
        video_key (str): Video identifier.
        span (int): Span index from :func:`video_occlusion_schedule`.
        region (tuple[float]): ``(x1, y1, x2, y2)`` the box is relative to.
        seed (int): Base seed. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``box`` (4,) float64 xyxy in pixels
        and ``colour`` (3,) uint8 BGR.
    """
    severity = _check_severity(severity)
    if severity == 0:
        raise ValueError('severity 0 has no occluder')
    area = VIDEO_OCCLUSION_PARAMS['area'][severity - 1]
    rng = corruption_rng(seed, 'occlusion', video_key, int(span) % 2**32)
    log_r = math.log(_OCCLUDER_ASPECT)
    ratio = math.exp(rng.uniform(-log_r, log_r))
    fw = min(1.0, math.sqrt(area * ratio))
    fh = min(1.0, math.sqrt(area / ratio))
    u, v = rng.uniform(0.0, 1.0 - fw), rng.uniform(0.0, 1.0 - fh)
    colour = rng.integers(0, 256, size=3).astype(np.uint8)
    x1, y1, x2, y2 = (float(c) for c in region)
    bw, bh = x2 - x1, y2 - y1
    box = np.array([x1 + u * bw, y1 + v * bh, x1 + (u + fw) * bw,
                    y1 + (v + fh) * bh])
    return box, colour


def video_corruption(img: np.ndarray,
                     name: str,
                     severity: int,
                     video_key: str,
                     frame_index: int,
                     seed: int = 0,
                     bbox: BBoxLike = None) -> np.ndarray:
    """Corrupt one frame of a video consistently over the video.

    - ``occlusion``: on the frames where :func:`video_occlusion_schedule`
      is on, the pixels whose centres lie in the box of
      :func:`video_occlusion_box` (relative to ``bbox``, or to the whole
      image ``(0, 0, W, H)`` without one) get its solid colour; other frames
      are unchanged.
    - ``motion_blur``: :func:`motion_blur` with the angle drawn once per
      video by ``corruption_rng(seed, 'motion_blur', video_key)``.
    - ``gaussian_noise``: :func:`gaussian_noise` with
      ``corruption_rng(seed, 'gaussian_noise', video_key, frame_index)``.

    Args:
        img (np.ndarray): BGR frame, (H, W, 3) uint8.
        name (str): One of :data:`VIDEO_CORRUPTIONS`.
        severity (int): 0..5; 0 returns an unchanged copy.
        video_key (str): Video identifier (see :func:`parse_video_frame`).
        frame_index (int): Frame index in the video, ``>= 0``.
        seed (int): Base seed in ``[0, 2**32)``. Defaults to 0.
        bbox (ArrayLike, optional): Person box ``(x1, y1, x2, y2)`` of this
            frame, shape (4,) or (1, 4). Defaults to None.

    Returns:
        np.ndarray: Corrupted frame, (H, W, 3) uint8.
    """
    _check_name(name, VIDEO_CORRUPTIONS, 'video corruption')
    _check_image(img)
    severity = _check_severity(severity)
    if isinstance(frame_index, bool) or not isinstance(
            frame_index, Integral) or frame_index < 0:
        raise ValueError(f'frame_index must be an int >= 0, got '
                         f'{frame_index!r}')
    box = _as_bbox(bbox)
    corruption_rng(seed)  # checks the seed
    if severity == 0:
        return img.copy()
    if name == 'motion_blur':
        angle = corruption_rng(seed, 'motion_blur', video_key).uniform(
            *MOTION_BLUR_ANGLES)
        return _blur(img, *_param('motion_blur', severity), angle)
    if name == 'gaussian_noise':
        rng = corruption_rng(seed, 'gaussian_noise', video_key,
                             int(frame_index))
        return gaussian_noise(img, severity, rng)
    # occlusion
    out = img.copy()
    on, span = video_occlusion_schedule(severity, video_key, frame_index,
                                        seed)
    if not on:
        return out
    h, w = img.shape[:2]
    region = (0.0, 0.0, float(w), float(h)) if box is None else box
    occ, colour = video_occlusion_box(severity, video_key, int(span), region,
                                      seed)
    # pixels (centres at integer coordinates) inside the box
    x0, y0 = (max(0, int(math.ceil(c))) for c in occ[:2])
    x1 = min(w, int(math.floor(occ[2])) + 1)
    y1 = min(h, int(math.floor(occ[3])) + 1)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = colour
    return out

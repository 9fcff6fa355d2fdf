"""SynthPose scenes: people placed in the image (with truncation, close
neighbours and limited overlap), occluders, background and photometric
settings; everything needed to render one image deterministically."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..common import child_seed
from .geometry import sample_polygon
from .params import SynthPoseParams, Texture
from .person import Person, sample_person
from .sampling import occluder_texture

__all__ = ['Occluder', 'Scene', 'make_occluder', 'sample_scene']


@dataclass
class Occluder:
    """A textured convex polygon drawn over the people, shape (N, 2)."""
    pts: np.ndarray
    texture: Texture
    seed: int = 0


@dataclass
class Scene:
    """Everything needed to render one image deterministically.

    Attributes:
        img_size (tuple[int, int]): (w, h).
        persons (list[Person]): People in painter's order (far to near).
        occluders (list[Occluder]): Drawn over everything.
        bg_seed (int): Seed of the background clutter.
        num_bg_shapes (int): Number of background shapes.
        num_bg_bars (int): Number of limb-like background bars.
        photometric (dict): ``contrast``, ``brightness``, ``cast`` (3),
            ``noise_std``, ``blur_sigma`` (0 for none) and ``seed``.
    """
    img_size: Tuple[int, int]
    persons: List[Person]
    occluders: List[Occluder] = field(default_factory=list)
    bg_seed: int = 0
    num_bg_shapes: int = 0
    num_bg_bars: int = 0
    photometric: Dict = field(default_factory=dict)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / union if union > 0 else 0.0


def _place(rng: np.random.Generator, person: Person, img_size: Tuple[int, int],
           params: SynthPoseParams, prev: Optional[Person]) -> None:
    """Translate a person (centred at the origin) to a random position."""
    w_img, h_img = img_size
    x0, y0, x1, y1 = person.local_extent
    pw, ph = x1 - x0, y1 - y0
    # ranges of the extent's top-left corner that keep the person inside
    lo = np.array([2.0, 2.0])
    hi = np.array([w_img - 2.0 - pw, h_img - 2.0 - ph])
    for k in range(2):
        if lo[k] > hi[k]:
            lo[k] = hi[k] = 0.5 * (lo[k] + hi[k])
    if prev is not None and rng.random() < params.p_close:
        px0, py0, px1, py1 = prev.extent()
        side = 1.0 if rng.random() < 0.5 else -1.0
        gap = rng.uniform(0.35, 0.85) * max(pw, px1 - px0)
        corner = np.array([
            0.5 * (px0 + px1) + side * gap - 0.5 * pw,
            py1 - ph + rng.uniform(-0.15, 0.15) * ph
        ])
        corner = np.clip(corner, lo, hi)
    else:
        corner = rng.uniform(lo, hi)
    if rng.random() < params.p_truncated:
        axis = int(rng.integers(0, 2))
        frac = rng.uniform(*params.truncation)
        size = (pw, ph)[axis]
        if rng.random() < 0.5:
            corner[axis] = -frac * size
        else:
            corner[axis] = img_size[axis] - (1 - frac) * size
    person.translate(corner[0] - x0, corner[1] - y0)


def make_occluder(centre: Sequence[float],
                  size: float,
                  rng: Optional[np.random.Generator] = None,
                  texture: Optional[Texture] = None) -> Occluder:
    """An occluder of about ``size`` pixels centred at ``centre``.

    Args:
        centre (Sequence[float]): Image position (x, y).
        size (float): Size in pixels.
        rng (np.random.Generator, optional): If given, a random shape and
            texture; otherwise an axis-aligned grey square.
        texture (Texture, optional): Overrides the texture.

    Returns:
        Occluder: The occluder.
    """
    centre = np.asarray(centre, dtype=np.float64)
    if rng is None:
        half = size / 2
        pts = centre + np.array([[-half, -half], [half, -half], [half, half],
                                 [-half, half]])
        return Occluder(
            pts.astype(np.float32), texture
            or Texture('solid', (128.0, 128.0, 128.0), grain=0.0))
    pts = sample_polygon(rng, centre, size)
    return Occluder(pts, texture or occluder_texture(rng), child_seed(rng))


def sample_scene(rng: np.random.Generator,
                 img_size: Tuple[int, int] = (256, 256),
                 params: Optional[SynthPoseParams] = None) -> Scene:
    """Random scene: people, occluders, background and photometric
    settings.

    Args:
        rng (np.random.Generator): Random generator.
        img_size (tuple[int, int]): (w, h).
        params (SynthPoseParams, optional): Parameters.

    Returns:
        Scene: The scene (people not yet filtered by visibility).
    """
    params = params or SynthPoseParams()
    w_img, h_img = img_size
    probs = np.asarray(params.person_count_probs, dtype=np.float64)
    num = int(rng.choice(len(probs), p=probs / probs.sum())) + 1
    height_range = params.single_height if num == 1 else params.multi_height
    persons: List[Person] = []
    for _ in range(num):
        person = sample_person(rng, rng.uniform(*height_range) * h_img, params)
        for _attempt in range(10):
            person.offset = np.zeros(2)
            _place(rng, person, img_size, params,
                   persons[-1] if persons else None)
            ext = person.extent()
            if all(
                    _iou(ext, other.extent()) <= params.max_overlap_iou
                    for other in persons):
                persons.append(person)
                break
    # painter's order: smaller (further away) people first
    keys = [p.height * rng.uniform(0.9, 1.1) for p in persons]
    persons = [persons[i] for i in np.argsort(keys, kind='stable')]

    occluders = []
    for person in persons:
        if rng.random() >= params.p_occluder:
            continue
        num_occ = 2 if rng.random() < 0.15 else 1
        kpts = person.keypoints()
        for _ in range(num_occ):
            anchor = kpts[rng.integers(0, len(kpts))]
            centre = anchor + rng.normal(0, 0.05 * person.height, 2)
            size = rng.uniform(*params.occluder_size) * person.height
            occluders.append(make_occluder(centre, size, rng))

    blur = (
        rng.uniform(
            *params.blur_sigma) if rng.random() < params.p_blur else 0.0)
    photometric = dict(
        contrast=rng.uniform(*params.contrast),
        brightness=rng.uniform(-params.brightness, params.brightness),
        cast=rng.uniform(-8, 8, 3),
        noise_std=rng.uniform(*params.noise_std),
        blur_sigma=blur,
        seed=child_seed(rng))
    return Scene(
        img_size=(int(w_img), int(h_img)),
        persons=persons,
        occluders=occluders,
        bg_seed=child_seed(rng),
        num_bg_shapes=int(
            rng.integers(params.num_bg_shapes[0],
                         params.num_bg_shapes[1] + 1)),
        num_bg_bars=int(
            rng.integers(params.num_bg_bars[0], params.num_bg_bars[1] + 1)),
        photometric=photometric)

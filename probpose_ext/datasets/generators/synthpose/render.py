"""Rendering and labelling of SynthPose scenes: procedural textures,
convex polygons and shaded heads drawn in painter's order into the image
and a per-pixel label buffer, background clutter, photometric noise, and
the COCO annotations read back from the label buffer."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..kinematics import coco_keypoint_names
from .geometry import capsule, circle, sample_polygon
from .params import (JOINT_PARTS, OCCLUDER_LABEL, PART_BITS, PART_HEAD,
                     SynthPoseParams, Texture)
from .person import Person, Head
from .sampling import SKIN_DARK, SKIN_LIGHT, hsv_colour, occluder_texture
from .scene import Scene, sample_scene

__all__ = ['render_scene', 'annotate_scene', 'render_image']

_FACE_JOINTS = ('nose', 'eye', 'ear')


def _render_texture(tex: Texture,
                    h: int,
                    w: int,
                    rng: np.random.Generator,
                    grain: Optional[np.ndarray] = None) -> np.ndarray:
    """Render a texture patch.

    Args:
        tex (Texture): The texture.
        h (int): Height.
        w (int): Width.
        rng (np.random.Generator): Random generator (blotches, grain).
        grain (np.ndarray, optional): Unit luminance noise to use instead of
            drawing new noise, shape (h, w, 1).

    Returns:
        np.ndarray: The patch, shape (h, w, 3), float32 in [0, 255].
    """
    c1 = np.asarray(tex.colour, dtype=np.float32)
    c2 = np.asarray(tex.colour2, dtype=np.float32)
    period = max(float(tex.period), 2.0)
    if tex.kind == 'solid':
        out = None
    else:
        ys = np.arange(h, dtype=np.float32)[:, None]
        xs = np.arange(w, dtype=np.float32)[None, :]
        if tex.kind == 'stripes':
            a = math.radians(tex.angle)
            mask = ((xs * math.cos(a) + ys * math.sin(a)) / period) % 1 < 0.5
        elif tex.kind == 'checks':
            mask = ((xs // period + ys // period) % 2) == 0
        elif tex.kind == 'blotch':
            low = rng.random((int(h / period) + 2, int(w / period) + 2),
                             dtype=np.float32)
            mask = cv2.resize(
                low, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
        else:
            raise ValueError(f'unknown texture kind {tex.kind!r}')
        out = np.where(mask[..., None], c1, c2)
    if tex.grain > 0:
        if grain is None:
            grain = rng.standard_normal((h, w, 1), dtype=np.float32)
        noise = grain * np.float32(tex.grain)
        out = c1 + noise if out is None else out + noise
    elif out is None:
        out = np.broadcast_to(c1, (h, w, 3)).copy()
    return np.clip(out, 0, 255, out=out)


def _fill(img: np.ndarray,
          labels: Optional[np.ndarray],
          pts: np.ndarray,
          label: int,
          src: Union[np.ndarray, Sequence[float]],
          origin: Tuple[int, int] = (0, 0),
          outline: Optional[Sequence[float]] = None) -> None:
    """Fill a convex polygon in the image and the label buffer.

    Args:
        img (np.ndarray): Image, shape (H, W, 3), uint8 or float32.
        labels (np.ndarray, optional): Label buffer, shape (H, W), uint16.
        pts (np.ndarray): Polygon vertices, shape (N, 2).
        label (int): Value written to the label buffer.
        src (np.ndarray | Sequence[float]): A BGR colour, or a texture
            (shape (h, w, 3)) whose top-left pixel is at ``origin``.
        origin (tuple[int, int]): Image position of the texture's (0, 0).
        outline (Sequence[float], optional): Outline colour.
    """
    h, w = img.shape[:2]
    x0 = max(int(math.floor(float(pts[:, 0].min()))), 0)
    y0 = max(int(math.floor(float(pts[:, 1].min()))), 0)
    x1 = min(int(math.ceil(float(pts[:, 0].max()))) + 1, w)
    y1 = min(int(math.ceil(float(pts[:, 1].max()))) + 1, h)
    if x0 < x1 and y0 < y1:
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        local = np.round((pts - (x0, y0)) * 16).astype(np.int32)
        cv2.fillConvexPoly(mask, local, 1, cv2.LINE_8, 4)
        m = mask.view(bool)
        if labels is not None:
            np.copyto(labels[y0:y1, x0:x1], label, where=m)
        if isinstance(src, np.ndarray) and src.ndim == 3:
            ox, oy = origin
            src = src[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        else:
            src = np.asarray(src, dtype=np.float32)
        np.copyto(img[y0:y1, x0:x1], src, where=m[..., None], casting='unsafe')
    if outline is not None:
        cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], True,
                      tuple(float(c) for c in outline), 1, cv2.LINE_AA, 4)


def _draw_head(img: np.ndarray, labels: np.ndarray, head: Head,
               offset: np.ndarray, label: int, skin: np.ndarray,
               hair: np.ndarray, origin: Tuple[int, int],
               skin_colour: np.ndarray) -> None:
    """Draw a head per pixel: an ellipse shaded as a sphere, split into hair
    and skin by the sphere normal, with ears and facial marks."""
    h_img, w_img = labels.shape
    dark_skin = 0.75 * skin_colour

    def draw_ears(ears: List[np.ndarray]) -> None:
        for ear in ears:
            _fill(
                img,
                labels,
                circle(ear + offset, head.ear_radius),
                label,
                dark_skin,
                outline=0.5 * skin_colour)

    draw_ears(head.ears_back)
    cx, cy = head.centre + offset
    r, e = head.radius, head.elong
    x0, x1 = max(int(cx - r * e) - 1, 0), min(int(cx + r * e) + 2, w_img)
    y0, y1 = max(int(cy - r * e) - 1, 0), min(int(cy + r * e) + 2, h_img)
    if x0 < x1 and y0 < y1:
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cx)
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
        ux, uy = head.up
        a = (dx * ux + dy * uy) / (r * e)  # along the head's up axis
        b = (-dx * uy + dy * ux) / r  # across it
        rr = a * a + b * b
        inside = rr <= 1.0
        if inside.any():
            nz = np.sqrt(np.maximum(1.0 - rr, 0.0))
            nx = b * -uy + a * ux  # image-plane direction (x right, y down)
            ny = -(b * ux + a * uy)  # camera y is up
            hd = head.hair_dir
            is_hair = (nx * hd[0] + ny * hd[1] + nz * hd[2]) > \
                head.hair_threshold
            shade = (0.72 + 0.28 * nz)[..., None]
            sl = (slice(y0 - origin[1],
                        y1 - origin[1]), slice(x0 - origin[0], x1 - origin[0]))
            colour = np.where(is_hair[..., None], hair[sl], skin[sl]) * shade
            img[y0:y1, x0:x1][inside] = colour[inside]
            labels[y0:y1, x0:x1][inside] = label
    angle = math.degrees(math.atan2(-head.up[0], head.up[1]))
    cv2.ellipse(img, (int(round(cx * 16)), int(round(cy * 16))),
                (int(round(r * 16)), int(round(r * e * 16))), angle, 0, 360,
                tuple(float(c) for c in 0.5 * skin_colour), 1, cv2.LINE_AA, 4)
    draw_ears(head.ears_front)
    if head.nose is not None:
        _fill(
            img,
            labels,
            circle(head.nose + offset, 0.16 * r),
            label,
            0.85 * skin_colour,
            outline=0.6 * skin_colour)
    eye_r = max(0.8, 0.13 * r)
    for eye in head.eyes:
        p = eye + offset
        if r >= 9:
            cv2.circle(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                       int(round(eye_r * 1.6 * 16)), (235, 235, 235), -1,
                       cv2.LINE_AA, 4)
        cv2.circle(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                   int(round(eye_r * 16)), (25, 20, 20), -1, cv2.LINE_AA, 4)
    if head.mouth is not None:
        p, q = head.mouth[0] + offset, head.mouth[1] + offset
        cv2.line(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                 (int(round(q[0] * 16)), int(round(q[1] * 16))), (60, 50, 140),
                 1, cv2.LINE_AA, 4)


def _draw_person(img: np.ndarray, labels: np.ndarray, person: Person,
                 index: int) -> None:
    """Draw a person's parts in painter's order into the image and the label
    buffer (label ``(index + 1) << 4 | part``)."""
    h_img, w_img = labels.shape
    ext = person.extent()
    x0, y0 = max(int(math.floor(ext[0])) - 2,
                 0), max(int(math.floor(ext[1])) - 2, 0)
    x1, y1 = min(int(math.ceil(ext[2])) + 3,
                 w_img), min(int(math.ceil(ext[3])) + 3, h_img)
    if x0 >= x1 or y0 >= y1:
        return
    rng = np.random.default_rng(person.look.seed)
    look = person.look
    grain = rng.standard_normal((y1 - y0, x1 - x0, 1), dtype=np.float32)
    textures = {
        region:
        _render_texture(getattr(look, region), y1 - y0, x1 - x0, rng, grain)
        for region in ('skin', 'shirt', 'pants', 'shoes', 'hair')
    }
    outlines = {
        region: 0.55 * np.asarray(getattr(look, region).colour)
        for region in textures
    }
    base = (index + 1) << PART_BITS
    for shape in person.shapes:
        if shape.pts is None:
            _draw_head(img, labels, person.head, person.offset,
                       base | PART_HEAD, textures['skin'], textures['hair'],
                       (x0, y0), np.asarray(look.skin.colour))
        else:
            _fill(img, labels, shape.pts + person.offset.astype(np.float32),
                  base | shape.part, textures[shape.region], (x0, y0),
                  outlines[shape.region])


def _draw_background(img: np.ndarray, scene: Scene) -> None:
    """Gradient, low-frequency colour blotches, random shapes, textured
    patches and limb-like bars."""
    rng = np.random.default_rng(scene.bg_seed)
    h, w = img.shape[:2]
    c0, c1 = rng.uniform(20, 235, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (
        np.arange(w, dtype=np.float32)[None, :] * math.cos(angle) +
        np.arange(h, dtype=np.float32)[:, None] * math.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    low = rng.uniform(-35, 35, (int(rng.integers(2, 6)), int(
        rng.integers(2, 6)), 3)).astype(np.float32)
    bg = c0 + (c1 - c0) * t[..., None] + cv2.resize(
        low, (w, h), interpolation=cv2.INTER_CUBIC)
    img[:] = np.clip(bg, 0, 255).astype(np.uint8)
    size = min(w, h)
    for _ in range(scene.num_bg_shapes):
        kind = int(rng.integers(0, 6))
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        centre = rng.uniform(0, 1, 2) * (w, h)
        extent = rng.uniform(0.04, 0.35) * size
        if kind == 0:  # line
            p = centre + rng.normal(0, extent, 2)
            cv2.line(img, tuple(int(v) for v in centre),
                     tuple(int(v) for v in p), colour, int(rng.integers(1, 4)),
                     cv2.LINE_AA)
        elif kind == 1:  # outlined shape
            pts = sample_polygon(rng, centre, extent)
            cv2.polylines(img, [np.round(pts).astype(np.int32)], True, colour,
                          int(rng.integers(1, 4)), cv2.LINE_AA)
        elif kind == 2:  # textured patch
            pts = sample_polygon(rng, centre, extent)
            bx, by = np.floor(pts.min(0)).astype(int)
            bw, bh = np.ceil(pts.max(0)).astype(int) - (bx, by) + 2
            tex = _render_texture(occluder_texture(rng), bh, bw, rng)
            _fill(img, None, pts, 0, tex, (bx, by))
        else:  # filled shape
            _fill(img, None, sample_polygon(rng, centre, extent), 0, colour)
    for _ in range(scene.num_bg_bars):
        # a jointed chain of capsules that looks like a limb
        if rng.random() < 0.5:
            colour = SKIN_DARK + rng.random() * (SKIN_LIGHT - SKIN_DARK)
        else:
            colour = np.asarray(hsv_colour(rng, (0.1, 0.9), (0.15, 0.9)))
        p = rng.uniform(0, 1, 2) * (w, h)
        radius = rng.uniform(0.015, 0.05) * size
        direction = rng.uniform(0, 2 * np.pi)
        for _seg in range(int(rng.integers(1, 4))):
            direction += rng.normal(0, 0.8)
            length = rng.uniform(0.08, 0.25) * size
            q = p + length * np.array(
                [math.cos(direction), math.sin(direction)])
            r2 = radius * rng.uniform(0.75, 1.05)
            _fill(
                img,
                None,
                capsule(p, q, radius, r2),
                0,
                colour,
                outline=0.55 * colour)
            p, radius = q, r2


def _photometric(img: np.ndarray, spec: Dict) -> np.ndarray:
    """Contrast / brightness / colour cast, pixel noise and blur."""
    out = img.astype(np.float32)
    out *= np.float32(spec['contrast'])
    out += (
        np.float32(spec['brightness'] + 0.5) +
        np.asarray(spec['cast'], dtype=np.float32))
    if spec['noise_std'] > 0:
        # luminance noise plus weaker colour noise at half resolution
        rng = np.random.default_rng(spec['seed'])
        h, w = out.shape[:2]
        std = np.float32(spec['noise_std'])
        noise = rng.standard_normal((h, w, 1), dtype=np.float32) * std
        chroma = rng.standard_normal(
            ((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32) * (0.5 * std)
        out += noise
        out += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_NEAREST)
    if spec['blur_sigma'] > 0:
        out = cv2.GaussianBlur(out, (0, 0), spec['blur_sigma'])
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def render_scene(scene: Scene,
                 photometric: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Render a scene.

    Args:
        scene (Scene): The scene.
        photometric (bool): Apply the photometric noise / blur.

    Returns:
        tuple:
        - img (np.ndarray): BGR image, shape (h, w, 3), uint8.
        - labels (np.ndarray): Label buffer, shape (h, w), uint16: 0 for the
          background, ``(i + 1) << 4 | part`` for part ``part`` of person
          ``i`` and :data:`OCCLUDER_LABEL` for occluders.
    """
    w, h = scene.img_size
    img = np.empty((h, w, 3), dtype=np.uint8)
    labels = np.zeros((h, w), dtype=np.uint16)
    _draw_background(img, scene)
    for i, person in enumerate(scene.persons):
        _draw_person(img, labels, person, i)
    for occ in scene.occluders:
        pts = occ.pts
        bx, by = np.floor(pts.min(0)).astype(int)
        bw, bh = np.ceil(pts.max(0)).astype(int) - (bx, by) + 2
        tex = _render_texture(occ.texture, bh, bw,
                              np.random.default_rng(occ.seed))
        _fill(img, labels, pts, OCCLUDER_LABEL, tex, (bx, by),
              0.5 * np.asarray(occ.texture.colour))
    if photometric and scene.photometric:
        img = _photometric(img, scene.photometric)
    return img, labels


def annotate_scene(scene: Scene,
                   labels: np.ndarray,
                   keypoint_names: Sequence[str],
                   params: Optional[SynthPoseParams] = None) -> List[Dict]:
    """COCO annotations of the people of a rendered scene (unfiltered).

    Args:
        scene (Scene): The scene.
        labels (np.ndarray): Its label buffer from :func:`render_scene`.
        keypoint_names (Sequence[str]): Output keypoint order (COCO).
        params (SynthPoseParams, optional): Parameters.

    Returns:
        list[dict]: One dict per person with ``keypoints`` (shape (K, 3):
        x, y, v; v=0 rows are zero), ``bbox`` ([x, y, w, h] of the visible
        pixels, or None), ``area`` (visible pixel count) and
        ``num_keypoints``.
    """
    params = params or SynthPoseParams()
    w, h = scene.img_size
    owner = labels >> PART_BITS
    parts = labels & ((1 << PART_BITS) - 1)
    anns = []
    for i, person in enumerate(scene.persons):
        pid = i + 1
        mask = owner == pid
        area = int(np.count_nonzero(mask))
        bbox = None
        if area:
            cols = np.flatnonzero(mask.any(0))
            rows = np.flatnonzero(mask.any(1))
            bbox = [
                float(cols[0]),
                float(rows[0]),
                float(cols[-1] - cols[0] + 1),
                float(rows[-1] - rows[0] + 1)
            ]
        kpts = np.zeros((len(keypoint_names), 3), dtype=np.float64)
        all_xy = person.keypoints()
        for k, name in enumerate(keypoint_names):
            j = person.joint_names.index(name)
            x, y = all_xy[j]
            if not (0.0 <= x <= w - 1 and 0.0 <= y <= h - 1):
                continue
            px, py = int(round(x)), int(round(y))
            lab_owner, lab_part = int(owner[py, px]), int(parts[py, px])
            on_self = (
                labels[py, px] == 0
                or (lab_owner == pid and lab_part in JOINT_PARTS[name]))
            visible = bool(person.facing[j]) and on_self
            if (not person.facing[j] and name.split('_')[-1] in _FACE_JOINTS
                    and params.face_self_occlusion_v == 0):
                continue
            kpts[k] = (x, y, 2 if visible else 1)
        anns.append(
            dict(
                keypoints=kpts,
                bbox=bbox,
                area=area,
                num_keypoints=int(np.count_nonzero(kpts[:, 2]))))
    return anns


def _keep(ann: Dict, params: SynthPoseParams) -> bool:
    return (ann['num_keypoints'] >= params.min_keypoints
            and ann['area'] >= params.min_area)


def render_image(
    rng: np.random.Generator,
    img_size: Tuple[int, int] = (256, 256),
    params: Optional[SynthPoseParams] = None,
    keypoint_names: Optional[Sequence[str]] = None
) -> Tuple[np.ndarray, List[Dict]]:
    """Sample and render one image with its annotations.

    People that would get fewer than ``params.min_keypoints`` labelled
    keypoints or fewer than ``params.min_area`` visible pixels are removed
    from the scene before the final rendering (removing a person only
    uncovers the others, so the remaining people still qualify). If no one
    is left, a new scene is sampled (up to 10 times).

    Args:
        rng (np.random.Generator): Random generator (consumed).
        img_size (tuple[int, int]): (w, h).
        params (SynthPoseParams, optional): Parameters.
        keypoint_names (Sequence[str], optional): Output keypoint order;
            defaults to MMPose's COCO metainfo.

    Returns:
        tuple:
        - img (np.ndarray): BGR image, shape (h, w, 3), uint8.
        - anns (list[dict]): See :func:`annotate_scene`.
    """
    params = params or SynthPoseParams()
    names = (
        list(keypoint_names)
        if keypoint_names is not None else coco_keypoint_names())
    for _ in range(10):
        scene = sample_scene(rng, img_size, params)
        img, labels = render_scene(scene)
        anns = annotate_scene(scene, labels, names, params)
        keep = [_keep(a, params) for a in anns]
        if not all(keep):
            scene.persons = [p for p, k in zip(scene.persons, keep) if k]
            img, labels = render_scene(scene)
            anns = [
                a for a in annotate_scene(scene, labels, names, params)
                if _keep(a, params)
            ]
        if anns:
            break
    return img, anns

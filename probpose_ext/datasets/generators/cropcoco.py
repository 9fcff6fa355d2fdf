"""CropCOCO: a deterministic generator of cropped copies of COCO keypoint
data sets whose people are cut by the image border.

From any COCO keypoint data set (images + json), :func:`make_cropcoco` makes
one random crop per image and relabels the annotations for the crop, so that
keypoints fall outside the image (the setting of ProbPose's CropCOCO). Run on
SynthPose val it gives "SynthPose-Crop". The output mirrors the SynthPose
layout and loads with MMPose's ``CocoDataset``::

    OUT_DIR/<split>/<file_name> ...
    OUT_DIR/annotations/person_keypoints_<split>.json
    OUT_DIR/annotations/summary_<split>.json

Annotation conventions (all coordinates in the pixels of the crop):

* ``bbox``: the visible part of the source bbox, ``bbox ∩ crop``, shifted
  into the crop; people with less than ``min_visible_frac`` of their bbox
  area left, or fewer than ``min_keypoints_in_image`` annotated keypoints
  inside the crop, are dropped (the keypoint rule only applies to people
  that have annotated keypoints; crowd regions are kept whenever some of
  their bbox remains).
* ``area``: the source ``area`` (segmentation area) scaled by
  ``visible bbox area / source bbox area``. The true visible segmentation
  area would need the segmentation, which is not re-cropped; the scaling
  keeps the OKS scale of an uncut person unchanged and shrinks the scale of
  a cut one in proportion to what is left of its box.
* ``keypoints``: shifted into the crop, TRUE coordinates kept also for
  keypoints outside the image. Visibility follows CropCOCO, with the
  activation window (AW) of the new bbox (:func:`activation_window`,
  ``aspect_ratio``, ``padding``):

  - ``v=0`` stays 0 (written as ``0, 0, 0``);
  - in the image: ``v=1``/``v=2`` as in the source (a source ``v=3``
    becomes 1), also when out of the AW (area C);
  - out of the image but in the AW: ``v=1``;
  - out of the image and out of the AW: ``v=3``.

  So ``v=3`` implies ``pad_to_contain > padding``; the converse fails only
  for keypoints in the image but out of the AW (area C), which
  ``ExCocoMetric`` and exococotools, reading ``pad_to_contain``, also
  score as out (exococotools counts them as "wrong visibility 3").

  The paper's areas A-E of the keypoints (:func:`keypoint_domains`) are
  reported in the summary.
* ``pad_to_contain``: per keypoint the smallest padding whose AW contains
  it (:func:`pad_to_contain`), -1.0 for ``v=0``; the authors'
  exococotools re-derives ``v=3`` at other paddings from this field.
* ``num_keypoints``: number of keypoints with ``v > 0``.
* ``segmentation`` is not carried over (it is not re-cropped); the other
  COCO fields (``id``, ``image_id``, ``category_id``, ``iscrowd``) are
  kept. Images keep ``id`` and ``file_name``, get the crop's ``width`` and
  ``height`` and ``crop_box`` ``[x, y, w, h]`` in source pixels.

Images without any annotation with annotated keypoints, and images where
no person with keypoints survives the crop, are skipped. Each image has its
own random generator derived from ``(seed, image_id)``, so the output is
byte-identical for identical arguments whatever the number of workers.

``probpose_ext.datasets.cropcoco`` remains an alias of this module. The
module is about 600 lines (70 of them this docstring) because the crop
draw, the relabelling rules above and the writer that applies them are one
contract; they stay side by side.

Example:
    >>> from probpose_ext.datasets.generators.cropcoco import make_cropcoco
    >>> summary = make_cropcoco(
    ...     'data/synthpose/val',
    ...     'data/synthpose/annotations/person_keypoints_val.json',
    ...     'data/synthpose_crop', split='val', seed=0)
"""
import dataclasses
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ...ops.windows import (DOMAIN_NAMES, in_image, keypoint_domains,
                            pad_to_contain)
from ...utils.coco_file import load_coco_keypoints
from ...utils.validation import check_files_exist
from .common import (atomic_output_dir, check_params, check_seed,
                     check_workers, encode_image, item_rng, num_workers,
                     progress_map, resolve_out_dir, write_bytes, write_json)

__all__ = [
    'GENERATOR_VERSION', 'CropCocoParams', 'image_rng', 'sample_crop_box',
    'crop_annotations', 'cuts_keypoints', 'choose_crop', 'cropcoco_statistics',
    'make_cropcoco'
]

GENERATOR_VERSION = '1.0.0'

CropBox = Tuple[int, int, int, int]


@dataclass(frozen=True)
class CropCocoParams:
    """Parameters of the crops and of the relabelling.

    ``dataclasses.asdict(params)`` is stored in the ``info`` block of the
    annotation file.

    Args:
        crop_frac (tuple[float, float]): Range of the crop width (height) as
            a fraction of the image width (height); both sides are drawn
            independently.
        min_crop_size (int): Minimum crop side in pixels (or the image side
            if smaller).
        max_tries (int): Crops drawn per image until one cuts annotated
            keypoints of a kept person out of the image. When none does,
            the last draw that keeps a person is used (the last draw when
            none keeps anybody, and the image is skipped).
        min_visible_frac (float): People keeping a smaller fraction of
            their bbox area in the crop are dropped.
        min_keypoints_in_image (int): People (with annotated keypoints)
            keeping fewer annotated keypoints inside the crop are dropped.
        aspect_ratio (float): Model input ``w / h`` of the activation
            window.
        padding (float): Padding of the activation window.
        jpeg_quality (int): Quality of the re-encoded JPEG crops.
        png_compression (int): Compression level of PNG crops (PNG
            sources stay PNG).
    """
    crop_frac: Tuple[float, float] = (0.5, 0.9)
    min_crop_size: int = 16
    max_tries: int = 20
    min_visible_frac: float = 0.1
    min_keypoints_in_image: int = 1
    aspect_ratio: float = 0.75
    padding: float = 1.25
    jpeg_quality: int = 95
    png_compression: int = 3

    def validate(self) -> None:
        """Raise ``ValueError`` if a parameter is out of its domain."""
        frac = self.crop_frac
        if (not isinstance(frac, (tuple, list)) or len(frac) != 2
                or not 0 < frac[0] <= frac[1] <= 1):
            raise ValueError('crop_frac must be a (low, high) range with '
                             f'0 < low <= high <= 1, got {frac!r}')
        for name, low, high in (('min_crop_size', 1, None), ('max_tries', 1,
                                                             None),
                                ('min_keypoints_in_image', 0,
                                 None), ('jpeg_quality', 1,
                                         100), ('png_compression', 0, 9)):
            value = getattr(self, name)
            if (isinstance(value, bool)
                    or not isinstance(value, (int, np.integer)) or value < low
                    or (high is not None and value > high)):
                bounds = f'[{low}, {high}]' if high else f'>= {low}'
                raise ValueError(f'{name} must be an int {bounds}, '
                                 f'got {value!r}')
        if not 0.0 <= self.min_visible_frac <= 1.0:
            raise ValueError('min_visible_frac must be in [0, 1], got '
                             f'{self.min_visible_frac!r}')
        for name in ('aspect_ratio', 'padding'):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f'{name} must be > 0, got {value!r}')


# ---------------------------------------------------------------------------
# Crops and annotations
# ---------------------------------------------------------------------------
def image_rng(seed: int, image_id: Union[int, str]) -> np.random.Generator:
    """Random generator of one image, derived from ``(seed, image_id)``.

    Args:
        seed (int): Non-negative base seed.
        image_id (int | str): COCO image id (a non-integer id is hashed).

    Returns:
        np.random.Generator: The generator.
    """
    if isinstance(image_id, (int, np.integer)) and image_id >= 0:
        key = [0, int(image_id)]
    else:
        key = [1, zlib.crc32(str(image_id).encode('utf-8'))]
    return item_rng(seed, *key)


def sample_crop_box(rng: np.random.Generator,
                    image_size: Tuple[int, int],
                    params: Optional[CropCocoParams] = None) -> CropBox:
    """Draw a crop box inside an image.

    Args:
        rng (np.random.Generator): Random generator (consumed).
        image_size (tuple[int, int]): Source image ``(w, h)``.
        params (CropCocoParams, optional): Parameters.

    Returns:
        tuple[int, int, int, int]: Crop ``(x, y, w, h)`` in source pixels,
        inside the image.
    """
    params = params or CropCocoParams()
    box = []
    fracs = rng.uniform(*params.crop_frac, size=2)
    for frac, side in zip(fracs, image_size):
        size = int(round(frac * side))
        size = int(np.clip(size, min(params.min_crop_size, side), side))
        box.append((int(rng.integers(0, side - size, endpoint=True)), size))
    (x, w), (y, h) = box
    return x, y, w, h


def _check_crop_box(crop_box: Sequence[int]) -> CropBox:
    if (len(crop_box) != 4 or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool)
            for c in crop_box) or crop_box[2] < 1 or crop_box[3] < 1):
        raise ValueError('crop_box must be (x, y, w, h) ints with w, h >= 1, '
                         f'got {crop_box!r}')
    return tuple(int(c) for c in crop_box)


def _relabel_keypoints(keypoints: Sequence[float], bbox: np.ndarray,
                       offset: np.ndarray, crop_size: Tuple[int, int],
                       params: CropCocoParams) -> Tuple[np.ndarray, ...]:
    """Shift one instance's keypoints into the crop and relabel them.

    Returns:
        tuple:
        - points (np.ndarray): Shifted keypoints rounded to 0.01, (K, 2).
        - vis (np.ndarray): CropCOCO visibility, (K, ).
        - pad (np.ndarray): ``pad_to_contain`` (-1 for ``v=0``), (K, ).
    """
    kpts = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    src_vis = kpts[:, 2].astype(np.int64)
    points = np.round(kpts[:, :2] - offset, 2)
    codes = keypoint_domains(points[None], src_vis[None], bbox[None],
                             np.asarray([crop_size], np.float64),
                             params.aspect_ratio, params.padding)[0]
    kept_v = np.where(np.isin(src_vis, (1, 2)), src_vis, 1)
    # codes: 0-2 = A-C (in the image), 3 = D, 4 = E
    vis = np.select([src_vis <= 0, codes <= 2, codes == 3], [0, kept_v, 1],
                    default=3)
    pad = pad_to_contain(points, bbox, params.aspect_ratio)
    pad = np.where(vis > 0, pad, -1.0)
    return points, vis, pad


def crop_annotations(anns: Sequence[Dict],
                     crop_box: Sequence[int],
                     params: Optional[CropCocoParams] = None) -> List[Dict]:
    """Relabel the annotations of one image for a crop of it.

    See the module docstring for the conventions (bbox, area, CropCOCO
    visibility, ``pad_to_contain``, which people are dropped).

    Args:
        anns (Sequence[dict]): Source COCO annotations of the image.
        crop_box (Sequence[int]): Crop ``(x, y, w, h)`` in source pixels.
        params (CropCocoParams, optional): Parameters.

    Returns:
        list[dict]: JSON-ready annotations of the kept instances, in the
        source order (``segmentation`` dropped, ``pad_to_contain`` added).
    """
    params = params or CropCocoParams()
    x0, y0, cw, ch = _check_crop_box(crop_box)
    offset = np.array([x0, y0], dtype=np.float64)
    kept = []
    for ann in anns:
        bx, by, bw, bh = (float(c) for c in ann['bbox'])
        visible = np.array([
            max(bx, x0),
            max(by, y0),
            min(bx + bw, x0 + cw),
            min(by + bh, y0 + ch)
        ])
        corners = np.round(visible - np.tile(offset, 2), 2)
        new_w, new_h = corners[2:] - corners[:2]
        if new_w <= 0 or new_h <= 0:
            continue
        uncut = bool(np.all(visible == [bx, by, bx + bw, by + bh]))
        frac = 1.0 if uncut else min(
            1.0,
            float(np.prod(visible[2:] - visible[:2])) / (bw * bh))
        crowd = bool(ann.get('iscrowd', 0))
        if not crowd and frac < params.min_visible_frac:
            continue
        bbox = np.array([*corners[:2], new_w, new_h]).round(2)
        area = ann.get('area', bw * bh)
        out = dict(
            id=ann['id'],
            image_id=ann['image_id'],
            category_id=ann.get('category_id', 1),
            bbox=[float(c) for c in bbox],
            area=area if uncut else round(float(area) * frac, 2),
            iscrowd=int(crowd))
        if 'keypoints' in ann:
            points, vis, pad = _relabel_keypoints(ann['keypoints'], bbox,
                                                  offset, (cw, ch), params)
            annotated = vis > 0
            inside = annotated & in_image(points, (cw, ch))
            if (not crowd and annotated.any()
                    and inside.sum() < params.min_keypoints_in_image):
                continue
            keypoints = []
            for (x, y), v in zip(points, vis):
                keypoints += [float(x), float(y), int(v)] if v else [0, 0, 0]
            out.update(
                num_keypoints=int(annotated.sum()),
                keypoints=keypoints,
                pad_to_contain=[float(p) for p in pad])
        kept.append(out)
    return kept


def _keypoint_arrays(ann: Dict) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (K, 2) and visibility (K, ) of a JSON annotation."""
    kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
    return kpts[:, :2], kpts[:, 2].astype(np.int64)


def _is_person(ann: Dict) -> bool:
    """Non-crowd annotation with at least one annotated keypoint."""
    return (not ann.get('iscrowd', 0) and 'keypoints' in ann
            and any(v > 0 for v in ann['keypoints'][2::3]))


def cuts_keypoints(anns: Sequence[Dict], crop_size: Tuple[int, int]) -> bool:
    """Whether an annotated keypoint of a person lies outside the image.

    Args:
        anns (Sequence[dict]): Annotations in crop coordinates (e.g. from
            :func:`crop_annotations`).
        crop_size (tuple[int, int]): Crop ``(w, h)``.

    Returns:
        bool: True if some non-crowd instance has a keypoint with ``v > 0``
        out of the image.
    """
    for ann in filter(_is_person, anns):
        points, vis = _keypoint_arrays(ann)
        if np.any((vis > 0) & ~in_image(points, crop_size)):
            return True
    return False


def choose_crop(
        rng: np.random.Generator,
        image_size: Tuple[int, int],
        anns: Sequence[Dict],
        params: Optional[CropCocoParams] = None) -> Tuple[CropBox, List[Dict]]:
    """Draw crops until one cuts annotated keypoints of a kept person.

    Args:
        rng (np.random.Generator): Random generator (consumed).
        image_size (tuple[int, int]): Source image ``(w, h)``.
        anns (Sequence[dict]): Source annotations of the image.
        params (CropCocoParams, optional): Parameters.

    Returns:
        tuple:
        - crop_box (tuple[int, int, int, int]): ``(x, y, w, h)``.
        - anns (list[dict]): Its annotations (:func:`crop_annotations`).
          When no draw of ``max_tries`` cuts a person, the last draw that
          keeps a person is returned, else the last draw.
    """
    params = params or CropCocoParams()
    fallback = None
    for _ in range(params.max_tries):
        box = sample_crop_box(rng, image_size, params)
        kept = crop_annotations(anns, box, params)
        if any(map(_is_person, kept)):
            if cuts_keypoints(kept, box[2:]):
                return box, kept
            fallback = (box, kept)
    return fallback or (box, kept)


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
def _percent(count: int, total: int) -> float:
    return round(100.0 * float(count) / total, 2) if total else 0.0


def cropcoco_statistics(images: Sequence[Dict],
                        annotations: Sequence[Dict],
                        aspect_ratio: float = 0.75,
                        padding: float = 1.25) -> Dict:
    """Keypoint counts per visibility and per area A-E of a COCO split.

    Counts are over the non-crowd annotations with keypoints.

    Args:
        images (Sequence[dict]): COCO images (``id``, ``width``,
            ``height``).
        annotations (Sequence[dict]): COCO annotations.
        aspect_ratio (float): Activation-window aspect ratio.
        padding (float): Activation-window padding.

    Returns:
        dict: ``keypoints`` / ``keypoints_percent`` per ``v0``..``v3``
        (percent of all keypoints), ``num_annotated_keypoints``, ``areas``
        / ``areas_percent`` per ``A``..``E`` (percent of the annotated
        keypoints), ``aspect_ratio`` and ``padding``.
    """
    sizes = {img['id']: (img['width'], img['height']) for img in images}
    anns = [
        a for a in annotations if not a.get('iscrowd', 0) and 'keypoints' in a
    ]
    vis_counts = np.zeros(4, dtype=np.int64)
    area_counts = np.zeros(len(DOMAIN_NAMES), dtype=np.int64)
    if anns:
        arrays = [_keypoint_arrays(a) for a in anns]
        points = np.stack([p for p, _ in arrays])
        vis = np.stack([v for _, v in arrays])
        codes = keypoint_domains(points, vis, [a['bbox'] for a in anns],
                                 [sizes[a['image_id']] for a in anns],
                                 aspect_ratio, padding)
        vis_counts = np.bincount(np.clip(vis.ravel(), 0, 3), minlength=4)
        area_counts = np.bincount(
            codes[codes >= 0], minlength=len(DOMAIN_NAMES))
    total, annotated = int(vis_counts.sum()), int(area_counts.sum())
    return dict(
        keypoints={f'v{v}': int(vis_counts[v])
                   for v in range(4)},
        keypoints_percent={
            f'v{v}': _percent(vis_counts[v], total)
            for v in range(4)
        },
        num_annotated_keypoints=annotated,
        areas={
            n: int(c)
            for n, c in zip(DOMAIN_NAMES, area_counts)
        },
        areas_percent={
            n: _percent(c, annotated)
            for n, c in zip(DOMAIN_NAMES, area_counts)
        },
        aspect_ratio=float(aspect_ratio),
        padding=float(padding))


# ---------------------------------------------------------------------------
# Data set generation
# ---------------------------------------------------------------------------
def _crop_task(task: Tuple) -> Tuple[Optional[Dict], List[Dict], bool]:
    """Crop, encode and write one image; returns its JSON records."""
    image, anns, src, dst, seed, params = task
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'could not read image {src}')
    h, w = img.shape[:2]
    if (image.get('width', w), image.get('height', h)) != (w, h):
        raise ValueError(f'image {src} is {w}x{h} but the annotation file '
                         f"says {image.get('width')}x{image.get('height')}")
    box, kept = choose_crop(image_rng(seed, image['id']), (w, h), anns, params)
    if not any(map(_is_person, kept)):
        return None, [], False
    x, y, cw, ch = box
    write_bytes(
        dst,
        encode_image(img[y:y + ch, x:x + cw],
                     Path(dst).suffix, dst, params.jpeg_quality,
                     params.png_compression))
    record = dict(
        id=image['id'],
        file_name=image['file_name'],
        width=cw,
        height=ch,
        crop_box=[x, y, cw, ch])
    return record, kept, cuts_keypoints(kept, (cw, ch))


def _check_args(img_dir: Path, ann_file: Path, split: str, seed: int,
                workers: Optional[int]) -> None:
    if not ann_file.is_file():
        raise FileNotFoundError(f'{ann_file}: annotation file not found')
    if not img_dir.is_dir():
        raise FileNotFoundError(f'{img_dir}: image directory not found')
    if (not isinstance(split, str) or not split
            or PurePosixPath(split).name != split or split in ('.', '..')
            or split == 'annotations'):
        raise ValueError('split must be a plain directory name other than '
                         f"'annotations', got {split!r}")
    check_seed(seed)
    check_workers(workers)


def _load_source(ann_file: Path) -> Dict:
    """Load and validate the source COCO keypoint json (see
    :func:`probpose_ext.utils.coco_file.check_coco_keypoints`), and check
    that its image file names stay inside the image directory."""
    coco, _ = load_coco_keypoints(ann_file)
    names = set()
    for img in coco['images']:
        name = img['file_name']
        path = PurePosixPath(name)
        if path.is_absolute() or '..' in path.parts or '\\' in name:
            raise ValueError(f'{ann_file}: image id {img["id"]!r}: '
                             f"'file_name' {name!r} escapes the image "
                             'directory')
        if name in names:
            raise ValueError(f"{ann_file}: duplicate 'file_name' {name!r}")
        names.add(name)
    return coco


def make_cropcoco(img_dir: Union[str, os.PathLike],
                  ann_file: Union[str, os.PathLike],
                  out_dir: Union[str, os.PathLike],
                  split: str = 'val',
                  seed: int = 0,
                  params: Optional[CropCocoParams] = None,
                  workers: Optional[int] = None,
                  force: bool = False,
                  progress: bool = True) -> Dict:
    """Make a CropCOCO-style cropped copy of a COCO keypoint data set.

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        img_dir (str | PathLike): Directory of the source images.
        ann_file (str | PathLike): Source COCO keypoint json.
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        split (str): Name of the output split: images go to
            ``OUT_DIR/<split>/``, annotations to
            ``OUT_DIR/annotations/person_keypoints_<split>.json``.
        seed (int): Non-negative base seed.
        params (CropCocoParams, optional): Crop and relabelling parameters.
        workers (int, optional): Number of processes; ``None`` uses
            ``os.cpu_count()``; 1 works in this process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a tqdm progress bar.

    Returns:
        dict: Summary. The deterministic part, also written to
        ``OUT_DIR/annotations/summary_<split>.json``: ``split``, ``seed``,
        ``version``, ``source_ann_file_name``, ``num_source_images``,
        ``num_images``, ``skipped_images`` (``no_keypoints``,
        ``no_survivor``), ``num_cut_images`` (images where the crop cuts
        annotated keypoints of a person out), ``num_source_instances``
        (annotations of the images with keypoint annotations),
        ``num_instances`` (written annotations), ``num_persons`` (written
        non-crowd annotations with annotated keypoints), ``num_crowd``,
        ``dropped_instances`` and the keypoint statistics of
        :func:`cropcoco_statistics`. Plus ``out_dir``, ``img_dir``,
        ``ann_file``, ``summary_file``, ``source_img_dir``,
        ``source_ann_file`` and ``elapsed_s``.
    """
    img_dir = Path(img_dir).expanduser().absolute()
    ann_file = Path(ann_file).expanduser().absolute()
    _check_args(img_dir, ann_file, split, seed, workers)
    params = check_params(params, CropCocoParams)
    out_dir = resolve_out_dir(out_dir, force)
    workers = num_workers(workers)

    start = time.perf_counter()
    source = _load_source(ann_file)
    by_image: Dict = {img['id']: [] for img in source['images']}
    for ann in source['annotations']:
        if ann.get('image_id') in by_image:
            by_image[ann['image_id']].append(ann)
    candidates = [
        img for img in source['images']
        if any(map(_is_person, by_image[img['id']]))
    ]
    check_files_exist((str(img_dir / img['file_name']) for img in candidates),
                      'image files', str(ann_file), f' (in {img_dir})')

    with atomic_output_dir(out_dir, force) as tmp:
        (tmp / 'annotations').mkdir()
        (tmp / split).mkdir()
        tasks = [(img, by_image[img['id']], str(img_dir / img['file_name']),
                  str(tmp / split / img['file_name']), int(seed), params)
                 for img in candidates]
        images, annotations, num_cut = [], [], 0
        with progress_map(_crop_task, tasks, workers, 'CropCOCO',
                          progress) as results:
            for record, anns, cut in results:
                if record is not None:
                    images.append(record)
                    annotations += anns
                    num_cut += int(cut)

        info = dict(
            description='CropCOCO-style crops of a COCO keypoint data set '
            '(probpose_ext.datasets.cropcoco)',
            version=GENERATOR_VERSION,
            split=split,
            seed=int(seed),
            params=dataclasses.asdict(params),
            source_ann_file=ann_file.name,
            source_info=source.get('info', {}))
        coco = dict(
            info=info,
            licenses=source.get('licenses', []),
            images=images,
            annotations=annotations,
            categories=source['categories'])
        write_json(tmp / 'annotations' / f'person_keypoints_{split}.json',
                   coco)

        num_source = sum(len(by_image[img['id']]) for img in candidates)
        summary = dict(
            split=split,
            seed=int(seed),
            version=GENERATOR_VERSION,
            source_ann_file_name=ann_file.name,
            num_source_images=len(source['images']),
            num_images=len(images),
            skipped_images=dict(
                no_keypoints=len(source['images']) - len(candidates),
                no_survivor=len(candidates) - len(images)),
            num_cut_images=num_cut,
            num_source_instances=num_source,
            num_instances=len(annotations),
            num_persons=sum(map(_is_person, annotations)),
            num_crowd=sum(bool(a['iscrowd']) for a in annotations),
            dropped_instances=num_source - len(annotations),
            **cropcoco_statistics(images, annotations, params.aspect_ratio,
                                  params.padding))
        write_json(
            tmp / 'annotations' / f'summary_{split}.json', summary, indent=2)

    summary.update(
        out_dir=str(out_dir),
        img_dir=str(out_dir / split),
        ann_file=str(out_dir / 'annotations' /
                     f'person_keypoints_{split}.json'),
        summary_file=str(out_dir / 'annotations' / f'summary_{split}.json'),
        source_img_dir=str(img_dir),
        source_ann_file=str(ann_file),
        elapsed_s=round(time.perf_counter() - start, 2))
    return summary

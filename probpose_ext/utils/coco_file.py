"""Validation of COCO-style keypoint annotation files (COCO, CropCOCO,
SynthPose), shared by :class:`~probpose_ext.datasets.CropCocoDataset`,
:class:`~probpose_ext.evaluation.ExCocoMetric` and the CropCOCO generator.

Each problem raises a ``ValueError`` whose message starts with the file and
the record (``"{file}: annotation id 5 (image id 1): ..."``) and names the
field, e.g.::

    data/x.json: annotation id 5 (image id 1): 'keypoints' has 48 values,
    expected 3 * 17 = 51

Checked: the file's top-level structure (``images``, ``annotations`` and
``categories`` lists), image ``id`` / ``file_name`` / positive ``width``
and ``height``, unique image and annotation ids, each annotation's
``image_id`` and ``category_id`` against ``images`` and ``categories``,
``keypoints`` (``3 * K`` finite numbers, visibility in ``{0, 1, 2, 3}``),
``bbox`` (4 finite numbers, width and height >= 0) and ``area`` (finite,
>= 0). Zero-size boxes are legal COCO and only reported
(:attr:`CocoFileReport.dropped_bbox_ids`): MMPose drops such instances.
"""
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .validation import PathLike, listed, load_json

#: Keypoint visibility values allowed (CropCOCO: 3 = outside the activation
#: window; plain COCO uses 0-2).
VISIBILITY = (0, 1, 2, 3)


@dataclass
class CocoFileReport:
    """What :func:`check_coco_keypoints` found in a valid file.

    Attributes:
        num_images (int): Number of images.
        num_annotations (int): Number of annotations.
        dropped_bbox_ids (list): Ids of non-crowd annotations with an
            annotated keypoint whose bbox has zero width or height once
            clipped to the image (``[0, W - 1] x [0, H - 1]``, MMPose's
            rule), so MMPose's datasets drop them.
    """
    num_images: int
    num_annotations: int
    dropped_bbox_ids: List[Any] = field(default_factory=list)


def _is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def _ids(records: Sequence[dict], kind: str, source: str) -> Dict[Any, dict]:
    """Index records by ``id``; raise on a missing or repeated id."""
    index: Dict[Any, dict] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or 'id' not in rec:
            raise ValueError(f'{source}: {kind} #{i} has no \'id\' field '
                             f'(got {str(rec)[:80]})')
        if rec['id'] in index:
            raise ValueError(f'{source}: {kind} id {rec["id"]!r} appears '
                             'more than once')
        index[rec['id']] = rec
    return index


def _check_image(img: dict, source: str) -> None:
    where = f'{source}: image id {img["id"]!r}'
    if not isinstance(img.get('file_name'), str) or not img['file_name']:
        raise ValueError(f"{where}: 'file_name' must be a non-empty string, "
                         f'got {img.get("file_name")!r}')
    for key in ('width', 'height'):
        value = img.get(key)
        if not (_is_number(value) and np.isfinite(value) and value > 0):
            raise ValueError(f'{where}: {key!r} must be a positive number, '
                             f'got {value!r}')


def check_keypoints(keypoints: Any, num_keypoints: Optional[int],
                    where: str) -> np.ndarray:
    """Check one annotation's flat ``keypoints`` list.

    Args:
        keypoints (Any): The ``keypoints`` field ``[x1, y1, v1, ...]``.
        num_keypoints (int, optional): Expected K; None only requires a
            multiple of 3.
        where (str): Prefix of the messages (file and record).

    Returns:
        np.ndarray: The keypoints as float64, shape (K, 3).

    Raises:
        ValueError: not a list of numbers, wrong length, NaN/Inf, or a
            visibility outside ``{0, 1, 2, 3}``; the message lists the
            offending keypoint indices.
    """
    if not isinstance(keypoints, (list, tuple)) or not all(
            _is_number(x) for x in keypoints):
        raise ValueError(f"{where}: 'keypoints' must be a list of numbers, "
                         f'got {str(keypoints)[:80]}')
    n = len(keypoints)
    if num_keypoints is not None and n != 3 * num_keypoints:
        raise ValueError(f"{where}: 'keypoints' has {n} values, expected "
                         f'3 * {num_keypoints} = {3 * num_keypoints}')
    if n % 3:
        raise ValueError(f"{where}: 'keypoints' has {n} values, not a "
                         'multiple of 3 (x, y, v per keypoint)')
    kpts = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    bad = ~np.isfinite(kpts).all(axis=1)
    if bad.any():
        raise ValueError(f"{where}: 'keypoints' has NaN/Inf values "
                         f'(keypoint indices {np.flatnonzero(bad).tolist()})')
    vis = kpts[:, 2]
    bad = ~np.isin(vis, VISIBILITY)
    if bad.any():
        values = ', '.join(f'{x:g}' for x in np.unique(vis[bad]))
        raise ValueError(
            f"{where}: 'keypoints' has visibility values [{values}] outside "
            '{0, 1, 2, 3} (keypoint indices '
            f'{np.flatnonzero(bad).tolist()})')
    return kpts


def _check_bbox(bbox: Any, where: str) -> np.ndarray:
    if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(_is_number(x) for x in bbox)):
        raise ValueError(f"{where}: 'bbox' must be [x, y, w, h] (4 numbers), "
                         f'got {str(bbox)[:80]}')
    box = np.asarray(bbox, dtype=np.float64)
    if not np.isfinite(box).all() or box[2] < 0 or box[3] < 0:
        raise ValueError(f"{where}: 'bbox' must be [x, y, w, h] with finite "
                         f'values and w, h >= 0, got {list(bbox)}')
    return box


def _first_bad(rows: np.ndarray) -> Optional[int]:
    """Index of the first True of a bool vector, or None."""
    bad = np.flatnonzero(rows)
    return int(bad[0]) if bad.size else None


def _stack(values: List[Any], width: Optional[int]) -> Optional[np.ndarray]:
    """``values`` as a float64 (M, width) array, or None when they are not
    all lists of ``width`` numbers (the caller then checks one by one)."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.ndim != 2 or (width is not None and array.shape[1] != width):
        return None
    return array


def check_coco_keypoints(coco: Any,
                         source: str,
                         num_keypoints: Optional[int] = None,
                         require_annotations: bool = True) -> CocoFileReport:
    """Validate a loaded COCO-style keypoint annotation file.

    The checks are vectorised over annotations (2-3 s for a COCO-train-sized
    file of 262,000, on top of the 7-8 s of parsing its JSON); the first
    problem found is reported by the per-annotation checks.

    Args:
        coco (Any): The parsed JSON.
        source (str): The file (or a description), first in every message.
        num_keypoints (int, optional): K; None accepts any multiple of 3.
        require_annotations (bool): Raise if there is no annotation (a
            ground-truth file); False for a file only used for its images
            (e.g. with detector boxes). Defaults to True.

    Returns:
        CocoFileReport: Counts and the annotations MMPose would drop for a
        degenerate bbox.

    Raises:
        ValueError: The first problem found, named by file, record and
            field (see the module docstring).
    """
    if not isinstance(coco, dict):
        raise ValueError(f'{source}: not a COCO annotation file: expected a '
                         'JSON object with \'images\', \'annotations\' and '
                         f'\'categories\' lists, got {type(coco).__name__}')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco.get(key), list):
            got = ('missing' if key not in coco else
                   f'a {type(coco[key]).__name__}')
            raise ValueError(f'{source}: not a COCO annotation file: '
                             f'{key!r} must be a list, got {got}')
    images = _ids(coco['images'], 'image', source)
    cats = _ids(coco['categories'], 'category', source)
    if not images:
        raise ValueError(f"{source}: empty data set: 'images' is empty")
    if require_annotations and not coco['annotations']:
        raise ValueError(f"{source}: empty data set: 'annotations' is empty "
                         f'({len(images)} images)')
    for img in images.values():
        _check_image(img, source)
    anns = list(_ids(coco['annotations'], 'annotation', source).values())

    def where(ann: dict) -> str:
        return (f'{source}: annotation id {ann["id"]!r} (image id '
                f'{ann.get("image_id")!r})')

    for ann in anns:
        if ann.get('image_id') not in images:
            raise ValueError(f"{where(ann)}: 'image_id' is not an id of "
                             "'images'")
        if ann.get('category_id') not in cats:
            raise ValueError(
                f"{where(ann)}: 'category_id' {ann.get('category_id')!r} is "
                f"not an id of 'categories' "
                f'({listed(sorted(cats, key=str))})')

    # keypoints: 3 * K finite numbers, v in {0, 1, 2, 3}
    with_kpts = [a for a in anns if 'keypoints' in a]
    kpts = _stack([a['keypoints'] for a in with_kpts],
                  None if num_keypoints is None else 3 * num_keypoints)
    bad = None
    if kpts is not None and kpts.shape[1] % 3 == 0:
        v = kpts[:, 2::3]
        bad = _first_bad(~np.isfinite(kpts).all(1)
                         | ~np.isin(v, VISIBILITY).all(1))
    if kpts is None or kpts.shape[1] % 3 or bad is not None:
        for ann in with_kpts if bad is None else with_kpts[bad:]:
            check_keypoints(ann['keypoints'], num_keypoints, where(ann))

    # bbox: 4 finite numbers with w, h >= 0
    with_box = [a for a in anns if 'bbox' in a]
    boxes = _stack([a['bbox'] for a in with_box], 4)
    if boxes is None or not with_box:
        boxes = np.array([_check_bbox(a['bbox'], where(a))
                          for a in with_box]).reshape(-1, 4)
    bad = _first_bad(~np.isfinite(boxes).all(1) | (boxes[:, 2] < 0)
                     | (boxes[:, 3] < 0))
    if bad is not None:
        _check_bbox(with_box[bad]['bbox'], where(with_box[bad]))

    # area: finite, >= 0
    areas = [a.get('area', 0) for a in anns]
    values = np.array([x if _is_number(x) else -1.0 for x in areas],
                      dtype=np.float64)
    bad = _first_bad(~(values >= 0) | ~np.isfinite(values))
    if bad is not None:
        raise ValueError(f"{where(anns[bad])}: 'area' must be a finite "
                         f'number >= 0, got {areas[bad]!r}')

    # what MMPose drops: a degenerate bbox once clipped to the image
    size = np.array([[images[a['image_id']]['width'],
                      images[a['image_id']]['height']] for a in with_box],
                    dtype=np.float64).reshape(-1, 2) - 1
    lo = np.clip(boxes[:, :2], 0, size)
    hi = np.clip(boxes[:, :2] + boxes[:, 2:], 0, size)
    empty = (hi - lo <= 0).any(1)
    dropped = [
        a['id'] for a, e in zip(with_box, empty)
        if e and not a.get('iscrowd') and 'keypoints' in a
        and any(v > 0 for v in a['keypoints'][2::3])
    ]
    return CocoFileReport(len(images), len(anns), dropped)


def load_coco_keypoints(path: PathLike,
                        num_keypoints: Optional[int] = None,
                        require_annotations: bool = True
                        ) -> Tuple[dict, CocoFileReport]:
    """Read and validate a COCO-style keypoint annotation file.

    Args:
        path (str | PathLike): Local json file.
        num_keypoints (int, optional): K; None accepts any multiple of 3.
        require_annotations (bool): See :func:`check_coco_keypoints`.

    Returns:
        tuple: The parsed file (dict) and its :class:`CocoFileReport`.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Invalid JSON or content (see
            :func:`~probpose_ext.utils.validation.load_json` and
            :func:`check_coco_keypoints`).
    """
    coco = load_json(path)
    return coco, check_coco_keypoints(coco, str(path), num_keypoints,
                                      require_annotations)

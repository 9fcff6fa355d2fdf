"""Writing SynthPose to disk: per-image random generators, parallel
rendering, JPEG images and the COCO keypoint annotation files."""
import dataclasses
import os
import time
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from ..common import (atomic_output_dir, check_params, check_seed,
                      check_workers, encode_image, item_rng, num_workers,
                      progress_map, resolve_out_dir, write_bytes, write_json)
from ..kinematics import coco_keypoint_names, load_coco_metainfo
from .params import SynthPoseParams
from .render import render_image

__all__ = ['GENERATOR_VERSION', 'SPLITS', 'image_rng', 'make_synthpose']

GENERATOR_VERSION = '1.0.0'
SPLITS = ('train', 'val')
_SPLIT_CODES = {'train': 0, 'val': 1}


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random generator of image ``index`` (0-based) of ``split``."""
    return item_rng(seed, _SPLIT_CODES[split], index)


def ann_to_json(ann: Dict, digits: int = 2) -> Dict:
    """JSON-ready version of one annotation of ``annotate_scene``:
    keypoints rounded to ``digits`` decimals (v = 0 rows as zeros), the
    box to 2 (a missing box as zeros)."""
    kpts = []
    for x, y, v in ann['keypoints']:
        if v > 0:
            kpts += [round(float(x), digits), round(float(y), digits), int(v)]
        else:
            kpts += [0, 0, 0]
    bbox = ann['bbox'] if ann['bbox'] is not None else [0.0, 0.0, 0.0, 0.0]
    return dict(
        bbox=[round(float(c), 2) for c in bbox],
        area=int(ann['area']),
        num_keypoints=int(ann['num_keypoints']),
        keypoints=kpts)


def _render_task(task: Tuple) -> Tuple[str, int, List[Dict]]:
    """Render, encode and write one image; returns its annotations."""
    split, index, seed, img_size, params, names, path = task
    img, anns = render_image(
        image_rng(seed, split, index), img_size, params, names)
    write_bytes(
        path,
        encode_image(img, '.jpg', path, jpeg_quality=params.jpeg_quality))
    return split, index, [ann_to_json(a) for a in anns]


def _check_args(num_train: int, num_val: int, seed: int,
                img_size: Tuple[int, int], workers: Optional[int]) -> None:
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f'{name} must be an int, got {value!r}')
        if value < 0:
            raise ValueError(f'{name} must be >= 0, got {value}')
    if num_train + num_val == 0:
        raise ValueError('num_train + num_val must be > 0')
    check_seed(seed)
    if (not isinstance(img_size, (tuple, list)) or len(img_size) != 2
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                for v in img_size)
            or not all(32 <= v <= 4096 for v in img_size)):
        raise ValueError('img_size must be a (w, h) pair of ints in '
                         f'[32, 4096], got {img_size!r}')
    check_workers(workers)


def coco_dict(split: str, records: List[List[Dict]], names: List[str],
               skeleton: List[List[int]], seed: int, img_size: Tuple[int, int],
               params: SynthPoseParams) -> Dict:
    """Assemble the COCO keypoints dict of one split."""
    w, h = img_size
    images, annotations = [], []
    for index, anns in enumerate(records):
        image_id = index + 1
        images.append(
            dict(
                id=image_id,
                file_name=f'{image_id:012d}.jpg',
                width=w,
                height=h))
        for ann in anns:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1,
                    bbox=ann['bbox'],
                    area=ann['area'],
                    iscrowd=0,
                    num_keypoints=ann['num_keypoints'],
                    keypoints=ann['keypoints']))
    info = dict(
        description='SynthPose: synthetic 2D human pose data set '
        '(probpose_ext.datasets.synthpose)',
        version=GENERATOR_VERSION,
        split=split,
        seed=int(seed),
        img_size=[w, h],
        params=dataclasses.asdict(params))
    categories = [
        dict(
            id=1,
            name='person',
            supercategory='person',
            keypoints=names,
            skeleton=skeleton)
    ]
    return dict(
        info=info,
        licenses=[],
        images=images,
        annotations=annotations,
        categories=categories)


def make_synthpose(out_dir: Union[str, os.PathLike],
                   num_train: int = 3000,
                   num_val: int = 500,
                   seed: int = 0,
                   img_size: Tuple[int, int] = (256, 256),
                   workers: Optional[int] = None,
                   force: bool = False,
                   progress: bool = True,
                   params: Optional[SynthPoseParams] = None) -> Dict:
    """Generate the SynthPose data set in COCO keypoint format.

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        seed (int): Non-negative base seed.
        img_size (tuple[int, int]): Image size (w, h).
        workers (int, optional): Number of processes; ``None`` uses
            ``os.cpu_count()``; 1 renders in this process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a tqdm progress bar.
        params (SynthPoseParams, optional): Generation parameters.

    Returns:
        dict: Summary with ``out_dir``, ``num_images``, ``num_instances``,
        ``keypoints`` (counts per visibility ``v0``/``v1``/``v2``),
        ``elapsed_s`` and per-split entries under ``splits`` (the same
        counts plus ``img_dir`` and ``ann_file``).
    """
    _check_args(num_train, num_val, seed, img_size, workers)
    params = check_params(params, SynthPoseParams)
    img_size = (int(img_size[0]), int(img_size[1]))
    out_dir = resolve_out_dir(out_dir, force)
    workers = num_workers(workers)

    meta = load_coco_metainfo()
    names = coco_keypoint_names()
    skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta['skeleton_links']]
    counts = {'train': int(num_train), 'val': int(num_val)}

    start = time.perf_counter()
    with atomic_output_dir(out_dir, force) as tmp:
        (tmp / 'annotations').mkdir()
        tasks = []
        for split in SPLITS:
            (tmp / split).mkdir()
            tasks += [(split, i, int(seed), img_size, params, names,
                       str(tmp / split / f'{i + 1:012d}.jpg'))
                      for i in range(counts[split])]
        records: Dict[str, List] = {s: [None] * counts[s] for s in SPLITS}
        with progress_map(_render_task, tasks, workers, 'SynthPose',
                          progress) as results:
            for split, index, anns in results:
                records[split][index] = anns

        summary = dict(
            out_dir=str(out_dir),
            seed=int(seed),
            img_size=list(img_size),
            splits={})
        for split in SPLITS:
            coco = coco_dict(split, records[split], names, skeleton, seed,
                              img_size, params)
            ann_file = tmp / 'annotations' / f'person_keypoints_{split}.json'
            write_json(ann_file, coco)
            vis = np.zeros(3, dtype=np.int64)
            for ann in coco['annotations']:
                vis += np.bincount(ann['keypoints'][2::3], minlength=3)
            summary['splits'][split] = dict(
                num_images=len(coco['images']),
                num_instances=len(coco['annotations']),
                keypoints={f'v{v}': int(vis[v])
                           for v in range(3)},
                img_dir=str(out_dir / split),
                ann_file=str(out_dir / 'annotations' /
                             f'person_keypoints_{split}.json'))

    splits = summary['splits']
    summary['num_images'] = sum(s['num_images'] for s in splits.values())
    summary['num_instances'] = sum(s['num_instances'] for s in splits.values())
    summary['keypoints'] = {
        f'v{v}': sum(s['keypoints'][f'v{v}'] for s in splits.values())
        for v in range(3)
    }
    summary['elapsed_s'] = round(time.perf_counter() - start, 2)
    return summary

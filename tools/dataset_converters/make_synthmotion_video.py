"""Render SynthMotion video: the SynthMotion sequences drawn as JPEG frames
by the SynthPose renderer, with SynthMotion's npz annotations (scaled
cameras) and COCO keypoint files (see
``probpose_ext.datasets.generators.synthmotion_video``).

Example:
    python tools/dataset_converters/make_synthmotion_video.py \\
        data/synthmotion_video --seed 0 --workers 2 \\
        --preview docs/images/synthmotion_video.png

Layout: ``OUT_DIR/images/<imgname>``,
``OUT_DIR/annotation_body3d/cameras.pkl``,
``OUT_DIR/annotation_body3d/fps<fps>/synthmotion_video_{train,test}.npz``
and ``OUT_DIR/annotations/person_keypoints_{train,test}.json``.
"""
import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from _generator_cli import (EXIT_EXISTS, MOTION_FIELDS, add_motion_args,
                            add_run_args, ensure_importable, generate,
                            refuse_existing, set_options)


def _import_api() -> Tuple[Callable, type]:
    """Import the API (see :func:`_generator_cli.ensure_importable`)."""
    ensure_importable()
    from probpose_ext.datasets.generators.synthmotion_video import (
        SynthMotionVideoParams, make_synthmotion_video)
    return make_synthmotion_video, SynthMotionVideoParams


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (unset options keep the defaults of
    ``SynthMotionVideoParams``)."""
    parser = argparse.ArgumentParser(
        description='Render the SynthMotion sequences to video frames with '
        'the SynthPose renderer (npz + COCO annotations).')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    add_motion_args(parser)
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        metavar=('W', 'H'),
        default=None,
        help='image size (default: 320 320)')
    parser.add_argument(
        '--jpeg-quality', type=int, default=None, help='JPEG quality')
    parser.add_argument(
        '--preview',
        metavar='PNG',
        help='also draw a strip of frames of the first test video with its '
        'COCO keypoints')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if refuse_existing(args.out_dir, args.force):
        return EXIT_EXISTS  # before the (slow) import of the package
    make, params_cls = _import_api()

    def build_params():
        motion = dataclasses.replace(params_cls().motion,
                                     **set_options(args, MOTION_FIELDS))
        return params_cls(motion=motion,
                          **set_options(args, ('img_size', 'jpeg_quality')))

    code, summary = generate(args, make, build_params)
    if summary is not None and args.preview:
        draw_preview(summary['out_dir'], args.preview, split='test')
        print(f'preview: {args.preview}')
    return code

def draw_preview(out_dir: Union[str, os.PathLike],
                 path: Optional[Union[str, os.PathLike]] = None,
                 split: str = 'test',
                 num_frames: int = 6,
                 video: int = 0,
                 tile_height: int = 256) -> np.ndarray:
    """A strip of frames of one video with its COCO keypoints drawn
    (filled: v = 2, hollow: v = 1), evenly spaced over the video, every
    frame cut to the same box around the person (the union of their
    ``bbox``, padded) and scaled to ``tile_height``.

    Args:
        out_dir (str | PathLike): A SynthMotion video data set.
        path (str | PathLike, optional): Where to write the strip (PNG).
        split (str): Split of the video.
        num_frames (int): Number of frames in the strip (>= 1; fewer if
            the video is shorter).
        video (int): Index of the video in the split (video order).
        tile_height (int): Height of the strip in pixels.

    Returns:
        np.ndarray: The strip, BGR, shape (tile_height, W, 3), uint8.
    """
    import cv2

    from probpose_ext.datasets.generators.common import (encode_image,
                                                         write_bytes)
    from probpose_ext.datasets.generators.kinematics import \
        load_coco_metainfo
    from probpose_ext.datasets.generators.synthmotion_video import SPLITS
    out_dir = Path(out_dir)
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    if num_frames < 1 or tile_height < 16:
        raise ValueError('num_frames must be >= 1 and tile_height >= 16, '
                         f'got {num_frames}, {tile_height}')
    coco = json.loads((out_dir / 'annotations' /
                       f'person_keypoints_{split}.json').read_text())
    videos: Dict[str, List[int]] = {}
    for i, image in enumerate(coco['images']):
        videos.setdefault(os.path.dirname(image['file_name']), []).append(i)
    keys = list(videos)
    if not 0 <= video < len(keys):
        raise ValueError(f'video must be in [0, {len(keys)}), got {video}')
    rows = videos[keys[video]]
    spaced = np.linspace(0, len(rows) - 1, num_frames)
    picks = np.unique(np.round(spaced).astype(int))
    rows = [rows[i] for i in picks]
    first = coco['images'][rows[0]]
    w_img, h_img = first['width'], first['height']
    # one crop for all frames: the union of the boxes, padded by 15 %
    boxes = np.array([
        coco['annotations'][r]['bbox'] for r in rows
        if coco['annotations'][r]['area'] > 0
    ]).reshape(-1, 4)
    if len(boxes):
        low = boxes[:, :2].min(0)
        high = (boxes[:, :2] + boxes[:, 2:]).max(0)
        pad = 0.15 * (high - low).max() + 4
        x0, y0 = np.maximum(np.floor(low - pad), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(high + pad), (w_img, h_img)).astype(int)
    else:
        x0, y0, x1, y1 = 0, 0, w_img, h_img
    zoom = tile_height / (y1 - y0)
    size = (max(1, int(round((x1 - x0) * zoom))), tile_height)
    meta = load_coco_metainfo()
    radius = max(2, int(round(tile_height / 120)))
    tiles = []
    for pick, row in zip(picks, rows):
        image, ann = coco['images'][row], coco['annotations'][row]
        img = cv2.imread(str(out_dir / 'images' / image['file_name']))
        if img is None:
            raise FileNotFoundError(out_dir / 'images' / image['file_name'])
        img = cv2.resize(
            img[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR)
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        # pixel centres: image u -> tile (u - x0 + 0.5) * zoom - 0.5
        xy = (kpts[:, :2] - (x0, y0) + 0.5) * zoom - 0.5
        pts = [(int(round(x * 16)), int(round(y * 16))) for x, y in xy]
        for (a, b), rgb in zip(meta['skeleton_links'],
                               meta['skeleton_link_colors']):
            if kpts[a, 2] > 0 and kpts[b, 2] > 0:
                cv2.line(img, pts[a], pts[b], tuple(int(c) for c in rgb[::-1]),
                         2, cv2.LINE_AA, 4)
        for v, p in zip(kpts[:, 2], pts):
            if v > 0:
                cv2.circle(img, p, radius * 16, (0, 255, 255),
                           -1 if v == 2 else 1, cv2.LINE_AA, 4)
        cv2.putText(img, f'{pick + 1}', (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(img)
    gap = np.full((tile_height, 4, 3), 255, dtype=np.uint8)
    strip = np.concatenate(
        [t for tile in tiles for t in (tile, gap)][:-1], axis=1)
    if path is not None:
        write_bytes(path, encode_image(strip, '.png', str(path)))
    return strip


if __name__ == '__main__':
    sys.exit(main())

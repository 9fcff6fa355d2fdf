"""A labelled grid of image corruptions (rows) at several severities
(columns), for the documentation of the robustness benchmark.

Regenerate the figure of the docs with::

    python -m probpose_ext.visualization.corruptions \\
        --out docs/images/corruptions.jpg

It uses the first image of ``data/synthpose/images/val/`` with its
annotation when that folder exists, else the single-person COCO image of
``tests/data/coco`` with its bbox. The corruptions are applied to the whole
image; the cells show the person's bbox padded by 1.25 (the region a
top-down model crops).

Note:
    - H, W: image height and width
"""
import argparse
import json
import os.path as osp
from pathlib import Path
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from ..ops.image_corruptions import (IMAGE_CORRUPTIONS, corrupt_image,
                                     corruption_rng)

__all__ = ['corruption_grid', 'load_example']

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BG = (255, 255, 255)
_FG = (0, 0, 0)


def _label(text: str, size: Tuple[int, int], scale: float = 0.5,
           thickness: int = 1) -> np.ndarray:
    """White (h, w, 3) uint8 tile with ``text`` centred in black."""
    h, w = size
    tile = np.full((h, w, 3), _BG, dtype=np.uint8)
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    org = (max(2, (w - tw) // 2), (h + th) // 2)
    cv2.putText(tile, text, org, _FONT, scale, _FG, thickness, cv2.LINE_AA)
    return tile


def corruption_grid(img: np.ndarray,
                    names: Sequence[str],
                    severities: Sequence[int] = (1, 3, 5),
                    seed: int = 0,
                    bbox: Optional[Sequence[float]] = None,
                    cell_width: int = 200,
                    crop_padding: Optional[float] = None) -> np.ndarray:
    """Labelled grid: one row per corruption, one column per severity.

    Cell ``(i, j)`` is ``corrupt_image(img, names[i], severities[j],
    corruption_rng(seed), bbox)`` (a fresh generator per cell, so e.g. the
    masks of a row are nested), optionally cropped to the person's padded
    bbox (the region a top-down model sees), resized to ``cell_width``
    pixels wide with the aspect ratio of the shown region (area
    interpolation). A header row names the severities and a left column
    the corruptions.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        names (Sequence[str]): Corruption names (keys of
            :data:`~probpose_ext.ops.image_corruptions.IMAGE_CORRUPTIONS`).
        severities (Sequence[int]): Severities of the columns. Defaults to
            ``(1, 3, 5)``.
        seed (int): Seed of every cell's generator. Defaults to 0.
        bbox (Sequence[float], optional): Person box ``(x1, y1, x2, y2)``
            for ``mask``. Defaults to None.
        cell_width (int): Width of a cell in pixels. Defaults to 200.
        crop_padding (float, optional): Show only ``bbox`` scaled by this
            factor about its centre (clipped to the image); needs ``bbox``.
            Defaults to None (the whole image).

    Returns:
        np.ndarray: BGR grid of shape ``(header + R * ch, label + C * cw,
        3)`` uint8 with ``R = len(names)``, ``C = len(severities)``, ``cw =
        cell_width``, ``ch = round(cw h / w)`` for the shown region of size
        ``(h, w)``, ``header = 28`` and ``label = 170`` pixels.
    """
    names, severities = list(names), [int(s) for s in severities]
    if not names or not severities:
        raise ValueError('names and severities must not be empty')
    y0, y1, x0, x1 = 0, img.shape[0], 0, img.shape[1]
    if crop_padding is not None:
        if bbox is None:
            raise ValueError('crop_padding needs a bbox')
        b = np.asarray(bbox, dtype=np.float64).reshape(4)
        centre, half = (b[:2] + b[2:]) / 2, (b[2:] - b[:2]) * crop_padding / 2
        x0, y0 = (int(v) for v in np.maximum(np.floor(centre - half), 0))
        x1 = int(min(np.ceil(centre[0] + half[0]), img.shape[1]))
        y1 = int(min(np.ceil(centre[1] + half[1]), img.shape[0]))
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f'the padded bbox {bbox} misses the image')
    h, w = y1 - y0, x1 - x0
    cw = int(cell_width)
    ch = max(1, int(round(cw * h / w)))
    header, label_w = 28, 170
    rows = [
        np.concatenate([_label('', (header, label_w))] + [
            _label(f'severity {s}', (header, cw)) for s in severities
        ], axis=1)
    ]
    for name in names:
        cells = [_label(name, (ch, label_w))]
        for s in severities:
            out = corrupt_image(img, name, s, corruption_rng(seed), bbox=bbox)
            cells.append(
                cv2.resize(out[y0:y1, x0:x1], (cw, ch),
                           interpolation=cv2.INTER_AREA))
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def load_example(repo: Path) -> Tuple[np.ndarray, np.ndarray, str]:
    """An example image with one person box for the docs figure.

    The first image (sorted by name) of ``data/synthpose/images/val/`` with
    an annotation in ``data/synthpose/annotations/person_keypoints_val.json``
    when that folder exists, else ``tests/data/coco/000000000785.jpg`` (one
    person). The box is the largest annotation of the image.

    Args:
        repo (Path): Repository root.

    Returns:
        tuple[np.ndarray, np.ndarray, str]: BGR image (H, W, 3) uint8, bbox
        ``(x1, y1, x2, y2)`` (4,) float64 and the image path.
    """
    repo = Path(repo)
    img_dir = repo / 'data' / 'synthpose' / 'images' / 'val'
    ann_file = repo / 'data' / 'synthpose' / 'annotations' / \
        'person_keypoints_val.json'
    if img_dir.is_dir() and ann_file.is_file():
        names = sorted(p.name for p in img_dir.iterdir())
    else:
        img_dir = repo / 'tests' / 'data' / 'coco'
        ann_file = img_dir / 'test_coco.json'
        names = ['000000000785.jpg']
    with open(ann_file) as f:
        coco = json.load(f)
    ids = {im['file_name']: im['id'] for im in coco['images']}
    for name in names:
        anns = [
            a for a in coco['annotations']
            if a['image_id'] == ids.get(name) and a.get('bbox')
        ]
        if anns:
            break
    else:
        raise FileNotFoundError(f'no annotated image in {img_dir}')
    x, y, bw, bh = max(anns, key=lambda a: a['bbox'][2] * a['bbox'][3])['bbox']
    path = str(img_dir / name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read {path}')
    return img, np.array([x, y, x + bw, y + bh], dtype=np.float64), path


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Write the docs figure (all corruptions at severities 1, 3, 5)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/images/corruptions.jpg')
    parser.add_argument('--repo', default='.')
    parser.add_argument('--cell-width', type=int, default=150)
    parser.add_argument('--crop-padding', type=float, default=1.25)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    img, bbox, path = load_example(Path(args.repo))
    grid = corruption_grid(img, list(IMAGE_CORRUPTIONS), (1, 3, 5),
                           seed=args.seed, bbox=bbox,
                           cell_width=args.cell_width,
                           crop_padding=args.crop_padding or None)
    if osp.dirname(args.out):
        Path(osp.dirname(args.out)).mkdir(parents=True, exist_ok=True)
    # noise compresses badly in PNG (1.4 MB); JPEG keeps the figure small
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if args.out.lower().endswith(
        ('.jpg', '.jpeg')) else [cv2.IMWRITE_PNG_COMPRESSION, 9]
    cv2.imwrite(args.out, grid, params)
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}) from {path}')


if __name__ == '__main__':
    main()

"""Where annotated keypoints lie: the ProbPose paper's areas A-E (Table 3).

Every annotated keypoint (``v > 0``) of a non-crowd COCO-style annotation
falls in exactly one area, relative to the image, the annotation's bbox and
its activation window (AW: the bbox grown to the model's aspect ratio and
scaled by the padding factor), as computed by
:func:`probpose_ext.ops.windows.keypoint_domains`:

- A: in the image, in the bbox
- B: in the image, out of the bbox, in the AW
- C: in the image, out of the AW
- D: out of the image, in the AW
- E: out of the image, out of the AW

COCO has (almost) all keypoints in A-C; CropCOCO moves some to D and E.
"""
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..ops.windows import DOMAIN_DESCRIPTIONS, DOMAIN_NAMES, keypoint_domains
from ..utils.validation import load_json

#: Visibility values of annotated keypoints (CropCOCO, DESIGN.md section 3).
VISIBILITY_VALUES = (1, 2, 3)

#: Bar colours of the areas A-E in :func:`plot_domains`.
DOMAIN_COLORS = ('#4c72b0', '#55a868', '#c44e52', '#8172b2', '#ccb974')

CocoLike = Union[str, Path, dict]


def _load(coco: CocoLike) -> Tuple[dict, str]:
    """Read a COCO-style annotation file (or take a loaded dict).

    Args:
        coco (str | Path | dict): Path of the json file, or its content.

    Returns:
        tuple[dict, str]: The content and a name for messages (the path, or
        ``'<dict>'``).
    """
    if isinstance(coco, dict):
        data, source = coco, '<dict>'
    else:
        source = str(coco)
        data = load_json(coco)
    if not isinstance(data, dict) or not isinstance(
            data.get('images'), list) or not isinstance(
                data.get('annotations'), list):
        raise ValueError(f'{source}: not a COCO annotation file (needs '
                         '"images" and "annotations" lists)')
    return data, source


def _image_sizes(data: dict, source: str) -> Dict[int, Tuple[float, float]]:
    """Image ``(w, h)`` by image id, validated."""
    sizes = {}
    for img in data['images']:
        try:
            w, h = float(img['width']), float(img['height'])
            img_id = img['id']
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{source}: image entry {img!r:.80} needs "id", '
                             '"width" and "height"') from None
        if not (w > 0 and h > 0):
            raise ValueError(f'{source}: image id {img_id} has size '
                             f'{w:g} x {h:g}')
        sizes[img_id] = (w, h)
    return sizes


def _instances(data: dict, source: str
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Stack the non-crowd annotations that have keypoints.

    Returns:
        tuple: keypoints (N, K, 2), raw visibility (N, K) int64, bboxes
        ``[x, y, w, h]`` (N, 4), image sizes ``(w, h)`` (N, 2), and the
        number of skipped crowd annotations.
    """
    sizes = _image_sizes(data, source)
    kpts, vis, boxes, imgs = [], [], [], []
    num_crowd = 0
    num_kpts = None
    for ann in data['annotations']:
        if not isinstance(ann, dict):
            raise ValueError(f'{source}: annotation {ann!r:.80} is not an '
                             'object')
        ann_id = ann.get('id')
        if 'keypoints' not in ann:
            continue  # not a keypoint annotation
        if ann.get('iscrowd', 0):
            num_crowd += 1
            continue
        values = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1)
        if values.size == 0 or values.size % 3:
            raise ValueError(f'{source}: annotation id {ann_id} has '
                             f'{values.size} keypoint values, not 3 * K')
        if num_kpts is None:
            num_kpts = values.size // 3
        elif values.size != 3 * num_kpts:
            raise ValueError(f'{source}: annotation id {ann_id} has '
                             f'{values.size // 3} keypoints, others have '
                             f'{num_kpts}')
        v = values[2::3]
        bad = ~np.isin(v, (0, ) + VISIBILITY_VALUES)
        if bad.any():
            shown = ', '.join(f'{x:g}' for x in np.unique(v[bad]))
            raise ValueError(f'{source}: annotation id {ann_id} has keypoint '
                             f'visibility values [{shown}] outside '
                             '{0, 1, 2, 3}')
        if ann.get('image_id') not in sizes:
            raise ValueError(f'{source}: annotation id {ann_id} refers to '
                             f'unknown image id {ann.get("image_id")}')
        bbox = np.asarray(ann.get('bbox', ()), dtype=np.float64).reshape(-1)
        if bbox.size != 4:
            raise ValueError(f'{source}: annotation id {ann_id} has no '
                             '[x, y, w, h] bbox')
        kpts.append(values.reshape(-1, 3)[:, :2])
        vis.append(v.astype(np.int64))
        boxes.append(bbox)
        imgs.append(sizes[ann['image_id']])
    n, k = len(kpts), num_kpts or 0
    return (np.asarray(kpts, np.float64).reshape(n, k, 2),
            np.asarray(vis, np.int64).reshape(n, k),
            np.asarray(boxes, np.float64).reshape(n, 4),
            np.asarray(imgs, np.float64).reshape(n, 2), num_crowd)


def _summary(codes: np.ndarray) -> dict:
    """Counts and percentages of area codes (1-D, values 0..4)."""
    counts = np.bincount(codes, minlength=len(DOMAIN_NAMES))
    total = int(counts.sum())
    percent = counts * (100.0 / total) if total else np.zeros(len(counts))
    return dict(
        num_keypoints=total,
        counts={n: int(c) for n, c in zip(DOMAIN_NAMES, counts)},
        percent={n: float(p) for n, p in zip(DOMAIN_NAMES, percent)})


def domain_counts(coco: CocoLike,
                  aspect_ratio: float = 0.75,
                  padding: float = 1.25) -> dict:
    """Count the annotated keypoints of a COCO-style data set per area A-E.

    Only keypoints with ``v > 0`` of annotations with ``iscrowd == 0`` count;
    annotations without ``keypoints`` are ignored. Each instance's activation
    window is its annotation bbox (as written in the file, not clipped to the
    image) grown to ``aspect_ratio`` and scaled by ``padding``.

    Args:
        coco (str | Path | dict): COCO-style keypoint annotation file, or its
            loaded content.
        aspect_ratio (float): Model input ``w / h``. Defaults to 0.75.
        padding (float): Activation-window padding. Defaults to 1.25.

    Returns:
        dict: JSON-serialisable summary:

        - ``source`` (str), ``aspect_ratio``, ``padding`` (float)
        - ``num_images``, ``num_instances`` (non-crowd annotations with
          keypoints), ``num_crowd_skipped``, ``num_keypoints`` (annotated)
        - ``counts`` / ``percent``: dicts ``{'A': ..., ..., 'E': ...}``;
          percentages of ``num_keypoints`` (they sum to 100, all 0 when
          there is no annotated keypoint)
        - ``by_visibility``: ``{'1': s, '2': s, '3': s}`` where each ``s``
          has ``num_keypoints``, ``counts`` and ``percent`` (of the
          keypoints with that ``v``)

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Invalid JSON or annotations (the message names the file
            and, where it applies, the annotation id).
    """
    data, source = _load(coco)
    kpts, vis, boxes, sizes, num_crowd = _instances(data, source)
    codes = keypoint_domains(kpts, vis, boxes, sizes, aspect_ratio, padding)
    result = dict(
        source=source,
        aspect_ratio=float(aspect_ratio),
        padding=float(padding),
        num_images=len(data['images']),
        num_instances=int(len(kpts)),
        num_crowd_skipped=num_crowd)
    result.update(_summary(codes[vis > 0]))
    result['by_visibility'] = {
        str(v): _summary(codes[vis == v])
        for v in VISIBILITY_VALUES
    }
    return result


def _cells(summary: Mapping) -> List[str]:
    return [
        f'{summary["percent"][n]:.2f} ({summary["counts"][n]})'
        for n in DOMAIN_NAMES
    ]


def domain_table(results: Mapping[str, Mapping],
                 by_visibility: bool = False,
                 legend: bool = True) -> str:
    """Markdown table of :func:`domain_counts` results, one row per data set.

    Cells are ``percent (count)``. A legend of the areas and the window
    parameters follows the table unless ``legend`` is False.

    Args:
        results (Mapping[str, Mapping]): Data set name -> output of
            :func:`domain_counts`.
        by_visibility (bool): One row per data set and visibility ``v`` (1,
            2, 3; percentages within that ``v``) instead of one per data
            set. Defaults to False.
        legend (bool): Append the legend. Defaults to True.

    Returns:
        str: The markdown text (ends with a newline).
    """
    head = ['Dataset'] + (['v'] if by_visibility else ['Instances'])
    head += ['Keypoints'] + [f'{n} [%]' for n in DOMAIN_NAMES]
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '---|' + '---:|' * (len(head) - 1)]
    for name, res in results.items():
        if by_visibility:
            for v, summary in res['by_visibility'].items():
                lines.append('| ' + ' | '.join(
                    [str(name), str(v), str(summary['num_keypoints'])] +
                    _cells(summary)) + ' |')
        else:
            lines.append('| ' + ' | '.join(
                [str(name), str(res['num_instances']),
                 str(res['num_keypoints'])] + _cells(res)) + ' |')
    if not legend:
        return '\n'.join(lines) + '\n'
    windows = sorted({(r['aspect_ratio'], r['padding'])
                      for r in results.values()})
    lines.append('')
    lines += [f'- {d}' for d in DOMAIN_DESCRIPTIONS]
    lines.append('- Activation window: the bbox grown to aspect ratio '
                 + '; '.join(f'{a:g} and scaled by {p:g}'
                             for a, p in windows)
                 + '. Only annotated (v > 0), non-crowd keypoints count.')
    return '\n'.join(lines) + '\n'


def plot_domains(results: Mapping[str, Mapping],
                 path: Union[str, Path],
                 title: Optional[str] = None) -> Path:
    """Bar chart of the areas A-E: one group of five bars per data set.

    Drawn on Matplotlib's Agg canvas (no display, no global backend change).

    Args:
        results (Mapping[str, Mapping]): Data set name -> output of
            :func:`domain_counts`.
        path (str | Path): Output image (e.g. ``domains.png``).
        title (str, optional): Figure title. Defaults to a generic one.

    Returns:
        Path: ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(results)
    num = len(DOMAIN_NAMES)
    width = 0.8 / num
    fig = Figure(figsize=(max(6.0, 1.8 * len(names) + 2.5), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(names), dtype=np.float64)
    for i, (area, desc) in enumerate(zip(DOMAIN_NAMES, DOMAIN_DESCRIPTIONS)):
        values = [results[n]['percent'][area] for n in names]
        bars = ax.bar(x + (i - (num - 1) / 2) * width, values, width,
                      color=DOMAIN_COLORS[i], label=desc)
        ax.bar_label(bars, labels=[f'{v:.1f}' for v in values], fontsize=7,
                     padding=1)
    ax.set_xticks(x, [str(n) for n in names])
    ax.set_ylabel('% of annotated keypoints')
    ax.set_ylim(0, 110)
    ax.set_title(title or 'Keypoints per area (image / bbox / activation '
                 'window)')
    ax.legend(fontsize=7, loc='upper center', bbox_to_anchor=(0.5, -0.1),
              ncol=2, frameon=False)
    path = Path(path)
    fig.savefig(path, bbox_inches='tight')
    return path

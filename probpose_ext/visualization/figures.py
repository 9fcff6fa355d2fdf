"""Figures of top-down predictions: one image drawn on a padded canvas (so
that keypoints predicted outside the image stay visible, with the image
border marked) and several drawings tiled into a grid.

Predictions come as ``pred_instances`` in image pixels (what
:class:`~probpose_ext.models.ProbPoseEstimator` and ``tools/test.py
--dump`` give); :func:`group_by_image` gathers a dump's top-down samples
(one per person) into the instances of each image. Drawing is done by a
visualiser (:class:`~probpose_ext.visualization.ProbPoseLocalVisualizer`:
keypoints below its ``presence_thr`` hidden, credible boxes), after every
spatial field has been moved onto the canvas by :func:`map_instances`.

Note:
    - N: number of instances; K: number of keypoints; M: number of markers
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData

from ..models.pose_estimators.probpose_estimator import ProbPoseEstimator
from ..ops.covariance import map_covariances, map_full_covariances
from ..ops.crop_transform import map_areas, map_boxes, map_points

Colour = Tuple[int, int, int]


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def group_by_image(samples: Sequence[dict]) -> List[Tuple[str, InstanceData]]:
    """Gather top-down data samples into the predictions of each image.

    Args:
        samples (Sequence[dict]): Data-sample dicts (``tools/test.py
            --dump``), each with ``img_path`` and ``pred_instances``.

    Returns:
        list[tuple[str, InstanceData]]: ``(img_path, instances)`` in the
        order images first appear; the instances of an image concatenated
        (NumPy arrays).
    """
    grouped: Dict[str, List[InstanceData]] = {}
    for sample in samples:
        pred = sample['pred_instances']
        pred = pred.to_dict() if hasattr(pred, 'to_dict') else dict(pred)
        grouped.setdefault(sample['img_path'], []).append(
            InstanceData(**{k: _numpy(v) for k, v in pred.items()}))
    return [(path, InstanceData.cat(parts)) for path, parts in grouped.items()]


def map_instances(instances: InstanceData, factor: Sequence[float],
                  offset: Sequence[float]) -> InstanceData:
    """A copy of ``instances`` with every spatial field mapped by
    ``x -> factor * x + offset`` (per axis).

    Mapped: ``keypoints`` (and MMPose's ``transformed_keypoints``),
    ``bboxes`` and the fields
    :class:`ProbPoseEstimator` maps from the input crop to the image
    (credible boxes and areas, covariances); the others are copied.

    Args:
        instances (InstanceData): Predictions in image pixels.
        factor (Sequence[float]): ``(f_x, f_y)``.
        offset (Sequence[float]): ``(o_x, o_y)``.

    Returns:
        InstanceData: The mapped copy (NumPy arrays).
    """
    factor = np.asarray(factor, dtype=np.float64).reshape(1, 2)
    offset = np.asarray(offset, dtype=np.float64).reshape(1, 2)
    mappers = {'keypoints': lambda v: map_points(v, factor, offset),
               'transformed_keypoints': lambda v: map_points(v, factor,
                                                             offset),
               'bboxes': lambda v: map_boxes(v[:, None], factor,
                                             offset)[:, 0]}
    for names, fn in (
            (ProbPoseEstimator.point_fields,
             lambda v: map_points(v, factor, offset)),
            (ProbPoseEstimator.box_fields,
             lambda v: map_boxes(v, factor, offset)),
            (ProbPoseEstimator.area_fields, lambda v: map_areas(v, factor)),
            (ProbPoseEstimator.cov_fields,
             lambda v: map_covariances(v, factor)),
            (ProbPoseEstimator.full_cov_fields,
             lambda v: map_full_covariances(v, factor))):
        mappers.update({name: fn for name in names})
    out = InstanceData()
    for name, value in instances.items():
        value = _numpy(value)
        if name in mappers and len(value):
            value = np.asarray(mappers[name](value.astype(np.float64)))
        out.set_field(value.copy(), name)
    return out


def draw_on_canvas(visualizer,
                   image: np.ndarray,
                   instances: InstanceData,
                   scale: float = 1.0,
                   margin: int = 0,
                   kpt_thr: float = 0.0,
                   draw_bbox: bool = True,
                   crosses: Optional[np.ndarray] = None,
                   rings: Optional[np.ndarray] = None,
                   caption: Optional[str] = None,
                   background: Colour = (48, 48, 48),
                   border: Colour = (255, 255, 255),
                   marker: Colour = (255, 255, 255)) -> np.ndarray:
    """Draw the predictions of one image on a padded canvas.

    The image, resized by ``scale``, is put on a canvas with ``margin``
    pixels of ``background`` on every side; the predictions are moved with
    it (pixel centres aligned with the resize) and drawn by
    ``visualizer.add_datasample``, so a keypoint predicted up to ``margin``
    pixels (of the canvas) outside the image is drawn where it is predicted.
    With a margin, the image border is drawn as a one-pixel rectangle just
    outside the image.

    Args:
        visualizer (PoseLocalVisualizer): Draws ``pred_instances``
            (its dataset meta set), e.g. a ``ProbPoseLocalVisualizer``.
        image (np.ndarray): RGB image (H, W, 3), uint8.
        instances (InstanceData): Predictions in image pixels.
        scale (float): Resize factor of the image. Defaults to 1.
        margin (int): Canvas pixels around the image. Defaults to 0.
        kpt_thr (float): MMPose's threshold on ``keypoints_visible``.
            Defaults to 0 (what is drawn is decided by the visualiser's
            presence threshold alone).
        draw_bbox (bool): Draw the instances' boxes. Defaults to True.
        crosses (np.ndarray, optional): Image points (M, 2) marked by an
            ``x`` (e.g. ground truth).
        rings (np.ndarray, optional): Image points (M, 2) circled.
        caption (str, optional): Text written in the top-left corner.
        background (tuple): RGB of the margin. Defaults to dark grey.
        border (tuple): RGB of the image border. Defaults to white.
        marker (tuple): RGB of crosses, rings and the caption. Defaults to
            white.

    Returns:
        np.ndarray: The canvas, RGB uint8, of shape
        ``(round(H * scale) + 2 margin, round(W * scale) + 2 margin, 3)``.
    """
    if not scale > 0:
        raise ValueError(f'scale must be > 0, got {scale}')
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin}')
    height, width = image.shape[:2]
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.empty((out_h + 2 * margin, out_w + 2 * margin, 3), np.uint8)
    canvas[...] = background
    canvas[margin:margin + out_h, margin:margin + out_w] = cv2.resize(
        np.ascontiguousarray(image), (out_w, out_h),
        interpolation=cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA)
    # cv2.resize maps pixel centres: x' + 0.5 = (x + 0.5) * f
    factor = np.array([out_w / width, out_h / height])
    offset = margin + 0.5 * (factor - 1)

    from mmpose.structures import PoseDataSample
    sample = PoseDataSample(
        pred_instances=map_instances(instances, factor, offset))
    canvas = visualizer.add_datasample(
        'prediction', canvas, sample, draw_gt=False, draw_bbox=draw_bbox,
        kpt_thr=kpt_thr, show=False)
    canvas = np.ascontiguousarray(canvas, dtype=np.uint8)
    if margin > 0:
        cv2.rectangle(canvas, (margin - 1, margin - 1),
                      (margin + out_w, margin + out_h), border, 1)
    size = max(4, round(3 * max(1.0, scale)))
    for points, kind in ((crosses, cv2.MARKER_TILTED_CROSS), (rings, None)):
        if points is None:
            continue
        points = np.asarray(points, np.float64).reshape(-1, 2) * factor
        for x, y in np.round(points + offset).astype(int):
            if kind is None:
                cv2.circle(canvas, (int(x), int(y)), 2 * size, marker, 1,
                           cv2.LINE_AA)
            else:
                cv2.drawMarker(canvas, (int(x), int(y)), marker, kind,
                               2 * size, 2)
    if caption:
        cv2.putText(canvas, caption, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    marker, 1, cv2.LINE_AA)
    return canvas


def image_grid(images: Sequence[np.ndarray],
               cols: int,
               cell_size: Tuple[int, int],
               background: Colour = (255, 255, 255)) -> np.ndarray:
    """Tile images into a grid, each fitted into its cell.

    Each image is resized to fit a cell keeping its aspect ratio and
    centred in it; cells are filled row by row, the last row with
    ``background`` where images run out.

    Args:
        images (Sequence[np.ndarray]): RGB images (H_i, W_i, 3), uint8.
        cols (int): Number of columns (> 0).
        cell_size (tuple[int, int]): Cell ``(width, height)`` in pixels.
        background (tuple): RGB of the empty space. Defaults to white.

    Returns:
        np.ndarray: The grid, RGB uint8, of shape
        ``(rows * cell_h, cols * cell_w, 3)`` with
        ``rows = ceil(len(images) / cols)``.
    """
    if not images:
        raise ValueError('no images to tile')
    if cols < 1:
        raise ValueError(f'cols must be >= 1, got {cols}')
    cell_w, cell_h = (int(v) for v in cell_size)
    if cell_w < 1 or cell_h < 1:
        raise ValueError(f'cell_size must be positive, got {cell_size}')
    rows = -(-len(images) // cols)
    grid = np.empty((rows * cell_h, cols * cell_w, 3), np.uint8)
    grid[...] = background
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        fit = min(cell_w / width, cell_h / height)
        new_w = min(cell_w, max(1, round(width * fit)))
        new_h = min(cell_h, max(1, round(height * fit)))
        resized = cv2.resize(
            np.ascontiguousarray(image), (new_w, new_h),
            interpolation=cv2.INTER_LINEAR if fit >= 1 else cv2.INTER_AREA)
        y0 = (i // cols) * cell_h + (cell_h - new_h) // 2
        x0 = (i % cols) * cell_w + (cell_w - new_w) // 2
        grid[y0:y0 + new_h, x0:x0 + new_w] = resized
    return grid


def cut_first_grid(visualizer,
                   samples: Sequence[dict],
                   num: int,
                   cell: int = 256,
                   cols: int = 4) -> Tuple[np.ndarray, List[str]]:
    """Draw the predictions of ``num`` images in a grid, the images with a
    keypoint cut by the border (``v=3`` in the GT, CropCOCO) first, then by
    path.

    Args:
        visualizer (PoseLocalVisualizer): Draws each image's instances
            (:func:`draw_on_canvas`).
        samples (Sequence[dict]): Dumped samples (``tools/test.py
            --dump``), with ``img_path``, ``raw_ann_info`` and
            ``pred_instances``.
        num (int): Number of images.
        cell (int): Cell size in pixels (square). Defaults to 256.
        cols (int): Columns, at most. Defaults to 4.

    Returns:
        tuple: The grid (RGB uint8) and the image paths drawn, in order.
    """
    import mmcv
    cut = {s['img_path'] for s in samples
           if 3 in s['raw_ann_info']['keypoints'][2::3]}
    groups = sorted(group_by_image(samples),
                    key=lambda g: (g[0] not in cut, g[0]))[:num]
    cells = []
    for img_path, instances in groups:
        image = mmcv.imread(img_path, channel_order='rgb')
        cells.append(draw_on_canvas(
            visualizer, image, instances, scale=cell / max(image.shape[:2]),
            caption=osp.basename(img_path)))
    grid = image_grid(cells, cols=min(cols, len(cells)),
                      cell_size=(cell, cell))
    return grid, [g[0] for g in groups]

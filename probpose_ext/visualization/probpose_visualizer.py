"""MMPose's local visualiser with presence, credible regions, covariance
ellipses and sparse probability-map overlays."""
import math
from typing import Optional

import cv2
import mmcv
import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import VISUALIZERS
from mmpose.visualization import PoseLocalVisualizer

from ..ops.covariance import (covariance_blocks, covariance_ellipse,
                              ellipse_polygon, ellipse_radius)
from ..utils.validation import strict_kwargs


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def overlay_probability_maps(image: np.ndarray,
                             heatmaps: np.ndarray,
                             alpha: float = 0.6) -> np.ndarray:
    """Blend probability maps over an image where they are non-zero.

    Each keypoint map is divided by its own maximum (so every keypoint's
    mode is fully coloured, however spread its map), the maps are combined
    by their pixel-wise maximum ``v`` in [0, 1], and each pixel becomes
    ``(1 - alpha v) * image + alpha v * jet(v)``. Pixels where every map is
    0 (outside a sparsemax support, or outside the crop) keep their exact
    value, unlike MMPose's ``draw_featmap`` which tints the whole image.
    Maps of another size than the image are resized to it (bilinear).

    Note:
        - K: number of keypoint maps
        - image height, width: H, W; map height, width: h, w

    Args:
        image (np.ndarray): RGB image (H, W, 3), uint8.
        heatmaps (np.ndarray | Tensor): Non-negative maps (K, h, w) or
            (h, w), e.g. image-space maps from MMPose's
            ``merge_data_samples``.
        alpha (float): Opacity of the overlay at the maps' maxima, in
            [0, 1].

    Returns:
        np.ndarray: The blended RGB image (H, W, 3), uint8.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    maps = _numpy(heatmaps).astype(np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise ValueError(f'heatmaps must have shape (K, h, w) or (h, w), got '
                         f'{maps.shape}')
    maps = np.nan_to_num(np.maximum(maps, 0.0))
    peak = maps.max(axis=(1, 2), keepdims=True)
    value = (maps / np.where(peak > 0, peak, 1.0)).max(axis=0)
    h, w = image.shape[:2]
    if value.shape != (h, w):
        value = np.clip(cv2.resize(value, (w, h),
                                   interpolation=cv2.INTER_LINEAR), 0, 1)
    colour = cv2.applyColorMap(np.round(value * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)[..., ::-1]
    weight = (alpha * value)[..., None]
    out = image.astype(np.float32) * (1 - weight) + colour * weight
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    return np.where(value[..., None] > 0, out, image)


@VISUALIZERS.register_module()
@strict_kwargs
class ProbPoseLocalVisualizer(PoseLocalVisualizer):
    """:class:`PoseLocalVisualizer` for probabilistic keypoints.

    On top of MMPose's drawing (skeleton, keypoints, bboxes, ``kpt_thr`` on
    ``keypoints_visible``):

    * a keypoint (with its links, credible box and ellipse) is drawn only if
      its presence probability ``keypoint_presence`` (falling back to
      ``keypoints_visible``) is ``>= presence_thr``, whatever ``kpt_thr``
      the caller passes (``PoseVisualizationHook`` and the inferencer pass
      0.3);
    * ``show_credible``: the credible box ``keypoint_credible_box`` of each
      drawn keypoint, a thin rectangle in the keypoint's colour (corners
      rounded to the nearest pixel);
    * ``show_cov``: the ellipse of ``keypoints_cov`` (or of the diagonal
      blocks of ``keypoints_cov_full``) holding ``cov_level`` of a Gaussian's
      mass, centred at the keypoint, in its colour;
    * ``pred_fields.heatmaps`` (with ``draw_heatmap=True``; MMPose's hook
      and inferencer revert them to the image first) are overlaid with
      :func:`overlay_probability_maps`: only where a map is non-zero.

    All fields are read in image pixels (see
    :class:`~probpose_ext.models.ProbPoseEstimator`). NaN boxes and
    covariances are skipped.

    Args:
        presence_thr (float): Minimum presence probability of a drawn
            keypoint. Defaults to 0.5 (the Ex-OKS default).
        show_credible (bool): Draw credible boxes. Defaults to True.
        show_cov (bool): Draw covariance ellipses. Defaults to True.
        cov_level (float): Probability mass inside the ellipses, in (0, 1).
            Defaults to 0.9.
        region_line_width (int): Line width of boxes and ellipses (pixels).
            Defaults to 1.
        heatmap_alpha (float): Overlay opacity at the maps' maxima.
            Defaults to 0.6.
        name, *args, **kwargs: Arguments of :class:`PoseLocalVisualizer`
            (``name``, ``vis_backends``, ``radius``, ``line_width``,
            ``backend``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 *args,
                 presence_thr: float = 0.5,
                 show_credible: bool = True,
                 show_cov: bool = True,
                 cov_level: float = 0.9,
                 region_line_width: int = 1,
                 heatmap_alpha: float = 0.6,
                 **kwargs) -> None:
        if not math.isfinite(presence_thr):
            raise ValueError(
                f'presence_thr must be a finite number, got {presence_thr}')
        if int(region_line_width) < 1:
            raise ValueError('region_line_width must be >= 1, got '
                             f'{region_line_width}')
        if not 0.0 <= heatmap_alpha <= 1.0:
            raise ValueError(
                f'heatmap_alpha must be in [0, 1], got {heatmap_alpha}')
        if not 0.0 < cov_level < 1.0:
            raise ValueError(f'cov_level must be in (0, 1), got {cov_level}')
        self._cov_radius = ellipse_radius(level=cov_level)
        super().__init__(name, *args, **kwargs)
        self.presence_thr = float(presence_thr)
        self.show_credible = show_credible
        self.show_cov = show_cov
        self.cov_level = float(cov_level)
        self.region_line_width = int(region_line_width)
        self.heatmap_alpha = float(heatmap_alpha)

    # ------------------------------------------------------------ helpers
    def _colours(self, num_keypoints: int) -> list:
        """Per-keypoint RGB colours as MMPose draws them (None: not drawn)."""
        if self.kpt_color is None or isinstance(self.kpt_color, str):
            colours = [self.kpt_color] * num_keypoints
        elif len(self.kpt_color) == num_keypoints:
            colours = list(self.kpt_color)
        else:
            raise ValueError(
                f'the length of kpt_color ({len(self.kpt_color)}) does not '
                f'match that of keypoints ({num_keypoints})')
        out = []
        for colour in colours:
            if colour is None:
                out.append(None)
            elif isinstance(colour, str):
                out.append(tuple(int(c) for c in mmcv.color_val(colour)[::-1]))
            else:
                out.append(tuple(int(c) for c in colour))
        return out

    def presence_mask(self, instances: InstanceData) -> Optional[np.ndarray]:
        """(N, K) bool: presence ``>= presence_thr``, or None without a
        presence or visibility field."""
        presence = instances.get('keypoint_presence',
                                 instances.get('keypoints_visible', None))
        if presence is None:
            return None
        return _numpy(presence) >= self.presence_thr

    def _draw_box(self, box: np.ndarray, colour: tuple) -> None:
        if self.backend == 'opencv':
            x0, y0, x1, y1 = (int(round(float(v))) for v in box)
            cv2.rectangle(self._image, (x0, y0), (x1, y1), colour,
                          self.region_line_width, lineType=cv2.LINE_8)
        else:
            self.draw_bboxes(box[None], edge_colors=colour,
                             line_widths=self.region_line_width)

    def _draw_polygon(self, points: np.ndarray, colour: tuple) -> None:
        if self.backend == 'opencv':
            cv2.polylines(self._image, [np.round(points).astype(np.int32)],
                          True, colour, self.region_line_width,
                          lineType=cv2.LINE_AA)
        else:
            self.draw_polygons(points, edge_colors=colour,
                               line_widths=self.region_line_width)

    def _draw_regions(self, image: np.ndarray, instances: InstanceData,
                      shown: np.ndarray) -> np.ndarray:
        """Credible boxes and covariance ellipses of the shown keypoints."""
        self.set_image(image)
        keypoints = _numpy(instances.get('transformed_keypoints',
                                         instances.keypoints))
        colours = self._colours(keypoints.shape[1])
        boxes = instances.get('keypoint_credible_box', None)
        if self.show_credible and boxes is not None:
            boxes = _numpy(boxes)
            for n, k in zip(*np.nonzero(shown)):
                if colours[k] is not None and np.isfinite(boxes[n, k]).all():
                    self._draw_box(boxes[n, k], colours[k])
        cov = instances.get('keypoints_cov', None)
        if cov is None and 'keypoints_cov_full' in instances:
            cov = covariance_blocks(_numpy(instances.keypoints_cov_full))
        if self.show_cov and cov is not None:
            semi, angle = covariance_ellipse(_numpy(cov),
                                             n_sigma=self._cov_radius)
            polygons = ellipse_polygon(keypoints[..., :2], semi, angle)
            for n, k in zip(*np.nonzero(shown)):
                if colours[k] is not None and np.isfinite(polygons[n, k]).all():
                    self._draw_polygon(polygons[n, k], colours[k])
        return self.get_image()

    # ---------------------------------------------------- MMPose overrides
    def _draw_instances_kpts(self,
                             image: np.ndarray,
                             instances: InstanceData,
                             kpt_thr: float = 0.3,
                             show_kpt_idx: bool = False,
                             skeleton_style: str = 'mmpose') -> np.ndarray:
        """Draw credible regions, then MMPose's keypoints and skeleton,
        hiding keypoints below ``kpt_thr`` (on ``keypoints_visible``) or
        ``presence_thr`` (on the presence)."""
        if 'keypoints' not in instances:
            return super()._draw_instances_kpts(image, instances, kpt_thr,
                                                show_kpt_idx, skeleton_style)
        keypoints = _numpy(instances.get('transformed_keypoints',
                                         instances.keypoints))
        visible = _numpy(instances.get(
            'keypoints_visible', np.ones(keypoints.shape[:-1]))).astype(
                np.float64)
        present = self.presence_mask(instances)
        if present is not None:
            # -inf is below any kpt_thr: MMPose then skips the keypoint and
            # its links exactly as for a low keypoints_visible
            visible = np.where(present, visible, -np.inf)
        # non-finite keypoints cannot be drawn (MMPose would fail on them)
        visible = np.where(np.isfinite(keypoints).all(-1), visible, -np.inf)
        shown = visible >= kpt_thr
        image = self._draw_regions(image, instances, shown)
        gated = InstanceData(keypoints=keypoints, keypoints_visible=visible)
        return super()._draw_instances_kpts(image, gated, kpt_thr,
                                            show_kpt_idx, skeleton_style)

    def _draw_instance_heatmap(self,
                               fields: PixelData,
                               overlaid_image: Optional[np.ndarray] = None
                               ) -> Optional[np.ndarray]:
        """Overlay ``fields.heatmaps`` on ``overlaid_image`` where they are
        non-zero (see :func:`overlay_probability_maps`)."""
        if 'heatmaps' not in fields or overlaid_image is None:
            return super()._draw_instance_heatmap(fields, overlaid_image)
        return overlay_probability_maps(overlaid_image, fields.heatmaps,
                                        self.heatmap_alpha)


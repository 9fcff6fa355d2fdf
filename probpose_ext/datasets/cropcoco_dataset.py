"""CropCOCO: COCO-style keypoint annotations with a fourth visibility value.

CropCOCO (ProbPose, CVPR 2025) crops COCO images so that some keypoints fall
outside the image, and keeps their true coordinates. Its visibility ``v``
follows DESIGN.md section 3: 0 not annotated, 1 annotated but occluded
(including out of the image but inside the activation window), 2 visible,
3 annotated and outside the activation window. MMPose's COCO loader collapses
``v`` to ``{0, 1}``; :class:`CropCocoDataset` keeps the raw value.
"""
from typing import Optional

import numpy as np
from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

#: Visibility values allowed in CropCOCO annotations.
CROPCOCO_VISIBILITY = (0, 1, 2, 3)


@DATASETS.register_module()
class CropCocoDataset(CocoDataset):
    """CropCOCO dataset for pose estimation: MMPose's :class:`CocoDataset`
    that keeps the raw keypoint visibility.

    Everything MMPose's ``CocoDataset`` does is unchanged (same arguments,
    same metainfo, bbox clipping to the image, ``raw_ann_info``, ``bbox_file``
    for detector boxes); in addition each instance carries

    - ``keypoints_visibility_raw`` (np.ndarray): the annotation's raw ``v``
      in ``{0, 1, 2, 3}``, int64, shape (1, K) in top-down mode (like
      ``keypoints_visible``) and (N, K) in bottom-up mode.

    The field reaches :class:`~probpose_ext.codecs.ProbMap` through its
    ``auxiliary_encode_keys`` (presence weights and visibility labels), and
    :class:`~probpose_ext.datasets.transforms.RandomCropOut` and
    :class:`~probpose_ext.datasets.transforms.RandomFlipRawVis` keep it
    consistent with the image. Use ``RandomFlipRawVis`` instead of MMPose's
    ``RandomFlip`` in pipelines on this dataset.

    Note:
        - N: number of instances of an image (bottom-up mode)
        - K: number of keypoints (17 with the default COCO metainfo)

        ``keypoints_visible`` keeps MMPose's meaning ``min(1, v)``, so
        ``v = 3`` keypoints are visible (1). They are annotated with their
        true coordinates, so a heatmap baseline and MMPose's ``CocoMetric``
        treat them as what they are, annotated keypoints: MMPose's heatmap
        encoders give zero weight to keypoints whose Gaussian (3 sigma) does
        not reach the heatmap, and the COCO OKS counts every ``v > 0``
        keypoint. Hiding them would instead mislabel them as unannotated
        whenever the training crop (random scale / shift) brings them in.

        Validation: each annotation's ``keypoints`` must hold ``3 * K``
        numbers and every ``v`` must be in ``{0, 1, 2, 3}``, otherwise a
        ``ValueError`` names the annotation file and the annotation id. A
        missing ``num_keypoints`` is the number of ``v > 0`` keypoints
        (MMPose counts non-zero coordinates, which are legitimately negative
        in CropCOCO). An instance is kept when it has an annotated keypoint
        (MMPose instead requires a positive coordinate; a person cut off on
        the top-left side may have none); the other MMPose checks (crowd,
        ``num_keypoints == 0``, degenerate clipped bbox) are unchanged.

        ``raw_ann_info`` holds the untouched annotation, with the raw ``v``
        and CropCOCO's ``pad_to_contain`` when the file has it, so a metric
        used without ``ann_file`` sees them. The activation window implied
        by ``v = 3`` is defined on the annotation's bbox. MMPose clips bboxes
        to ``[0, w - 1] x [0, h - 1]``; CropCOCO's bboxes are the visible
        part of the person's box, so this moves them by at most one pixel,
        but a bbox reaching far beyond the image would get a smaller window
        than the one its ``v = 3`` labels were made with.

        With ``bbox_file`` (detector boxes, test mode only) the keypoints
        are MMPose's dummy ones and the raw visibility is unknown, so the
        field is not created (not guessed): ``ProbMap`` then gives
        visibility labels zero weight, and evaluation reads the ground truth
        from ``ann_file``.

    Args:
        ann_file (str): Annotation file path. Default: ''.
        **kwargs: The other arguments of MMPose's ``CocoDataset``
            (``bbox_file``, ``data_mode``, ``metainfo``, ``data_root``,
            ``data_prefix``, ``filter_cfg``, ``indices``, ``serialize_data``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``max_refetch``,
            ``sample_interval``).

    Example:
        >>> dataset = dict(
        ...     type='CropCocoDataset', data_root='data/cropcoco/',
        ...     ann_file='annotations/person_keypoints_val.json',
        ...     data_prefix=dict(img='val/'), pipeline=[...])
    """

    def _raw_visibility(self, ann: dict) -> np.ndarray:
        """Validated raw visibility of one annotation.

        Args:
            ann (dict): Raw COCO annotation with ``keypoints`` (3 * K
                numbers).

        Returns:
            np.ndarray: Raw ``v`` in shape (K, ), int64.
        """
        num_kpts = self.metainfo['num_keypoints']
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1)
        if kpts.size != 3 * num_kpts:
            raise ValueError(
                f'{self.ann_file}: annotation id {ann.get("id")} has '
                f'{kpts.size} keypoint values, expected 3 * {num_kpts}')
        vis = kpts[2::3]
        bad = ~np.isin(vis, CROPCOCO_VISIBILITY)
        if bad.any():
            values = ', '.join(f'{x:g}' for x in np.unique(vis[bad]))
            raise ValueError(
                f'{self.ann_file}: annotation id {ann.get("id")} has keypoint '
                f'visibility values [{values}] outside {{0, 1, 2, 3}} '
                f'(keypoints {np.flatnonzero(bad).tolist()})')
        return vis.astype(np.int64)

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """Parse a raw CropCOCO annotation of an instance.

        Args:
            raw_data_info (dict): ``raw_ann_info`` (the annotation) and
                ``raw_img_info`` (its image), as in MMPose.

        Returns:
            dict | None: MMPose's instance info plus
            ``keypoints_visibility_raw`` (1, K) int64; None for annotations
            without ``bbox`` or ``keypoints`` (as MMPose).

        Raises:
            ValueError: wrong number of keypoint values or ``v`` outside
                ``{0, 1, 2, 3}``; the message names the file and the id.
        """
        ann = raw_data_info['raw_ann_info']
        if 'bbox' not in ann or 'keypoints' not in ann:
            return None
        raw = self._raw_visibility(ann)
        data_info = super().parse_data_info(raw_data_info)
        if data_info is None:
            return None
        data_info['keypoints_visibility_raw'] = raw[None]
        if 'num_keypoints' not in ann:
            data_info['num_keypoints'] = int(np.count_nonzero(raw))
        return data_info

    @staticmethod
    def _is_valid_instance(data_info: dict) -> bool:
        """Whether an instance is usable; see the class Note.

        Args:
            data_info (dict): One instance info (from ``parse_data_info``).

        Returns:
            bool: False for crowd instances, instances without annotated
            keypoints and degenerate bboxes.
        """
        raw = data_info.get('keypoints_visibility_raw')
        if raw is None:
            return CocoDataset._is_valid_instance(data_info)
        if not (np.asarray(raw) > 0).any():
            return False
        # judge the rest as MMPose does, but not by the keypoint coordinates
        rest = {k: v for k, v in data_info.items() if k != 'keypoints'}
        return CocoDataset._is_valid_instance(rest)

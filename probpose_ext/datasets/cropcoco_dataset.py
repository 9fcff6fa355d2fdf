"""CropCOCO: COCO-style keypoint annotations with a fourth visibility value.

CropCOCO (ProbPose, CVPR 2025) crops COCO images so that some keypoints fall
outside the image, and keeps their true coordinates. Its visibility ``v``
follows DESIGN.md section 3: 0 not annotated, 1 annotated but occluded
(including out of the image but inside the activation window), 2 visible,
3 annotated and outside the activation window. MMPose's COCO loader collapses
``v`` to ``{0, 1}``; :class:`CropCocoDataset` keeps the raw value.
"""
import logging
from typing import List, Optional

import numpy as np
from mmengine.fileio import get_local_path
from mmengine.logging import print_log
from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

from ..utils.coco_file import (VISIBILITY, CocoFileReport,
                               check_coco_keypoints)
from ..utils.validation import (check_files_exist, is_local_path, listed,
                                load_json, strict_kwargs)

#: Visibility values allowed in CropCOCO annotations.
CROPCOCO_VISIBILITY = VISIBILITY


@DATASETS.register_module()
@strict_kwargs
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

        Validation, when the data list is loaded (at build time unless
        ``lazy_init``), before MMPose reads the file: the annotation file is
        checked by :func:`probpose_ext.utils.coco_file.check_coco_keypoints`
        (valid JSON; ``images``, ``annotations`` and ``categories``; each
        annotation's ``image_id`` and ``category_id`` known, ``keypoints``
        ``3 * K`` finite numbers with ``v`` in ``{0, 1, 2, 3}``, ``bbox``
        finite with ``w, h >= 0``, ``area`` finite and ``>= 0``), and a
        problem raises a ``ValueError`` naming the file, the annotation
        (and image) id and the field; a missing file raises
        ``FileNotFoundError``. Instances with annotated keypoints whose
        bbox is empty once clipped to the image (zero width or height, or
        outside the image) are dropped, as by MMPose, but counted in a
        warning that lists their ids. A data set without any usable
        instance raises a ``ValueError`` naming the file (instead of a
        numpy error when MMEngine serialises the empty list). With
        ``check_images`` every local image file must exist, otherwise a
        ``FileNotFoundError`` gives their number and the first paths.
        These checks parse the annotation file once more than MMPose does:
        for a COCO-train-sized file (262,000 annotations, 127 MB) the
        build took 58 s instead of MMPose's 46 s on 2 busy CPU cores, and
        the image check 0.3 s per 64,000 local files. A
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
        check_images (bool): Check at load time that every local image file
            exists (one ``os.path.isfile`` per image; remote URIs are never
            checked). Turn off for huge data sets on slow file systems.
            Defaults to True.
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

    def __init__(self, *args, check_images: bool = True, **kwargs) -> None:
        self.check_images = bool(check_images)
        super().__init__(*args, **kwargs)

    def _check_ann_file(self) -> CocoFileReport:
        """Validate ``ann_file`` (and ``bbox_file``) before MMPose reads it.

        Returns:
            CocoFileReport: What the annotation file holds.
        """
        if is_local_path(self.ann_file):
            coco = load_json(self.ann_file)
        else:
            with get_local_path(self.ann_file) as local:
                coco = load_json(local)
        report = check_coco_keypoints(
            coco, self.ann_file, self.metainfo['num_keypoints'],
            require_annotations=not self.bbox_file)
        if self.bbox_file:
            dets = load_json(self.bbox_file, 'bbox_file')
            if not isinstance(dets, list):
                raise ValueError(
                    f'{self.bbox_file}: a bbox_file must hold a list of '
                    f'detections, got {type(dets).__name__}')
        return report

    def load_data_list(self) -> List[dict]:
        """MMPose's data list, after validating the files (class Note).

        Returns:
            list[dict]: One dict per instance (top-down) or image
            (bottom-up).

        Raises:
            FileNotFoundError: A missing annotation file or image files.
            ValueError: An invalid annotation file or no usable instance.
        """
        report = self._check_ann_file()
        data_list = super().load_data_list()
        if report.dropped_bbox_ids:
            ids = report.dropped_bbox_ids
            print_log(
                f'{self.ann_file}: dropped {len(ids)} annotation(s) with '
                'annotated keypoints whose bbox is empty once clipped to the '
                f'image (zero width or height): ids {listed(ids)}',
                logger='current', level=logging.WARNING)
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: empty data set: none of its '
                f'{report.num_annotations} annotations on '
                f'{report.num_images} images is a usable instance (not '
                'crowd, with keypoints, an annotated one among them, and a '
                'bbox that is not empty in its image)')
        if self.check_images:
            check_files_exist(
                (d['img_path'] for d in data_list), 'image files',
                self.ann_file,
                ' (image paths are data_prefix[\'img\'] + file_name, under '
                'data_root; check_images=False skips this check)')
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """Parse a raw CropCOCO annotation of an instance.

        Args:
            raw_data_info (dict): ``raw_ann_info`` (the annotation) and
                ``raw_img_info`` (its image), as in MMPose.

        Returns:
            dict | None: MMPose's instance info plus
            ``keypoints_visibility_raw`` (1, K) int64; None for annotations
            without ``bbox`` or ``keypoints`` (as MMPose).

        The annotation was validated by :meth:`load_data_list`.
        """
        ann = raw_data_info['raw_ann_info']
        if 'bbox' not in ann or 'keypoints' not in ann:
            return None
        raw = np.asarray(ann['keypoints'][2::3], dtype=np.int64)
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

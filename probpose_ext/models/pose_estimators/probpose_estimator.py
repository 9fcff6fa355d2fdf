"""Top-down estimator that maps every spatial prediction to the image."""
from typing import Dict, List, Optional, Tuple

from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import InstanceList, PixelDataList, SampleList

from ...ops.covariance import (map_covariances, map_full_covariances,
                               select_full_covariance)
from ...ops.crop_transform import (crop_to_image_affine, map_areas, map_boxes,
                                   map_points)
from ...utils.validation import strict_kwargs


@MODELS.register_module()
@strict_kwargs
class ProbPoseEstimator(TopdownPoseEstimator):
    """MMPose's :class:`TopdownPoseEstimator` whose extra spatial
    predictions follow the keypoints into image pixels.

    The head predicts in model-input pixels; MMPose maps only
    ``keypoints`` back to the image (``x_img = x_in / w * s_w + c_x -
    s_w / 2``, see :func:`~probpose_ext.ops.crop_to_image_affine`). This
    estimator applies the same map to the fields below when a head returns
    them, so that every field of ``pred_instances`` is in image pixels:

    =========================  ================  =======================
    field                      shape             in the image
    =========================  ================  =======================
    ``keypoint_credible_box``  (N, K, 4)         ``[x0, y0, x1, y1]`` px
    ``keypoint_credible_area`` (N, K)            px^2
    ``keypoints_cov``          (N, K, 2, 2)      px^2
    ``keypoints_cov_full``     (N, 2K, 2K)       px^2
    =========================  ================  =======================

    Field names are class attributes (``point_fields``, ``box_fields``,
    ``area_fields``, ``cov_fields``, ``full_cov_fields``) so a subclass or
    head variant can add its own. ``test_cfg['output_keypoint_indices']``
    selects keypoints of these fields too (the rows/columns of the full
    covariances). Arguments are those of :class:`TopdownPoseEstimator`.

    Note:
        - N: instances per data sample (1 in top-down)
        - K: number of keypoints
    """

    #: (N, K, 2) points besides ``keypoints`` (which MMPose maps itself)
    point_fields: Tuple[str, ...] = ()
    box_fields: Tuple[str, ...] = ('keypoint_credible_box', )
    area_fields: Tuple[str, ...] = ('keypoint_credible_area', )
    cov_fields: Tuple[str, ...] = ('keypoints_cov', )
    full_cov_fields: Tuple[str, ...] = ('keypoints_cov_full', )

    def _map_fields(self, pred_instances, metainfo: dict) -> None:
        """Map this sample's extra spatial fields in place."""
        factor, offset = crop_to_image_affine(metainfo['input_center'],
                                              metainfo['input_scale'],
                                              metainfo['input_size'])
        mapping = [(self.point_fields, lambda v: map_points(v, factor,
                                                            offset)),
                   (self.box_fields, lambda v: map_boxes(v, factor, offset)),
                   (self.area_fields, lambda v: map_areas(v, factor)),
                   (self.cov_fields, lambda v: map_covariances(v, factor)),
                   (self.full_cov_fields,
                    lambda v: map_full_covariances(v, factor))]
        for names, fn in mapping:
            for name in names:
                if name in pred_instances:
                    pred_instances.set_field(fn(pred_instances.get(name)),
                                             name)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """Map the extra spatial fields to image pixels, then let MMPose map
        the keypoints and pack the data samples.

        Args:
            batch_pred_instances (list[InstanceData]): Head predictions per
                sample, spatial fields in input pixels.
            batch_pred_fields (list[PixelData], optional): Predicted maps.
            batch_data_samples (list[PoseDataSample]): The batch samples,
                with ``input_center``, ``input_scale``, ``input_size``.

        Returns:
            list[PoseDataSample]: The samples with ``pred_instances`` (and
            ``pred_fields``), all spatial fields in image pixels.
        """
        held: List[Dict[str, object]] = []
        for inst, sample in zip(batch_pred_instances, batch_data_samples):
            self._map_fields(inst, sample.metainfo)
            # MMPose's keypoint selection would index the 2K axis as K
            held.append({name: inst.pop(name) for name in self.full_cov_fields
                         if name in inst})
        samples = super().add_pred_to_datasample(batch_pred_instances,
                                                 batch_pred_fields,
                                                 batch_data_samples)
        indices = self.test_cfg.get('output_keypoint_indices', None)
        for sample, fields in zip(samples, held):
            for name, value in fields.items():
                if indices is not None:
                    value = select_full_covariance(value, indices)
                sample.pred_instances.set_field(value, name)
        return samples

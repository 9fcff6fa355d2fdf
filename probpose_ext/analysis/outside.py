"""How well a model localises the ground-truth keypoints that lie outside
the image.

CropCOCO-style annotations (SynthPose-Crop) keep the true coordinates of
keypoints cut off by the image border. A model that predicts beyond its
input crop (ProbPose-DH's wide map) can put such a keypoint where it is;
a model whose maps cover only the crop cannot. This module reads the
predictions dumped by ``tools/test.py CONFIG CKPT --dump P.pkl`` (top-down
on GT boxes, one data sample per annotation) and, for every annotated GT
keypoint (``v > 0``) outside its image, measures

* the COCO keypoint similarity of the predicted keypoint,
  ``exp(-d^2 / (2 s^2 (2 sigma_k)^2))`` with the annotation's area ``s^2``
  (:func:`~probpose_ext.ops.ex_oks.keypoint_similarity`);
* the distance ``d / s`` in units of the person's scale;
* whether the prediction lies outside the image as well.

Note:
    - M: number of annotated GT keypoints outside their image
"""
from typing import Dict, Optional, Sequence

import numpy as np

from ..ops.ex_oks import keypoint_similarity
from ..ops.windows import in_image
from .inout import Dump, _annotation, _to_numpy, load_samples


def _area(ann: dict) -> float:
    """The annotation's OKS scale ``s^2``: its area, else COCO's
    ``0.53 * bbox area``."""
    area = float(ann.get('area') or 0.0)
    if area > 0:
        return area
    w, h = (float(v) for v in ann['bbox'][2:4])
    return 0.53 * w * h


def outside_image_keypoints(dump: Dump,
                            sigmas: Optional[Sequence[float]] = None
                            ) -> Dict[str, np.ndarray]:
    """Per-keypoint numbers of the GT keypoints outside their image.

    Args:
        dump (str | PathLike | list[dict]): Predictions on GT boxes: a
            ``tools/test.py --dump`` pickle or its list of data samples
            (each with ``raw_ann_info``, ``ori_shape`` and
            ``pred_instances.keypoints``).
        sigmas (Sequence[float], optional): Keypoint sigmas (K, ).
            Defaults to COCO's.

    Returns:
        dict: Arrays over the M keypoints: ``similarity`` (M, ),
        ``distance`` (``d / s``, (M, )), ``predicted_outside`` (bool,
        (M, )), ``keypoint`` (index, (M, )) and ``annotation`` (id,
        (M, )).
    """
    if sigmas is None:
        from ..utils.metainfo import load_metainfo
        sigmas = load_metainfo()['sigmas']
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    parts = {k: [] for k in ('similarity', 'distance', 'predicted_outside',
                             'keypoint', 'annotation')}
    for i, sample in enumerate(load_samples(dump)):
        ann = _annotation(sample, None, i)
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        if gt.shape[0] != sigmas.size:
            raise ValueError(f'data sample {i}: {gt.shape[0]} keypoints but '
                             f'{sigmas.size} sigmas')
        pred = _to_numpy(sample['pred_instances']['keypoints']).astype(
            np.float64).reshape(-1, gt.shape[0], 2)[0]
        height, width = (float(v) for v in
                         _to_numpy(sample['ori_shape']).reshape(-1)[:2])
        size = np.array([[width, height]])
        outside = (gt[:, 2] > 0) & ~in_image(gt[None, :, :2], size)[0]
        if not outside.any():
            continue
        area = _area(ann)
        sq_dist = ((pred - gt[:, :2])**2).sum(-1)
        sim = keypoint_similarity(sq_dist[None, None], sigmas, [area])[0, 0]
        parts['similarity'].append(sim[outside])
        parts['distance'].append(np.sqrt(sq_dist[outside] / area))
        parts['predicted_outside'].append(
            ~in_image(pred[None], size)[0][outside])
        parts['keypoint'].append(np.flatnonzero(outside))
        parts['annotation'].append(
            np.full(int(outside.sum()), int(ann.get('id', -1))))
    dtypes = dict(similarity=np.float64, distance=np.float64,
                  predicted_outside=bool, keypoint=np.int64,
                  annotation=np.int64)
    return {k: (np.concatenate(v) if v else np.zeros(0, dtypes[k])).astype(
        dtypes[k]) for k, v in parts.items()}


def outside_image_summary(dump: Dump,
                          sigmas: Optional[Sequence[float]] = None) -> dict:
    """Summary of :func:`outside_image_keypoints`.

    Args:
        dump (str | PathLike | list[dict]): See
            :func:`outside_image_keypoints`.
        sigmas (Sequence[float], optional): Keypoint sigmas. Defaults to
            COCO's.

    Returns:
        dict: ``count`` (M), ``mean_similarity``, ``median_distance``
        (``d / s``) and ``predicted_outside`` (fraction of the M keypoints
        whose prediction is outside the image too); the three are None
        when M is 0.
    """
    per = outside_image_keypoints(dump, sigmas)
    count = int(per['similarity'].size)
    if count == 0:
        return dict(count=0, mean_similarity=None, median_distance=None,
                    predicted_outside=None)
    return dict(count=count,
                mean_similarity=float(per['similarity'].mean()),
                median_distance=float(np.median(per['distance'])),
                predicted_outside=float(per['predicted_outside'].mean()))

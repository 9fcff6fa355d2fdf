"""JSON for probabilistic pose predictions.

MMPose's inferencer writes only ``keypoints``, ``keypoint_scores``,
``bbox`` and ``bbox_score`` per instance. These functions keep every field
of ``pred_instances`` (presence, visibility, expected OKS, credible regions,
covariances, ...), one dict per instance, in strict JSON:

* arrays and tensors become (nested) lists, numpy scalars Python numbers;
* non-finite floats (NaN, e.g. the box of an empty credible region, and
  +-inf) become ``null``; the reader turns them back into NaN (so +-inf do
  not round-trip: none of the prediction fields uses them);
* floats stay floats and integers integers; the reader returns float64,
  int64 and bool arrays.

File layout written by :func:`dump_pose_json`::

    {"format": "probpose_ext.pose_json", "version": 1,
     "images": [{"img_path": "a.jpg", "img_id": 785, "ori_shape": [425, 640],
                 "instances": [{"keypoints": [[x, y], ...],
                                "keypoint_presence": [p, ...],
                                "keypoint_credible_box": [[x0, y0, x1, y1],
                                                          ...], ...}]}]}

With :class:`~probpose_ext.models.ProbPoseEstimator` every spatial field is
in image pixels:

==========================  ===========  ===================================
field                       per instance unit / space
==========================  ===========  ===================================
``keypoints``               (K, 2)       image px
``keypoint_scores``         (K,)         predicted OKS
``keypoints_visible``       (K,)         presence probability
``keypoint_presence``       (K,)         probability
``keypoint_visibility``     (K,)         probability
``keypoint_expected_oks``   (K,)         expected OKS under the map
``keypoint_credible_area``  (K,)         image px^2
``keypoint_credible_box``   (K, 4)       ``[x0, y0, x1, y1]`` image px
``keypoints_cov``           (K, 2, 2)    image px^2 (covariance heads)
``keypoints_cov_full``      (2K, 2K)     image px^2 (covariance heads)
``bboxes``, ``bbox_scores`` (4,), ()     image px, detector score
==========================  ===========  ===================================

Typical use with MMPose's inferencer (``return_datasamples=True`` keeps the
data samples instead of MMPose's reduced dicts)::

    from mmpose.apis import MMPoseInferencer
    from probpose_ext.apis import dump_pose_json
    inferencer = MMPoseInferencer(pose2d=CONFIG, pose2d_weights=CKPT,
                                  det_model='whole_image', device='cpu')
    samples = [r['predictions'][0]
               for r in inferencer(IMAGES, return_datasamples=True)]
    dump_pose_json('preds.json', samples)
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from ..utils.atomic import atomic_write
from ..utils.jsonable import to_jsonable

FORMAT = 'probpose_ext.pose_json'
VERSION = 1
#: metainfo keys of a data sample copied to its JSON entry
META_KEYS = ('img_path', 'img_id', 'id', 'ori_shape')

SampleLike = Union[PoseDataSample, InstanceData, Mapping[str, Any]]


def _instances(sample: SampleLike) -> Mapping[str, Any]:
    """The prediction fields of a sample as a name -> (N, ...) mapping."""
    if isinstance(sample, PoseDataSample):
        if 'pred_instances' not in sample:
            raise ValueError('the data sample has no pred_instances')
        sample = sample.pred_instances
    elif isinstance(sample, Mapping) and 'pred_instances' in sample:
        sample = sample['pred_instances']
    if isinstance(sample, InstanceData):
        return {key: sample.get(key) for key in sample.keys()}
    if isinstance(sample, Mapping):
        return sample
    raise TypeError('expected a PoseDataSample, an InstanceData or a dict '
                    f'with pred_instances, got {type(sample)}')


def _metainfo(sample: SampleLike) -> Dict[str, Any]:
    if isinstance(sample, PoseDataSample):
        meta = sample.metainfo
    elif isinstance(sample, Mapping):
        meta = sample
    else:
        return {}
    return {key: to_jsonable(meta[key]) for key in META_KEYS if key in meta}


def instances_to_list(sample: SampleLike,
                      fields: Optional[Sequence[str]] = None
                      ) -> List[Dict[str, Any]]:
    """Per-instance dicts of all (or the chosen) prediction fields.

    Note:
        - N: number of instances; every field has a leading N axis

    Args:
        sample (PoseDataSample | InstanceData | dict): A data sample, its
            ``pred_instances``, or a dict with ``pred_instances`` (as in the
            pickles of ``tools/test.py --dump``).
        fields (Sequence[str], optional): Fields to keep, in this order.
            Defaults to every field.

    Returns:
        list[dict]: N dicts ``{field: JSON value of field[i]}``.
    """
    data = _instances(sample)
    names = list(data.keys()) if fields is None else list(fields)
    missing = [name for name in names if name not in data]
    if missing:
        raise KeyError(f'fields {missing} are not in the predictions '
                       f'(available: {sorted(data.keys())})')
    lengths = {name: len(data[name]) for name in names}
    if len(set(lengths.values())) > 1:
        raise ValueError(f'fields have different numbers of instances: '
                         f'{lengths}')
    num = next(iter(lengths.values()), 0)
    return [{name: to_jsonable(data[name][i]) for name in names}
            for i in range(num)]


def samples_to_json(samples: Sequence[SampleLike],
                    fields: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The JSON document of :func:`dump_pose_json` as a Python dict.

    Args:
        samples (Sequence): Data samples, ``pred_instances`` or dicts (see
            :func:`instances_to_list`), one per image.
        fields (Sequence[str], optional): Fields to keep. Defaults to all.

    Returns:
        dict: ``{"format", "version", "images": [{meta..., "instances"}]}``.
    """
    if isinstance(samples, (PoseDataSample, InstanceData, Mapping)):
        samples = [samples]
    images = []
    for sample in samples:
        entry = _metainfo(sample)
        entry['instances'] = instances_to_list(sample, fields)
        images.append(entry)
    return dict(format=FORMAT, version=VERSION, images=images)


def dump_pose_json(path: Union[str, os.PathLike],
                   samples: Sequence[SampleLike],
                   fields: Optional[Sequence[str]] = None,
                   indent: Optional[int] = None) -> str:
    """Write predictions to a JSON file (atomically: a temporary file in the
    same directory renamed into place).

    Args:
        path (str | PathLike): Output file; parent directories are created.
        samples (Sequence): Data samples, ``pred_instances`` or dicts, one
            per image (see :func:`samples_to_json`).
        fields (Sequence[str], optional): Fields to keep. Defaults to all.
        indent (int, optional): JSON indentation. Defaults to compact.

    Returns:
        str: The absolute path written.
    """
    path = osp.abspath(os.fspath(path))
    text = json.dumps(samples_to_json(samples, fields), indent=indent,
                      allow_nan=False)
    atomic_write(path, lambda f: f.write((text + '\n').encode('utf-8')))
    return path


def _from_jsonable(values: List[Any], name: str) -> np.ndarray:
    """Stack per-instance JSON values; null -> NaN in float fields."""
    try:
        arr = np.asarray(values)
        if arr.dtype == object:  # nulls among numbers
            arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError) as err:
        raise ValueError(f'field {name!r} is not a rectangular numeric '
                         f'array: {err}') from None
    if arr.dtype.kind == 'f':
        arr = arr.astype(np.float64, copy=False)
    return arr


def load_pose_json(path: Union[str, os.PathLike]) -> List[PoseDataSample]:
    """Read a file written by :func:`dump_pose_json`.

    Args:
        path (str | PathLike): The JSON file.

    Returns:
        list[PoseDataSample]: One per image, with the saved metainfo and
        ``pred_instances`` holding every saved field as an (N, ...) array
        (float64 with NaN where ``null`` was written, int64 or bool).
    """
    with open(path, encoding='utf-8') as f:
        doc = json.load(f)
    found = doc.get('format') if isinstance(doc, dict) else None
    if found != FORMAT:
        raise ValueError(f'{path} is not a {FORMAT} file (format={found!r})')
    if doc.get('version') != VERSION:
        raise ValueError(f'{path}: unsupported version {doc.get("version")!r}'
                         f' (this reader knows {VERSION})')
    samples = []
    for entry in doc['images']:
        meta = {k: v for k, v in entry.items() if k != 'instances'}
        sample = PoseDataSample(metainfo=meta)
        instances = entry['instances']
        fields = {}
        if instances:
            for name in instances[0]:
                fields[name] = _from_jsonable([inst[name] for inst in
                                               instances], name)
        sample.pred_instances = InstanceData(**fields)
        samples.append(sample)
    return samples

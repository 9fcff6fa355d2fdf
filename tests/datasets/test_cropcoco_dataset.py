"""Tests of ``CropCocoDataset``: raw CropCOCO visibility through MMPose."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmpose.registry import DATASETS

import probpose_ext  # noqa: F401  (compat shims + registration)
import probpose_ext.datasets.cropcoco_dataset  # noqa: F401  (registration)
from probpose_ext.codecs import ProbMap
from probpose_ext.datasets.cropcoco_dataset import CropCocoDataset
from probpose_ext.utils.metainfo import load_metainfo

FLIP = load_metainfo()['flip_indices']
IMG_W, IMG_H = 180, 230
INPUT, HEATMAP = (192, 256), (48, 64)

# Instance 101: bbox x in [40, 160], y in [60, 220] (w / h = 0.75). With
# padding 1.25 the activation window (AW) is x in [25, 175], y in [40, 240];
# the image is x in [0, 180), y in [0, 230).
BBOX = [40.0, 60.0, 120.0, 160.0]
KPTS = [
    (100, 100, 2),   # 0  A: in the bbox, visible
    (105, 95, 1),    # 1  A: in the bbox, occluded
    (30, 100, 1),    # 2  B: in the image, out of the bbox, in the AW
    (10, 100, 3),    # 3  C: in the image, out of the AW
    (100, 235, 1),   # 4  D: below the image, in the AW
    (100, 300, 3),   # 5  E: below the image and the AW
    (-20, 100, 3),   # 6  E: left of the image and the AW
    (0, 0, 0),       # 7  not annotated
] + [(50 + 10 * i, 150 + 5 * i, 2) for i in range(9)]  # 8-16: A, visible
RAW = np.array([k[2] for k in KPTS])
# instance 103: its only annotated keypoints lie above-left of the image
KPTS_103 = [(-5, -8, 1), (-3, -2, 3)] + [(0, 0, 0)] * 15


def _flat(kpts) -> list:
    return [float(c) if j < 2 else c for k in kpts for j, c in enumerate(k)]


def _write(tmp_path: Path, kpts=None) -> Path:
    """A CropCOCO-style json with one image and three annotations."""
    rng = np.random.default_rng(0)
    img = rng.integers(30, 220, (IMG_H, IMG_W, 3), dtype=np.uint8)
    assert cv2.imwrite(str(tmp_path / 'img1.png'), img)
    pad = [round(float(p), 3) for p in rng.uniform(0.2, 2.0, 17)]
    coco = dict(
        images=[dict(id=1, file_name='img1.png', width=IMG_W, height=IMG_H)],
        categories=[dict(id=1, name='person', supercategory='person',
                         keypoints=[], skeleton=[])],
        annotations=[
            dict(id=101, image_id=1, category_id=1, iscrowd=0, bbox=BBOX,
                 area=9000.0, num_keypoints=int((RAW > 0).sum()),
                 keypoints=_flat(kpts or KPTS), pad_to_contain=pad),
            dict(id=102, image_id=1, category_id=1, iscrowd=1,
                 bbox=[0.0, 150.0, 30.0, 40.0], area=600.0, num_keypoints=0,
                 keypoints=[0] * 51),
            # no num_keypoints: counted from v (2), not from coordinates
            dict(id=103, image_id=1, category_id=1, iscrowd=0,
                 bbox=[0.0, 0.0, 30.0, 40.0], area=700.0,
                 keypoints=_flat(KPTS_103)),
        ])
    path = tmp_path / 'cropcoco.json'
    path.write_text(json.dumps(coco))
    return path


def _build(ann_file: Path, dataset_type: str = 'CropCocoDataset', **kwargs):
    with DefaultScope.overwrite_default_scope('mmpose'):
        return DATASETS.build(dict(
            type=dataset_type, data_root=str(ann_file.parent),
            ann_file=ann_file.name, data_prefix=dict(img=''),
            serialize_data=False, **kwargs))


def _info(ds, ann_id: int) -> dict:
    idx = next(i for i, d in enumerate(ds.data_list) if d['id'] == ann_id)
    return ds.get_data_info(idx)


def test_raw_visibility_visible_and_raw_ann_info(tmp_path):
    ann_file = _write(tmp_path)
    ds = _build(ann_file)
    assert isinstance(ds, CropCocoDataset)
    # the crowd annotation is dropped as in MMPose
    assert sorted(d['id'] for d in ds.data_list) == [101, 103]

    info = _info(ds, 101)
    raw = info['keypoints_visibility_raw']
    assert raw.shape == (1, 17) and raw.dtype == np.int64
    assert raw[0].tolist() == RAW.tolist()
    # MMPose's collapsed visibility: min(1, v), so v=3 stays visible
    assert info['keypoints_visible'].shape == (1, 17)
    assert info['keypoints_visible'][0].tolist() == np.minimum(
        RAW, 1).tolist()
    # true coordinates are kept, also outside the image
    np.testing.assert_array_equal(info['keypoints'][0, [5, 6]],
                                  [[100, 300], [-20, 100]])
    assert info['num_keypoints'] == 16
    # the raw annotation (raw v and pad_to_contain) reaches the metric
    source = json.loads(ann_file.read_text())['annotations'][0]
    assert info['raw_ann_info']['keypoints'] == source['keypoints']
    assert info['raw_ann_info']['keypoints'][2::3] == RAW.tolist()
    assert info['raw_ann_info']['pad_to_contain'] == source['pad_to_contain']


def test_instance_annotated_only_out_of_image_is_kept(tmp_path):
    ann_file = _write(tmp_path)
    # MMPose judges by coordinates (all <= 0 here) and drops instance 103
    assert [d['id'] for d in _build(ann_file, 'CocoDataset').data_list] == \
        [101]
    info = _info(_build(ann_file), 103)
    assert info['keypoints_visibility_raw'][0, :3].tolist() == [1, 3, 0]
    assert info['num_keypoints'] == 2  # counted from v, not coordinates
    assert 'pad_to_contain' not in info['raw_ann_info']


def test_bottomup_mode_stacks_instances(tmp_path):
    ds = _build(_write(tmp_path), data_mode='bottomup')
    info = ds.get_data_info(0)
    raw = info['keypoints_visibility_raw']
    assert raw.shape == (3, 17) and raw.dtype == np.int64
    assert raw[0].tolist() == RAW.tolist()
    assert raw[1].tolist() == [0] * 17  # crowd
    assert raw[2, :2].tolist() == [1, 3]
    assert len(info['invalid_segs']) == 1  # the crowd, as in MMPose


@pytest.mark.parametrize('v, shown', [(4, '[4]'), (-1, '[-1]'),
                                      (1.5, '[1.5]')])
def test_bad_visibility_names_file_and_annotation(tmp_path, v, shown):
    kpts = list(KPTS)
    kpts[9] = (60, 150, v)
    ann_file = _write(tmp_path, kpts)
    with pytest.raises(ValueError) as err:
        _build(ann_file)
    msg = str(err.value)
    assert str(ann_file) in msg
    assert 'annotation id 101 (image id 1)' in msg
    assert shown in msg and 'keypoint indices [9]' in msg


def test_wrong_number_of_keypoint_values(tmp_path):
    ann_file = _write(tmp_path, KPTS[:16])
    with pytest.raises(ValueError, match=r"annotation id 101 \(image id 1\): "
                       r"'keypoints' has 48 values, expected 3 \* 17 = 51"):
        _build(ann_file)


def _train_pipeline(encoder: dict, flip: bool) -> list:
    return [
        dict(type='LoadImage'),
        dict(type='RandomCropOut', prob=0.0),
        dict(type='GetBBoxCenterScale', padding=1.25),
        dict(type='RandomFlipRawVis', prob=1.0 if flip else 0.0,
             direction='horizontal'),
        dict(type='TopdownAffine', input_size=INPUT, use_udp=True),
        dict(type='GenerateTarget', encoder=encoder),
        dict(type='PackPoseInputs'),
    ]


@pytest.mark.parametrize('flip', [False, True])
def test_probmap_labels_in_topdown_train_pipeline(tmp_path, flip):
    codec = dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP)
    ds = _build(_write(tmp_path), pipeline=_train_pipeline(codec, flip))
    idx = next(i for i, d in enumerate(ds.data_list) if d['id'] == 101)
    out = ds[idx]
    assert tuple(out['inputs'].shape) == (3, 256, 192)
    sample = out['data_samples']
    labels = sample.gt_instance_labels
    for key in ProbMap.label_mapping_table.values():
        assert tuple(labels[key].shape[:2]) == (1, 17), key

    # by hand, per keypoint (see KPTS): in the AW = in the input crop
    in_window = np.ones(17)
    in_window[[3, 5, 6, 7]] = 0          # C, E, E and the (0, 0) of v=0
    annotated = (RAW > 0).astype(float)  # v = 1, 2, 3
    visible = (RAW == 2).astype(float)
    expected = dict(
        keypoints_in_window=in_window,
        presence_weights=annotated,
        keypoint_weights=annotated * in_window,  # the map: in the AW only
        visibility_labels=visible,
        visibility_weights=annotated)
    order = FLIP if flip else list(range(17))  # flipping swaps left/right
    for key, value in expected.items():
        np.testing.assert_array_equal(labels[key][0].numpy(),
                                      value[order], err_msg=key)
    # nose: input crop = AW [25, 175] x [40, 240] -> heatmap 48 x 64 (UDP)
    x_hm = (100 - 25) * 47 / 150
    if flip:  # x -> 179 - x in the image, window [4, 154]
        x_hm = (79 - 4) * 47 / 150
    np.testing.assert_allclose(labels.keypoint_labels[0, 0].numpy(),
                               [x_hm, (100 - 40) * 63 / 200], atol=1e-3)
    assert sample.metainfo['raw_ann_info']['id'] == 101
    assert sample.metainfo['flip'] == flip


def test_heatmap_baseline_drops_far_out_keypoints(tmp_path):
    """v=3 keypoints are visible=1; the heatmap encoder weighs them by
    whether their Gaussian reaches the heatmap."""
    codec = dict(type='UDPHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                 sigma=2)
    ds = _build(_write(tmp_path), pipeline=_train_pipeline(codec, False))
    idx = next(i for i, d in enumerate(ds.data_list) if d['id'] == 101)
    weights = ds[idx]['data_samples'].gt_instance_labels.keypoint_weights
    expected = np.ones(17)
    # 7: not annotated; 5 (y_hm 81.9) and 6 (x_hm -14.1) lie more than
    # 3 sigma outside; 3 (x_hm -4.7) still reaches the heatmap's border
    expected[[5, 6, 7]] = 0
    np.testing.assert_array_equal(weights[0].numpy(), expected)


def test_bbox_file_mode(tmp_path):
    ann_file = _write(tmp_path)
    dets = [dict(image_id=1, category_id=1, bbox=[38.0, 58.0, 125.0, 165.0],
                 score=0.9),
            dict(image_id=1, category_id=2, bbox=[0.0, 0.0, 9.0, 9.0],
                 score=0.8)]
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(json.dumps(dets))
    pipeline = [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=INPUT, use_udp=True),
        dict(type='PackPoseInputs'),
    ]
    ds = _build(ann_file, bbox_file=str(bbox_file), test_mode=True,
                pipeline=pipeline)
    assert len(ds) == 1  # non-person detections are dropped
    info = ds.get_data_info(0)
    # raw visibility is unknown for detector boxes: no field, no guess
    assert 'keypoints_visibility_raw' not in info
    assert 'raw_ann_info' not in info
    np.testing.assert_allclose(info['bbox'][0], [38, 58, 163, 223])
    assert info['bbox_score'][0] == pytest.approx(0.9)
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 256, 192)
    np.testing.assert_allclose(out['data_samples'].metainfo['input_center'],
                               [100.5, 140.5])

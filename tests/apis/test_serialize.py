"""JSON serialiser: exact round trips, NaN -> null, and MMPose's inferencer
on a real image whose JSON carries presence and credible fields in image
pixels."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from probpose_ext.apis import (dump_pose_json, instances_to_list,
                               load_pose_json, samples_to_json, to_jsonable)
from tests.apis._random_ckpt import SYNTH_CFG, save_random_checkpoint
from tests.conftest import DATA

IMG = DATA / 'coco' / '000000000785.jpg'  # 640 x 425


def _sample(n=2, k=3, seed=0):
    rng = np.random.default_rng(seed)
    boxes = rng.uniform(0, 100, (n, k, 4)).astype(np.float32)
    boxes[0, 1] = np.nan  # an empty credible region
    sample = PoseDataSample(metainfo=dict(img_path='a/b.jpg', img_id=7,
                                          ori_shape=(425, 640)))
    sample.pred_instances = InstanceData(
        keypoints=rng.uniform(0, 100, (n, k, 2)).astype(np.float32),
        keypoint_presence=torch.rand(n, k, generator=torch.Generator()
                                     .manual_seed(seed)),
        keypoint_credible_box=boxes,
        keypoints_cov=np.eye(2)[None, None].repeat(n, 0).repeat(k, 1),
        labels=np.arange(n), flags=np.array([True, False])[:n])
    return sample


def test_to_jsonable_is_strict_json():
    value = dict(a=np.float32(1.5), b=torch.tensor([1.0, float('nan')]),
                 c=(np.int64(3), float('inf')), d='x', e=[np.array([True])])
    out = to_jsonable(value)
    assert out == dict(a=1.5, b=[1.0, None], c=[3, None], d='x', e=[[True]])
    json.dumps(out, allow_nan=False)


def test_instances_to_list_per_instance_values():
    sample = _sample()
    inst = instances_to_list(sample)
    assert len(inst) == 2
    assert set(inst[0]) == {'keypoints', 'keypoint_presence',
                            'keypoint_credible_box', 'keypoints_cov',
                            'labels', 'flags'}
    pred = sample.pred_instances
    assert inst[1]['keypoints'] == pred.keypoints[1].tolist()
    assert inst[0]['keypoint_credible_box'][1] == [None] * 4
    assert inst[0]['labels'] == 0 and inst[1]['flags'] is False
    # a chosen subset, in order; the same from InstanceData or a dumped dict
    sub = instances_to_list(pred, ['keypoint_presence', 'keypoints'])
    assert list(sub[0]) == ['keypoint_presence', 'keypoints']
    as_dict = dict(img_path='a/b.jpg', pred_instances={
        key: pred.get(key) for key in pred.keys()})
    assert instances_to_list(as_dict, ['keypoints']) == \
        instances_to_list(sample, ['keypoints'])
    with pytest.raises(KeyError, match='keypoint_nope'):
        instances_to_list(sample, ['keypoint_nope'])
    with pytest.raises(TypeError):
        instances_to_list([1, 2])
    with pytest.raises(ValueError, match='different numbers'):
        instances_to_list(dict(pred_instances=dict(a=[1], b=[1, 2])))


def test_dump_and_load_round_trip(tmp_path):
    samples = [_sample(seed=0), _sample(n=1, seed=1)]
    samples[1].pred_instances = samples[1].pred_instances[:0]  # no people
    path = dump_pose_json(tmp_path / 'sub' / 'preds.json', samples)
    assert [p.name for p in (tmp_path / 'sub').iterdir()] == ['preds.json']
    text = (tmp_path / 'sub' / 'preds.json').read_text()
    assert 'NaN' not in text and 'null' in text
    json.loads(text)  # strict JSON
    loaded = load_pose_json(path)
    assert len(loaded) == 2
    assert loaded[0].metainfo['img_path'] == 'a/b.jpg'
    assert loaded[0].metainfo['img_id'] == 7
    assert loaded[0].metainfo['ori_shape'] == [425, 640]
    orig, back = samples[0].pred_instances, loaded[0].pred_instances
    assert set(back.keys()) == set(orig.keys())
    for key in orig.keys():
        want = np.asarray(orig.get(key))
        got = back.get(key)
        assert got.shape == want.shape, key
        assert got.dtype.kind == want.dtype.kind, key
        # float32 values survive exactly (JSON keeps the shortest repr of
        # their float64 value)
        np.testing.assert_array_equal(got, want.astype(got.dtype), key)
    assert np.isnan(back.keypoint_credible_box[0, 1]).all()
    assert len(loaded[1].pred_instances) == 0
    # a chosen subset only
    dump_pose_json(tmp_path / 'kp.json', samples[0], fields=['keypoints'])
    assert list(load_pose_json(tmp_path / 'kp.json')[0].pred_instances
                .keys()) == ['keypoints']


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([{'keypoints': []}]))
    with pytest.raises(ValueError, match='not a probpose_ext.pose_json'):
        load_pose_json(bad)
    doc = samples_to_json([_sample()])
    doc['version'] = 99
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match='unsupported version 99'):
        load_pose_json(bad)


def test_mmpose_inferencer_fields_in_image_pixels(tmp_path):
    from mmpose.apis import MMPoseInferencer
    ckpt = save_random_checkpoint(tmp_path / 'random.pth')
    # a very low test temperature makes the random model's maps spiky, so
    # its credible regions are small and their position is meaningful
    # (without flip test: the flipped random map would add a second spike)
    cfg = Config.fromfile(str(SYNTH_CFG))
    cfg.model.test_cfg.update(temperature=0.01, flip_test=False)
    inferencer = MMPoseInferencer(pose2d=cfg, pose2d_weights=str(ckpt),
                                  device='cpu')
    result = next(inferencer(str(IMG), return_datasamples=True,
                             return_vis=True, draw_heatmap=True))
    sample = result['predictions'][0]
    assert result['visualization'][0].shape == (2 * 425, 640, 3)
    path = dump_pose_json(tmp_path / 'preds.json', [sample])
    inst = load_pose_json(path)[0].pred_instances
    assert len(inst) == 1  # the whole image is the person box
    np.testing.assert_allclose(inst.bboxes, [[0, 0, 640, 425]])
    for key in ('keypoint_presence', 'keypoint_visibility',
                'keypoint_expected_oks', 'keypoint_scores'):
        assert inst.get(key).shape == (1, 17)
        assert ((inst.get(key) >= 0) & (inst.get(key) <= 1)).all(), key
    np.testing.assert_array_equal(inst.keypoints_visible,
                                  inst.keypoint_presence)
    # the crop is the image box at padding 1.25 and aspect 0.75: 800 x
    # 1066.7 image px seen as 96 x 128 input px; a heatmap pixel is
    # (w - 1) / (W - 1) input px (UDP), about 34 image px
    fx, fy = 800 / 96 * 95 / 23, (800 / 0.75) / 128 * 127 / 31
    px = max(fx, fy)
    kpts, boxes = inst.keypoints[0], inst.keypoint_credible_box[0]
    area = inst.keypoint_credible_area[0]
    assert np.isfinite(boxes).all()
    # image pixels, not crop pixels: keypoints spread over the image
    assert kpts[:, 0].max() - kpts[:, 0].min() > 200
    # each keypoint lies in (or within a heatmap pixel of) its box
    assert (kpts >= boxes[:, :2] - px).all() and \
        (kpts <= boxes[:, 2:] + px).all()
    # small regions of whole heatmap pixels, areas in image px^2
    pixels = area / (fx * fy)
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-3)
    assert (pixels >= 1).all() and (pixels <= 16).all()
    # keypoints well inside the image have their box inside it too
    m = 1.5 * px
    inner = (kpts[:, 0] > m) & (kpts[:, 0] < 640 - m) & \
        (kpts[:, 1] > m) & (kpts[:, 1] < 425 - m)
    assert inner.sum() >= 3
    assert (boxes[inner, :2] >= 0).all() and \
        (boxes[inner, 2] <= 640).all() and (boxes[inner, 3] <= 425).all()

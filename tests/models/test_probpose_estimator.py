"""ProbPoseEstimator: extra spatial fields follow the keypoints to the image,
by hand computation, containment, keypoint selection and on real images
through the SynthPose ProbPose config."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData
from mmpose.registry import DATASETS, MODELS
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

from probpose_ext.models import ProbPoseEstimator
from tests.conftest import DATA, REPO

CFG = REPO / 'configs' / 'synthpose' / 'probpose_vit-tiny_synthpose-128x96.py'
K = 5


def _estimator(**test_cfg):
    register_all_modules()
    cfg = Config.fromfile(str(CFG))
    cfg.model.test_cfg.update(test_cfg)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='module')
def estimator():
    return _estimator()


def _sample(center, scale, input_size=(96, 128)):
    sample = PoseDataSample(metainfo=dict(
        input_center=np.asarray(center, float),
        input_scale=np.asarray(scale, float), input_size=input_size))
    sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4)),
                                       bbox_scores=np.ones(1))
    return sample


def test_built_from_config_through_registry(estimator):
    assert isinstance(estimator, ProbPoseEstimator)
    assert estimator.test_cfg['credible_level'] == 0.9
    assert estimator.test_cfg['flip_test'] is True  # kept from the base


def test_hand_computed_fields(estimator):
    # input 96x128 (w, h), crop 192x256 centred at (100, 200): factor 2,
    # input (0, 0) at image (4, 72)
    cov = np.array([[[[4.0, 1.0], [1.0, 9.0]]]]).repeat(K, 1)
    full = np.diag(np.arange(1.0, 2 * K + 1))[None]
    inst = InstanceData(
        keypoints=np.array([[[10.0, 20.0]]]).repeat(K, 1),
        keypoint_scores=np.ones((1, K)),
        keypoint_credible_box=np.array([[[8.0, 18.0, 12.0, 23.0]]]).repeat(
            K, 1),
        keypoint_credible_area=np.full((1, K), 16.0),
        keypoints_cov=cov, keypoints_cov_full=full)
    out = estimator.add_pred_to_datasample(
        [inst], None, [_sample([100, 200], [192, 256])])[0].pred_instances
    np.testing.assert_allclose(out.keypoints[0, 0], [24.0, 112.0])
    np.testing.assert_allclose(out.keypoint_credible_box[0, 0],
                               [20.0, 108.0, 28.0, 118.0])
    np.testing.assert_allclose(out.keypoint_credible_area, 64.0)
    np.testing.assert_allclose(out.keypoints_cov[0, 0],
                               [[16.0, 4.0], [4.0, 36.0]])
    np.testing.assert_allclose(out.keypoints_cov_full[0],
                               4.0 * np.diag(np.arange(1.0, 2 * K + 1)))
    # MMPose's own behaviour is kept: keypoints_visible given by the head
    # stays, bboxes come from the GT instances
    assert 'bboxes' in out and out.keypoints_visible.shape == (1, K)


def test_containment_is_preserved(estimator):
    rng = np.random.default_rng(0)
    n = 200
    kpts = rng.uniform(0, 96, (1, n, 2))
    lo = rng.uniform(0, 90, (1, n, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(1, 30, (1, n, 2))], -1)
    inside = ((kpts >= boxes[..., :2]) & (kpts <= boxes[..., 2:])).all(-1)
    assert 0 < inside.sum() < n
    inst = InstanceData(keypoints=kpts.copy(), keypoint_scores=np.ones((1, n)),
                        keypoint_credible_box=boxes.copy())
    out = estimator.add_pred_to_datasample(
        [inst], None, [_sample([321.5, 140.2], [150.0, 200.0])]
    )[0].pred_instances
    box_img, kpt_img = out.keypoint_credible_box, out.keypoints
    inside_img = ((kpt_img >= box_img[..., :2] - 1e-9) &
                  (kpt_img <= box_img[..., 2:] + 1e-9)).all(-1)
    np.testing.assert_array_equal(inside_img, inside)


def test_output_keypoint_indices_select_every_field():
    est = _estimator(output_keypoint_indices=[3, 1])
    full = np.arange(float((2 * K)**2)).reshape(1, 2 * K, 2 * K)
    inst = InstanceData(
        keypoints=np.zeros((1, K, 2)), keypoint_scores=np.arange(K)[None],
        keypoint_credible_box=np.arange(4.0 * K).reshape(1, K, 4),
        keypoints_cov_full=full)
    out = est.add_pred_to_datasample(
        [inst], None, [_sample([0, 0], [96, 128])])[0].pred_instances
    # factor 1, offset (-48, -64)
    np.testing.assert_array_equal(out.keypoint_scores, [[3, 1]])
    np.testing.assert_allclose(out.keypoint_credible_box[0],
                               [[12 - 48, 13 - 64, 14 - 48, 15 - 64],
                                [4 - 48, 5 - 64, 6 - 48, 7 - 64]])
    coords = [6, 7, 2, 3]
    np.testing.assert_array_equal(out.keypoints_cov_full,
                                  full[:, coords][:, :, coords])


def test_real_images_fields_equal_mapped_head_outputs(estimator):
    cfg = Config.fromfile(str(CFG))
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(data_root=str(DATA / 'coco'), ann_file='test_coco.json',
                       data_prefix=dict(img=''), bbox_file=None)
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(3)])
    with torch.no_grad():
        data = estimator.data_preprocessor(copy.deepcopy(batch), False)
        feats = [estimator.extract_feat(data['inputs']),
                 estimator.extract_feat(data['inputs'].flip(-1))]
        crop = estimator.head.predict(feats, data['data_samples'],
                                      test_cfg=estimator.test_cfg)
        samples = estimator.test_step(batch)
    for sample, pred in zip(samples, crop):
        meta = sample.metainfo
        s, c = np.asarray(meta['input_scale']), np.asarray(meta['input_center'])
        w_h = np.asarray(meta['input_size'], float)
        box = pred.keypoint_credible_box[0]
        expected = np.concatenate([box[:, :2] / w_h * s + c - s / 2,
                                   box[:, 2:] / w_h * s + c - s / 2], -1)
        got = sample.pred_instances
        np.testing.assert_allclose(got.keypoint_credible_box[0], expected,
                                   rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(got.keypoint_credible_area[0],
                                   pred.keypoint_credible_area[0] *
                                   np.prod(s / w_h), rtol=1e-5)
        np.testing.assert_allclose(got.keypoints[0],
                                   pred.keypoints[0] / w_h * s + c - s / 2,
                                   rtol=1e-5, atol=1e-3)

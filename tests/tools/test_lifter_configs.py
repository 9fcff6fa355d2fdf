"""Every lifter config (configs/synthmotion, configs/h36m) builds through
MMPose's registries, reads the real Human3.6M sample with its own
Human36mDataset settings and pipelines, trains one step (the weights
move, the loss is finite) and predicts root-relative joints in metres
around the target root; the depth-uncertainty configs also predict depth
sigmas."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmpose.registry import DATASETS, MODELS
from mmpose.utils import register_all_modules

import probpose_ext  # noqa: F401
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.slow

CONFIGS = [
    p for folder in ('synthmotion', 'h36m', 'synthmotion_video')
    for p in sorted((REPO / 'configs' / folder).glob('*.py'))
]
H36M = DATA / 'h36m'


def _sample_dataset(cfg_dataset, test_mode):
    ds = copy.deepcopy(cfg_dataset)
    ds.update(data_root=str(H36M), ann_file='test_h36m_body3d.npz',
              camera_param_file='cameras.pkl', test_mode=test_mode)
    return DATASETS.build(ds)


def test_config_families():
    names = {p.name for p in CONFIGS}
    for frames in ('1frm', '27frm'):
        for algo in ('tcn', 'graphmlp'):
            for data in ('synthmotion', 'h36m'):
                assert f'pose-lift_{algo}-{frames}_1xb256-6e_{data}.py' in names
    assert len(CONFIGS) == 20


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_lifter_config_trains_and_predicts(path):
    register_all_modules()
    cfg = Config.fromfile(str(path))
    expected_root = {
        'h36m': 'data/h36m/',
        'synthmotion_video': 'data/synthmotion_video/'
    }.get(path.parent.name, 'data/synthmotion/')
    assert cfg.train_dataloader.dataset.data_root == expected_root
    seq_len = cfg.train_dataloader.dataset.seq_len
    assert cfg.test_dataloader.dataset.seq_len == seq_len
    assert {e['mode'] for e in cfg.test_evaluator
            if e['type'] == 'MPJPE'} == {'mpjpe', 'p-mpjpe'}

    train = _sample_dataset(cfg.train_dataloader.dataset, False)
    test = _sample_dataset(cfg.test_dataloader.dataset, True)
    assert len(train) == len(test) == 4        # one sample per frame
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = pseudo_collate([train[i] for i in range(4)])
    assert batch['inputs'][0].shape[-1] == seq_len
    model.train()
    losses = model.train_step(batch, optim)
    assert all(torch.isfinite(v).all() for v in losses.values())
    moved = [n for n, p in model.named_parameters()
             if not torch.equal(p, before[n])]
    assert any(n.startswith('backbone.') for n in moved)
    assert any(n.startswith('head.') for n in moved)

    model.eval()
    samples = [test[i] for i in range(4)]
    with torch.no_grad():
        preds = model.test_step(pseudo_collate(samples))
    for pred, sample in zip(preds, samples):
        kpts = pred.pred_instances.keypoints
        assert kpts.shape == (1, 17, 3)
        root = sample['data_samples'].metainfo['target_root']
        # the codec adds the target root back: joints lie around it
        assert np.abs(kpts[0] - root.reshape(1, 3)).max() < 10
        if cfg.model.head.type == 'DepthUncertaintyHead':
            std = pred.pred_instances.keypoint_depth_std
            assert std.shape == (1, 17) and std[0, 0] == 0
            assert np.all(std[0, 1:] > 0)


def test_ca_tcn_reads_detection_scores_as_confidences(tmp_path):
    """With 2D detections (``keypoint_2d_src='detection'``, MMPose's (N, K,
    3) file), the CA-TCN config's codec feeds each detection score to the
    confidence channel of its joint and frame."""
    register_all_modules()
    cfg = Config.fromfile(str(
        REPO / 'configs' / 'synthmotion' /
        'pose-lift_ca-tcn-27frm_1xb256-6e_synthmotion.py'))
    det = np.load(H36M / 'test_h36m_2d_detection.npy').astype(np.float32)
    rng = np.random.default_rng(0)
    det[..., 2] = rng.uniform(0, 1, det.shape[:2])
    det[..., :2] += rng.normal(scale=3.0, size=det[..., :2].shape)
    det_file = tmp_path / 'det.npy'
    np.save(det_file, det)
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    ds.update(keypoint_2d_src='detection', keypoint_2d_det_file=str(det_file))
    dataset = _sample_dataset(ds, True)
    for i in range(len(dataset)):
        inputs = dataset[i]['inputs'].numpy()        # (K * 3, T)
        assert inputs.shape == (17 * 3, 27)
        # one frame per video: the padded window repeats frame i
        np.testing.assert_allclose(inputs[2::3], np.repeat(
            det[i, :, 2:3], 27, axis=1), rtol=1e-6)
        w = dataset.get_camera_param(dataset.ann_data['imgname'][i])['w']
        np.testing.assert_allclose(
            inputs[0::3, 13], (det[i, :, 0] - w / 2) / (w / 2), rtol=1e-5,
            atol=1e-6)

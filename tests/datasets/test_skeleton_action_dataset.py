"""SkeletonActionDataset on files in MMAction2's layout, and the skeleton
transforms."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, TRANSFORMS

import probpose_ext  # noqa: F401


def _ntu_file(path, dims=3, persons=2, num=6, with_split=True):
    """A small pickle in the layout of MMAction2's ntu60_3d.pkl /
    ntu60_2d.pkl: 25 joints, up to 2 persons, NTU frame_dir names."""
    rng = np.random.default_rng(0)
    anns = []
    for i in range(num):
        frames = 20 + 5 * i
        ann = dict(
            frame_dir=f'S001C00{1 + i % 3}P00{1 + i % 2}R001A00{1 + i}',
            label=i % 3,
            total_frames=frames,
            img_shape=(1080, 1920),
            original_shape=(1080, 1920),
            keypoint=rng.normal(size=(persons, frames, 25,
                                      dims)).astype(np.float32))
        if dims == 2:
            ann['keypoint'] = (ann['keypoint'] * 100 + 500).astype(
                np.float32)
            ann['keypoint_score'] = rng.uniform(
                size=(persons, frames, 25)).astype(np.float32)
        anns.append(ann)
    names = [a['frame_dir'] for a in anns]
    data = dict(split=dict(xsub_train=[n for n in names if 'P001' in n],
                           xsub_val=[n for n in names if 'P002' in n]),
                annotations=anns) if with_split else anns
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return anns


@pytest.fixture(scope='module', autouse=True)
def _scope():
    init_default_scope('mmpose')


def test_ntu_layout_loads_with_splits(tmp_path):
    anns = _ntu_file(tmp_path / 'ntu60_3d.pkl')
    ds = DATASETS.build(dict(type='SkeletonActionDataset',
                             data_root=str(tmp_path),
                             ann_file='ntu60_3d.pkl', split='xsub_train',
                             num_classes=60))
    assert len(ds) == 3
    assert [ds[i]['frame_dir'] for i in range(3)] == [
        a['frame_dir'] for a in anns if 'P001' in a['frame_dir']]
    item = ds.get_data_info(1)
    np.testing.assert_array_equal(item['keypoint'], anns[2]['keypoint'])
    assert item['label'] == 2 and item['total_frames'] == 30
    assert ds.metainfo['num_classes'] == 60
    assert len(ds.metainfo['classes']) == 60
    val = DATASETS.build(dict(type='SkeletonActionDataset',
                              ann_file=str(tmp_path / 'ntu60_3d.pkl'),
                              split='xsub_val'))
    assert len(val) == 3 and val.metainfo['num_classes'] == 3


def test_old_list_layout_and_bad_input(tmp_path):
    _ntu_file(tmp_path / 'list.pkl', with_split=False)
    ds = DATASETS.build(dict(type='SkeletonActionDataset',
                             ann_file=str(tmp_path / 'list.pkl')))
    assert len(ds) == 6
    with pytest.raises(KeyError, match="no split 'xview_val'"):
        DATASETS.build(dict(type='SkeletonActionDataset',
                            ann_file=str(tmp_path / 'list.pkl'),
                            split='xview_val'))
    with open(tmp_path / 'bad.pkl', 'wb') as f:
        pickle.dump(dict(annotations=[dict(frame_dir='a', label=0,
                                           keypoint=np.zeros((5, 17, 3)))],
                         split={}), f)
    with pytest.raises(ValueError, match=r'\(M, T, V, C\)'):
        DATASETS.build(dict(type='SkeletonActionDataset',
                            ann_file=str(tmp_path / 'bad.pkl')))
    with pytest.raises(ValueError, match='labels must be in'):
        DATASETS.build(dict(type='SkeletonActionDataset',
                            ann_file=str(tmp_path / 'list.pkl'),
                            num_classes=2))


def test_pipeline_on_ntu_2d_file(tmp_path):
    anns = _ntu_file(tmp_path / 'ntu60_2d.pkl', dims=2)
    pipeline = [
        dict(type='SampleSkeletonFrames', clip_len=16, num_clips=2,
             test_mode=True),
        dict(type='NormalizeSkeleton'),
        dict(type='SkeletonFeatures', layout='nturgb+d', feats=('j', 'b'),
             with_score=True),
        dict(type='PackSkeletonInputs', num_person=2),
    ]
    ds = DATASETS.build(dict(type='SkeletonActionDataset',
                             ann_file=str(tmp_path / 'ntu60_2d.pkl'),
                             pipeline=pipeline, test_mode=True))
    out = ds[0]
    x = out['inputs']
    assert x.shape == (2, 2, 16, 25, 6)  # clips, M, T, V, (x, y, s) * 2
    inds = out['data_samples'].metainfo
    assert inds['frame_dir'] == anns[0]['frame_dir']
    assert out['data_samples'].gt_label.tolist() == [0]
    # clip 0 of test mode = frame floor(0.25 * segment) of each segment
    from probpose_ext.ops.skeleton_features import uniform_sample_indices
    frames = uniform_sample_indices(20, 16, 2)
    kp = anns[0]['keypoint'][1, frames[1, 3]]
    expect = (kp - [960, 540]) / [960, 540]
    assert np.allclose(x[1, 1, 3, :, :2].numpy(), expect, atol=1e-5)
    assert np.allclose(x[1, 1, 3, :, 2].numpy(),
                       anns[0]['keypoint_score'][1, frames[1, 3]])


def test_pack_pads_and_cuts_persons():
    pack = TRANSFORMS.build(dict(type='PackSkeletonInputs', num_person=3))
    kpt = np.ones((2, 8, 17, 3), np.float32)
    out = pack(dict(keypoint=kpt, label=4, num_clips=2))
    assert out['inputs'].shape == (2, 3, 4, 17, 3)
    assert out['inputs'][:, 2].abs().sum() == 0
    assert out['inputs'][:, :2].min() == 1
    one = TRANSFORMS.build(dict(type='PackSkeletonInputs'))
    assert one(dict(keypoint=kpt, label=0))['inputs'].shape == (1, 1, 8, 17,
                                                                3)


def test_train_sampling_is_random_and_seedable():
    kpt = np.arange(100, dtype=np.float32)[None, :, None, None] * np.ones(
        (1, 100, 17, 3), np.float32)
    sample = TRANSFORMS.build(dict(type='SampleSkeletonFrames', clip_len=10,
                                   seed=3))
    a = sample(dict(keypoint=kpt.copy(), frame_dir='x'))['frame_inds']
    b = sample(dict(keypoint=kpt.copy(), frame_dir='x'))['frame_inds']
    c = sample(dict(keypoint=kpt.copy(), frame_dir='y'))['frame_inds']
    assert (a == b).all() and not (a == c).all()
    assert ((a // 10) == np.arange(10)).all()
    out = sample(dict(keypoint=kpt.copy(), frame_dir='x'))
    assert (out['keypoint'][0, :, 0, 0] == a).all()


def test_gaussian_noise_std_and_repeatability():
    noise = TRANSFORMS.build(dict(type='SkeletonGaussianNoise', std=0.05,
                                  seed=0))
    base = np.zeros((1, 200, 17, 3), np.float32)
    a = noise(dict(keypoint=base.copy(), frame_dir='x'))['keypoint']
    b = noise(dict(keypoint=base.copy(), frame_dir='x'))['keypoint']
    assert np.array_equal(a, b)
    assert a.std() == pytest.approx(0.05, rel=0.03)
    zero = TRANSFORMS.build(dict(type='SkeletonGaussianNoise', std=0.0))
    assert np.array_equal(zero(dict(keypoint=base.copy()))['keypoint'], base)


def test_corrupt_skeleton_dropout_zeroes_scores():
    rng = np.random.default_rng(0)
    kpt = rng.uniform(100, 300, size=(1, 60, 17, 2)).astype(np.float32)
    score = np.ones((1, 60, 17), np.float32)
    for sev, low, high in ((0, 0.0, 0.0), (3, 0.1, 0.3), (5, 0.3, 0.5)):
        t = TRANSFORMS.build(dict(type='CorruptSkeleton',
                                  corruption='joint_dropout',
                                  severity=sev))
        out = t(dict(keypoint=kpt.copy(), keypoint_score=score.copy(),
                     frame_dir='a'))
        missing = (out['keypoint_score'] == 0).mean()
        assert low <= missing <= high
    with pytest.raises(ValueError, match='2D'):
        t(dict(keypoint=np.zeros((1, 5, 17, 3))))
    with pytest.raises(ValueError, match='unknown corruption'):
        TRANSFORMS.build(dict(type='CorruptSkeleton', corruption='blur',
                              severity=1))


def test_features_layout_mismatch():
    feat = TRANSFORMS.build(dict(type='SkeletonFeatures', layout='h36m'))
    with pytest.raises(ValueError, match="'h36m' has 17"):
        feat(dict(keypoint=np.zeros((1, 4, 25, 3))))
    assert isinstance(
        feat(dict(keypoint=np.zeros((1, 4, 17, 3))))['keypoint'],
        np.ndarray)
    assert torch.is_tensor(TRANSFORMS.build(
        dict(type='PackSkeletonInputs'))(dict(
            keypoint=np.zeros((1, 4, 17, 3)), label=1))['inputs'])

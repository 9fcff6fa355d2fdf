"""MMAction2 1.2.0 (installed with --no-deps by `make install`) through
probpose_ext.compat.mmaction: its STGCN and GCNHead inside this project's
recogniser, and its PoseDataset on a file of the same layout as ours."""
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from tests.models._skeleton_toy import fit_predict

pytest.importorskip('mmaction', reason='MMAction2 not installed')


def test_shim_makes_mmaction_models_importable():
    from probpose_ext.compat import mmaction as compat
    assert compat.is_applied() == compat.needed()
    import mmaction.models  # noqa: F401
    from mmaction.registry import MODELS as ACTION_MODELS
    assert ACTION_MODELS.get('STGCN') is not None
    if compat.is_applied():
        drn = sys.modules['mmaction.models.localizers.drn.drn']
        with pytest.raises(ImportError, match='2714'):
            drn.DRN()


def test_mmaction_stgcn_in_our_recognizer_trains():
    import probpose_ext.compat.mmaction  # noqa: F401
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    model = MODELS.build(dict(
        type='SkeletonRecognizer',
        backbone=dict(type='mmaction.STGCN', base_channels=16,
                      num_stages=4, inflate_stages=(3, ),
                      down_stages=(3, ),
                      graph_cfg=dict(layout='coco', mode='stgcn_spatial')),
        cls_head=dict(type='mmaction.GCNHead', num_classes=2,
                      in_channels=32,
                      loss_cls=dict(type='mmaction.CrossEntropyLoss'))))
    torch.manual_seed(0)
    x = torch.randn(8, 1, 1, 16, 17, 3)
    x[4:, ..., 0] += torch.linspace(0, 2, 16)[None, None, None, :, None]
    labels = [0] * 4 + [1] * 4
    assert fit_predict(model, x, labels, steps=25, lr=1e-2) == labels


def test_mmaction_pose_dataset_reads_the_same_layout(tmp_path):
    import probpose_ext.compat.mmaction  # noqa: F401
    from mmaction.datasets import PoseDataset
    from mmpose.registry import DATASETS
    anns = [dict(frame_dir=f'C001P00{i}R001A001', label=i % 2,
                 total_frames=10, img_shape=(1080, 1920),
                 keypoint=np.full((1, 10, 17, 3), i, np.float32))
            for i in range(4)]
    path = tmp_path / 'a.pkl'
    with open(path, 'wb') as f:
        pickle.dump(dict(split=dict(xsub_train=[a['frame_dir']
                                                for a in anns[:3]]),
                         annotations=anns), f)
    theirs = PoseDataset(str(path), pipeline=[], split='xsub_train')
    init_default_scope('mmpose')
    ours = DATASETS.build(dict(type='SkeletonActionDataset',
                               ann_file=str(path), split='xsub_train'))
    assert len(theirs) == len(ours) == 3
    for i in range(3):
        a, b = theirs.get_data_info(i), ours.get_data_info(i)
        assert a['frame_dir'] == b['frame_dir'] and a['label'] == b['label']
        np.testing.assert_array_equal(a['keypoint'], b['keypoint'])

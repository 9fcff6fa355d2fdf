"""Shared builders for the head tests: a small head from a config through
MODELS, features for it, and data samples encoded by a codec."""
import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from probpose_ext.utils.metainfo import load_metainfo

FLIP = load_metainfo()['flip_indices']
K = 17


def build_head(head_type: str, **kwargs):
    """A head with 8 input channels and one x2 deconv, seeded; ``kwargs``
    (e.g. ``decoder``) complete or override the config."""
    cfg = dict(type=head_type, in_channels=8, out_channels=K,
               deconv_out_channels=(8, ), deconv_kernel_sizes=(4, ))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def head_feats(batch: int = 2):
    """Backbone features (B, 8, 8, 6), seeded."""
    torch.manual_seed(1)
    return (torch.randn(batch, 8, 8, 6), )


def encoded_samples(codec, low, high, batch: int = 2):
    """Data samples whose ``gt_instance_labels`` the codec encoded from
    random keypoints uniform in ``[low, high)`` (input pixels) and random
    raw visibilities in {0, 1, 2}."""
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(batch):
        kpts = rng.uniform(low, high, (1, K, 2))
        raw = rng.integers(0, 3, (1, K))
        enc = codec.encode(kpts, np.minimum(raw, 1), area=np.array([900.]),
                           bbox_scale=np.array([[60., 80.]]),
                           keypoints_visibility_raw=raw)
        sample = PoseDataSample(metainfo=dict(flip_indices=FLIP))
        sample.gt_instance_labels = InstanceData(
            **{k: torch.as_tensor(v) for k, v in enc.items()})
        samples.append(sample)
    return samples

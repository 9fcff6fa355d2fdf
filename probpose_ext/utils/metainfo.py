"""Dataset metainfo: the one place COCO sigmas, names and flips come from."""
import warnings
from typing import Optional

#: MMPose's COCO metainfo file, resolved inside the mmpose package.
COCO_METAINFO = dict(from_file='configs/_base_/datasets/coco.py')


def load_metainfo(spec: Optional[dict] = None) -> dict:
    """Parse an MMPose metainfo spec (imports mmpose lazily).

    Args:
        spec (dict, optional): e.g. ``dict(from_file='configs/_base_/'
            'datasets/coco.py')`` (the default) or a full metainfo dict.

    Returns:
        dict: Output of MMPose's ``parse_pose_metainfo`` (``sigmas``,
        ``flip_indices``, ``skeleton_links``, ``keypoint_id2name``, ...).
    """
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with warnings.catch_warnings():
        # relative paths are resolved inside the mmpose package on purpose
        warnings.filterwarnings('ignore', message='The metainfo config file')
        return parse_pose_metainfo(dict(spec or COCO_METAINFO))

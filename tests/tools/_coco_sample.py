"""A config's dataset pointed at the real 12-person COCO sample in
tests/data/coco (ground-truth boxes)."""
from mmpose.registry import DATASETS

from tests.conftest import DATA

COCO = dict(data_root=str(DATA / 'coco'), ann_file='test_coco.json',
            data_prefix=dict(img=''))


def coco_sample_dataset(cfg):
    """Build the dataset config ``cfg`` on the COCO sample."""
    cfg = cfg.copy()
    cfg.update(COCO)
    cfg.pop('bbox_file', None)
    return DATASETS.build(cfg)

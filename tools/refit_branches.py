"""Refit the presence and visibility branches of a trained ProbPose model
on its frozen network, with strong crop augmentation
(:mod:`probpose_ext.apis.refit`). AP does not change; the in/out
classification and Ex-AP do.

    python tools/refit_branches.py CONFIG CHECKPOINT --work-dir DIR
        [--epochs 6] [--lr 1e-3] [--crop-prob 0.8] [--keep-ratio 0.4 0.9]
        [--cfg-options k=v ...]

CONFIG/CHECKPOINT may also be a zoo name alone (``synthpose-probpose``).
The refit's config is written to ``DIR/refit_config.py`` and trained with
``tools/train.py`` (``--resume`` continues an interrupted refit); its best
checkpoint is ``DIR/best_coco_AP_epoch_<epochs>.pth``.
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from probpose_ext.apis.refit import refit_main  # noqa: E402

if __name__ == '__main__':
    refit_main()

"""Evaluate a checkpoint with MMEngine's runner (MMPose's CLI).

    python tools/test.py CONFIG|ZOO_NAME CHECKPOINT|F.onnx [--work-dir DIR]
        [--out M.json] [--dump PRED.pkl] [--show-dir DIR]
        [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from probpose_ext.apis import test_main  # noqa: E402

if __name__ == '__main__':
    test_main()

"""Train a pose model with MMEngine's runner (MMPose's CLI).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
"""
import os.path as osp
import sys

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from probpose_ext.apis import train_main  # noqa: E402

if __name__ == '__main__':
    train_main()

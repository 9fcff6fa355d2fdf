"""Generate the SynthMotion synthetic 3D motion data set in MMPose's
Human3.6M layout (``annotation_body3d/cameras.pkl`` and
``annotation_body3d/fps50/synthmotion_{train,test}.npz``).

Example:
    python tools/dataset_converters/make_synthmotion.py data/synthmotion \\
        --seed 0 --frames 200 --reps 2

The result can be used with MMPose's ``Human36mDataset``
(``data_root=OUT_DIR``,
``ann_file='annotation_body3d/fps50/synthmotion_train.npz'``,
``camera_param_file='annotation_body3d/cameras.pkl'``).
"""
import argparse
import os.path as osp
import sys
from typing import Callable, List, Optional, Tuple

from _generator_cli import (EXIT_EXISTS, MOTION_FIELDS, add_motion_args,
                            add_run_args, ensure_importable, generate,
                            refuse_existing, set_options)


def _import_api() -> Tuple[Callable, type]:
    """Import the API (see :func:`_generator_cli.ensure_importable`)."""
    ensure_importable()
    from probpose_ext.datasets.generators.synthmotion import (
        SynthMotionParams, make_synthmotion)
    return make_synthmotion, SynthMotionParams


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (unset options keep the defaults of
    ``SynthMotionParams``)."""
    parser = argparse.ArgumentParser(
        description='Generate the SynthMotion synthetic 3D human motion data '
        "set (MMPose's Human3.6M layout).")
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    add_motion_args(parser)
    parser.add_argument(
        '--preview',
        metavar='PNG',
        help='also draw the first test subject seen by the first camera, '
        'a skeleton every half second, one strip per video')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if refuse_existing(args.out_dir, args.force):
        return EXIT_EXISTS  # before the (slow) import of the package
    make_synthmotion, params_cls = _import_api()
    code, summary = generate(
        args, make_synthmotion,
        lambda: params_cls(**set_options(args, MOTION_FIELDS)))
    if summary is not None and args.preview:
        _preview(summary, args.preview)
    return code

def _preview(summary: dict, path: str) -> None:
    """Draw the test split's first subject and camera into ``path``."""
    from probpose_ext.datasets.generators.kinematics import \
        load_h36m_metainfo
    from probpose_ext.datasets.h36m_npz import load_h36m_npz
    from probpose_ext.visualization.motion import plot_motion_strips
    ann = load_h36m_npz(summary['splits']['test']['ann_file'])
    fps = int(osp.basename(osp.dirname(
        summary['splits']['test']['ann_file']))[3:])  # fps<N>/
    plot_motion_strips(ann['part'], ann['imgname'],
                       load_h36m_metainfo()['skeleton_links'], path,
                       every=max(1, fps // 2))
    print(f'preview: {path}')


if __name__ == '__main__':
    sys.exit(main())

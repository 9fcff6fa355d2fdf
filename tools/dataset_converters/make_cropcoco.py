"""Make a CropCOCO-style cropped copy of a COCO keypoint data set.

Example (SynthPose-Crop from SynthPose val):
    python tools/dataset_converters/make_cropcoco.py \\
        data/synthpose/val \\
        data/synthpose/annotations/person_keypoints_val.json \\
        data/synthpose_crop --split val --seed 0

The result can be used with MMPose's ``CocoDataset``
(``data_root=OUT_DIR``, ``ann_file='annotations/person_keypoints_val.json'``,
``data_prefix=dict(img='val/')``). The printed summary is also saved as
``OUT_DIR/annotations/summary_<split>.json``.
"""
import argparse
import sys
from typing import Callable, Dict, List, Optional, Tuple

from _generator_cli import (EXIT_EXISTS, add_run_args, ensure_importable,
                            refuse_existing, run_generator)


def _import_api() -> Tuple[Callable, type, tuple]:
    """Import the API (see :func:`_generator_cli.ensure_importable`)."""
    ensure_importable()
    from probpose_ext.datasets.generators.cropcoco import (CropCocoParams,
                                                          make_cropcoco)
    from probpose_ext.ops.windows import DOMAIN_DESCRIPTIONS
    return make_cropcoco, CropCocoParams, DOMAIN_DESCRIPTIONS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Make a CropCOCO-style cropped copy of a COCO keypoint '
        'data set (people cut by the image border, CropCOCO visibility).')
    parser.add_argument('img_dir', help='directory of the source images')
    parser.add_argument('ann_file', help='source COCO keypoint json')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument(
        '--split', default='val', help='output split name (default: val)')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    parser.add_argument(
        '--crop-frac',
        type=float,
        nargs=2,
        default=None,
        metavar=('LOW', 'HIGH'),
        help='range of the crop side as a fraction of the image side')
    parser.add_argument(
        '--max-tries', type=int, default=None, help='crop draws per image')
    parser.add_argument(
        '--min-visible-frac',
        type=float,
        default=None,
        help='drop people keeping a smaller fraction of their bbox area')
    parser.add_argument(
        '--min-keypoints-in-image',
        type=int,
        default=None,
        help='drop people keeping fewer annotated keypoints in the crop')
    parser.add_argument(
        '--aspect-ratio',
        type=float,
        default=None,
        help='activation-window aspect ratio w/h (default: 0.75)')
    parser.add_argument(
        '--padding',
        type=float,
        default=None,
        help='activation-window padding (default: 1.25)')
    parser.add_argument(
        '--jpeg-quality', type=int, default=None, help='JPEG quality')
    add_run_args(parser)
    return parser.parse_args(argv)


def _params_kwargs(args: argparse.Namespace) -> Dict:
    """CropCocoParams fields given on the command line."""
    names = ('crop_frac', 'max_tries', 'min_visible_frac',
             'min_keypoints_in_image', 'aspect_ratio', 'padding',
             'jpeg_quality')
    kwargs = {
        n: getattr(args, n)
        for n in names if getattr(args, n) is not None
    }
    if 'crop_frac' in kwargs:
        kwargs['crop_frac'] = tuple(kwargs['crop_frac'])
    return kwargs


#: CropCOCO visibility labels (see probpose_ext.datasets.generators.cropcoco).
VISIBILITY_DESCRIPTIONS = (
    'v0: not annotated',
    'v1: occluded, or out of the image in the activation window',
    'v2: visible',
    'v3: out of the activation window',
)


def format_summary(summary: Dict, descriptions: Tuple[str, ...]) -> str:
    """Human-readable table of a :func:`make_cropcoco` summary.

    Args:
        summary (dict): Summary returned by ``make_cropcoco``.
        descriptions (tuple[str]): Descriptions of the areas A-E
            (``ops.windows.DOMAIN_DESCRIPTIONS``).

    Returns:
        str: The table (several lines).
    """
    width = max(map(len, (*VISIBILITY_DESCRIPTIONS, *descriptions)))
    skipped = summary['skipped_images']
    lines = [
        f"CropCOCO {summary['split']} (seed {summary['seed']}): "
        f"{summary['num_images']} of {summary['num_source_images']} images "
        f"written, {summary['num_cut_images']} of them with a person cut by "
        'the border',
        f"skipped images: {skipped['no_keypoints']} without keypoints, "
        f"{skipped['no_survivor']} without a surviving person",
        f"instances: {summary['num_instances']} written "
        f"({summary['num_persons']} with keypoints, "
        f"{summary['num_crowd']} crowd), "
        f"{summary['dropped_instances']} of "
        f"{summary['num_source_instances']} dropped",
        '',
        f"{'visibility (% of all keypoints)':<{width}} {'count':>8} "
        f"{'%':>7}",
    ]
    for v, text in enumerate(VISIBILITY_DESCRIPTIONS):
        key = f'v{v}'
        lines.append(f'{text:<{width}} {summary["keypoints"][key]:>8} '
                     f'{summary["keypoints_percent"][key]:>7.2f}')
    lines += [
        '',
        f"area (AW: aspect ratio {summary['aspect_ratio']:g}, padding "
        f"{summary['padding']:g}; % of "
        f"{summary['num_annotated_keypoints']} annotated keypoints)",
    ]
    for name, text in zip(summary['areas'], descriptions):
        lines.append(f'{text:<{width}} {summary["areas"][name]:>8} '
                     f'{summary["areas_percent"][name]:>7.2f}')
    lines += [
        '',
        f"images:      {summary['img_dir']}",
        f"annotations: {summary['ann_file']}",
        f"summary:     {summary['summary_file']}",
        f"elapsed:     {summary['elapsed_s']:.1f} s",
    ]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if refuse_existing(args.out_dir, args.force):
        return EXIT_EXISTS  # before the (slow) import of the package
    make_cropcoco, CropCocoParams, descriptions = _import_api()
    code, summary = run_generator(lambda: make_cropcoco(
        args.img_dir,
        args.ann_file,
        args.out_dir,
        split=args.split,
        seed=args.seed,
        params=CropCocoParams(**_params_kwargs(args)),
        workers=args.workers,
        force=args.force,
        progress=not args.no_progress))
    if summary is not None:
        print(format_summary(summary, descriptions))
    return code

if __name__ == '__main__':
    sys.exit(main())

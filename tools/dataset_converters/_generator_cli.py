"""Command-line plumbing shared by the data generators' scripts
(``make_synthpose.py``, ``make_cropcoco.py``, ``make_synthmotion.py``,
``make_synthmotion_video.py``).

Deliberately free of ``probpose_ext`` imports, so a script can refuse an
existing output directory before the (slow) import of the package.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

#: Exit codes: success, output exists, bad input, interrupted.
EXIT_OK, EXIT_EXISTS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def ensure_importable() -> None:
    """Add the repository root to ``sys.path`` only when ``probpose_ext``
    is not importable (e.g. not installed)."""
    if importlib.util.find_spec('probpose_ext') is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--force`` and ``--no-progress``."""
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='number of processes (default: all CPUs)')
    parser.add_argument(
        '--force', action='store_true', help='replace OUT_DIR if it exists')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')


#: ``SynthMotionParams`` fields set by :func:`add_motion_args`.
MOTION_FIELDS = ('frames', 'reps', 'fps', 'train_subjects', 'test_subjects',
                 'actions', 'camera_jitter')


def add_motion_args(parser: argparse.ArgumentParser) -> None:
    """The ``SynthMotionParams`` options (unset ones keep the defaults):
    ``--frames``, ``--reps``, ``--fps``, ``--train-subjects``,
    ``--test-subjects``, ``--actions``, ``--camera-jitter``."""
    parser.add_argument(
        '--frames', type=int, default=None, help='frames per sequence')
    parser.add_argument(
        '--reps',
        type=int,
        default=None,
        help='sequences per action and subject')
    parser.add_argument('--fps', type=int, default=None, help='frame rate')
    parser.add_argument(
        '--train-subjects', nargs='+', default=None, help='train subjects')
    parser.add_argument(
        '--test-subjects', nargs='+', default=None, help='test subjects')
    parser.add_argument(
        '--actions', nargs='+', default=None, help='actions (default: all)')
    parser.add_argument(
        '--camera-jitter',
        type=float,
        default=None,
        help='scale of the per-subject camera jitter (0: one rig)')


def set_options(args: argparse.Namespace,
                fields: Tuple[str, ...]) -> Dict:
    """The ``fields`` of ``args`` that were given (not None), lists as
    tuples (the params dataclasses are frozen and hashable)."""
    values = {k: getattr(args, k) for k in fields}
    return {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in values.items() if v is not None
    }


def refuse_existing(out_dir: str, force: bool) -> bool:
    """Print an error and return True if ``out_dir`` exists and not
    ``force``."""
    path = Path(out_dir)
    if (path.exists() or path.is_symlink()) and not force:
        print(f'error: {path} already exists; pass --force to replace it',
              file=sys.stderr)
        return True
    return False


def run_generator(generate: Callable[[], Dict]) -> Tuple[int, Optional[Dict]]:
    """Call ``generate`` and map its failures to exit codes.

    Returns:
        tuple: ``(exit code, summary or None)``.
    """
    try:
        return EXIT_OK, generate()
    except FileExistsError as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_EXISTS, None
    except (FileNotFoundError, ValueError, TypeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT, None
    except KeyboardInterrupt:
        print('interrupted; nothing was written', file=sys.stderr)
        return EXIT_INTERRUPTED, None


def generate(args: argparse.Namespace, make: Callable[..., Dict],
             build_params: Callable[[], object]) -> Tuple[int, Optional[Dict]]:
    """The common body of a generator CLI: build the parameters (a
    ``TypeError`` is bad input), run ``make(out_dir, seed=, workers=,
    force=, progress=, params=)`` (:func:`run_generator`) and print its
    summary as JSON.

    Returns:
        tuple: ``(exit code, summary or None)``.
    """
    try:
        params = build_params()
    except TypeError as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT, None
    code, summary = run_generator(lambda: make(
        args.out_dir,
        seed=args.seed,
        workers=args.workers,
        force=args.force,
        progress=not args.no_progress,
        params=params))
    if summary is not None:
        print(json.dumps(summary, indent=2))
    return code, summary

"""Command-line entry points behind ``tools/train.py`` and ``tools/test.py``.

Same CLI as MMPose's tools (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--show-dir``, ``--launcher``, ...), as thin wrappers over
:class:`mmengine.runner.Runner`. On top of MMPose's behaviour they:

* import ``probpose_ext`` before the config is built, so its compatibility
  shims are active even for stock MMPose configs;
* add :class:`~probpose_ext.engine.PlainCheckpointHook` to ``custom_hooks``
  (checkpoints then load with ``weights_only=True``) and
  :class:`~probpose_ext.engine.RngStateHook` (``--resume`` continues the
  random streams), and use :class:`~probpose_ext.engine.SafeCheckpointHook`
  for ``default_hooks.checkpoint`` (a killed run keeps its last checkpoint);
* honour the config key ``trust_checkpoints`` (``True`` or a list of paths)
  of the checkpoint trust model (:mod:`probpose_ext.compat.checkpoint`).
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, ConfigDict, DictAction

import probpose_ext  # noqa: F401  (compat shims + registration)
from probpose_ext.compat.checkpoint import trust_checkpoints


def _base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file path')
    return parser


def _add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and models')
    parser.add_argument(
        '--show-dir', help='directory where visualisations are saved')
    parser.add_argument(
        '--show', action='store_true', help='display predictions in a window')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument(
        '--wait-time', type=float, default=1, help='seconds per shown window')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs (as in MMPose)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def _parse(parser: argparse.ArgumentParser,
           argv: Optional[List[str]]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    if not (args.show or args.show_dir is not None):
        return
    if 'visualization' not in cfg.get('default_hooks', {}):
        raise ValueError(
            '--show/--show-dir need a PoseVisualizationHook: set '
            "default_hooks.visualization=dict(type='PoseVisualizationHook') "
            f'in {args.config}.')
    vis = cfg.default_hooks.visualization
    vis.enable = True
    vis.show = args.show
    if args.show:
        vis.wait_time = args.wait_time
    vis.out_dir = args.show_dir
    vis.interval = args.interval


#: Hooks added to ``custom_hooks`` when a config lacks them.
REQUIRED_HOOKS = ('PlainCheckpointHook', 'RngStateHook')


def prepare_config(cfg: Config) -> Config:
    """Apply this project's runner-level settings to a loaded config.

    Adds :class:`PlainCheckpointHook` (weights-only checkpoints) and
    :class:`RngStateHook` (exact ``--resume``) to ``custom_hooks`` when
    missing, replaces MMEngine's ``CheckpointHook`` in
    ``default_hooks.checkpoint`` by :class:`SafeCheckpointHook` (same
    arguments; never deletes the last checkpoint before the new one is
    written) and applies the ``trust_checkpoints`` key.

    Args:
        cfg (Config): A loaded MMEngine config (modified in place).

    Returns:
        Config: ``cfg``.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    for name in REQUIRED_HOOKS:
        if not any(h.get('type') in (name, f'mmpose.{name}') for h in hooks):
            hooks.append(ConfigDict(type=name))
    cfg.custom_hooks = hooks
    checkpoint = (cfg.get('default_hooks', None) or {}).get('checkpoint')
    if checkpoint is not None and checkpoint.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint.type = 'SafeCheckpointHook'
    trusted = cfg.get('trust_checkpoints', None)
    if trusted:
        trust_checkpoints(
            True if trusted is True else
            [trusted] if isinstance(trusted, str) else list(trusted))
    return cfg


def _load_config(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = _default_work_dir(args.config)
    return cfg


def _finish_config(cfg: Config, args: argparse.Namespace) -> Config:
    _enable_visualization(cfg, args)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if 'preprocess_cfg' in cfg:
        cfg.model.setdefault('data_preprocessor', cfg.get('preprocess_cfg'))
    return prepare_config(cfg)


def train_main(argv: Optional[List[str]] = None):
    """``tools/train.py``: train a model from a config.

    Returns:
        The trained model (``runner.train()``'s return value).
    """
    from mmengine.runner import Runner
    parser = _base_parser('Train a pose model (MMPose CLI)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or from the latest checkpoint in '
        'the work directory when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the actual batch size')
    _add_common_args(parser)
    args = _parse(parser, argv)

    cfg = _load_config(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_type not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp does not support optim wrapper '
                             f'{optim_type!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg = _finish_config(cfg, args)

    runner = Runner.from_cfg(cfg)
    return runner.train()


def test_main(argv: Optional[List[str]] = None) -> dict:
    """``tools/test.py``: evaluate a checkpoint.

    Returns:
        dict: The metrics (also written to ``--out`` as JSON if given).
    """
    from mmengine.runner import Runner
    parser = _base_parser('Test (and evaluate) a pose model (MMPose CLI)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='JSON file to save the metrics to')
    parser.add_argument(
        '--dump', help='pickle file to dump the raw predictions to')
    _add_common_args(parser)
    args = _parse(parser, argv)

    cfg = _load_config(args)
    cfg.load_from = args.checkpoint
    cfg = _finish_config(cfg, args)
    if args.dump:  # after --cfg-options, which may address the evaluator
        dump = ConfigDict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = ([*evaluators, dump] if isinstance(
            evaluators, (list, tuple)) else [evaluators, dump])

    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({k: float(v) if hasattr(v, '__float__') else v
                       for k, v in metrics.items()}, f, indent=2)
    return metrics

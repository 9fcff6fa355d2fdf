"""Command-line entry points behind ``tools/train.py`` and ``tools/test.py``.

Same CLI as MMPose's tools (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--show-dir``, ``--launcher``, ...), as thin wrappers over
:class:`mmengine.runner.Runner`. On top of MMPose's behaviour they:

* import ``probpose_ext`` before the config is built, so its compatibility
  shims are active even for stock MMPose configs;
* honour the config key ``trust_checkpoints`` (``True`` or a list of paths)
  of the checkpoint trust model (:mod:`probpose_ext.compat.checkpoint`);
* when training, warn (:class:`ConfigHookWarning`) if the config lacks one of
  the hooks this project's configs name:
  :class:`~probpose_ext.engine.PlainCheckpointHook` and
  :class:`~probpose_ext.engine.RngStateHook` in ``custom_hooks`` and
  :class:`~probpose_ext.engine.SafeCheckpointHook` in
  ``default_hooks.checkpoint`` (:func:`check_hooks`).

They do not rewrite the config: it builds the same runner under MMPose's
tools and ours.
"""
import argparse
import json
import os
import os.path as osp
import warnings
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


#: What each hook that this project's configs name is for, by where the
#: config names it (:func:`check_hooks` warns when one is missing).
REQUIRED_HOOKS = {
    'PlainCheckpointHook': 'checkpoints that load with weights_only=True',
    'RngStateHook': 'random states in checkpoints, so --resume continues '
                    'the same random streams',
}
#: The ``default_hooks.checkpoint`` type that :func:`check_hooks` warns
#: about (MMEngine's, in any scope).
UNSAFE_CHECKPOINT_HOOK = 'CheckpointHook'


class ConfigHookWarning(UserWarning):
    """A config lacks a hook that this project's configs name."""


def _hook_type(hook) -> str:
    """A hook config's class name, without scope (``type`` may be a class
    or a registry name such as ``'mmpose.RngStateHook'``)."""
    kind = hook.get('type', '')
    return kind.__name__ if isinstance(kind, type) else str(kind).split(
        '.')[-1]


def missing_hooks(cfg: Config) -> List[str]:
    """What ``cfg`` lacks of the hooks that this project's configs name.

    Args:
        cfg (Config): A loaded MMEngine config (not modified).

    Returns:
        list[str]: One message per missing hook, naming the hook, what it
        is for and the config lines that add it; empty when none is
        missing.
    """
    named = {_hook_type(h) for h in cfg.get('custom_hooks', None) or []}
    messages = [
        f"custom_hooks has no {name} ({purpose}); add "
        f"dict(type='{name}') to custom_hooks, e.g. custom_hooks = "
        f"[dict(type='PlainCheckpointHook'), dict(type='RngStateHook')]"
        for name, purpose in REQUIRED_HOOKS.items() if name not in named]
    checkpoint = (cfg.get('default_hooks', None) or {}).get('checkpoint')
    if checkpoint is not None and _hook_type(
            checkpoint) == UNSAFE_CHECKPOINT_HOOK:
        messages.append(
            "default_hooks.checkpoint is MMEngine's CheckpointHook, which "
            'deletes old checkpoints before the new one is written (a run '
            'killed while saving can keep none to resume from); set '
            "default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook',"
            ' ...)) (same arguments)')
    return messages


def check_hooks(cfg: Config, config_path: Optional[str] = None) -> List[str]:
    """Warn, once per missing hook, when ``cfg`` lacks a hook that this
    project's configs name (:func:`missing_hooks`). The config is left as
    it is: it trains as it would under MMPose's ``tools/train.py``.

    Args:
        cfg (Config): A loaded MMEngine config (not modified).
        config_path (str, optional): The config file, named in the
            warnings. Defaults to ``cfg.filename``.

    Returns:
        list[str]: The messages warned (empty when the config names all).
    """
    name = config_path or getattr(cfg, 'filename', None) or 'the config'
    messages = missing_hooks(cfg)
    for message in messages:
        warnings.warn(f'{name}: {message}', ConfigHookWarning, stacklevel=2)
    return messages


def prepare_config(cfg: Config) -> Config:
    """Apply this project's runner-level settings to a loaded config: the
    ``trust_checkpoints`` key of the checkpoint trust model. Hooks are not
    added (:func:`check_hooks` warns about missing ones).

    Args:
        cfg (Config): A loaded MMEngine config (left unchanged).

    Returns:
        Config: ``cfg``.
    """
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


def apply_resume(cfg: Config, resume: Optional[str]) -> Config:
    """Set ``cfg.resume`` / ``cfg.load_from`` for ``--resume [CKPT]``.

    * ``None`` (no flag): the config's ``load_from`` (if any) initialises
      the weights, nothing is resumed.
    * ``'auto'``: resume from the latest checkpoint of ``cfg.work_dir`` if
      there is one; otherwise start as without the flag, *keeping* the
      config's ``load_from``. (MMPose's ``tools/train.py`` sets
      ``load_from = None`` for ``--resume`` alone, so a fine-tuning config
      whose first run is started with ``--resume`` silently trains from
      its backbone's initialisation instead of ``load_from``.)
    * a path: resume from that checkpoint.

    Args:
        cfg (Config): The training config (modified in place).
        resume (str, optional): The ``--resume`` value.

    Returns:
        Config: ``cfg``.
    """
    from mmengine.runner import find_latest_checkpoint
    if resume == 'auto':
        latest = find_latest_checkpoint(cfg.work_dir) if osp.isdir(
            cfg.work_dir) else None
        if latest is not None:
            cfg.resume, cfg.load_from = True, None
        else:
            cfg.resume = False
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    return cfg


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
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg = _finish_config(cfg, args)
    apply_resume(cfg, args.resume)
    check_hooks(cfg, args.config)

    runner = Runner.from_cfg(cfg)
    return runner.train()


def test_main(argv: Optional[List[str]] = None) -> dict:
    """``tools/test.py``: evaluate a checkpoint.

    Returns:
        dict: The metrics (also written to ``--out`` as JSON if given).
    """
    from mmengine.runner import Runner
    parser = _base_parser('Test (and evaluate) a pose model (MMPose CLI)')
    parser.description += '; CONFIG may be a zoo model name'
    parser.add_argument(
        'checkpoint', help='checkpoint file, or an .onnx file exported by '
        'tools/deployment/pytorch2onnx.py (run in ONNX Runtime)')
    parser.add_argument('--out', help='JSON file to save the metrics to')
    parser.add_argument(
        '--dump', help='pickle file to dump the raw predictions to')
    _add_common_args(parser)
    args = _parse(parser, argv)

    from ..deploy import is_onnx_file, onnx_model_config
    from .zoo import is_zoo_name, resolve
    if is_zoo_name(args.config):  # a zoo name: its config
        args.config = resolve(args.config)[0]
    cfg = _load_config(args)
    cfg.load_from = args.checkpoint
    cfg = _finish_config(cfg, args)
    if is_onnx_file(args.checkpoint):  # ONNX Runtime network, our decoding
        onnx_model_config(cfg, args.checkpoint, args.config)
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

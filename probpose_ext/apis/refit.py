"""Refit the presence and visibility branches of a trained ProbPose model.

ProbPose's presence and visibility branches read detached features
(``detach_branches=True``, the paper's setup): nothing else in the network
depends on them. They can therefore be trained, or trained again, on the
frozen network, and with their own data augmentation: much more crop
augmentation than the maps should see (cutting away parts of the person
costs the maps in-image precision, but it is where the branches learn what
lies outside the window), for a few epochs that cost about a third of a
training epoch each (no backward pass through the network).

:func:`branch_refit_config` derives that training from a model's config:
``load_from`` the trained checkpoint, :class:`~probpose_ext.engine.
TrainOnlyHook` on the branches, a short cosine schedule, and the config's
``RandomCropOut`` set to the refit's probability and keep ratios. The maps,
and hence AP, do not change (the network is frozen, BatchNorm included).
``tools/refit_branches.py`` is its command line.
"""
import copy
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

#: The submodules a refit trains.
REFIT_BRANCHES: Tuple[str, ...] = ('head.presence_branch',
                                   'head.visibility_branch')

#: Heads whose branches read detached features.
REFIT_HEADS = ('ProbMapHead', 'ProbMapDHHead')


def branch_refit_config(config: Config,
                        checkpoint: str,
                        epochs: int = 6,
                        lr: float = 1e-3,
                        crop_prob: float = 0.8,
                        keep_ratio: Sequence[float] = (0.4, 0.9),
                        warmup_iters: int = 50) -> Config:
    """The config of a branch refit of a trained model.

    Args:
        config (Config): The model's (training) config; not modified.
        checkpoint (str): The trained weights (``load_from``); the branches'
            weights are loaded too when their shapes match the config's
            (a model trained with other branches starts them afresh).
        epochs (int): Epochs of the refit (one validation at the end).
            Defaults to 6.
        lr (float): Peak learning rate (linear warm-up, then cosine to
            1e-5). Defaults to 1e-3.
        crop_prob (float): ``prob`` of the pipeline's ``RandomCropOut``.
            Defaults to 0.8.
        keep_ratio (Sequence[float]): Its ``keep_ratio`` range. Defaults
            to (0.4, 0.9).
        warmup_iters (int): Linear warm-up iterations. Defaults to 50.

    Returns:
        Config: The refit's config.

    Raises:
        ValueError: If the head is not a ProbPose head with detached
            branches, the train pipeline has no ``RandomCropOut``, or an
            argument is out of range.
    """
    if epochs < 1 or lr <= 0 or not 0 <= crop_prob <= 1:
        raise ValueError('need epochs >= 1, lr > 0 and 0 <= crop_prob <= 1, '
                         f'got {epochs}, {lr}, {crop_prob}')
    keep_ratio = tuple(float(r) for r in keep_ratio)
    if len(keep_ratio) != 2 or not 0 < keep_ratio[0] <= keep_ratio[1] <= 1:
        raise ValueError('keep_ratio must be (low, high) with 0 < low <= '
                         f'high <= 1, got {keep_ratio}')
    cfg = copy.deepcopy(config)
    head = cfg.model.get('head', {})
    if head.get('type') not in REFIT_HEADS:
        raise ValueError('a branch refit needs a '
                         f"{' or '.join(REFIT_HEADS)}, got head type "
                         f"{head.get('type')!r}")
    if not head.get('detach_branches', True):
        raise ValueError('a branch refit needs detach_branches=True: with '
                         'it off, the network was trained through the '
                         'branches')
    crops = [t for t in cfg.train_dataloader.dataset.pipeline
             if t.get('type') == 'RandomCropOut']
    if not crops:
        raise ValueError('the train pipeline has no RandomCropOut, which '
                         'makes the keypoints outside the window that the '
                         'branches learn from')
    for t in crops:
        t.prob, t.keep_ratio = float(crop_prob), keep_ratio

    cfg.load_from = osp.abspath(checkpoint)
    cfg.resume = False
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None  # overwritten by load_from
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs,
                         val_interval=epochs)
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [
        dict(type='LinearLR', begin=0, end=warmup_iters, start_factor=0.01,
             by_epoch=False),
        dict(type='CosineAnnealingLR', T_max=epochs, eta_min=1e-5, begin=0,
             end=epochs, by_epoch=True, convert_to_iter_based=True),
    ]
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h.get('type') != 'TrainOnlyHook']
    cfg.custom_hooks = hooks + [
        dict(type='TrainOnlyHook', trainable=list(REFIT_BRANCHES))]
    return cfg


def write_branch_refit_config(config: str, checkpoint: str, path: str,
                              cfg_options: Optional[dict] = None,
                              **kwargs) -> str:
    """Write the :func:`branch_refit_config` of the config file ``config``
    (with ``cfg_options`` merged first) to ``path``; returns ``path``."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    refit = branch_refit_config(cfg, checkpoint, **kwargs)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    refit.dump(path)
    return path


def refit_main(argv: Optional[Sequence[str]] = None) -> str:
    """``tools/refit_branches.py``: write the refit config into the work
    directory and train it.

    Returns:
        str: The refit's best checkpoint.
    """
    import argparse

    from mmengine.config import DictAction

    from .cli import train_main
    from .zoo import best_checkpoint, last_checkpoint, resolve_model
    parser = argparse.ArgumentParser(
        description='Refit the presence and visibility branches of a '
        'trained ProbPose model on its frozen network')
    parser.add_argument('config', help='config file, or a zoo name')
    parser.add_argument('checkpoint', nargs='?',
                        help="trained weights (with a zoo name: the zoo's "
                        'by default)')
    parser.add_argument('--work-dir', required=True,
                        help='directory for the refit config, logs and '
                        'checkpoints')
    parser.add_argument('--epochs', type=int, default=6)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--crop-prob', type=float, default=0.8,
                        help='RandomCropOut probability')
    parser.add_argument('--keep-ratio', type=float, nargs=2,
                        default=(0.4, 0.9), metavar=('LOW', 'HIGH'),
                        help='RandomCropOut keep-ratio range')
    parser.add_argument('--resume', action='store_true',
                        help='continue an interrupted refit in --work-dir '
                        '(starts from CHECKPOINT when there is none)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='overrides of CONFIG, merged '
                        'before the refit settings')
    args = parser.parse_args(argv)
    try:
        config, checkpoint = resolve_model(args.config, args.checkpoint)
    except ValueError as e:
        parser.error(str(e))
    path = write_branch_refit_config(
        config, checkpoint, osp.join(args.work_dir, 'refit_config.py'),
        args.cfg_options, epochs=args.epochs, lr=args.lr,
        crop_prob=args.crop_prob, keep_ratio=args.keep_ratio)
    # MMPose's --resume without a path drops load_from; only resume when
    # the refit has a checkpoint of its own to resume from
    resume = args.resume and last_checkpoint(args.work_dir) is not None
    train_main([path, '--work-dir', args.work_dir] +
               (['--resume'] if resume else []))
    return best_checkpoint(args.work_dir)

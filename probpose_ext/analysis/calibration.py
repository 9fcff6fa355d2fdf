"""Calibration of ProbPose probability maps and presence on a data split.

A ProbPose head (:class:`~probpose_ext.models.ProbMapHead`) predicts, per
instance and keypoint, map logits ``z`` and the probability map
``P = sparsemax(z / T)`` over the ``H*W`` heatmap pixels. The maps are
calibrated when, for ground-truth (GT) keypoints, the rank mass (the
probability of the pixels more probable than the GT pixel, see
:mod:`probpose_ext.ops.calibration`) is uniform on ``[0, 1]``; then the
level-``p`` credible regions contain the GT a fraction ``p`` of the time
(up to the overshoot of discrete regions, see
:mod:`probpose_ext.ops.reliability`). This module

1. collects, for a model built from an MMPose config and a checkpoint, over
   a split given by its annotation file: the map logits, the GT keypoints
   in heatmap pixels with their weights, and the presence probabilities
   with their labels (:func:`collect_calibration_data`);
2. fits the test temperature ``T`` on a held-out split
   (:func:`fit_calibration`, :func:`probpose_ext.ops.fit_temperature`) and
   reports, before and after, the calibration curve and its
   miscalibration (KS, MACE), the credible-region coverage at several
   levels and the presence reliability diagram with its ECE
   (:func:`evaluate_calibration`);
3. plots those (:func:`plot_calibration_curves`, :func:`plot_coverage`,
   :func:`plot_reliability`), writes a config with the fitted temperature
   (:func:`write_calibrated_config`) and does all of it into a work
   directory (:func:`run_calibration`, behind
   ``tools/analysis_tools/calibrate.py``).

**No flip test.** The maps are collected without flip test: the
flip-averaged map ``(sparsemax(z / T) + flip(sparsemax(z' / T))) / 2`` is
not ``sparsemax`` of anything divided by ``T``, so the temperature is
fitted, and every number reported, on the un-flipped maps. A config with
``flip_test=True`` then applies the fitted ``T`` to both maps before
averaging; averaging two calibrated maps gives a slightly flatter map.

Note:
    - instance number: N (one per top-down data sample)
    - keypoint number: K
    - heatmap size: [W, H]
    - number of credible levels: L; of reliability bins: B
"""
import copy
import math
import os
import os.path as osp
import shutil
from dataclasses import dataclass, fields
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..ops.calibration import (calibration_curve, fit_temperature,
                               gt_pixel_index, miscalibration, rank_mass)
from ..ops.reliability import (DEFAULT_LEVELS, binary_calibration_errors,
                               credible_coverage, reliability_diagram)
from ..ops.simplex import sparsemax_maps
from ..utils.jsonable import to_jsonable

__all__ = [
    'CalibrationData', 'collect_calibration_data', 'evaluate_calibration',
    'presence_report', 'fit_calibration', 'calibration_markdown',
    'plot_calibration_curves', 'plot_coverage', 'plot_reliability',
    'write_calibrated_config', 'run_calibration', 'DEFAULT_LEVELS'
]

#: Objectives :func:`fit_calibration` can minimise (see
#: ``ops.fit_temperature``): the MACE or KS distance of the rank masses from
#: uniform, or the coverage error ``|c(level) - level|`` of one level.
METRICS = ('mace', 'ks', 'coverage')

#: File names written by :func:`run_calibration` (``prefix`` prepended).
OUTPUT_FILES = dict(json='calibration.json', md='calibration.md',
                    curve='calibration_curve.png',
                    coverage='credible_coverage.png',
                    reliability='presence_reliability.png',
                    data='calibration_data.npz')

PathLike = Union[str, os.PathLike]


# --------------------------------------------------------------------------
# Collected arrays
# --------------------------------------------------------------------------
@dataclass
class CalibrationData:
    """What calibration needs from a model on a split (CPU tensors).

    Attributes:
        logits (Tensor): Map logits before the temperature, float32, shape
            (N, K, H, W).
        gt_xy (Tensor): GT keypoints in heatmap pixels (the codec's
            ``keypoint_labels``), float32, shape (N, K, 2).
        map_valid (Tensor): GT keypoints the maps are judged on: annotated
            and inside the activation window (the codec's
            ``keypoint_weights > 0``), bool, shape (N, K).
        presence (Tensor): Presence probabilities (sigmoid of the presence
            logits), float32, shape (N, K).
        in_window (Tensor): Presence labels, 1 when the GT keypoint lies
            inside the activation window, float32, shape (N, K).
        presence_valid (Tensor): Annotated keypoints (the codec's
            ``presence_weights > 0``), bool, shape (N, K).
        temperature (float): The model's test temperature
            (``test_cfg.temperature``, else the head's training one).
    """

    logits: Tensor
    gt_xy: Tensor
    map_valid: Tensor
    presence: Tensor
    in_window: Tensor
    presence_valid: Tensor
    temperature: float

    def __post_init__(self) -> None:
        if self.logits.dim() != 4:
            raise ValueError('logits must have shape (N, K, H, W), got '
                             f'{tuple(self.logits.shape)}')
        num, num_kpt = self.logits.shape[:2]
        if tuple(self.gt_xy.shape) != (num, num_kpt, 2):
            raise ValueError(f'gt_xy must have shape {(num, num_kpt, 2)}, '
                             f'got {tuple(self.gt_xy.shape)}')
        for name in ('map_valid', 'presence', 'in_window',
                     'presence_valid'):
            shape = tuple(getattr(self, name).shape)
            if shape != (num, num_kpt):
                raise ValueError(f'{name} must have shape {(num, num_kpt)}, '
                                 f'got {shape}')
        if not self.temperature > 0:
            raise ValueError('temperature must be > 0, got '
                             f'{self.temperature}')

    def save(self, path: PathLike) -> None:
        """Write the arrays to a ``.npz`` file (see :meth:`load`)."""
        arrays = {f.name: np.asarray(getattr(self, f.name).numpy())
                  for f in fields(self) if f.name != 'temperature'}
        np.savez_compressed(path, temperature=np.float64(self.temperature),
                            **arrays)

    @classmethod
    def load(cls, path: PathLike) -> 'CalibrationData':
        """Read arrays written by :meth:`save`."""
        with np.load(path) as npz:
            kwargs = {f.name: torch.from_numpy(npz[f.name])
                      for f in fields(cls) if f.name != 'temperature'}
            return cls(temperature=float(npz['temperature']), **kwargs)


def _resolve_path(path: PathLike, data_root: Optional[str], what: str) -> str:
    """Absolute path of ``path``: as given (from the working directory) if
    it exists, else under the dataset's ``data_root``."""
    path = os.fspath(path)
    if osp.exists(path):
        return osp.abspath(path)
    if data_root and not osp.isabs(path):
        joined = osp.join(data_root, path)
        if osp.exists(joined):
            return osp.abspath(joined)
        raise FileNotFoundError(f'{what} {path!r} not found (neither from '
                                f'the working directory nor as {joined!r})')
    raise FileNotFoundError(f'{what} {path!r} not found')


def _calibration_pipeline(pipeline: Sequence, encoder: dict) -> List:
    """The test pipeline with ``GenerateTarget(encoder)`` before
    ``PackPoseInputs`` (replacing any ``GenerateTarget`` already there)."""
    steps = [dict(t) for t in pipeline
             if dict(t).get('type') != 'GenerateTarget']
    packs = [i for i, t in enumerate(steps)
             if t.get('type') in ('PackPoseInputs', 'mmpose.PackPoseInputs')]
    if not packs:
        raise ValueError('the test pipeline has no PackPoseInputs step: '
                         'calibration inserts GenerateTarget before it')
    steps.insert(packs[0], dict(type='GenerateTarget', encoder=encoder))
    return steps


def _dataloader_cfg(cfg, split: str, ann_file: Optional[PathLike],
                    data_prefix: Optional[PathLike],
                    batch_size: Optional[int],
                    num_workers: Optional[int]) -> dict:
    """The ``{split}_dataloader`` config, pointed at ``ann_file`` /
    ``data_prefix``, on GT boxes, with targets encoded by the head's
    codec."""
    from mmengine.config import ConfigDict
    key = f'{split}_dataloader'
    if cfg.get(key, None) is None:
        raise ValueError(f'the config has no {key}')
    loader = ConfigDict(cfg[key].to_dict() if hasattr(cfg[key], 'to_dict')
                        else dict(cfg[key]))
    dataset = loader.dataset
    if 'pipeline' not in dataset:
        raise ValueError(f'{key}.dataset has no pipeline (dataset wrappers '
                         'are not supported): point the config at a plain '
                         'COCO-style dataset')
    data_root = dataset.get('data_root', '') or ''
    if ann_file is not None:
        dataset.ann_file = _resolve_path(ann_file, data_root, 'ann_file')
    else:
        dataset.ann_file = _resolve_path(dataset.get('ann_file', ''),
                                         data_root, f'{key}.dataset.ann_file')
    if data_prefix is not None:
        dataset.data_prefix = dict(
            img=_resolve_path(data_prefix, data_root, 'data_prefix') + os.sep)
    # calibration compares maps with the GT: GT boxes, not detections
    dataset.bbox_file = None
    dataset.pipeline = _calibration_pipeline(dataset.pipeline,
                                             cfg.model.head.decoder)
    if batch_size is not None:
        loader.batch_size = int(batch_size)
    if num_workers is not None:
        loader.num_workers = int(num_workers)
    loader.persistent_workers = False  # one pass
    return loader.to_dict()


def _gt_labels(data_samples: Sequence, key: str) -> Tensor:
    try:
        return torch.cat([d.gt_instance_labels[key] for d in data_samples])
    except (AttributeError, KeyError):
        raise KeyError(f'gt_instance_labels.{key} missing: the head\'s '
                       "decoder must be the 'ProbMap' codec") from None


def _check_head(head_cfg: Mapping, base: type) -> None:
    """Raise unless the head config builds a ``base`` (a ProbMapHead) with
    a decoder, before any weight is loaded."""
    from mmpose.registry import MODELS
    head_type = head_cfg.get('type', None)
    head_cls = MODELS.get(head_type) if isinstance(head_type, str) else \
        head_type
    if not (isinstance(head_cls, type) and issubclass(head_cls, base)):
        raise ValueError(
            'calibration needs a ProbMapHead (sparsemax maps from logits); '
            f"the config's model.head is {head_type!r}")
    if head_cfg.get('decoder', None) is None:
        raise ValueError("calibration needs the head's 'ProbMap' decoder "
                         '(model.head.decoder) to encode the GT; it is None')


def _keypoint_logits(logits: Tensor, data_samples: Sequence) -> Tensor:
    """The (B, K, H, W) map logits the GT labels refer to: all channels, or
    the expert maps (channels ``[0, K)``) of a double-map head's 2K."""
    num_kpt = data_samples[0].gt_instance_labels['keypoint_labels'].shape[1]
    if logits.shape[1] == 2 * num_kpt:
        return logits[:, :num_kpt]
    if logits.shape[1] != num_kpt:
        raise ValueError(f'the head returned {logits.shape[1]} map logits '
                         f'for {num_kpt} keypoints')
    return logits


def collect_calibration_data(config,
                             checkpoint: PathLike,
                             ann_file: Optional[PathLike] = None,
                             data_prefix: Optional[PathLike] = None,
                             split: str = 'test',
                             device: str = 'cpu',
                             cfg_options: Optional[dict] = None,
                             batch_size: Optional[int] = None,
                             num_workers: Optional[int] = None,
                             progress: bool = True) -> CalibrationData:
    """Run a ProbPose model over a split and keep what calibration needs.

    The model is built from ``config`` and ``checkpoint`` (loaded through
    the project's checkpoint trust model: weights-only unless trusted, see
    :mod:`probpose_ext.compat.checkpoint`; the config key
    ``trust_checkpoints`` is honoured). The data come from the config's
    ``{split}_dataloader`` with ``ann_file`` / ``data_prefix`` overridden,
    GT boxes (any ``bbox_file`` is dropped) and
    ``GenerateTarget(encoder=<the head's decoder>)`` inserted before
    ``PackPoseInputs``. Each batch goes through the data preprocessor, the
    backbone (and neck) and :meth:`ProbMapHead.forward`, without flip test.
    For a double-map head (``ProbMapDHHead``, 2K logit maps) the expert
    maps (channels ``[0, K)``, the ones the GT labels refer to) are kept.

    Args:
        config (str | Config): MMPose config (path or loaded).
        checkpoint (str | PathLike): Checkpoint of the model.
        ann_file (str | PathLike, optional): COCO keypoint json of the
            split, from the working directory or under the dataset's
            ``data_root``. Default: the config's.
        data_prefix (str | PathLike, optional): Image directory of the
            split (same lookup). Default: the config's ``data_prefix``.
        split (str): ``'test'`` or ``'val'``: which dataloader config to
            use. Default: ``'test'``.
        device (str): Device of the model. Default: ``'cpu'``.
        cfg_options (dict, optional): Config overrides (as ``--cfg-options``).
        batch_size (int, optional): Override of the dataloader batch size.
        num_workers (int, optional): Override of the dataloader workers.
        progress (bool): Show a progress bar over batches. Default: True.

    Returns:
        CalibrationData: The arrays, on the CPU.

    Raises:
        FileNotFoundError: The annotation file or image directory is
            missing.
        ValueError: The model's head is not a ProbMapHead, or the config
            lacks what is needed.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpose.apis import init_model
    from tqdm import tqdm

    from ..apis.cli import prepare_config
    from ..models.heads.probmap_head import ProbMapHead

    if split not in ('test', 'val'):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        if not osp.isfile(os.fspath(config)):
            raise FileNotFoundError(f'config {os.fspath(config)!r} not '
                                    'found')
        cfg = Config.fromfile(os.fspath(config))
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    prepare_config(cfg)  # the trust_checkpoints key
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    _check_head(cfg.model.get('head', None) or {}, ProbMapHead)
    if not osp.isfile(os.fspath(checkpoint)):
        raise FileNotFoundError(f'checkpoint {os.fspath(checkpoint)!r} not '
                                'found')
    loader_cfg = _dataloader_cfg(cfg, split, ann_file, data_prefix,
                                 batch_size, num_workers)
    model = init_model(cfg, os.fspath(checkpoint), device=device)
    if not isinstance(model.head, ProbMapHead):
        raise ValueError(
            'calibration needs a ProbMapHead (sparsemax maps from logits); '
            f'the model has a {type(model.head).__name__}')
    test_cfg = cfg.model.get('test_cfg', None) or {}
    temperature = float(test_cfg.get('temperature', None)
                        or model.head.temperature)
    loader = Runner.build_dataloader(loader_cfg)

    parts: Dict[str, List[Tensor]] = {
        f.name: [] for f in fields(CalibrationData) if f.name != 'temperature'
    }
    with torch.no_grad():
        for batch in tqdm(loader, total=len(loader), disable=not progress,
                          desc='calibration data', unit='batch'):
            data = model.data_preprocessor(batch, False)
            out = model.head.forward(model.extract_feat(data['inputs']))
            if not hasattr(out, 'logits'):
                raise ValueError(f'{type(model.head).__name__}.forward '
                                 "returned no 'logits' field")
            samples = data['data_samples']
            parts['logits'].append(
                _keypoint_logits(out.logits, samples).float().cpu())
            parts['presence'].append(
                torch.sigmoid(out.presence_logits).float().cpu())
            parts['gt_xy'].append(
                _gt_labels(samples, 'keypoint_labels').float().cpu())
            parts['map_valid'].append(
                _gt_labels(samples, 'keypoint_weights').cpu() > 0)
            parts['in_window'].append(
                _gt_labels(samples, 'keypoints_in_window').float().cpu())
            parts['presence_valid'].append(
                _gt_labels(samples, 'presence_weights').cpu() > 0)
    if not parts['logits']:
        raise ValueError(f"the split {loader_cfg['dataset']['ann_file']} "
                         'has no instances')
    return CalibrationData(temperature=temperature,
                           **{k: torch.cat(v) for k, v in parts.items()})


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
def _floats(values: Tensor) -> List[Optional[float]]:
    """A tensor as a JSON-friendly list (NaN -> None)."""
    return [None if math.isnan(v) else float(v)
            for v in values.detach().cpu().to(torch.float64).tolist()]


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def evaluate_calibration(data: CalibrationData,
                         temperature: Optional[float] = None,
                         levels: Sequence[float] = DEFAULT_LEVELS,
                         seed: int = 0,
                         curve_bins: int = 100,
                         device: Optional[str] = None,
                         chunk_size: Optional[int] = None) -> Dict:
    """Calibration of the maps ``sparsemax(logits / T)`` on collected data.

    Args:
        data (CalibrationData): Collected arrays.
        temperature (float, optional): ``T``. Default: ``data.temperature``.
        levels (Sequence[float]): Credible levels (L,). Default:
            ``(0.5, 0.8, 0.9, 0.95)``.
        seed (int): Seed of the tie shares of the rank masses (drawn as in
            :func:`probpose_ext.ops.rank_mass`; the same seed gives the same
            shares as :func:`fit_calibration`). Default: 0.
        curve_bins (int): Number of steps of the reported calibration curve.
            Default: 100.
        device (str, optional): Where to compute. Default: the data's.
        chunk_size (int, optional): Maps per chunk for the credible
            regions.

    Returns:
        dict: ``temperature``; ``miscalibration`` (``ks``, ``mace``,
        ``count``); ``outside_support``, the fraction of those GT keypoints
        whose pixel has probability 0 (rank mass 1: no credible region
        below level 1 can contain them); ``curve`` (``t`` and ``cdf``, lists of
        ``curve_bins + 1`` floats: the empirical CDF of the rank masses,
        ideally ``t``); ``coverage`` (``levels``, ``coverage``, ``mass``,
        ``area`` lists of L floats, area in heatmap pixels^2, and
        ``count``).
    """
    temperature = data.temperature if temperature is None else float(
        temperature)
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    logits = data.logits if device is None else data.logits.to(device)
    gt_xy = data.gt_xy.to(logits.device)
    valid = data.map_valid.to(logits.device)
    prob = sparsemax_maps(logits, temperature)
    masses, ok = rank_mass(prob, gt_xy, valid,
                           generator=_generator(seed, logits.device))
    edges, cdf = calibration_curve(masses, curve_bins, ok)
    coverage = credible_coverage(prob, gt_xy, valid, levels, chunk_size)
    index, _ = gt_pixel_index(gt_xy, tuple(prob.shape[-2:]))
    p_gt = prob.flatten(-2).gather(-1, index[..., None])[..., 0]
    used = int(ok.sum())
    outside = float(((p_gt == 0) & ok).sum()) / used if used else math.nan
    return dict(
        temperature=temperature,
        miscalibration=miscalibration(masses, ok),
        outside_support=outside,
        curve=dict(t=_floats(edges), cdf=_floats(cdf)),
        coverage=dict(levels=_floats(coverage['levels']),
                      coverage=_floats(coverage['coverage']),
                      mass=_floats(coverage['mass']),
                      area=_floats(coverage['area']),
                      count=coverage['count']))


def presence_report(data: CalibrationData, bins: int = 10) -> Dict:
    """Reliability of the presence probability against in/out labels.

    Args:
        data (CalibrationData): Collected arrays; annotated keypoints count.
        bins (int): Number of equal-width bins. Default: 10.

    Returns:
        dict: ``ece``, ``mce``, ``brier``, ``count`` (see
        :func:`probpose_ext.ops.binary_calibration_errors`), ``positive``
        (the fraction of keypoints inside the window) and ``diagram``
        (``edges``, ``count``, ``confidence``, ``frequency`` lists; None for
        empty bins).
    """
    args = (data.presence, data.in_window, data.presence_valid, bins)
    errors = binary_calibration_errors(*args)
    diagram = reliability_diagram(*args)
    used = data.presence_valid
    positive = (float(data.in_window[used].float().mean())
                if bool(used.any()) else math.nan)
    return dict(
        errors, positive=positive,
        diagram=dict(edges=_floats(diagram['edges']),
                     count=[int(c) for c in diagram['count']],
                     confidence=_floats(diagram['confidence']),
                     frequency=_floats(diagram['frequency'])))


def fit_calibration(data: CalibrationData,
                    metric: str = 'mace',
                    level: float = 0.9,
                    levels: Sequence[float] = DEFAULT_LEVELS,
                    bins: int = 10,
                    seed: int = 0,
                    bounds: Sequence[float] = (0.05, 20.0),
                    num_grid: int = 17,
                    tol: float = 0.01,
                    device: Optional[str] = None,
                    chunk_size: Optional[int] = None) -> Dict:
    """Fit the sparsemax test temperature and report before / after.

    :func:`probpose_ext.ops.fit_temperature` minimises ``metric`` over a
    log-spaced grid on ``bounds`` plus the current temperature
    ``data.temperature`` (so the result is never worse than it on this
    data), then a golden-section search.

    Args:
        data (CalibrationData): Collected arrays of the held-out split.
        metric (str): ``'mace'`` (mean absolute CDF error), ``'ks'``, or
            ``'coverage'`` (the ``level`` credible regions cover ``level``
            of the keypoints). Default: ``'mace'``.
        level (float): Credible level of the ``'coverage'`` objective.
            Default: 0.9.
        levels (Sequence[float]): Credible levels reported. Default:
            ``(0.5, 0.8, 0.9, 0.95)``.
        bins (int): Presence reliability bins. Default: 10.
        seed (int): Seed of the tie shares (fit and reports share them).
            Default: 0.
        bounds (Sequence[float]): ``(T_min, T_max)`` of the grid. Default:
            ``(0.05, 20)``.
        num_grid (int): Grid size. Default: 17 (steps of about 1.46x).
        tol (float): Final bracket width of the search in ``log T``.
            Default: 0.01 (``T`` to about 1%).
        device (str, optional): Where to compute. Default: the data's.
        chunk_size (int, optional): Maps per chunk (memory bound).

    Returns:
        dict: ``temperature`` (fitted), ``initial_temperature``, ``metric``,
        ``fit`` (``grid``, ``scores``, ``evaluations``), ``before`` and
        ``after`` (:func:`evaluate_calibration` at the initial and fitted
        temperatures) and ``presence`` (:func:`presence_report`).
    """
    if metric not in METRICS:
        raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
    if len(bounds) != 2 or not 0 < bounds[0] < bounds[1] or num_grid < 3:
        raise ValueError('need 0 < bounds[0] < bounds[1] and num_grid >= 3, '
                         f'got bounds={tuple(bounds)}, num_grid={num_grid}')
    initial = float(data.temperature)
    grid = torch.logspace(math.log10(bounds[0]), math.log10(bounds[1]),
                          num_grid, dtype=torch.float64)
    grid = torch.unique(torch.cat([grid, grid.new_tensor([initial])]))
    logits = data.logits if device is None else data.logits.to(device)
    fit = fit_temperature(
        logits, data.gt_xy.to(logits.device),
        data.map_valid.to(logits.device), temperatures=grid, metric=metric,
        level=level, initial_temperature=initial, tol=tol,
        generator=_generator(seed, logits.device), chunk_size=chunk_size)
    temperature = float(fit['temperature'])
    common = dict(levels=levels, seed=seed, device=device,
                  chunk_size=chunk_size)
    return dict(
        temperature=temperature, initial_temperature=initial, metric=metric,
        level=float(level),
        fit=dict(grid=_floats(fit['grid']), scores=_floats(fit['grid_scores']),
                 evaluations=int(fit['evaluations']), before=fit['before'],
                 after=fit['after']),
        before=evaluate_calibration(data, initial, **common),
        after=evaluate_calibration(data, temperature, **common),
        presence=presence_report(data, bins))


# --------------------------------------------------------------------------
# Reports and plots
# --------------------------------------------------------------------------
def _fmt(value: Optional[float], digits: int = 3) -> str:
    return '-' if value is None or (isinstance(value, float) and
                                    math.isnan(value)) else \
        f'{value:.{digits}f}'


def calibration_markdown(reports: Mapping[str, Mapping],
                         presence: Optional[Mapping] = None,
                         title: str = 'Calibration') -> str:
    """Markdown tables of calibration reports.

    Args:
        reports (Mapping[str, dict]): Name (e.g. ``'before'``) ->
            :func:`evaluate_calibration` output.
        presence (dict, optional): :func:`presence_report` output.
        title (str): Heading. Default: ``'Calibration'``.

    Returns:
        str: Markdown text.
    """
    lines = [f'## {title}', '',
             'Probability maps (rank mass of the GT pixel; calibrated: '
             'uniform, KS = MACE = 0):', '',
             '| maps | temperature | keypoints | KS | MACE | GT outside the '
             'support |',
             '|---|---|---|---|---|---|']
    for name, rep in reports.items():
        mis = rep['miscalibration']
        lines.append(f"| {name} | {rep['temperature']:.4g} | {mis['count']} "
                     f"| {_fmt(mis['ks'])} | {_fmt(mis['mace'])} | "
                     f"{_fmt(100 * rep['outside_support'], 1)}% |")
    first = next(iter(reports.values()))
    levels = first['coverage']['levels']
    lines += ['', 'Credible regions: coverage of the GT (held mass, mean '
              'area in heatmap px^2); calibrated: coverage = held mass '
              '>= level:', '',
              '| maps | ' + ' | '.join(f'p = {p:g}' for p in levels) + ' |',
              '|---|' + '---|' * len(levels)]
    for name, rep in reports.items():
        cov = rep['coverage']
        cells = [f'{_fmt(c)} ({_fmt(m)}, {_fmt(a, 1)})' for c, m, a in zip(
            cov['coverage'], cov['mass'], cov['area'])]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    if presence is not None:
        diagram = presence['diagram']
        lines += ['', f"Presence probability ({presence['count']} annotated "
                  f"keypoints, {_fmt(100 * presence['positive'], 1)}% in "
                  f"the window): ECE {_fmt(presence['ece'])}, MCE "
                  f"{_fmt(presence['mce'])}, Brier {_fmt(presence['brier'])}",
                  '', '| bin | count | mean presence | fraction in |',
                  '|---|---|---|---|']
        edges = diagram['edges']
        for i, count in enumerate(diagram['count']):
            lines.append(f'| [{edges[i]:.2f}, {edges[i + 1]:.2f}) | {count} '
                         f"| {_fmt(diagram['confidence'][i])} | "
                         f"{_fmt(diagram['frequency'][i])} |")
    return '\n'.join(lines) + '\n'


def _figure(ncols: int, width: float = 5.2, height: float = 4.4):
    """A Matplotlib figure on the Agg canvas (global backend untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _save(fig, path: PathLike) -> None:
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(os.fspath(path))), exist_ok=True)
    fig.savefig(os.fspath(path))


def _label(name: str, rep: Mapping) -> str:
    mis = rep['miscalibration']
    return (f"{name} (T={rep['temperature']:.3g}): KS {_fmt(mis['ks'])}, "
            f"MACE {_fmt(mis['mace'])}")


def plot_calibration_curves(reports: Mapping[str, Mapping],
                            path: PathLike,
                            title: str = '') -> None:
    """Calibration curves (CDF of the GT rank mass) vs the diagonal.

    Left: ``F(t)``, the fraction of GT keypoints inside the
    highest-probability region of mass ``t``; right: ``F(t) - t`` (below
    0: too sharp maps, above: too flat).

    Args:
        reports (Mapping[str, dict]): Name -> :func:`evaluate_calibration`.
        path (str | PathLike): Output image.
        title (str): Figure title prefix.
    """
    fig, (ax, dev) = _figure(2)
    ax.plot([0, 1], [0, 1], color='0.5', ls='--', lw=1, label='calibrated')
    dev.axhline(0, color='0.5', ls='--', lw=1)
    for i, (name, rep) in enumerate(reports.items()):
        t = np.asarray(rep['curve']['t'], dtype=np.float64)
        cdf = np.asarray([math.nan if v is None else v
                          for v in rep['curve']['cdf']], dtype=np.float64)
        ax.plot(t, cdf, color=f'C{i}', lw=1.8, label=_label(name, rep))
        dev.plot(t, cdf - t, color=f'C{i}', lw=1.8)
    ax.set_xlabel('probability mass t of the most probable pixels')
    ax.set_ylabel('fraction of GT keypoints inside')
    ax.set_title(f'{title}calibration curve'.strip())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc='lower right')
    dev.set_xlabel('t')
    dev.set_ylabel('F(t) - t  (< 0: too sharp, > 0: too flat)')
    dev.set_title('deviation from the diagonal')
    dev.set_xlim(0, 1)
    for a in (ax, dev):
        a.grid(alpha=0.3)
    _save(fig, path)


def plot_coverage(reports: Mapping[str, Mapping],
                  path: PathLike,
                  title: str = '') -> None:
    """Empirical coverage of the credible regions vs their nominal level.

    Solid: the fraction of GT keypoints inside the level-``p`` region;
    dotted: the mass the regions hold (the coverage of a calibrated model,
    ``>= p`` for discrete regions).

    Args:
        reports (Mapping[str, dict]): Name -> :func:`evaluate_calibration`.
        path (str | PathLike): Output image.
        title (str): Figure title prefix.
    """
    fig, (ax,) = _figure(1, width=5.6)
    ax.plot([0, 1], [0, 1], color='0.5', ls='--', lw=1, label='coverage = p')
    for i, (name, rep) in enumerate(reports.items()):
        cov = rep['coverage']
        levels = np.asarray(cov['levels'], dtype=np.float64)
        ax.plot(levels, np.asarray(cov['coverage'], dtype=np.float64), 'o-',
                color=f'C{i}', lw=1.8,
                label=f"{name} (T={rep['temperature']:.3g}): coverage")
        ax.plot(levels, np.asarray(cov['mass'], dtype=np.float64), ':',
                color=f'C{i}', lw=1.5, label=f'{name}: held mass')
        offset = (-24, 5) if i % 2 == 0 else (5, -11)
        for p, c in zip(levels, cov['coverage']):
            ax.annotate(_fmt(c, 2), (p, c), textcoords='offset points',
                        xytext=offset, fontsize=7, color=f'C{i}')
    ax.set_xlabel('credible level p')
    ax.set_ylabel('fraction of GT keypoints inside the region')
    ax.set_title(f'{title}credible-region coverage'.strip())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='upper left')
    _save(fig, path)


def plot_reliability(presence: Mapping, path: PathLike,
                     title: str = '') -> None:
    """Reliability diagram of the presence probability with bin counts.

    Args:
        presence (dict): :func:`presence_report` output.
        path (str | PathLike): Output image.
        title (str): Figure title prefix.
    """
    diagram = presence['diagram']
    edges = np.asarray(diagram['edges'], dtype=np.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    width = np.diff(edges)
    freq = np.asarray([math.nan if v is None else v
                       for v in diagram['frequency']], dtype=np.float64)
    conf = np.asarray([math.nan if v is None else v
                       for v in diagram['confidence']], dtype=np.float64)
    fig, (ax, hist) = _figure(2)
    ax.plot([0, 1], [0, 1], color='0.5', ls='--', lw=1, label='calibrated')
    ax.bar(centres, np.nan_to_num(freq), width=width * 0.9, color='C0',
           alpha=0.75, label='fraction inside the window')
    ax.plot(conf, freq, 'o', color='C3', ms=5,
            label='(mean presence, fraction inside)')
    ax.set_xlabel('presence probability')
    ax.set_ylabel('fraction of keypoints inside the window')
    ax.set_title(f"{title}presence reliability: ECE {_fmt(presence['ece'])}, "
                 f"MCE {_fmt(presence['mce'])}".strip())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc='upper left')
    counts = np.asarray(diagram['count'], dtype=np.float64)
    hist.bar(centres, counts, width=width * 0.9, color='C1', alpha=0.8)
    for c, n in zip(centres, counts):
        hist.annotate(f'{int(n)}', (c, n), ha='center', va='bottom',
                      fontsize=7)
    if counts.max() > 0:
        hist.set_yscale('log')
    hist.set_xlabel('presence probability')
    hist.set_ylabel('keypoints per bin')
    hist.set_title(f"bin counts ({presence['count']} annotated keypoints, "
                   f"Brier {_fmt(presence['brier'])})")
    hist.set_xlim(0, 1)
    for a in (ax, hist):
        a.grid(alpha=0.3)
    _save(fig, path)


def write_calibrated_config(config: PathLike, temperature: float,
                            out_path: PathLike,
                            comment: str = '') -> str:
    """Write a config inheriting ``config`` with the test temperature set.

    The new file is ``_base_ = [<absolute path of config>]`` and
    ``model = dict(test_cfg=dict(temperature=T))`` (MMEngine merges it into
    the base's ``test_cfg``), so it loads from any working directory and
    is used with the same checkpoint, e.g. ``tools/test.py NEW.py CKPT``.

    Args:
        config (str | PathLike): The original config file.
        temperature (float): The test temperature ``T`` (> 0).
        out_path (str | PathLike): The file to write.
        comment (str): Extra comment lines for the header.

    Returns:
        str: The absolute path written.
    """
    temperature = float(temperature)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f'temperature must be > 0 and finite, got '
                         f'{temperature}')
    base = osp.abspath(os.fspath(config))
    if not osp.isfile(base):
        raise FileNotFoundError(f'config {base!r} not found')
    header = ['# Calibrated sparsemax test temperature (written by',
              '# tools/analysis_tools/calibrate.py); use it with the same',
              '# checkpoint as the base config.']
    header += [f'# {line}' if line else '#' for line in comment.splitlines()]
    text = '\n'.join(header) + (
        f'\n_base_ = [{base!r}]\n\n'
        f'model = dict(test_cfg=dict(temperature={temperature!r}))\n')
    out_path = osp.abspath(os.fspath(out_path))
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    tmp = f'{out_path}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, out_path)
    return out_path


# --------------------------------------------------------------------------
# The whole job
# --------------------------------------------------------------------------
def _write_json(obj, path: str) -> None:
    import json
    with open(path, 'w') as f:
        json.dump(to_jsonable(obj), f, indent=2, allow_nan=False)


def _objective_name(metric: str, level: float) -> str:
    return f'coverage of the {level:g} regions' if metric == 'coverage' \
        else metric


def run_calibration(config: PathLike,
                    checkpoint: PathLike,
                    work_dir: PathLike,
                    ann_file: Optional[PathLike] = None,
                    data_prefix: Optional[PathLike] = None,
                    levels: Sequence[float] = DEFAULT_LEVELS,
                    metric: str = 'mace',
                    level: float = 0.9,
                    bins: int = 10,
                    seed: int = 0,
                    eval_only: bool = False,
                    temperatures: Optional[Mapping[str, float]] = None,
                    split: str = 'test',
                    device: str = 'cpu',
                    cfg_options: Optional[dict] = None,
                    save_data: bool = False,
                    progress: bool = True,
                    data: Optional[CalibrationData] = None) -> Dict:
    """Fit (or only evaluate) the calibration of a model on a split and
    write the results into ``work_dir``.

    Fit mode writes ``calibration.json`` / ``.md``,
    ``calibration_curve.png``, ``credible_coverage.png``,
    ``presence_reliability.png`` and ``<config stem>_calibrated.py`` (the
    config with the fitted test temperature). Evaluation mode
    (``eval_only``) reports the maps at ``temperatures`` (default: the
    config's test temperature) without fitting and writes the same files
    prefixed with ``eval_`` and no config. ``save_data`` adds the collected
    arrays (``calibration_data.npz``, see :class:`CalibrationData`). Files
    are written into a staging directory first and each is moved into
    ``work_dir`` by an atomic rename, so an interrupted run leaves no
    partial file.

    Args:
        config (str | PathLike): MMPose config file.
        checkpoint (str | PathLike): Checkpoint.
        work_dir (str | PathLike): Output directory.
        ann_file, data_prefix: The split, see
            :func:`collect_calibration_data`.
        levels (Sequence[float]): Credible levels. Default: 0.5, 0.8, 0.9,
            0.95.
        metric (str): Fit objective, ``'mace'``, ``'ks'`` or
            ``'coverage'`` (see :func:`fit_calibration`).
        level (float): Credible level of the ``'coverage'`` objective.
            Default: 0.9.
        bins (int): Presence reliability bins. Default: 10.
        seed (int): Seed of the rank masses' tie shares. Default: 0.
        eval_only (bool): Evaluate without fitting. Default: False.
        temperatures (Mapping[str, float], optional): Evaluation mode:
            name -> temperature to report. Default: ``{'test': T}`` with
            the config's test temperature.
        split (str): Dataloader config to use, ``'test'`` or ``'val'``.
        device (str): Device of the model and of the maths.
        cfg_options (dict, optional): Config overrides.
        save_data (bool): Also write the collected arrays.
        progress (bool): Progress bar over batches.
        data (CalibrationData, optional): Already collected arrays (the
            model is then not run; ``config`` is still used for the
            calibrated config).

    Returns:
        dict: What ``calibration.json`` (or ``eval_calibration.json``)
        holds: the :func:`fit_calibration` result (or ``reports`` and
        ``presence`` in evaluation mode) plus ``inputs`` (paths and
        settings) and ``files`` (the paths written).
    """
    if metric not in METRICS:
        raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
    config = osp.abspath(os.fspath(config))
    work_dir = osp.abspath(os.fspath(work_dir))
    if data is None:
        data = collect_calibration_data(
            config, checkpoint, ann_file=ann_file, data_prefix=data_prefix,
            split=split, device=device, cfg_options=cfg_options,
            progress=progress)
    inputs = dict(
        config=config, checkpoint=osp.abspath(os.fspath(checkpoint)),
        ann_file=None if ann_file is None else os.fspath(ann_file),
        data_prefix=None if data_prefix is None else os.fspath(data_prefix),
        split=split, cfg_options=dict(cfg_options or {}), seed=int(seed),
        levels=[float(p) for p in levels], bins=int(bins), flip_test=False,
        instances=int(data.logits.shape[0]),
        heatmap_size=[int(data.logits.shape[-1]),
                      int(data.logits.shape[-2])])
    prefix = 'eval_' if eval_only else ''
    names = {k: prefix + v for k, v in OUTPUT_FILES.items()}
    if eval_only:
        temps = dict(temperatures or {'test': data.temperature})
        reports = {
            name: evaluate_calibration(data, t, levels, seed, device=device)
            for name, t in temps.items()
        }
        presence = presence_report(data, bins)
        result = dict(reports=reports, presence=presence)
        title = 'Calibration (evaluation, no fit)'
    else:
        result = fit_calibration(data, metric=metric, level=level,
                                 levels=levels, bins=bins, seed=seed,
                                 device=device)
        reports = {'before': result['before'], 'after': result['after']}
        presence = result['presence']
        title = (f"Calibration: test temperature "
                 f"{result['initial_temperature']:.4g} -> "
                 f"{result['temperature']:.4g} (fitted on "
                 f"{_objective_name(metric, level)})")
    result['inputs'] = inputs

    os.makedirs(work_dir, exist_ok=True)
    stage = osp.join(work_dir, f'.calibration.tmp-{os.getpid()}')
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    try:
        files = {}
        plot_calibration_curves(reports, osp.join(stage, names['curve']))
        plot_coverage(reports, osp.join(stage, names['coverage']))
        plot_reliability(presence, osp.join(stage, names['reliability']))
        files.update(curve=names['curve'], coverage=names['coverage'],
                     reliability=names['reliability'])
        if save_data:
            data.save(osp.join(stage, names['data']))
            files['data'] = names['data']
        if not eval_only:
            stem = osp.splitext(osp.basename(config))[0]
            cfg_name = f'{stem}_calibrated.py'
            key = 'coverage' if metric == 'coverage' else metric
            mis = {k: result['fit'][k][key] for k in ('before', 'after')}
            comment = (f'Fitted on {inputs["ann_file"] or "the config split"}'
                       f' ({data.logits.shape[0]} instances, no flip test):\n'
                       f'T {result["initial_temperature"]:.4g} -> '
                       f'{result["temperature"]:.4g}, '
                       f'{_objective_name(metric, level)} '
                       f'{mis["before"]:.4f} -> {mis["after"]:.4f}.')
            if cfg_options:
                comment += ('\nCalibrated with --cfg-options '
                            f'{dict(cfg_options)}; pass them again.')
            write_calibrated_config(config, result['temperature'],
                                    osp.join(stage, cfg_name), comment)
            files['config'] = cfg_name
            result['calibrated_config'] = osp.join(work_dir, cfg_name)
        files.update(json=names['json'], md=names['md'])
        result['files'] = {k: osp.join(work_dir, v) for k, v in files.items()}
        with open(osp.join(stage, names['md']), 'w') as f:
            f.write(calibration_markdown(reports, presence, title))
        _write_json(result, osp.join(stage, names['json']))
        for name in files.values():
            os.replace(osp.join(stage, name), osp.join(work_dir, name))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return result

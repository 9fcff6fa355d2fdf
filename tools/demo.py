"""The model zoo on SynthPose, measured (``make demo``).

Runs the published zoo models (``configs/**/metafile.yml``, see
:mod:`probpose_ext.apis.zoo`): ``synthpose-heatmap`` (the heatmap
baseline), ``synthpose-probpose`` and ``synthpose-probpose-dh``, whichever
are published, and says which are missing:

1. Data, generated if missing and reused otherwise: SynthPose
   (``data/synthpose``, 3000 train + 500 val images, seed 0), SynthPose-Crop
   val (``data/synthpose_crop``, the CropCOCO generator on SynthPose val), a
   held-out split (``data/synthpose_heldout``, 200 val images drawn with
   seed 1, and its Crop version ``data/synthpose_heldout_crop``) and a
   second SynthPose val drawn with seed 2 (``data/synthpose_seed2``, 500
   images). Every image has its own generator seeded by (seed, split,
   index), so the splits are disjoint.
2. Each model is evaluated with ``tools/test.py``'s machinery
   (``ExCocoMetric``) on SynthPose val, the seed-2 val and SynthPose-Crop
   val. Thresholds are chosen on the held-out Crop split, never on a
   reported one (:mod:`probpose_ext.analysis.presence_thr`): the presence
   threshold of Ex-OKS by Ex-AP, the in/out threshold by balanced in/out
   accuracy (presence for ProbPose and ProbPose-DH, the heatmap confidence
   for the baseline, :mod:`probpose_ext.analysis.inout`).
3. ProbPose's sparsemax test temperature is fitted on the held-out split
   so that its 90% credible regions cover 90% of the keypoints there
   (``calibrate.py --metric coverage``); the coverage of its credible
   regions is reported on SynthPose val.
4. The paper's claims as measured (Ex-AP of ProbPose vs the baseline,
   in/out error reduction, 90% credible-region coverage, ProbPose-DH vs
   ProbPose outside the crop, AP on the seed-2 draw) are printed and
   written to ``work_dirs/demo/summary.md`` and ``summary.json`` with the
   date and the machine, and so are pictures: predictions on SynthPose-Crop
   val drawn by presence, a keypoint predicted outside the image on a
   padded canvas, the in/out plot and the calibration plots.
5. The ProbPose zoo model is fine-tuned for ``--finetune-iters``
   iterations on SynthPose train (with a progress bar) and evaluated on
   SynthPose val, to show that training works.

Every result is reused on a re-run while its weights and data files are
unchanged (records keyed by path and modification time), so a re-run takes
seconds; stdout of the evaluations goes to ``work_dirs/demo/demo.log``.
From a fresh clone with the three models published the demo should take
about 9 minutes on 2 idle CPU cores (estimated from per-step timings on
small data). ``--retrain`` first trains the zoo configs into
``work_dirs/zoo/<name>`` (resuming an interrupted run), refits the
presence/visibility branches of the ProbPose models on the frozen network
(``tools/refit_branches.py``, into ``work_dirs/zoo/<name>/refit``),
evaluates and publishes them (``zoo.publish``), then runs the demo: about
55-75 minutes per model on 2 CPU cores.

    python tools/demo.py [--models NAME ...] [--retrain]
        [--finetune-iters 60] [--work-dir work_dirs/demo]
        [--data-root data/synthpose] [--cfg-options k=v ...]
"""
import argparse
import contextlib
import datetime
import math
import os
import os.path as osp
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from typing import IO, Callable, Dict, List, Optional, Sequence, Tuple

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

# cached results keyed by the files and settings they depend on
from probpose_ext.apis.runs import cached as _cached  # noqa: E402
from probpose_ext.apis.runs import file_key as _file_key  # noqa: E402
from probpose_ext.apis.runs import write_json as _write_json  # noqa: E402


@dataclass(frozen=True)
class ZooModel:
    """A zoo model of the demo.

    Attributes:
        config (str): Its config, relative to the zoo root.
        description (str): What it is, for the tables.
    """
    config: str
    description: str


HEATMAP = 'synthpose-heatmap'
PROBPOSE = 'synthpose-probpose'
PROBPOSE_DH = 'synthpose-probpose-dh'

#: The demo's zoo models, in display order.
ZOO = {
    HEATMAP: ZooModel(
        'configs/synthpose/td-hm_effnet-lite0_1xb32-24e_synthpose-128x96.py',
        'heatmap baseline (EfficientNet-Lite0 + HeatmapHead)'),
    PROBPOSE: ZooModel(
        'configs/synthpose/probpose_effnet-lite0_1xb32-24e_synthpose-'
        '128x96.py', 'ProbPose (EfficientNet-Lite0 + ProbMapHead)'),
    PROBPOSE_DH: ZooModel(
        'configs/synthpose/probpose-dh_effnet-lite0_1xb32-24e_synthpose-'
        '128x96.py', 'ProbPose-DH (EfficientNet-Lite0 + ProbMapDHHead)'),
}

#: Training speed of the zoo configs, measured on 2 CPU cores (batch 32):
#: seconds per iteration, and instances per second of a validation (with
#: flip test).
SECONDS_PER_ITER = 0.92
VAL_INSTANCES_PER_SECOND = 40.0

#: The credible level of claim (c).
LEVEL = '0.9'

#: The demo's log: stdout of the evaluations and the fine-tuning (MMEngine's
#: log, the COCO evaluation's prints) goes there; set by :func:`main`.
_LOG: Optional[IO] = None


@dataclass(frozen=True)
class Split:
    """A data split in the SynthPose layout (``<root>/val``,
    ``<root>/annotations/person_keypoints_val.json``)."""
    tag: str
    title: str
    root: str

    @property
    def ann_file(self) -> str:
        return osp.join(self.root, 'annotations', 'person_keypoints_val.json')

    @property
    def img_dir(self) -> str:
        return osp.join(self.root, 'val')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--models', nargs='+', default=list(ZOO), choices=list(ZOO),
        help='zoo models to run (with --retrain: to train; the demo then '
        'runs every published model)')
    parser.add_argument(
        '--retrain', action='store_true',
        help='train the zoo configs into --zoo-work-dir (resuming), publish '
        'them into the zoo, then run the demo (about 55 min per model on 2 '
        'CPU cores)')
    parser.add_argument('--zoo-work-dir', default='work_dirs/zoo',
                        help='training runs of --retrain (<dir>/<name>)')
    parser.add_argument(
        '--refit-epochs', type=int, default=6,
        help='epochs of the presence/visibility branch refit after training '
        'a ProbPose model (--retrain; tools/refit_branches.py)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthpose')
    parser.add_argument('--crop-root', default='data/synthpose_crop')
    parser.add_argument('--motion-root', default='data/synthmotion',
                        help='SynthMotion (generated if missing) for the '
                        'zoo lifters')
    parser.add_argument('--no-lifting', action='store_true',
                        help='skip the zoo lifters on SynthMotion')
    parser.add_argument('--num-train', type=int, default=3000)
    parser.add_argument('--num-val', type=int, default=500)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--heldout-root', default='data/synthpose_heldout',
        help='held-out SynthPose split: thresholds and the temperature are '
        'chosen on it (and on its Crop version)')
    parser.add_argument('--heldout-crop-root',
                        default='data/synthpose_heldout_crop')
    parser.add_argument('--num-heldout', type=int, default=200)
    parser.add_argument('--heldout-seed', type=int, default=None,
                        help='default: --seed + 1')
    parser.add_argument(
        '--fresh-root', default='data/synthpose_seed2',
        help='a second SynthPose val drawn with --fresh-seed')
    parser.add_argument('--num-fresh', type=int, default=None,
                        help='default: --num-val')
    parser.add_argument('--fresh-seed', type=int, default=None,
                        help='default: --seed + 2')
    parser.add_argument(
        '--finetune-iters', type=int, default=60,
        help='iterations of the ProbPose fine-tuning step (0: skip it)')
    parser.add_argument('--finetune-lr', type=float, default=1e-4)
    parser.add_argument('--num-grid', type=int, default=8,
                        help='images in the prediction grid')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='key=value overrides for every training and evaluation (e.g. '
        'test_dataloader.num_workers=0)')
    args = parser.parse_args(argv)
    if args.heldout_seed is None:
        args.heldout_seed = args.seed + 1
    if args.fresh_seed is None:
        args.fresh_seed = args.seed + 2
    if args.num_fresh is None:
        args.num_fresh = args.num_val
    if len({args.seed, args.heldout_seed, args.fresh_seed}) < 3:
        parser.error('--seed, --heldout-seed and --fresh-seed must differ: '
                     'the splits would repeat each other')
    if args.num_heldout < 1:
        parser.error('--num-heldout must be >= 1: thresholds and the '
                     'temperature are chosen on the held-out split')
    if args.finetune_iters < 0 or args.num_grid < 1:
        parser.error('--finetune-iters must be >= 0 and --num-grid >= 1')
    return args


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet():
    """Send stdout (MMEngine's log, the COCO evaluation's prints) to the
    demo log; a failure says where the log is."""
    if _LOG is None:
        yield
        return
    try:
        with contextlib.redirect_stdout(_LOG):
            yield
    except BaseException:
        _LOG.flush()
        print(f'(the log of this step is in {_LOG.name})', file=sys.stderr)
        raise


def _options_dict(items: Sequence[str]) -> dict:
    """``key=value`` strings (as ``--cfg-options``) as a dict."""
    from mmengine.config import DictAction
    if not items:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    return parser.parse_args(['--options', *items]).options


def _evaluator_key(cfg, split: str) -> str:
    """Config key of the COCO metric: the evaluator or the first of a list."""
    evaluator = cfg[f'{split}_evaluator']
    return (f'{split}_evaluator.0'
            if isinstance(evaluator, (list, tuple)) else f'{split}_evaluator')


def _load_config(config: str, options: Sequence[str] = ()):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(_options_dict(options))
    return cfg


def machine() -> dict:
    """Where the demo ran."""
    return dict(processor=platform.processor() or platform.machine(),
                cpu_count=os.cpu_count(), platform=platform.platform(),
                python=platform.python_version())


def machine_text(info: dict) -> str:
    """:func:`machine` in words."""
    return (f"{info['cpu_count']} CPU cores ({info['processor']}), "
            f"{info['platform']}")


def _duration(minutes: float) -> str:
    """``minutes`` in words (seconds below one minute)."""
    return (f'{minutes:.0f} min' if minutes >= 1 else
            f'{60 * minutes:.0f} s')


def _today() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec='seconds')


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def ensure_synthpose(root: str, num_train: int, num_val: int, seed: int,
                     title: str) -> None:
    """Generate SynthPose into ``root`` unless its val annotations are
    there."""
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    if osp.isfile(Split('', '', root).ann_file):
        print(f'{title} found at {root}')
        return
    print(f'Generating {title} ({num_train} train + {num_val} val images, '
          f'seed {seed}) into {root} ...')
    start = time.time()
    make_synthpose(root, num_train=num_train, num_val=num_val, seed=seed)
    print(f'{title} generated in {time.time() - start:.0f} s')


def ensure_crop(source: str, root: str, seed: int, title: str) -> None:
    """Apply the CropCOCO generator to the val split of ``source`` unless
    ``root`` has it."""
    from probpose_ext.datasets.generators.cropcoco import make_cropcoco
    src = Split('', '', source)
    if osp.isfile(Split('', '', root).ann_file):
        print(f'{title} found at {root}')
        return
    print(f'Generating {title} (CropCOCO generator on {source} val, seed '
          f'{seed}) into {root} ...')
    summary = make_cropcoco(src.img_dir, src.ann_file, root, split='val',
                            seed=seed)
    areas = ', '.join(f'{k} {v:.1f}%'
                      for k, v in summary['areas_percent'].items())
    print(f"{title}: {summary['num_images']} images, keypoints by area: "
          f'{areas}')


def prepare_data(args) -> Dict[str, Split]:
    """Generate the missing splits; return them by tag (``val``,
    ``fresh``, ``crop``, ``heldout``, ``heldout_crop``)."""
    ensure_synthpose(args.data_root, args.num_train, args.num_val, args.seed,
                     'SynthPose')
    ensure_crop(args.data_root, args.crop_root, args.seed, 'SynthPose-Crop')
    ensure_synthpose(args.heldout_root, 0, args.num_heldout,
                     args.heldout_seed, 'SynthPose held-out split')
    ensure_crop(args.heldout_root, args.heldout_crop_root, args.heldout_seed,
                'SynthPose-Crop held-out split')
    ensure_synthpose(args.fresh_root, 0, args.num_fresh, args.fresh_seed,
                     f'SynthPose seed-{args.fresh_seed} val')
    return dict(
        val=Split('val', 'SynthPose val', args.data_root),
        fresh=Split('fresh', f'SynthPose val (seed {args.fresh_seed})',
                    args.fresh_root),
        crop=Split('crop', 'SynthPose-Crop val', args.crop_root),
        heldout=Split('heldout', 'held-out split', args.heldout_root),
        heldout_crop=Split('heldout_crop', 'held-out Crop split',
                           args.heldout_crop_root))


def _train_options(cfg, args) -> List[str]:
    """``--cfg-options`` pointing training and validation at the data, then
    the user's."""
    options = [f'{split}_dataloader.dataset.data_root={args.data_root}'
               for split in ('train', 'val')]
    options.append(f'{_evaluator_key(cfg, "val")}.ann_file='
                   f'{Split("", "", args.data_root).ann_file}')
    return options + list(args.cfg_options)


# ---------------------------------------------------------------------------
# The zoo
# ---------------------------------------------------------------------------
def find_zoo_models(names: Sequence[str]) -> Tuple[Dict[str, Tuple[str,
                                                                   str]],
                                                   Dict[str, str]]:
    """The published models among ``names`` and why the others are
    missing.

    Returns:
        tuple[dict, dict]: name -> (config, weights) of the published
        models; name -> reason of the missing ones.
    """
    from probpose_ext.apis.zoo import resolve
    found, missing = {}, {}
    for name in names:
        try:
            found[name] = resolve(name)
        except KeyError:
            missing[name] = 'not in any configs/**/metafile.yml'
        except FileNotFoundError as e:
            missing[name] = str(e)
    return found, missing


def missing_text(missing: Dict[str, str]) -> str:
    """What is missing and how to get it."""
    listed = '; '.join(f'{name} ({why})' for name, why in missing.items())
    command = 'python tools/demo.py --retrain'
    if set(missing) != set(ZOO):
        command += f" --models {' '.join(missing)}"
    return (f'Zoo models missing: {listed}. Train and publish them with '
            f'`{command}` (about 55 min per model on 2 CPU cores).')


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def evaluate_split(config: str, weights: str, split: Split, out_dir: str,
                   cfg_options: Sequence[str],
                   presence_thr: Optional[float] = None) -> Tuple[dict, bool]:
    """``tools/test.py`` on a split, with its predictions dumped.

    Args:
        config (str): Model config.
        weights (str): Checkpoint.
        split (Split): The split.
        out_dir (str): Where the metrics, dump and record go.
        cfg_options (Sequence[str]): Extra ``--cfg-options``.
        presence_thr (float, optional): ExCocoMetric's presence threshold
            (default: the config's).

    Returns:
        tuple[dict, bool]: ``metrics``, ``dump`` (path), ``presence_thr``,
        ``seconds``; whether an earlier result was reused.
    """
    from probpose_ext.analysis.presence_thr import presence_thr_cfg_options
    from probpose_ext.apis import test_main
    evaluator = _evaluator_key(_load_config(config), 'test')
    options = [f'test_dataloader.dataset.data_root={split.root}',
               f'{evaluator}.ann_file={split.ann_file}']
    if presence_thr is not None:
        options.append(presence_thr_cfg_options(presence_thr, evaluator)[0])
    options += list(cfg_options)
    dump = osp.join(out_dir, f'preds_{split.tag}.pkl')
    key = dict(config=_file_key(config), weights=_file_key(weights),
               ann_file=_file_key(split.ann_file), options=options)

    def compute():
        start = time.time()
        with _quiet():
            metrics = test_main([
                config, weights, '--work-dir', out_dir, '--out',
                osp.join(out_dir, f'test_metrics_{split.tag}.json'),
                '--dump', dump, '--cfg-options', *options])
        return dict(metrics={k: float(v) for k, v in metrics.items()},
                    dump=dump, presence_thr=presence_thr,
                    seconds=round(time.time() - start, 1))

    return _cached(osp.join(out_dir, f'eval_{split.tag}.json'), key, compute,
                   outputs=[dump])


def choose_thresholds(dump: str, split: Split, out_dir: str) -> dict:
    """Presence thresholds chosen on the held-out Crop split: by Ex-AP
    (for Ex-OKS) and by balanced in/out accuracy (for in/out)."""
    from probpose_ext.analysis.presence_thr import choose_presence_thr

    def compute():
        return dict(split=osp.abspath(split.ann_file), **{
            criterion: choose_presence_thr(dump, split.ann_file, criterion)
            for criterion in ('ex_ap', 'balanced_acc')})

    key = dict(dump=_file_key(dump), ann_file=_file_key(split.ann_file))
    return _cached(osp.join(out_dir, 'presence_thr.json'), key, compute)[0]


def inout_at(dump: str, thr: float) -> dict:
    """In/out accuracy on a dump at threshold ``thr``."""
    from probpose_ext.analysis.inout import accuracy_curves, load_inout
    labels, scores, meta = load_inout(dump, return_meta=True)
    at = accuracy_curves(labels, scores, np.array([thr]))
    return dict(thr=float(thr), score=meta['score_key'],
                balanced_acc=float(at['balanced_acc'][0]),
                acc=float(at['acc'][0]), n_in=at['n_in'], n_out=at['n_out'])


def _metrics_line(metrics: dict) -> str:
    keys = (('AP', 'coco/AP'), ('Ex-AP', 'coco/Ex_AP'),
            ('Ex-AP (v=3)', 'coco/Ex_AP (v=3)'))
    return ', '.join(f'{name} {metrics[k]:.3f}' for name, k in keys
                     if k in metrics)


def evaluate_model(name: str, config: str, weights: str, out_dir: str,
                   splits: Dict[str, Split], tags: Sequence[str],
                   cfg_options: Sequence[str]) -> dict:
    """Thresholds on the held-out Crop split, then the splits ``tags``.

    With ``'crop'`` among the tags, also the in/out accuracy (at the
    balanced-accuracy threshold) and the localisation of keypoints outside
    the image on SynthPose-Crop val.

    Returns:
        dict: ``model``, ``description``, ``config``, ``weights``,
        ``thresholds`` (``ex_ap``, ``balanced_acc``, ``split``),
        ``metrics`` and ``dumps`` by split tag, ``inout``, ``outside``,
        ``seconds``.
    """
    from probpose_ext.analysis.outside import outside_image_summary
    start = time.time()
    held_split = splits['heldout_crop']
    held, _ = evaluate_split(config, weights, held_split, out_dir,
                             cfg_options)
    chosen = choose_thresholds(held['dump'], held_split, out_dir)
    thresholds = dict(
        split=chosen['split'], ex_ap=chosen['ex_ap']['thr'],
        heldout_ex_ap=chosen['ex_ap']['value'],
        balanced_acc=chosen['balanced_acc']['thr'],
        heldout_balanced_acc=chosen['balanced_acc']['value'])
    print(f"  {name}: thresholds on the {held_split.title}: presence "
          f"{thresholds['ex_ap']:.2f} (Ex-AP {thresholds['heldout_ex_ap']:.3f}"
          f"), in/out {thresholds['balanced_acc']:.2f} (balanced accuracy "
          f"{thresholds['heldout_balanced_acc']:.3f})")
    result = dict(model=name, description=ZOO[name].description,
                  config=config, weights=weights, thresholds=thresholds,
                  metrics={}, dumps={})
    for tag in tags:
        ev, reused = evaluate_split(config, weights, splits[tag], out_dir,
                                    cfg_options, thresholds['ex_ap'])
        result['metrics'][tag] = ev['metrics']
        result['dumps'][tag] = ev['dump']
        how = 'reused' if reused else f"{ev['seconds']:.0f} s"
        print(f"  {name} on {splits[tag].title}: "
              f"{_metrics_line(ev['metrics'])} ({how})")
    if 'crop' in tags:
        result['inout'] = inout_at(result['dumps']['crop'],
                                   thresholds['balanced_acc'])
        result['outside'] = outside_image_summary(result['dumps']['crop'])
    result['seconds'] = round(time.time() - start, 1)
    return result


def inout_analysis(results: Dict[str, dict], work_dir: str) -> dict:
    """In/out accuracy curves of every model on SynthPose-Crop val (ProbPose
    first: the reference of the error reductions). Writes
    ``inout.{png,md,json}``; the best thresholds there are oracle numbers
    chosen on this set, named as such."""
    from probpose_ext.analysis.inout import (accuracy_curves, inout_table,
                                             load_inout, plot_inout,
                                             summarize_inout)
    order = sorted(results, key=lambda n: (n != PROBPOSE, list(ZOO).index(n)))
    curves = {}
    for name in order:
        labels, scores = load_inout(results[name]['dumps']['crop'])
        curves[name] = accuracy_curves(labels, scores)
    summary = summarize_inout(curves)
    path = osp.join(work_dir, 'inout.png')
    plot_inout(curves, path)
    table = inout_table(summary)
    with open(osp.join(work_dir, 'inout.md'), 'w') as f:
        f.write(table)
    _write_json(osp.join(work_dir, 'inout.json'), summary)
    return dict(summary=summary, table=table, plot=path)


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def _calibration_rows(report: dict) -> dict:
    """The demo's numbers of an ``evaluate_calibration`` report."""
    cov = report['coverage']
    return dict(
        temperature=report['temperature'],
        ks=report['miscalibration']['ks'],
        mace=report['miscalibration']['mace'],
        keypoints=report['miscalibration']['count'],
        outside_support=report['outside_support'],
        coverage={f'{p:g}': c for p, c in zip(cov['levels'],
                                              cov['coverage'])})


def calibrate_probpose(config: str, weights: str, splits: Dict[str, Split],
                       args) -> Tuple[dict, bool]:
    """Fit ProbPose's test temperature on the held-out split and report
    before/after on SynthPose val (``calibration/`` in the work dir);
    reused while the weights and the splits are unchanged."""
    from probpose_ext.analysis.calibration import (collect_calibration_data,
                                                   run_calibration)
    work = osp.join(args.work_dir, 'calibration')
    held, val = splits['heldout'], splits['val']
    options = _options_dict(args.cfg_options)
    key = dict(config=_file_key(config), weights=_file_key(weights),
               heldout=_file_key(held.ann_file), val=_file_key(val.ann_file),
               options=args.cfg_options, metric='coverage', level=LEVEL)

    def compute():
        start = time.time()
        with _quiet():
            fit = run_calibration(config, weights, work,
                                  metric='coverage', level=float(LEVEL),
                                  ann_file=held.ann_file,
                                  data_prefix=held.img_dir,
                                  cfg_options=options)
            data = collect_calibration_data(
                config, weights, ann_file=val.ann_file,
                data_prefix=val.img_dir, cfg_options=options)
            evaluated = run_calibration(
                config, weights, work, ann_file=val.ann_file,
                data_prefix=val.img_dir, eval_only=True,
                temperatures=dict(before=fit['initial_temperature'],
                                  after=fit['temperature']),
                data=data, cfg_options=options)
        return dict(
            metric='coverage', level=float(LEVEL),
            temperature_before=fit['initial_temperature'],
            temperature_after=fit['temperature'],
            heldout=dict(images=args.num_heldout, seed=args.heldout_seed,
                         instances=fit['inputs']['instances'],
                         before=_calibration_rows(fit['before']),
                         after=_calibration_rows(fit['after'])),
            val=dict(instances=evaluated['inputs']['instances'],
                     before=_calibration_rows(evaluated['reports']['before']),
                     after=_calibration_rows(evaluated['reports']['after'])),
            presence_val={k: evaluated['presence'][k]
                          for k in ('ece', 'mce', 'brier', 'count',
                                    'positive')},
            calibrated_config=fit['calibrated_config'],
            plots=[osp.join(work, 'calibration_curve.png'),
                   osp.join(work, 'eval_calibration_curve.png'),
                   osp.join(work, 'eval_credible_coverage.png'),
                   osp.join(work, 'eval_presence_reliability.png')],
            seconds=round(time.time() - start, 1))

    return _cached(osp.join(work, 'demo_calibration.json'), key, compute)


def calibration_table(summary: dict) -> str:
    """Markdown section of the calibration step."""
    levels = list(summary['val']['before']['coverage'])
    lines = [
        'Calibration of ProbPose\'s probability maps: sparsemax test '
        f"temperature fitted on the held-out SynthPose split "
        f"({summary['heldout']['images']} images, "
        f"{summary['heldout']['instances']} people, seed "
        f"{summary['heldout']['seed']}) so that the {float(LEVEL):.0%} "
        'credible regions cover that share of the GT keypoints there; maps '
        'without flip test. Coverage: fraction of GT keypoints inside the '
        'credible region of that level. KS and MACE: distance of the GT '
        'rank masses from uniform (all levels at once).', '',
        '| split | T | KS | MACE | ' + ' | '.join(
            f'coverage {float(p):.0%}' for p in levels) +
        ' | GT outside support |',
        '|---|---|---|---|' + '---|' * len(levels) + '---|'
    ]
    for split, name in (('heldout', 'held-out'), ('val', 'SynthPose val')):
        for when in ('before', 'after'):
            row = summary[split][when]
            lines.append(
                f"| {name}, {when} | {row['temperature']:.3f} | "
                f"{row['ks']:.3f} | {row['mace']:.3f} | " + ' | '.join(
                    f"{row['coverage'][p]:.3f}" for p in levels) +
                f" | {100 * row['outside_support']:.1f}% |")
    presence = summary['presence_val']
    lines += ['', f"Presence on SynthPose val ({presence['count']} annotated "
              f"keypoints, {100 * presence['positive']:.1f}% inside the "
              f"window): ECE {presence['ece']:.3f}, Brier "
              f"{presence['brier']:.3f}. Calibrated config: "
              f"`{summary['calibrated_config']}`."]
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------
def _direction(value: float, more: str, less: str, same: str) -> str:
    return more if value > 0 else less if value < 0 else same


def _points(a: float, b: float, subject: str) -> Tuple[float, str]:
    """Difference ``a - b`` in points (x100), and its text."""
    diff = 100 * (a - b)
    if diff == 0:
        return diff, 'equal'
    return diff, (f'{subject} {abs(diff):.1f} points '
                  f"{_direction(diff, 'higher', 'lower', '')}")


def _reduction_text(value: Optional[float], subject: str) -> str:
    """``1 - err_A / err_B`` as text (None: B makes no error)."""
    if value is None:
        return ('error reduction undefined: the reference makes no error '
                f'and {subject} does')
    return (f'error reduction {100 * value:.1f}%: {subject} makes '
            f"{_direction(value, 'fewer', 'more', 'as many')} errors")


def _not_measured(need: Sequence[str], results: Dict[str, dict]) -> dict:
    missing = [n for n in need if n not in results]
    return dict(measured=False, missing=missing,
                text='not measured: needs ' + ', '.join(missing))


def measure_claims(results: Dict[str, dict],
                   calibration: Optional[dict]) -> Dict[str, dict]:
    """The paper's claims as measured here (see the module docstring).

    Returns:
        dict: ``a`` to ``e``, each with ``claim``, ``measured``, its
        numbers and ``text`` (what was measured, in the direction it goes).
    """
    from probpose_ext.analysis.inout import error_reduction
    claims = {}

    claim = 'Ex-AP on SynthPose-Crop val: ProbPose vs the heatmap baseline'
    if PROBPOSE in results and HEATMAP in results:
        pp = results[PROBPOSE]['metrics']['crop']['coco/Ex_AP']
        hm = results[HEATMAP]['metrics']['crop']['coco/Ex_AP']
        diff, how = _points(pp, hm, 'ProbPose')
        claims['a'] = dict(
            measured=True, probpose=pp, heatmap=hm, difference_points=diff,
            text=f'Ex-AP {pp:.3f} (ProbPose) vs {hm:.3f} (heatmap): {how}; '
            'presence thresholds chosen by Ex-AP on the held-out Crop split')
    else:
        claims['a'] = _not_measured([PROBPOSE, HEATMAP], results)
    claims['a']['claim'] = claim

    claim = ('in/out classification on SynthPose-Crop val: ProbPose\'s '
             'presence vs the heatmap confidence')
    if PROBPOSE in results and HEATMAP in results:
        pp = results[PROBPOSE]['inout']['balanced_acc']
        hm = results[HEATMAP]['inout']['balanced_acc']
        reduction = error_reduction(pp, hm)
        reduction = reduction if math.isfinite(reduction) else None
        claims['b'] = dict(
            measured=True, probpose=pp, heatmap=hm,
            error_reduction=reduction,
            text=f'balanced accuracy {pp:.3f} (presence) vs {hm:.3f} '
            f"(heatmap confidence), {_reduction_text(reduction, 'presence')}"
            '; thresholds chosen by balanced accuracy on the held-out Crop '
            'split')
    else:
        claims['b'] = _not_measured([PROBPOSE, HEATMAP], results)
    claims['b']['claim'] = claim

    claim = ('calibration: coverage of ProbPose\'s 90% credible regions on '
             'SynthPose val, temperature fitted on the held-out split')
    if calibration is not None:
        before = calibration['val']['before']['coverage'][LEVEL]
        after = calibration['val']['after']['coverage'][LEVEL]
        t0, t1 = (calibration[f'temperature_{w}'] for w in ('before', 'after'))
        claims['c'] = dict(
            measured=True, coverage_before=before, coverage_after=after,
            temperature_before=t0, temperature_after=t1,
            text=f'coverage {after:.3f} at T {t1:.3f} (before the fit: '
            f'{before:.3f} at T {t0:.3f}); {abs(after - 0.9):.3f} '
            f"{_direction(after - 0.9, 'above', 'below', 'at')} the nominal "
            '0.9')
    else:
        claims['c'] = _not_measured([PROBPOSE], results)
    claims['c']['claim'] = claim

    claim = ('ProbPose-DH vs ProbPose on keypoints outside the crop '
             '(SynthPose-Crop val)')
    if PROBPOSE_DH in results and PROBPOSE in results:
        dh, pp = results[PROBPOSE_DH], results[PROBPOSE]
        v3 = [r['metrics']['crop'].get('coco/Ex_AP (v=3)') for r in (dh, pp)]
        bacc = [r['inout']['balanced_acc'] for r in (dh, pp)]
        out = [r['outside'] for r in (dh, pp)]
        reduction = error_reduction(*bacc)
        reduction = reduction if math.isfinite(reduction) else None
        parts = []
        entry = dict(measured=True, ex_ap_v3=dict(dh=v3[0], probpose=v3[1]),
                     balanced_acc=dict(dh=bacc[0], probpose=bacc[1]),
                     error_reduction=reduction,
                     outside=dict(dh=out[0], probpose=out[1]))
        if None not in v3:
            diff, how = _points(*v3, 'DH')
            entry['ex_ap_v3']['difference_points'] = diff
            parts.append(f'Ex-AP (v=3) {v3[0]:.3f} vs {v3[1]:.3f}: {how}')
        parts.append(f'in/out balanced accuracy {bacc[0]:.3f} vs '
                     f"{bacc[1]:.3f}, {_reduction_text(reduction, 'DH')}")
        if out[0]['count']:
            parts.append(
                f"{out[0]['count']} GT keypoints outside the image: mean "
                f"keypoint OKS {out[0]['mean_similarity']:.3f} vs "
                f"{out[1]['mean_similarity']:.3f}, predicted outside the "
                f"image {100 * out[0]['predicted_outside']:.1f}% vs "
                f"{100 * out[1]['predicted_outside']:.1f}%")
        entry['text'] = 'DH vs ProbPose: ' + '; '.join(parts)
        claims['d'] = entry
    else:
        claims['d'] = _not_measured([PROBPOSE_DH, PROBPOSE], results)
    claims['d']['claim'] = claim

    claim = ('AP holds on a fresh draw: SynthPose val vs a second val drawn '
             'with another seed')
    if results:
        per = {}
        for name, r in results.items():
            val, fresh = (r['metrics'][t]['coco/AP'] for t in ('val',
                                                                'fresh'))
            per[name] = dict(val=val, fresh=fresh,
                             difference_points=100 * (fresh - val))
        claims['e'] = dict(
            measured=True, models=per, text='; '.join(
                f"{n}: AP {p['val']:.3f} vs {p['fresh']:.3f}, "
                f"{_points(p['fresh'], p['val'], 'the fresh draw')[1]}"
                for n, p in per.items()))
    else:
        claims['e'] = _not_measured(list(ZOO), results)
    claims['e']['claim'] = claim
    return claims


def claims_table(claims: Dict[str, dict]) -> str:
    """Markdown table of :func:`measure_claims`."""
    lines = ['| | claim (paper) | measured here |', '|---|---|---|']
    lines += [f"| ({k}) | {c['claim']} | {c['text']} |"
              for k, c in claims.items()]
    return '\n'.join(lines) + '\n'


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def models_table(results: Dict[str, dict]) -> str:
    """Markdown table of the evaluated models."""
    lines = [
        '| model | SynthPose val AP | fresh-draw val AP | SynthPose-Crop val '
        'AP | Ex-AP | Ex-AP (v=3) | presence thr (Ex-AP, held-out) | in/out '
        'thr (bal. acc, held-out) | in/out bal. acc | out-of-image kpts: '
        'mean OKS | predicted outside |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for name, r in results.items():
        val, fresh, crop = (r['metrics'][t] for t in ('val', 'fresh', 'crop'))
        out = r['outside']
        outside = ('-' if out['predicted_outside'] is None else
                   f"{100 * out['predicted_outside']:.1f}%")
        lines.append(
            f"| {name} | {_fmt(val['coco/AP'])} | {_fmt(fresh['coco/AP'])} "
            f"| {_fmt(crop['coco/AP'])} | {_fmt(crop['coco/Ex_AP'])} | "
            f"{_fmt(crop.get('coco/Ex_AP (v=3)'))} | "
            f"{r['thresholds']['ex_ap']:.2f} | "
            f"{r['thresholds']['balanced_acc']:.2f} | "
            f"{r['inout']['balanced_acc']:.3f} | "
            f"{_fmt(out['mean_similarity'])} | {outside} |")
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------
def _visualizer(presence_thr: float):
    from mmpose.registry import VISUALIZERS

    from probpose_ext.utils.metainfo import load_metainfo
    vis = VISUALIZERS.build(dict(
        type='ProbPoseLocalVisualizer', name=f'demo_{time.time_ns()}',
        presence_thr=presence_thr, radius=3, line_width=2))
    vis.set_dataset_meta(load_metainfo())
    return vis


def _write_png(path: str, image: np.ndarray) -> dict:
    import cv2
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(image[..., ::-1])):
        raise OSError(f'could not write {path}')
    return dict(path=path, size=[int(image.shape[1]), int(image.shape[0])])


def prediction_grid(result: dict, path: str, num: int,
                    cell: int = 256, cols: int = 4) -> dict:
    """SynthPose-Crop val images with the model's predictions drawn by
    presence (hidden below the Ex-AP threshold chosen on the held-out
    split), credible boxes and person boxes; images with keypoints outside
    the activation window (v=3) first."""
    from probpose_ext.analysis.inout import load_samples
    from probpose_ext.visualization import cut_first_grid
    samples = load_samples(result['dumps']['crop'])
    thr = result['thresholds']['ex_ap']
    grid, images = cut_first_grid(_visualizer(thr), samples, num, cell, cols)
    return dict(_write_png(path, grid), model=result['model'],
                presence_thr=thr, images=images)


def outside_picture(result: dict, path: str, scale: float = 2.0) -> dict:
    """One person of SynthPose-Crop val with keypoints outside the image,
    on a padded canvas: every predicted keypoint drawn where it is
    predicted (rings mark presence below the held-out threshold), the GT
    of the keypoints outside the image as crosses, the image border as a
    white rectangle. The person is the one with the most keypoints that are
    outside the image in the GT and in the prediction."""
    import mmcv
    from mmengine.structures import InstanceData

    from probpose_ext.analysis.inout import load_samples
    from probpose_ext.analysis.outside import outside_image_keypoints
    from probpose_ext.visualization import draw_on_canvas
    samples = load_samples(result['dumps']['crop'])
    per = outside_image_keypoints(samples)
    ids = [int(np.asarray(s['id']).reshape(-1)[0]) for s in samples]

    def rank(i):
        hits = per['annotation'] == ids[i]
        return (-int(per['predicted_outside'][hits].sum()), -int(hits.sum()),
                i)

    index = min(range(len(samples)), key=rank)
    sample = samples[index]
    pred = {k: np.asarray(v) for k, v in sample['pred_instances'].items()}
    gt = np.asarray(sample['raw_ann_info']['keypoints'],
                    np.float64).reshape(-1, 3)
    image = mmcv.imread(sample['img_path'], channel_order='rgb')
    height, width = image.shape[:2]
    outside = per['keypoint'][per['annotation'] == ids[index]]
    points = np.concatenate([pred['keypoints'].reshape(-1, 2),
                             gt[outside, :2]])
    beyond = np.maximum(np.maximum(-points, points - [width, height]), 0)
    margin = int(min(max(scale * beyond.max(initial=0) + 16, 24),
                     scale * max(height, width)))
    thr = result['thresholds']['ex_ap']
    presence = pred.get('keypoint_presence', pred.get('keypoint_scores'))
    low = pred['keypoints'][0][presence.reshape(-1) < thr]
    canvas = draw_on_canvas(
        _visualizer(0.0), image, InstanceData(**pred), scale=scale,
        margin=margin, crosses=gt[outside, :2], rings=low,
        caption=f'x: GT outside the image, o: presence < {thr:.2f}')
    return dict(_write_png(path, canvas), model=result['model'],
                image=sample['img_path'], annotation_id=ids[index],
                gt_outside=int(outside.size), scale=scale, margin=margin,
                image_size=[width, height])


def make_pictures(results: Dict[str, dict], args) -> dict:
    """The prediction grid (ProbPose, else ProbPose-DH) and the
    out-of-image picture (ProbPose-DH, else ProbPose) in ``figures/``."""
    out = osp.join(args.work_dir, 'figures')
    pictures = {}
    grid_model = next((n for n in (PROBPOSE, PROBPOSE_DH) if n in results),
                      None)
    if grid_model is not None:
        pictures['grid'] = prediction_grid(
            results[grid_model], osp.join(out, 'predictions_grid.png'),
            args.num_grid)
    outside_model = next(
        (n for n in (PROBPOSE_DH, PROBPOSE) if n in results), None)
    if outside_model is not None:
        pictures['outside'] = outside_picture(
            results[outside_model], osp.join(out, 'outside_image.png'))
    return pictures


# ---------------------------------------------------------------------------
# Fine-tuning
# ---------------------------------------------------------------------------
def write_finetune_config(config: str, weights: str, path: str, iters: int,
                          lr: float) -> str:
    """A config that fine-tunes the zoo model: ``iters`` iterations from
    ``weights`` at the constant learning rate ``lr``, no validation (it
    would begin after the last iteration), a progress bar, one checkpoint
    at the end."""
    text = (
        f'# Fine-tuning of {osp.basename(config)} from its zoo weights '
        '(written by tools/demo.py)\n'
        f'_base_ = [{osp.abspath(config)!r}]\n\n'
        f'load_from = {osp.abspath(weights)!r}\n'
        'model = dict(backbone=dict(init_cfg=None))\n'
        'train_cfg = dict(_delete_=True, type=\'IterBasedTrainLoop\', '
        f'max_iters={iters}, val_begin={iters + 1})\n'
        f'optim_wrapper = dict(optimizer=dict(lr={lr!r}))\n'
        'param_scheduler = []\n'
        'default_hooks = dict(\n'
        f'    logger=dict(interval={max(1, iters // 5)}),\n'
        '    checkpoint=dict(by_epoch=False, interval='
        f'{iters}, save_best=None, rule=None))\n'
        'log_processor = dict(by_epoch=False)\n'
        "custom_hooks = [dict(type='PlainCheckpointHook'), "
        "dict(type='RngStateHook'),\n"
        "                dict(type='TqdmProgressHook', desc='fine-tune')]\n")
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def finetune(result: dict, splits: Dict[str, Split],
             args) -> Tuple[dict, bool]:
    """Fine-tune the zoo model of ``result`` on SynthPose train and
    evaluate it on SynthPose val (``finetune/`` in the work dir)."""
    import torch

    from probpose_ext.apis import train_main
    from probpose_ext.apis.zoo import last_checkpoint
    work = osp.join(args.work_dir, 'finetune')
    config, weights = result['config'], result['weights']
    train_ann = osp.join(args.data_root, 'annotations',
                         'person_keypoints_train.json')
    key = dict(config=_file_key(config), weights=_file_key(weights),
               train=_file_key(train_ann), iters=args.finetune_iters,
               lr=args.finetune_lr, options=args.cfg_options)

    def compute():
        shutil.rmtree(work, ignore_errors=True)
        cfg_path = write_finetune_config(
            config, weights, osp.join(work, 'finetune_config.py'),
            args.finetune_iters, args.finetune_lr)
        batch = _load_config(cfg_path, args.cfg_options).train_dataloader
        print(f"Fine-tuning {result['model']}: {args.finetune_iters} "
              f"iterations of batch {batch.batch_size} on SynthPose train "
              f'from the zoo weights (constant lr {args.finetune_lr:g}) ...',
              flush=True)
        start = time.time()
        with _quiet():
            train_main([cfg_path, '--work-dir', work, '--cfg-options',
                        *_train_options(_load_config(cfg_path), args)])
        seconds = time.time() - start
        checkpoint = last_checkpoint(work)
        meta = torch.load(checkpoint, map_location='cpu',
                          weights_only=True)['meta']
        ev, _ = evaluate_split(config, checkpoint, splits['val'], work,
                               args.cfg_options,
                               result['thresholds']['ex_ap'])
        return dict(model=result['model'], config=cfg_path,
                    checkpoint=checkpoint, iterations=int(meta['iter']),
                    batch_size=int(batch.batch_size), lr=args.finetune_lr,
                    train_seconds=round(seconds, 1),
                    split=splits['val'].title, metrics=ev['metrics'],
                    zoo_ap=result['metrics']['val']['coco/AP'])

    return _cached(osp.join(work, 'demo_finetune.json'), key, compute)


def finetune_text(ft: dict) -> str:
    ap, zoo = ft['metrics']['coco/AP'], ft['zoo_ap']
    return (f"Fine-tuned {ft['model']} for {ft['iterations']} iterations "
            f"(batch {ft['batch_size']}, lr {ft['lr']:g}) in "
            f"{ft['train_seconds']:.0f} s: {ft['split']} AP {ap:.3f} "
            f"(zoo weights: {zoo:.3f}; {_points(ap, zoo, 'fine-tuned')[1]})")


# ---------------------------------------------------------------------------
# Retraining the zoo
# ---------------------------------------------------------------------------
def _timed_training(work_dir: str, train: Callable[[], object]) -> float:
    """Run ``train`` and return the training time of the run in
    ``work_dir`` in seconds: the logged seconds per iteration summed over
    every session of the run (:func:`probpose_ext.analysis.curves.
    read_curve`; validation excluded), so a run trained earlier, resumed or
    finished elsewhere counts in full and a resumed finished run adds
    nothing."""
    import glob

    from probpose_ext.analysis.curves import read_curve
    train()
    logs = sorted(glob.glob(osp.join(work_dir, '2*', '*.log')))
    text = '\n'.join(open(p).read() for p in logs)
    points = read_curve(text)
    return 60 * points[-1]['minutes'] if points else 0.0


def _finished_epochs(work_dir: str) -> int:
    """Epochs completed by the run in ``work_dir`` (its last checkpoint's
    ``meta.epoch``; 0 without one)."""
    import torch

    from probpose_ext.apis.zoo import last_checkpoint
    path = last_checkpoint(work_dir)
    if path is None or not osp.isfile(path):
        return 0
    meta = torch.load(path, map_location='cpu', weights_only=True)['meta']
    return int(meta.get('epoch', 0))


def training_estimate(config: str, args) -> dict:
    """Iterations and minutes of one zoo training on this data, from the
    measured speed (:data:`SECONDS_PER_ITER`, validations at
    :data:`VAL_INSTANCES_PER_SECOND`)."""
    from probpose_ext.utils.validation import load_json
    cfg = _load_config(config, args.cfg_options)

    def people(split: str) -> int:
        coco = load_json(osp.join(args.data_root, 'annotations',
                                  f'person_keypoints_{split}.json'))
        return sum(a.get('num_keypoints', 0) > 0 for a in coco['annotations'])

    iters = math.ceil(people('train') / cfg.train_dataloader.batch_size)
    epochs = int(cfg.train_cfg.max_epochs)
    vals = epochs // int(cfg.train_cfg.get('val_interval', 1))
    seconds = (iters * epochs * SECONDS_PER_ITER +
               vals * people('val') / VAL_INSTANCES_PER_SECOND)
    return dict(iters_per_epoch=iters, epochs=epochs,
                batch_size=int(cfg.train_dataloader.batch_size),
                minutes=seconds / 60)


def zoo_results(result: dict) -> List[dict]:
    """Model-index ``Results`` of an evaluated model."""
    val, crop = result['metrics']['val'], result['metrics']['crop']
    task = 'Body 2D Keypoint'
    return [
        dict(Task=task, Dataset='SynthPose val', Metrics={
            'AP': round(val['coco/AP'], 4),
            'AP50': round(val['coco/AP .5'], 4),
            'AP75': round(val['coco/AP .75'], 4)}),
        dict(Task=task, Dataset='SynthPose-Crop val', Metrics={
            'AP': round(crop['coco/AP'], 4),
            'Ex-AP': round(crop['coco/Ex_AP'], 4),
            'In/out balanced accuracy': round(
                result['inout']['balanced_acc'], 4)}),
    ]


def retrain(args, splits: Dict[str, Split]) -> dict:
    """Train (resuming), evaluate and publish each of ``args.models``."""
    from probpose_ext.apis import refit_main, train_main
    from probpose_ext.apis.refit import REFIT_HEADS
    from probpose_ext.apis.zoo import best_checkpoint, publish, zoo_root
    root = zoo_root()
    estimates = {name: training_estimate(osp.join(root, ZOO[name].config),
                                         args) for name in args.models}
    total = sum(e['minutes'] for e in estimates.values())
    print(f'\nRetraining {len(args.models)} zoo model(s) into '
          f'{args.zoo_work_dir}/<name> before the demo. Estimate on 2 CPU '
          f'cores (measured {SECONDS_PER_ITER} s per iteration):')
    for name, e in estimates.items():
        print(f"  {name}: {e['iters_per_epoch']} iterations per epoch x "
              f"{e['epochs']} epochs, about {_duration(e['minutes'])}")
    print(f'  in all about {_duration(total)} (more while other jobs share '
          'the cores); an interrupted run resumes where it stopped.\n',
          flush=True)
    start = time.time()
    published = {}
    for name in args.models:
        config_rel = ZOO[name].config
        config = osp.join(root, config_rel)
        work = osp.join(args.zoo_work_dir, name)
        cfg = _load_config(config)
        if _finished_epochs(work) >= int(cfg.train_cfg.max_epochs):
            # nothing to resume (and the config may have gained modules
            # since, e.g. branch_grid, that a resume would not load)
            seconds = _timed_training(work, lambda: None)
        else:
            seconds = _timed_training(work, lambda: train_main(
                [config, '--work-dir', work, '--resume', '--cfg-options',
                 *_train_options(cfg, args)]))
        checkpoint = best_checkpoint(work)
        refit_dir = None
        if cfg.model.head.type in REFIT_HEADS:
            # the presence/visibility branches refitted on the frozen
            # network with strong crop augmentation (tools/refit_branches.py)
            refit_dir = osp.join(work, 'refit')
            print(f'Refitting the branches of {name} ({checkpoint}) ...',
                  flush=True)
            seconds += _timed_training(refit_dir, lambda: refit_main(
                [config, checkpoint, '--work-dir', refit_dir, '--resume',
                 '--epochs', str(args.refit_epochs), '--cfg-options',
                 *_train_options(cfg, args)]))
            checkpoint = best_checkpoint(refit_dir)
        print(f'Evaluating {name} ({checkpoint}) ...')
        result = evaluate_model(
            name, config, checkpoint, osp.join(args.work_dir, 'retrain',
                                               name),
            splits, ('val', 'crop'), args.cfg_options)
        info = machine()
        merged = _load_config(config, args.cfg_options)
        metadata = {
            'Training Data': 'SynthPose train',
            'Epochs': int(merged.train_cfg.max_epochs),
            'Batch Size': int(merged.train_dataloader.batch_size),
            'Training Minutes': round(seconds / 60, 1),
            'Training Resources': machine_text(info),
            'Date': _today(),
            'Presence Threshold': result['thresholds']['ex_ap'],
        }
        entry = publish(name, config_rel, work, zoo_results(result),
                        metadata, refit_dir=refit_dir)
        published[name] = entry
        print(f"Published {name}: {osp.join(root, entry['Weights'])} "
              f'(training time {seconds / 60:.1f} min)')
    took = (time.time() - start) / 60
    print(f'Retraining took {took:.1f} min (estimate '
          f'{_duration(total)}).\n')
    return dict(models=published, minutes=round(took, 1),
                estimate_minutes=round(total, 1))


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
def write_summary(summary: dict, work_dir: str) -> str:
    """``summary.md`` (returned) and ``summary.json``."""
    info = summary['machine']
    lines = [
        f"# make demo: the SynthPose zoo, measured ({summary['date']})", '',
        f'Machine: {machine_text(info)}. Zoo root: `{summary["zoo_root"]}`.',
        '']
    if summary['missing']:
        lines += [missing_text(summary['missing']), '']
    lines += ['## The paper\'s claims as measured', '',
              claims_table(summary['claims'])]
    if summary['models']:
        lines += [
            '## Models', '',
            'Presence thresholds (Ex-OKS) were chosen by Ex-AP and in/out '
            'thresholds by balanced in/out accuracy, both on the held-out '
            f"Crop split (`{summary['splits']['heldout_crop']}`), never on "
            'a reported split. Out-of-image keypoints: GT keypoints of '
            'SynthPose-Crop val outside their image (true coordinates '
            'kept).', '', models_table(summary['models']),
            '## In/out classification on SynthPose-Crop val', '',
            summary['inout']['table']]
    if summary['calibration'] is not None:
        lines += ['## Calibration', '',
                  calibration_table(summary['calibration'])]
    if summary['finetune'] is not None:
        lines += ['## Fine-tuning', '', finetune_text(summary['finetune']),
                  '']
    if summary.get('lifting'):
        lines += ['## 3D lifting', '', 'The zoo lifters on SynthMotion test '
                  '(ground-truth 2D input; P1 = MPJPE, P2 = P-MPJPE):', '',
                  summary['lifting']['table'], '',
                  *summary['lifting']['lines'], '']
    if summary['pictures']:
        lines += ['## Pictures', '']
        lines += [f'* {name}: `{path}`'
                  for name, path in summary['picture_paths'].items()]
        lines.append('')
    lines += ['## Time', '', ', '.join(
        f'{k} {v:.0f} s' for k, v in summary['seconds'].items()), '']
    text = '\n'.join(lines)
    with open(osp.join(work_dir, 'summary.md'), 'w') as f:
        f.write(text)
    json_summary = {k: v for k, v in summary.items() if k != 'inout'}
    json_summary['inout'] = summary['inout']['summary'] if summary[
        'inout'] else None
    _write_json(osp.join(work_dir, 'summary.json'), json_summary)
    return text


def lifting_demo(args) -> Optional[dict]:
    """The published SynthMotion lifters on SynthMotion test (generated
    into ``--motion-root`` if missing): P1/P2 and the GraphMLP-style lifter
    against MMPose's TCN at equal frame counts.

    Returns:
        dict | None: ``rows`` (:func:`~probpose_ext.analysis.lifting.
        lifter_row`), ``versus`` and ``table``; None when no lifter is
        published.
    """
    from mmengine.config import Config

    from probpose_ext.analysis.lifting import (lifter_row, lifter_table,
                                               model_parameters,
                                               same_frames_comparison,
                                               versus_text)
    from probpose_ext.apis.runs import evaluate_cached
    from probpose_ext.apis.zoo import zoo_models
    lifters = {name: entry for name, entry in zoo_models().items()
               if entry.get('In Collection') == 'SynthMotion'}
    if not lifters:
        print('No lifter published (tools/analysis_tools/'
              'lifter_comparison.py --publish): lifting skipped.')
        return None
    root = args.motion_root
    if not osp.isdir(root):
        from probpose_ext.datasets.generators.synthmotion import \
            make_synthmotion
        print(f'Generating SynthMotion into {root} ...')
        make_synthmotion(root, seed=args.seed, progress=False)
    rows = []
    for name in sorted(lifters):
        entry = lifters[name]
        cfg = Config.fromfile(entry['Config'])
        for loader in ('val_dataloader', 'test_dataloader'):
            cfg[loader].dataset.data_root = osp.abspath(root) + '/'
        print(f"Evaluating {name} ({entry['Weights']}) ...")
        with _quiet():
            metrics, _ = evaluate_cached(
                cfg, entry['Weights'], osp.join(args.work_dir, 'lifting',
                                                name), dump=False)
        rows.append(lifter_row(name, cfg.model.backbone.type,
                               cfg.test_dataloader.dataset.seq_len,
                               model_parameters(cfg), metrics, None))
    rows.sort(key=lambda r: (r['frames'], r['backbone']))
    versus = same_frames_comparison(rows)
    table = lifter_table(rows)
    print(table, *versus_text(versus), sep='\n')
    return dict(rows=rows, versus=versus, table=table,
                lines=versus_text(versus))


def run_demo(args, splits: Dict[str, Split]) -> dict:
    """Evaluate the published models, measure the claims, draw, fine-tune
    and write the summary."""
    from probpose_ext.apis.zoo import zoo_root
    seconds = {}
    found, missing = find_zoo_models(args.models)
    print(f"\nZoo ({zoo_root()}): published {', '.join(found) or 'none'}")
    if missing:
        print(missing_text(missing))
    if not found:
        raise SystemExit('No zoo model to run: none of '
                         f"{', '.join(args.models)} is published yet (see "
                         'above).')

    start = time.time()
    results = {}
    for name in ZOO:
        if name in found:
            config, weights = found[name]
            print(f'Evaluating {name} ({weights}) ...')
            results[name] = evaluate_model(
                name, config, weights, osp.join(args.work_dir, name), splits,
                ('val', 'fresh', 'crop'), args.cfg_options)
    seconds['evaluation'] = time.time() - start
    inout = inout_analysis(results, args.work_dir)

    calibration = None
    if PROBPOSE in results:
        start = time.time()
        calibration, reused = calibrate_probpose(*found[PROBPOSE], splits,
                                                 args)
        if reused:
            print('Calibration found at '
                  f"{osp.join(args.work_dir, 'calibration')}")
        seconds['calibration'] = time.time() - start

    start = time.time()
    pictures = make_pictures(results, args)
    seconds['pictures'] = time.time() - start

    finetuned = None
    if PROBPOSE in results and args.finetune_iters > 0:
        start = time.time()
        finetuned, reused = finetune(results[PROBPOSE], splits, args)
        if reused:
            print('Fine-tuning found at '
                  f"{osp.join(args.work_dir, 'finetune')}")
        print(finetune_text(finetuned))
        seconds['fine-tuning'] = time.time() - start
    elif args.finetune_iters > 0:
        print(f'Fine-tuning skipped: {PROBPOSE} is not published.')

    lifting = None
    if not args.no_lifting:
        start = time.time()
        lifting = lifting_demo(args)
        seconds['lifting'] = time.time() - start

    paths = {}
    for kind, title in (('grid', 'prediction grid'),
                        ('outside', 'keypoints outside the image')):
        if kind in pictures:
            paths[f"{title} ({pictures[kind]['model']})"] = \
                pictures[kind]['path']
    paths['in/out accuracy vs threshold'] = inout['plot']
    if calibration is not None:
        paths.update({f'calibration: {osp.basename(p)}': p
                      for p in calibration['plots']})
    return dict(results=results, missing=missing, inout=inout,
                calibration=calibration, pictures=pictures, paths=paths,
                finetune=finetuned, lifting=lifting, seconds=seconds)


def main(argv: Optional[List[str]] = None) -> dict:
    global _LOG
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    _LOG = open(osp.join(args.work_dir, 'demo.log'), 'a')
    print(f"# tools/demo.py {' '.join(argv or sys.argv[1:])} ({_today()})",
          file=_LOG, flush=True)
    try:
        splits = prepare_data(args)
        data_seconds = time.time() - start
        retrained = None
        if args.retrain:
            retrained = retrain(args, splits)
            # the demo then measures every published model, the retrained
            # ones with the others
            args.models = list(ZOO)
        demo = run_demo(args, splits)
    finally:
        _LOG.close()
        _LOG = None
    from probpose_ext.apis.zoo import zoo_root
    seconds = dict(data=data_seconds, **demo['seconds'])
    seconds['total'] = time.time() - start
    summary = dict(
        date=_today(), machine=machine(), zoo_root=zoo_root(),
        missing=demo['missing'],
        splits={tag: osp.abspath(s.ann_file) for tag, s in splits.items()},
        claims=measure_claims(demo['results'], demo['calibration']),
        models=demo['results'], inout=demo['inout'],
        calibration=demo['calibration'], finetune=demo['finetune'],
        pictures=demo['pictures'], picture_paths=demo['paths'],
        lifting=demo['lifting'],
        retrain=retrained, seconds={k: round(v, 1)
                                    for k, v in seconds.items()})
    text = write_summary(summary, args.work_dir)
    print('\n' + text)
    print(f"Summary: {osp.join(args.work_dir, 'summary.md')} and "
          'summary.json')
    print('Pictures:')
    for name, path in demo['paths'].items():
        print(f'  {name}: {path}')
    return summary


if __name__ == '__main__':
    main()

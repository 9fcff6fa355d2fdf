"""The whole chain under stress (docs/robustness.md): rendered SynthMotion
frames through the 2D zoo into the lifters, the cross-source matrix and
three corruption benchmarks.

Stages (each cell is cached in ``WORK_DIR/cells/<stage>/<cell>.json``
under the identity of its inputs, and lifters train with MMEngine's
``--resume``, so an interrupted run continues where it stopped):

1. ``frames``: SynthMotion-Video (``data/synthmotion_video``), generated
   when missing;
2. ``sources``: the lifters' 2D inputs for both splits (ground truth, GT +
   noise, each 2D zoo model on the frames with their confidences and, for
   ProbPose and TIC, covariances), :mod:`~probpose_ext.datasets.keypoint_sources`;
3. ``matrix``: a lifter trained per 2D source, evaluated on every source
   (P1 / P2);
4. ``image``: each 2D model under the 10 image corruptions x severities on
   SynthPose val and on rendered frames (AP, Ex-AP, mean robustness
   ratio);
5. ``video``: video corruptions of the rendered test frames through each
   2D model into the plain, TAGN and CA-Conv lifters (MPJPE);
6. ``keypoint``: keypoint corruptions of the ground-truth 2D into the same
   lifters (MPJPE).

2D models run without flip test (all alike, half the cost); everything
runs in one process per model (:class:`~.inprocess.InProcessTester`).
"""
import copy
import dataclasses
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from .robustness_stages import (MODEL_NAMES, ChainRun, MatrixRow,
                                run_matrix, stage_frames, stage_image,
                                stage_keypoint, stage_sources, stage_video,
                                video_rows)
from .runs import run_stamp, write_json

__all__ = [
    'RobustnessSettings', 'MatrixRow', 'default_rows', 'quick_settings',
    'run_chain', 'run_matrix_only', 'eval_sources', 'STAGES'
]

STAGES = ('frames', 'sources', 'matrix', 'image', 'video', 'keypoint')

def default_rows() -> Tuple[MatrixRow, ...]:
    """One-frame TCNs per 2D training source, then the three 27-frame
    lifters of the video benchmark (trained on the ground truth)."""
    rows = [
        MatrixRow(f'TCN-1 {src}{" samples" if smp else ""}', 'tcn1', src,
                  smp)
        for src, smp in (('gt', False), ('noise5', False),
                         ('heatmap', False), ('probpose', False),
                         ('tic', False), ('probpose', True), ('tic', True))
    ]
    return tuple(rows) + video_rows()


@dataclass
class RobustnessSettings:
    """What the chain runs (defaults: the full study, about an hour on 2
    CPU cores; :func:`quick_settings` for the test-sized one).

    Args:
        work_dir (str): Where cells, lifters, sources and results go.
        frames_root (str): SynthMotion-Video; generated when missing.
        frames_params (dict, optional): ``SynthMotionVideoParams`` fields
            (``motion`` as a dict of ``SynthMotionParams`` fields) used when
            generating it.
        synthpose_root (str): SynthPose (image-level benchmark).
        models (tuple[str]): 2D zoo models.
        train_models (tuple[str]): Models also run on the train frames
            (2D training sources of the matrix).
        noise_std (tuple[float]): Pixel std of the GT + noise sources.
        rows (tuple[MatrixRow]): Lifters of the matrix.
        video_lifters (tuple[MatrixRow]): Lifters of the video and
            keypoint levels (:func:`video_rows`).
        severities (tuple[int]): Corruption severities (1..5).
        image_corruptions (tuple[str]): Image-level corruptions.
        video_corruptions (tuple[str]): Video-level corruptions.
        keypoint_corruptions (tuple[str]): Keypoint-level corruptions.
        image_subset (int): Images of each data set in the image level.
        video_camera (str): Camera whose test videos the video and
            keypoint levels use (``''``: all).
        lifter_epochs (int): Training epochs of every lifter.
        seed (int): Seed of noise and corruption draws.
        batch_size (int): 2D batch size.
    """
    work_dir: str = 'work_dirs/robustness'
    frames_root: str = 'data/synthmotion_video'
    frames_params: Optional[dict] = None
    synthpose_root: str = 'data/synthpose'
    models: Tuple[str, ...] = tuple(MODEL_NAMES)
    train_models: Tuple[str, ...] = ('synthpose-heatmap',
                                     'synthpose-probpose', 'synthpose-tic')
    noise_std: Tuple[float, ...] = (2.0, 5.0, 10.0)
    rows: Tuple[MatrixRow, ...] = field(default_factory=default_rows)
    video_lifters: Tuple[MatrixRow, ...] = field(default_factory=video_rows)
    severities: Tuple[int, ...] = (1, 2, 3, 4, 5)
    image_corruptions: Optional[Tuple[str, ...]] = None
    video_corruptions: Tuple[str, ...] = ('occlusion', 'motion_blur',
                                          'gaussian_noise')
    keypoint_corruptions: Optional[Tuple[str, ...]] = None
    image_subset: int = 150
    video_camera: str = '54138969'
    lifter_epochs: int = 16
    seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.image_corruptions is None:
            from ..ops.image_corruptions import IMAGE_CORRUPTIONS
            self.image_corruptions = tuple(IMAGE_CORRUPTIONS)
        if self.keypoint_corruptions is None:
            from ..ops.keypoint_corruptions import KEYPOINT_CORRUPTIONS
            self.keypoint_corruptions = tuple(KEYPOINT_CORRUPTIONS)
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown:
            raise ValueError(f'unknown 2D models {unknown}; choose from '
                             f'{list(MODEL_NAMES)}')
        if not set(self.train_models) <= set(self.models):
            raise ValueError('train_models must be a subset of models')
        bad = [s for s in self.severities if not 1 <= s <= 5]
        if bad:
            raise ValueError(f'severities must be in 1..5, got {bad}')


def quick_settings(work_dir: str = 'work_dirs/robustness_quick'
                   ) -> RobustnessSettings:
    """A two-minute version of the chain for tests: a tiny rendered set
    (one train and one test subject, two actions, 8 frames, 4 cameras),
    two 2D models, three matrix rows, the three benchmark lifters, two
    corruptions per level at severities 1 and 5, one-epoch lifters."""
    return RobustnessSettings(
        work_dir=work_dir,
        frames_root=osp.join(work_dir, 'frames'),
        frames_params=dict(
            motion=dict(train_subjects=('S1', ), test_subjects=('S9', ),
                        actions=('walk', 'wave'), reps=1, frames=8,
                        fps=25),
            img_size=(256, 256)),
        models=('synthpose-heatmap', 'synthpose-tic'),
        train_models=('synthpose-tic', ),
        noise_std=(5.0, ),
        rows=(MatrixRow('TCN-1 gt', 'tcn1', 'gt'),
              MatrixRow('TCN-1 tic samples', 'tcn1', 'tic', True),
              MatrixRow('TCN-27 gt', 'tcn27', 'gt')),
        severities=(1, 5),
        image_corruptions=('gaussian_noise', 'mask'),
        video_corruptions=('occlusion', 'gaussian_noise'),
        keypoint_corruptions=('jitter', 'lr_swap'),
        image_subset=6,
        video_camera='',
        lifter_epochs=1)


def eval_sources(settings: RobustnessSettings) -> List[str]:
    """The matrix's test sources: ground truth, GT + noise, each model."""
    return (['gt'] + [f'noise{s:g}' for s in settings.noise_std] +
            [MODEL_NAMES[m] for m in settings.models])


def write_results(run: ChainRun, results: dict, out_dir: str) -> List[str]:
    """Markdown, JSON and PNG of each finished stage in ``out_dir``."""
    from ..analysis import robustness as rb
    os.makedirs(out_dir, exist_ok=True)
    written = []

    def put(name: str, text: str) -> None:
        path = osp.join(out_dir, name)
        with open(path, 'w') as f:
            f.write(text)
        written.append(path)

    write_json(osp.join(out_dir, 'results.json'), results)
    written.append(osp.join(out_dir, 'results.json'))
    meta = results.get('meta', {})
    stamp = f'{meta.get("date", "")}, {meta.get("machine", "")}'
    if results.get('matrix'):
        recs = results['matrix']
        train = {r['row']: r['train_source'].split(' ')[0] for r in recs}
        put('matrix.md', f'Cross-source matrix ({stamp}); * marks the '
            'training source, bold the best of a column\n\n' +
            rb.matrix_table(recs, 'P1', train) + '\n\n' +
            rb.matrix_table(recs, 'P2', train) + '\n\n' +
            rb.matrix_summary(recs, train) + '\n')
        rb.plot_matrix(recs, osp.join(out_dir, 'matrix.png'))
        written.append(osp.join(out_dir, 'matrix.png'))
    if results.get('image'):
        recs = results['image']
        text = [f'Image-level corruptions ({stamp})']
        for data in sorted({r['data'] for r in recs}):
            for metric in ('AP', 'Ex_AP'):
                sub = [r for r in recs if r['data'] == data]
                summary = rb.corruption_summary(sub, metric)
                text += ['', f'{metric} on {data} (mean over severities '
                         f'{list(run.s.severities)})', '',
                         rb.corruption_table(summary)]
        put('image.md', '\n'.join(text) + '\n')
        for data in sorted({r['data'] for r in recs}):
            png = osp.join(out_dir,
                           f'image_{data.replace(" ", "_").lower()}.png')
            rb.plot_corruption_curves(
                [r for r in recs if r['data'] == data], 'AP', png,
                ylabel=f'AP on {data}')
            written.append(png)
    for stage in ('video', 'keypoint'):
        recs = results.get(stage)
        if not recs:
            continue
        summary = rb.corruption_summary(recs, 'P1', by=('lifter', ),
                                        higher_is_better=False)
        over = 'severities and 2D models' if stage == 'video' else \
            'severities'
        text = [f'{stage.capitalize()}-level corruptions ({stamp}); P1 mm, '
                f'mean over {over}', '',
                rb.corruption_table(summary, by=('lifter', ), digits=1)]
        if stage == 'video':
            per_model = rb.corruption_summary(
                recs, 'P1', by=('model', 'lifter'), higher_is_better=False)
            text += ['', 'Per 2D model:', '',
                     rb.corruption_table(per_model, by=('model', 'lifter'),
                                         digits=1)]
        put(f'{stage}.md', '\n'.join(text) + '\n')
        png = osp.join(out_dir, f'{stage}.png')
        rb.plot_corruption_curves(recs, 'P1', png, line='lifter',
                                  ylabel='P1 (mm)')
        written.append(png)
    return written


def run_chain(settings: RobustnessSettings,
              stages: Sequence[str] = STAGES,
              progress: bool = True,
              out_dir: Optional[str] = None) -> dict:
    """Run the stages in order (see the module docstring).

    Args:
        settings (RobustnessSettings): What to run.
        stages (Sequence[str]): Subset of :data:`STAGES` (earlier stages'
            outputs must exist; ``frames`` and ``sources`` are cheap when
            cached).
        progress (bool): Progress bars.
        out_dir (str, optional): Results folder; defaults to
            ``WORK_DIR/results``.

    Returns:
        dict: ``meta`` and one entry per stage run.
    """
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f'unknown stages {unknown}; choose from {STAGES}')
    run = ChainRun(settings, progress)
    start = time.time()
    results: dict = dict(meta=_meta(settings))
    timings = {}
    for stage in STAGES:
        if stage not in stages:
            continue
        t0 = time.time()
        if stage == 'frames':
            results['frames'] = stage_frames(run)
        elif stage == 'sources':
            results['sources'] = stage_sources(run)
        elif stage == 'matrix':
            results['matrix'] = run_matrix(run, settings.rows,
                                           eval_sources(settings))
        elif stage == 'image':
            results['image'] = stage_image(run)
        elif stage == 'video':
            results['video'] = stage_video(run)
        elif stage == 'keypoint':
            results['keypoint'] = stage_keypoint(run)
        timings[stage] = round((time.time() - t0) / 60, 2)
    results['meta']['minutes'] = timings
    results['meta']['total_minutes'] = round((time.time() - start) / 60, 2)
    results['written'] = write_results(
        run, results, out_dir or osp.join(run.work, 'results'))
    return results


def run_matrix_only(settings: RobustnessSettings,
                    rows: Sequence[MatrixRow],
                    sources: Sequence[str],
                    sources_dir: Optional[str] = None,
                    progress: bool = True,
                    out_dir: Optional[str] = None) -> dict:
    """The matrix alone (``tools/analysis_tools/robustness_matrix.py``):
    without ``sources_dir`` the ``frames`` and ``sources`` stages run first
    (cached).

    Args:
        settings (RobustnessSettings): Paths, epochs, models.
        rows (Sequence[MatrixRow]): Lifters and their training sources.
        sources (Sequence[str]): Test sources.
        sources_dir (str, optional): Folder of ``NAME_{train,test}.npy``.
        progress (bool): Progress bars.
        out_dir (str, optional): Results folder (default
            ``WORK_DIR/results``).

    Returns:
        dict: ``meta``, ``matrix`` records and ``written`` paths.
    """
    run = ChainRun(settings, progress)
    start = time.time()
    if sources_dir is None:
        stage_frames(run)
        stage_sources(run)
    else:
        sources_dir = osp.abspath(sources_dir)
        needed = [f'{r.source}_train.npy' for r in rows
                  if r.source != 'gt']
        needed += [f'{r.source}_train_dist.npz' for r in rows if r.samples]
        needed += [f'{s}_test.npy' for s in sources if s != 'gt']
        missing = sorted({f for f in needed
                          if not osp.isfile(osp.join(sources_dir, f))})
        if missing:
            raise FileNotFoundError(
                f'{sources_dir} lacks {missing}; make the sources with '
                'tools/analysis_tools/robustness.py --stages frames sources')
    results = dict(meta=_meta(settings),
                   matrix=run_matrix(run, rows, sources, sources_dir))
    results['meta']['total_minutes'] = round((time.time() - start) / 60, 2)
    results['written'] = write_results(
        run, results, out_dir or osp.join(run.work, 'results'))
    return results


def _meta(settings: RobustnessSettings) -> dict:
    return dict(run_stamp(), settings=_settings_dict(settings))


def _settings_dict(settings: RobustnessSettings) -> dict:
    out = dataclasses.asdict(settings)
    for key in ('rows', 'video_lifters'):
        out[key] = [dataclasses.asdict(r) for r in getattr(settings, key)]
    return copy.deepcopy(out)

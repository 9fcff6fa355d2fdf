"""The stages of the robustness chain (:mod:`.robustness`): 2D sources
from the zoo on rendered frames, the lifters (trained, resumable) and
their evaluation on 2D sources, the cross-source matrix and the image-,
video- and keypoint-level corruption benchmarks. Every cell is cached by
:meth:`ChainRun.cell`.
"""
import json
import os
import os.path as osp
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .runs import CellRun, file_key, trained_checkpoint

__all__ = [
    'LIFTER_CONFIGS', 'VIDEO_LIFTERS', 'MODEL_NAMES', 'MatrixRow',
    'video_rows', 'zoo_tester', 'zoo_predict',
    'ChainRun', 'stage_frames', 'stage_sources', 'train_lifter',
    'evaluate_lifter', 'run_matrix', 'stage_image', 'stage_video',
    'stage_keypoint'
]

LIFTER_CONFIGS = dict(
    tcn1='configs/synthmotion_video/'
    'pose-lift_tcn-1frm_1xb256-16e_synthmotion-video.py',
    tcn27='configs/synthmotion_video/'
    'pose-lift_tcn-27frm_1xb256-16e_synthmotion-video.py',
    tagn27='configs/synthmotion_video/'
    'pose-lift_tcn-27frm-tagn_1xb256-16e_synthmotion-video.py',
    ca27='configs/synthmotion_video/'
    'pose-lift_ca-tcn-27frm_1xb256-16e_synthmotion-video.py')
#: the video / keypoint benchmarks' lifters: name -> LIFTER_CONFIGS key
VIDEO_LIFTERS = {'TCN-27': 'tcn27', 'TCN-27 TAGN': 'tagn27',
                 'CA-TCN-27 TAGN': 'ca27'}
#: 2D source of the extra benchmark lifters trained on a model's
#: detections (confidences that vary, as at test time)
DETECTION_SOURCE = 'heatmap'
#: short names of the 2D zoo models
MODEL_NAMES = {
    'synthpose-heatmap': 'heatmap',
    'synthpose-probpose': 'probpose',
    'synthpose-probpose-dh': 'probpose-dh',
    'synthpose-tic': 'tic'
}


@dataclass(frozen=True)
class MatrixRow:
    """A lifter of the matrix: its config (a :data:`LIFTER_CONFIGS` key or
    a path), its 2D training source and whether it trains on samples of
    the source's distribution (:class:`SampleKeypoints2D`)."""
    name: str
    lifter: str
    source: str
    samples: bool = False


def _abs(path: str) -> str:
    from .zoo import zoo_root
    return path if osp.isabs(path) else osp.join(zoo_root(), path)


class ChainRun(CellRun):
    """Paths, loaded models and the cell cache of one chain run.

    Args:
        settings (RobustnessSettings): What runs (:mod:`.robustness`).
        progress (bool): Progress bars.
    """

    def __init__(self, settings,
                 progress: bool = True) -> None:
        super().__init__(settings.work_dir, progress)
        self.s = settings
        self.frames = osp.abspath(settings.frames_root)

    def npz(self, split: str) -> str:
        fps = self.frames_fps()
        return osp.join(self.frames, 'annotation_body3d', f'fps{fps}',
                        f'synthmotion_video_{split}.npz')

    def frames_fps(self) -> int:
        folder = osp.join(self.frames, 'annotation_body3d')
        fps = [d for d in sorted(os.listdir(folder)) if d.startswith('fps')]
        if len(fps) != 1:
            raise FileNotFoundError(f'{folder}: expected one fps* folder, '
                                    f'found {fps}')
        return int(fps[0][3:])

    def coco(self, split: str) -> str:
        return osp.join(self.frames, 'annotations',
                        f'person_keypoints_{split}.json')

    def source(self, name: str, split: str) -> str:
        return self.path('sources', f'{name}_{split}')


def zoo_tester(model: str, cache: Dict) -> Tuple[object, str]:
    """An in-process tester of a 2D zoo model (no flip test, covariances
    on) and its weights, built once per ``cache``."""
    if model not in cache:
        from mmengine.config import Config
        from .inprocess import InProcessTester
        from .zoo import resolve
        config, weights = resolve(model)
        cfg = Config.fromfile(config)
        cfg.model.setdefault('test_cfg', {})
        cfg.model.test_cfg['flip_test'] = False
        cfg.model.test_cfg['output_covariance'] = True
        cache[model] = (InProcessTester(cfg, weights), weights)
    return cache[model]


def _tester(run: ChainRun, model: str):
    return zoo_tester(model, run.testers)


def _pipeline_with(tester, corruption: Optional[dict]) -> List[dict]:
    pipeline = [dict(t) for t in tester.cfg.test_dataloader.dataset.pipeline]
    if corruption is not None:
        at = [t['type'] for t in pipeline].index('LoadImage') + 1
        pipeline.insert(at, dict(type='ImageCorruption', **corruption))
    return pipeline


def zoo_predict(tester, data_root: str, ann_file: str, img_prefix: str,
                batch_size: int, corruption: Optional[dict] = None,
                keep: bool = False,
                progress: Optional[str] = None) -> Tuple[dict, list]:
    """A 2D model's AP / Ex-AP (and predictions) on a COCO file of rendered
    frames with its ground-truth boxes, optionally under an image
    corruption (``ImageCorruption`` arguments)."""
    dataset = tester.dataset_config(
        data_root=data_root, ann_file=ann_file,
        data_prefix=dict(img=img_prefix),
        pipeline=_pipeline_with(tester, corruption))
    dataset.pop('bbox_file', None)
    evaluator = [dict(type='ExCocoMetric', ann_file=ann_file)]
    return tester.run(dataset, evaluator, batch_size, keep=keep,
                      progress=progress)


def _run_2d(run: ChainRun, model: str, data_root: str, ann_file: str,
            img_prefix: str, corruption: Optional[dict] = None,
            keep: bool = False) -> Tuple[dict, list]:
    tester, _ = _tester(run, model)
    label = f'{MODEL_NAMES[model]} {osp.basename(ann_file)}'
    if corruption:
        label += f' {corruption["corruption"]}{corruption["severity"]}'
    return zoo_predict(tester, data_root, ann_file, img_prefix,
                       run.s.batch_size, corruption, keep,
                       label if run.progress else None)


def _curves(corruption: Optional[str], names: Sequence[str]) -> List[str]:
    """The corruption curves a cell's record belongs to: its own, or, for
    the clean run (``None``), every curve's severity-0 point."""
    return [corruption] if corruption else list(names)


def _ap(metrics: dict) -> dict:
    return dict(AP=metrics.get('coco/AP'), Ex_AP=metrics.get('coco/Ex_AP'))



def stage_frames(run: ChainRun) -> dict:
    """Generate SynthMotion-Video unless ``frames_root`` has it."""
    if osp.isfile(osp.join(run.frames, 'annotations',
                           'person_keypoints_test.json')):
        return dict(frames_root=run.frames, generated=False)
    from ..datasets.generators.synthmotion import SynthMotionParams
    from ..datasets.generators.synthmotion_video import (
        SynthMotionVideoParams, make_synthmotion_video)
    kwargs = dict(run.s.frames_params or {})
    if 'motion' in kwargs:
        motion = dict(kwargs['motion'])
        for k in ('train_subjects', 'test_subjects', 'actions'):
            if k in motion:
                motion[k] = tuple(motion[k])
        kwargs['motion'] = SynthMotionParams(**motion)
    if 'img_size' in kwargs:
        kwargs['img_size'] = tuple(kwargs['img_size'])
    make_synthmotion_video(run.frames, seed=run.s.seed,
                           params=SynthMotionVideoParams(**kwargs),
                           progress=run.progress)
    return dict(frames_root=run.frames, generated=True)


def stage_sources(run: ChainRun) -> Dict[str, dict]:
    """The 2D sources of both splits; returns the 2D models' clean AP on
    the frames (test split)."""
    from ..datasets.h36m_npz import load_h36m_npz
    from ..datasets.keypoint_sources import (gt_source, noisy_source,
                                             prediction_source,
                                             read_predictions, write_source)
    results = {}
    for split in ('train', 'test'):
        npz = run.npz(split)
        ann = load_h36m_npz(npz)
        kpts, scores = gt_source(ann)
        write_source(run.source('gt', split), kpts, scores)
        for std in run.s.noise_std:
            seed = zlib.crc32(f'{run.s.seed}/{split}/{std}'.encode())
            write_source(run.source(f'noise{std:g}', split),
                         noisy_source(kpts, std, seed), scores)
        for model in run.s.models:
            if split == 'train' and model not in run.s.train_models:
                continue
            name = MODEL_NAMES[model]
            prefix = run.source(name, split)
            _, weights = _tester(run, model)
            coco = run.coco(split)

            def compute(model=model, coco=coco, n=len(ann['imgname']),
                        prefix=prefix) -> dict:
                metrics, preds = _run_2d(run, model, run.frames, coco,
                                         'images/', keep=True)
                k, s, f = prediction_source(read_predictions(preds, n))
                write_source(prefix, k, s, f)
                return _ap(metrics)

            results[f'{name}/{split}'] = run.cell(
                'sources', f'{name}_{split}',
                dict(weights=file_key(weights), frames=file_key(coco)),
                compute, outputs=[prefix + '.npy'])
    return results


def _lifter_config(run: ChainRun, row: MatrixRow, sources_dir: str):
    from mmengine.config import Config
    config = LIFTER_CONFIGS.get(row.lifter, row.lifter)
    cfg = Config.fromfile(_abs(config))
    epochs = run.s.lifter_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    for sched in cfg.param_scheduler:
        if sched.get('type') == 'CosineAnnealingLR':
            sched.update(T_max=epochs, end=epochs)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = run.frames + '/'
    train = cfg.train_dataloader.dataset
    train.ann_file = osp.relpath(run.npz('train'), run.frames)
    cfg.val_dataloader.dataset.ann_file = osp.relpath(
        run.npz('test'), run.frames)
    cfg.test_dataloader = cfg.val_dataloader
    det = osp.join(sources_dir, f'{row.source}_train.npy')
    if row.source != 'gt':
        train.keypoint_2d_src = 'detection'
        train.keypoint_2d_det_file = det
    if row.samples:
        dist = osp.join(sources_dir, f'{row.source}_train_dist.npz')
        train.pipeline = [dict(type='SampleKeypoints2D', dist_file=dist)
                          ] + list(train.pipeline)
    return cfg, det


def train_lifter(run: ChainRun, row: MatrixRow, sources_dir: str) -> str:
    """Train (or resume) a matrix row's lifter; its last checkpoint."""
    cfg, det = _lifter_config(run, row, sources_dir)
    slug = row.name.replace(' ', '_')
    work = run.path('lifters', slug, 'x')[:-2]
    config_path = osp.join(work, 'config.py')
    text = cfg.pretty_text
    if not osp.isfile(config_path) or open(config_path).read() != text:
        with open(config_path, 'w') as f:
            f.write(text)
    return trained_checkpoint(config_path, work, run.s.lifter_epochs,
                              tag=f'lifter {row.name}')


def _lifter_tester(run: ChainRun, config: str, checkpoint: str):
    key = (config, checkpoint)
    if key not in run.testers:
        from .inprocess import InProcessTester
        run.testers[key] = InProcessTester(config, checkpoint)
    return run.testers[key]


def evaluate_lifter(run: ChainRun, config: str, checkpoint: str,
                    det_file: Optional[str],
                    ann_file: Optional[str] = None) -> dict:
    """P1 / P2 (mm) of a lifter on the test split (or ``ann_file``) with
    the 2D of ``det_file`` (None: ground truth)."""
    tester = _lifter_tester(run, config, checkpoint)
    overrides = dict(data_root=run.frames + '/',
                     ann_file=ann_file or run.npz('test'))
    if det_file is not None:
        overrides.update(keypoint_2d_src='detection',
                         keypoint_2d_det_file=det_file)
    metrics, _ = tester.run(
        tester.dataset_config(**overrides),
        [dict(type='MPJPE', mode='mpjpe'),
         dict(type='MPJPE', mode='p-mpjpe')],
        batch_size=512, keep=False)
    return dict(P1=1000 * metrics['MPJPE'], P2=1000 * metrics['P-MPJPE'])


def run_matrix(run: ChainRun, rows: Sequence[MatrixRow],
               eval_sources: Sequence[str],
               sources_dir: Optional[str] = None) -> List[dict]:
    """Train every row's lifter and evaluate it on every source.

    Args:
        run (ChainRun): The chain run.
        rows (Sequence[MatrixRow]): Lifters.
        eval_sources (Sequence[str]): Sources at test (``{name}_test.npy``
            in ``sources_dir``; ``gt`` is the annotation file's own 2D).
        sources_dir (str, optional): Defaults to ``WORK_DIR/sources``.

    Returns:
        list[dict]: Records ``{'row', 'train_source', 'source', 'P1',
        'P2'}``.
    """
    from tqdm import tqdm
    sources_dir = sources_dir or osp.dirname(run.source('gt', 'test'))
    records = []
    bar = tqdm(total=len(rows) * len(eval_sources), desc='matrix',
               disable=not run.progress)
    for row in rows:
        checkpoint = train_lifter(run, row, sources_dir)
        config = osp.join(osp.dirname(checkpoint), 'config.py')
        for source in eval_sources:
            det = None if source == 'gt' else osp.join(
                sources_dir, f'{source}_test.npy')
            key = dict(checkpoint=file_key(checkpoint),
                       source=file_key(det) if det else 'gt',
                       ann=file_key(run.npz('test')))
            value = run.cell(
                'matrix', f'{row.name}__{source}', key,
                lambda: evaluate_lifter(run, config, checkpoint, det))
            records.append(dict(row=row.name, train_source=row.source +
                                (' samples' if row.samples else ''),
                                source=source, **value))
            bar.update()
    bar.close()
    return records


def _subset_coco(src: str, dst: str, keep: Callable[[int, dict], bool],
                 renumber: bool = False) -> str:
    """Write the images (and their annotations) of a COCO file that
    ``keep(index, image)`` selects."""
    with open(src) as f:
        data = json.load(f)
    images = [im for i, im in enumerate(data['images']) if keep(i, im)]
    ids = {im['id'] for im in images}
    anns = [a for a in data['annotations'] if a['image_id'] in ids]
    if renumber:
        new = {im['id']: i + 1 for i, im in enumerate(images)}
        images = [dict(im, id=new[im['id']]) for im in images]
        anns = [dict(a, image_id=new[a['image_id']], id=new[a['image_id']])
                for a in anns]
    out = dict(data, images=images, annotations=anns)
    text = json.dumps(out)
    if not osp.isfile(dst) or open(dst).read() != text:
        with open(dst, 'w') as f:
            f.write(text)
    return dst


def stage_image(run: ChainRun) -> List[dict]:
    """Each 2D model under each image corruption and severity on a subset
    of SynthPose val and of the rendered test frames."""
    from tqdm import tqdm
    n = run.s.image_subset
    synthpose = _abs(run.s.synthpose_root)
    sets = {}
    sp_json = osp.join(synthpose, 'annotations', 'person_keypoints_val.json')
    if osp.isfile(sp_json):
        sets['SynthPose val'] = (
            synthpose, _subset_coco(sp_json, run.path('image', 'synthpose.json'),
                                    lambda i, im: i < n), 'val/')
    with open(run.coco('test')) as f:
        total = len(json.load(f)['images'])
    step = max(1, total // n)
    sets['frames'] = (run.frames, _subset_coco(
        run.coco('test'), run.path('image', 'frames.json'),
        lambda i, im: i % step == 0 and i // step < n), 'images/')
    settings = [(c, s) for c in run.s.image_corruptions
                for s in run.s.severities]
    bar = tqdm(total=len(run.s.models) * len(sets) * (1 + len(settings)),
               desc='image level', disable=not run.progress)
    records = []
    for model in run.s.models:
        _, weights = _tester(run, model)
        for data, (root, ann, prefix) in sets.items():
            for corruption, severity in [(None, 0)] + settings:
                spec = None if corruption is None else dict(
                    corruption=corruption, severity=severity,
                    seed=run.s.seed, level='image')
                key = dict(weights=file_key(weights), ann=file_key(ann),
                           spec=spec)
                value = run.cell(
                    'image', f'{MODEL_NAMES[model]}_{data}_{corruption}'
                    f'{severity}', key,
                    lambda: _ap(_run_2d(run, model, root, ann, prefix,
                                        spec)[0]))
                for name in _curves(corruption, run.s.image_corruptions):
                    records.append(dict(model=MODEL_NAMES[model], data=data,
                                        corruption=name, severity=severity,
                                        **value))
                bar.update()
    bar.close()
    return records


def _video_subset(run: ChainRun) -> Tuple[str, str, np.ndarray]:
    """The test frames of ``video_camera``: an annotation file and a COCO
    file whose image ids are its rows + 1."""
    from ..datasets.h36m_npz import load_h36m_npz, save_h36m_npz
    ann = load_h36m_npz(run.npz('test'))
    names = [str(n) for n in ann['imgname']]
    keep = np.array([run.s.video_camera in osp.basename(osp.dirname(n))
                     for n in names]) if run.s.video_camera else \
        np.ones(len(names), dtype=bool)
    npz = run.path('video', 'frames.npz')
    sub = {k: v[keep] for k, v in ann.items()}
    if not osp.isfile(npz) or len(np.load(npz)['imgname']) != keep.sum():
        save_h36m_npz(npz, sub)
    coco = _subset_coco(run.coco('test'), run.path('video', 'frames.json'),
                        lambda i, im: bool(keep[i]), renumber=True)
    return npz, coco, sub['part']


def video_rows(detection: bool = False) -> Tuple[MatrixRow, ...]:
    """The benchmark lifters: the three of :data:`VIDEO_LIFTERS` trained
    on the ground truth, and with ``detection`` the TAGN and CA-Conv TCNs
    trained on :data:`DETECTION_SOURCE`'s detections too."""
    rows = [MatrixRow(f'{n} gt', k, 'gt') for n, k in VIDEO_LIFTERS.items()]
    if detection:
        rows += [
            MatrixRow(f'{n} {DETECTION_SOURCE}', k, DETECTION_SOURCE)
            for n, k in VIDEO_LIFTERS.items() if k != 'tcn27'
        ]
    return tuple(rows)


def _video_lifters(run: ChainRun) -> Dict[str, Tuple[str, str]]:
    """The benchmark lifters (``settings.video_lifters``, trained if
    missing): name -> (config, checkpoint)."""
    sources_dir = osp.dirname(run.source('gt', 'test'))
    out = {}
    for row in run.s.video_lifters:
        ckpt = train_lifter(run, row, sources_dir)
        out[row.name] = (osp.join(osp.dirname(ckpt), 'config.py'), ckpt)
    return out


def _lifter_records(run: ChainRun, stage: str, cell: str, det: str,
                    npz: str, lifters: Dict[str, Tuple[str, str]],
                    extra: dict) -> List[dict]:
    records = []
    for name, (config, ckpt) in lifters.items():
        key = dict(checkpoint=file_key(ckpt), det=file_key(det),
                   ann=file_key(npz))
        value = run.cell(stage, f'{cell}__{name}', key,
                         lambda: evaluate_lifter(run, config, ckpt, det,
                                                 npz))
        records.append(dict(lifter=name, **extra, **value))
    return records


def stage_video(run: ChainRun) -> List[dict]:
    """Video corruptions of the test frames through each 2D model into
    the benchmark lifters."""
    from tqdm import tqdm
    from ..datasets.keypoint_sources import (prediction_source,
                                             read_predictions, write_source)
    npz, coco, part = _video_subset(run)
    lifters = _video_lifters(run)
    settings = [(None, 0)] + [(c, s) for c in run.s.video_corruptions
                              for s in run.s.severities]
    bar = tqdm(total=len(run.s.models) * len(settings), desc='video level',
               disable=not run.progress)
    records = []
    for model in run.s.models:
        _, weights = _tester(run, model)
        short = MODEL_NAMES[model]
        for corruption, severity in settings:
            spec = None if corruption is None else dict(
                corruption=corruption, severity=severity, seed=run.s.seed,
                level='video')
            cell = f'{short}_{corruption}{severity}'
            prefix = run.path('video', 'sources', cell)

            def compute(model=model, spec=spec, prefix=prefix) -> dict:
                metrics, preds = _run_2d(run, model, run.frames, coco,
                                         'images/', spec, keep=True)
                k, s, _ = prediction_source(
                    read_predictions(preds, len(part)))
                write_source(prefix, k, s)
                return _ap(metrics)

            ap = run.cell('video', cell,
                          dict(weights=file_key(weights),
                               ann=file_key(coco), spec=spec),
                          compute, outputs=[prefix + '.npy'])
            for name in _curves(corruption, run.s.video_corruptions):
                records += _lifter_records(
                    run, 'video', cell, prefix + '.npy', npz, lifters,
                    dict(model=short, corruption=name, severity=severity,
                         AP=ap['AP']))
            bar.update()
    bar.close()
    return records


def stage_keypoint(run: ChainRun) -> List[dict]:
    """Keypoint corruptions of the ground-truth 2D (per video) into the
    benchmark lifters."""
    from tqdm import tqdm
    from ..datasets.h36m_npz import load_h36m_npz
    from ..datasets.keypoint_sources import write_source
    from ..ops.keypoint_corruptions import corrupt_keypoints
    npz, _, _ = _video_subset(run)
    ann = load_h36m_npz(npz)
    videos = np.array([osp.basename(osp.dirname(str(n)))
                       for n in ann['imgname']])
    gt = ann['part'][..., :2].astype(np.float64)
    height = gt[..., 1].max(-1) - gt[..., 1].min(-1)
    lifters = _video_lifters(run)
    settings = [(None, 0)] + [(c, s) for c in run.s.keypoint_corruptions
                              for s in run.s.severities]
    records = []
    for corruption, severity in tqdm(settings, desc='keypoint level',
                                     disable=not run.progress):
        cell = f'{corruption}{severity}'
        prefix = run.path('keypoint', 'sources', cell)
        kpts, scores = gt.copy(), np.ones(gt.shape[:2])
        if corruption is not None:
            for video in np.unique(videos):
                rows = np.flatnonzero(videos == video)
                rng = np.random.default_rng(
                    zlib.crc32(f'{run.s.seed}/{video}/{cell}'.encode()))
                kpts[rows], scores[rows] = corrupt_keypoints(
                    gt[rows], scores[rows], corruption, severity, rng,
                    scale=height[rows])
        write_source(prefix, kpts, scores)
        for name in _curves(corruption, run.s.keypoint_corruptions):
            records += _lifter_records(
                run, 'keypoint', cell, prefix + '.npy', npz, lifters,
                dict(corruption=name, severity=severity))
    return records



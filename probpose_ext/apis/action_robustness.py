"""Skeleton action recognition under keypoint noise
(``tools/analysis_tools/action_robustness.py``, docs/action_recognition.md).

The study trains three ST-GCN recognisers on SynthActions' cross-subject
split once (3D Human3.6M-17 joints; 2D COCO-17 pixels, without and with
the score channel; :data:`ACTION_CONFIGS`) and evaluates them

0. ``clean``: the validation accuracy of every recogniser (with
   ``xview``, also the cross-view ones);
1. ``noise``: under i.i.d. Gaussian noise on the normalised joints
   (metres in 3D, half image sizes in 2D) of the seed report's std list
   (:data:`SEED_NOISE_CURVE`: SkateFormer on NTU-60 X-Sub);
2. ``keypoint``: the 2D models under the keypoint corruptions of the
   robustness chain (:mod:`~probpose_ext.ops.keypoint_corruptions`) at
   severities 1..5, applied to each whole 2D sequence;
3. ``zoo``: the 2D models on the keypoints that each 2D zoo model finds on
   rendered frames of the validation clips of one camera
   (:mod:`~probpose_ext.datasets.generators.synthactions_video`; the
   frames the recogniser's test-mode sampling reads), with the models'
   scores, next to the ground-truth 2D of the same frames.

Every cell is cached (``WORK_DIR/cells/<stage>/<cell>.json``, keyed by its
input files and settings) and the recognisers train with MMEngine's
``--resume``, so an interrupted run continues where it stopped. Results:
``results.json``, markdown tables and PNG curves
(:func:`write_action_results`).
"""
import dataclasses
import os
import os.path as osp
import pickle
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..ops.keypoint_corruptions import KEYPOINT_CORRUPTIONS
from .robustness_stages import MODEL_NAMES, zoo_predict, zoo_tester
from .runs import (CellRun, file_key, run_stamp, trained_checkpoint,
                   training_minutes, write_json)

__all__ = [
    'ACTION_CONFIGS', 'MODELS_2D', 'XVIEW_CONFIGS', 'ZOO_NAMES',
    'SEED_NOISE_CURVE', 'STAGES', 'ActionStudySettings', 'quick_action_settings',
    'run_action_study', 'publish_recognizers', 'write_action_results'
]

#: The study's recognisers: name -> config (cross-subject split).
ACTION_CONFIGS: Dict[str, str] = {
    '3D ST-GCN':
    'configs/synthactions/stgcn_1xb32-joint-3d-30e_synthactions-xsub.py',
    '2D ST-GCN':
    'configs/synthactions/stgcn_1xb32-joint-2d-30e_synthactions-xsub.py',
    '2D ST-GCN + score':
    'configs/synthactions/stgcn_1xb32-joint-score-2d-30e_synthactions-xsub.py',
}
#: The 2D recognisers (keypoint and zoo stages).
MODELS_2D: Tuple[str, ...] = ('2D ST-GCN', '2D ST-GCN + score')
#: The same recognisers on the cross-view split (``xview=True``).
XVIEW_CONFIGS: Dict[str, str] = {
    f'{name} X-View': ACTION_CONFIGS[name].replace('-xsub.py', '-xview.py')
    for name in ('3D ST-GCN', '2D ST-GCN')
}
#: Zoo names of the published recognisers (:func:`publish_recognizers`).
ZOO_NAMES: Dict[str, str] = {
    '3D ST-GCN': 'synthactions-stgcn-3d',
    '2D ST-GCN': 'synthactions-stgcn-2d',
    '3D ST-GCN X-View': 'synthactions-stgcn-3d-xview',
    '2D ST-GCN X-View': 'synthactions-stgcn-2d-xview',
}  # '2D ST-GCN + score' is measured, not published
#: SkateFormer on NTU-60 X-Sub, top-1 under Gaussian noise of std (metres)
#: on the 3D joints (the downstream-effects report).
SEED_NOISE_CURVE: Tuple[Tuple[float, float], ...] = ((0.0, 0.92),
                                                     (0.01, 0.91),
                                                     (0.02, 0.91),
                                                     (0.05, 0.89),
                                                     (0.1, 0.86))
_GT = 'ground truth'


@dataclass(frozen=True)
class ActionStudySettings:
    """What the action-robustness study runs.

    Args:
        work_dir (str): Checkpoints, cached cells, rendered frames, 2D
            sources.
        data_root (str): SynthActions (generated there when missing, with
            ``generate``'s parameters).
        epochs (int, optional): Training epochs (None: the configs').
        warmup_iters (int, optional): Iterations of the learning-rate
            warm-up (None: the configs').
        stds (tuple[float]): Noise stds (normalised units; 0 = clean).
        corruptions (tuple[str]): Keypoint corruptions.
        severities (tuple[int]): Their severities (1..5).
        models (tuple[str]): 2D zoo models for the ``zoo`` stage.
        render_camera (int): Camera of the rendered validation clips.
        render_scale (int): Divisor of the rendered image size.
        max_clips (int, optional): Render only the first clips (quick).
        generate (dict, optional): ``SynthActionsParams`` fields of the
            data generated when ``data_root`` is missing.
        seed (int): Seed of the noise and corruptions.
        batch_size (int): Evaluation batch size.
        workers (int, optional): Rendering processes.
        xview (bool): Also train and evaluate the cross-view recognisers
            (:data:`XVIEW_CONFIGS`; clean accuracy only).
    """
    work_dir: str = 'work_dirs/action_robustness'
    data_root: str = 'data/synthactions'
    epochs: Optional[int] = None
    warmup_iters: Optional[int] = None
    stds: Tuple[float, ...] = tuple(s for s, _ in SEED_NOISE_CURVE)
    corruptions: Tuple[str, ...] = KEYPOINT_CORRUPTIONS
    severities: Tuple[int, ...] = (1, 2, 3, 4, 5)
    models: Tuple[str, ...] = tuple(MODEL_NAMES)
    render_camera: int = 1
    render_scale: int = 3
    max_clips: Optional[int] = None
    generate: Optional[dict] = None
    seed: int = 0
    batch_size: int = 64
    workers: Optional[int] = None
    xview: bool = False


def quick_action_settings(work_dir: str = 'work_dirs/action_robustness_'
                          'quick') -> ActionStudySettings:
    """A small study for tests (about two minutes on 2 cores): 6 subjects
    x 1 rep generated in ``work_dir``, 8 epochs with a 5-iteration
    warm-up, 2 noise levels, 2 corruptions at severities 1 and 5, one 2D
    model on 6 clips."""
    return ActionStudySettings(
        work_dir=work_dir,
        data_root=osp.join(work_dir, 'data'),
        epochs=8,
        warmup_iters=5,
        stds=(0.0, 0.05),
        corruptions=('joint_dropout', 'jitter'),
        severities=(1, 5),
        models=('synthpose-heatmap', ),
        max_clips=6,
        generate=dict(subjects=6, reps=1,
                      xsub_train_subjects=(1, 2, 3, 4, 5)),
        workers=1)


class _Study(CellRun):
    """Paths, testers and the cell cache of one study run."""

    def __init__(self, s: ActionStudySettings, progress: bool) -> None:
        super().__init__(s.work_dir, progress)
        self.s = s
        self.data = osp.abspath(s.data_root)

    def ann(self, layout: str) -> str:
        return osp.join(self.data, f'synthactions_{layout}.pkl')


def _ensure_data(study: _Study) -> None:
    if osp.isfile(study.ann('3d')) and osp.isfile(study.ann('2d')):
        return
    from ..datasets.generators.synthactions import (SynthActionsParams,
                                                    make_synthactions)
    params = SynthActionsParams(**(study.s.generate or {}))
    make_synthactions(study.data, seed=0, params=params,
                      workers=study.s.workers, force=True,
                      progress=study.progress)


def _config(study: _Study, name: str, config: str) -> Tuple[str, int]:
    """The study's copy of a config: its data root, epochs; returns the
    path and the number of epochs."""
    from mmengine.config import Config
    from .zoo import zoo_root
    path = config if osp.isabs(config) else osp.join(zoo_root(), config)
    cfg = Config.fromfile(path)
    epochs = study.s.epochs or cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    for sched in cfg.param_scheduler:
        if sched.get('type') == 'CosineAnnealingLR':
            sched.update(T_max=epochs, end=epochs)
        if sched.get('type') == 'LinearLR' and study.s.warmup_iters:
            sched.update(end=study.s.warmup_iters)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = study.data + '/'
    slug = name.replace(' ', '_')
    # outside the work dir: MMEngine's runner dumps its config there under
    # the config's file name
    out = study.path('configs', f'{slug}.py')
    text = cfg.pretty_text
    if not osp.isfile(out) or open(out).read() != text:
        with open(out, 'w') as f:
            f.write(text)
    return out, epochs


def _train(study: _Study) -> Dict[str, Dict]:
    configs = dict(ACTION_CONFIGS)
    if study.s.xview:
        configs.update(XVIEW_CONFIGS)
    models = {}
    for name, config in configs.items():
        path, epochs = _config(study, name, config)
        work = study.path('models', name.replace(' ', '_'), 'x')[:-2]
        ckpt = trained_checkpoint(path, work, epochs, tag=f'train {name}')
        models[name] = dict(config=path, source_config=config,
                            work_dir=work, checkpoint=ckpt, epochs=epochs,
                            minutes=training_minutes(work, 'acc/top1'))
    return models


def _tester(study: _Study, model: Dict):
    key = model['checkpoint']
    if key not in study.testers:
        from .inprocess import InProcessTester
        study.testers[key] = InProcessTester(model['config'], key)
    return study.testers[key]


def _pipeline(tester, insert: Optional[dict], after: Optional[str]
              ) -> List[dict]:
    """The test pipeline with ``insert`` after the transform ``after``
    (None: first)."""
    pipeline = [dict(t) for t in tester.cfg.test_dataloader.dataset.pipeline]
    if insert is not None:
        at = 0 if after is None else \
            [t['type'] for t in pipeline].index(after) + 1
        pipeline.insert(at, insert)
    return pipeline


def _evaluate(study: _Study, model: Dict, insert: Optional[dict] = None,
              after: Optional[str] = None, **overrides) -> Dict:
    tester = _tester(study, model)
    dataset = tester.dataset_config(
        pipeline=_pipeline(tester, insert, after), **overrides)
    metrics, _ = tester.run(dataset, batch_size=study.s.batch_size,
                            keep=False)
    return {k.split('/')[-1]: v for k, v in metrics.items()}


def _model_key(model: Dict) -> dict:
    return dict(checkpoint=file_key(model['checkpoint']),
                config=file_key(model['config']))


def stage_clean(study: _Study, models: Dict[str, Dict]) -> List[Dict]:
    """Top-1 / top-5 / mean class accuracy of every recogniser on its
    validation split (X-Sub or X-View)."""
    records = []
    for name, model in models.items():
        value = study.cell('clean', name, dict(model=_model_key(model)),
                           lambda model=model: _evaluate(study, model))
        records.append(dict(model=name, **value))
    return records


def stage_noise(study: _Study, models: Dict[str, Dict]) -> List[Dict]:
    """Top-1 / top-5 of the X-Sub recognisers under each noise std."""
    records = []
    for name, model in models.items():
        if name not in ACTION_CONFIGS:
            continue
        for std in study.s.stds:
            noise = dict(type='SkeletonGaussianNoise', std=float(std),
                         seed=study.s.seed)
            value = study.cell(
                'noise', f'{name}_{std:g}',
                dict(model=_model_key(model), std=float(std),
                     seed=study.s.seed),
                lambda model=model, noise=noise: _evaluate(
                    study, model, noise, 'NormalizeSkeleton'))
            records.append(dict(model=name, std=float(std), **value))
    return records


def stage_keypoint(study: _Study, models: Dict[str, Dict]) -> List[Dict]:
    """Top-1 of the 2D recognisers under each keypoint corruption and
    severity (severity 0: the clean run)."""
    records = []
    for name in MODELS_2D:
        model = models[name]
        key = _model_key(model)
        clean = study.cell('keypoint', f'{name}_clean', dict(model=key),
                           lambda model=model: _evaluate(study, model))
        records += [dict(model=name, corruption=c, severity=0, **clean)
                    for c in study.s.corruptions]
        for corruption in study.s.corruptions:
            for severity in study.s.severities:
                insert = dict(type='CorruptSkeleton', corruption=corruption,
                              severity=int(severity), seed=study.s.seed)
                value = study.cell(
                    'keypoint', f'{name}_{corruption}_{severity}',
                    dict(model=key, corruption=corruption,
                         severity=int(severity), seed=study.s.seed),
                    lambda model=model, insert=insert: _evaluate(
                        study, model, insert, None))
                records.append(dict(model=name, corruption=corruption,
                                    severity=int(severity), **value))
    return records


def _clips(study: _Study, model: Dict) -> List[Tuple[str, List[int]]]:
    """The rendered clips: the validation annotations of the render
    camera and the frames that the 2D recogniser's test sampling reads."""
    from ..datasets.generators.synthactions import parse_frame_dir
    from ..datasets.skeleton_action_dataset import load_skeleton_annotations
    from ..ops.skeleton_features import uniform_sample_indices
    tester = _tester(study, model)
    dataset = tester.cfg.test_dataloader.dataset
    sample = [t for t in dataset.pipeline
              if t['type'] == 'SampleSkeletonFrames'][0]
    anns = load_skeleton_annotations(study.ann('2d'),
                                     dataset.split)['annotations']
    clips = []
    for ann in anns:
        if parse_frame_dir(ann['frame_dir'])['camera'] != \
                study.s.render_camera:
            continue
        frames = uniform_sample_indices(int(ann['total_frames']),
                                        int(sample['clip_len']),
                                        int(sample.get('num_clips', 1)))
        clips.append((ann['frame_dir'], sorted(set(frames.ravel().tolist()))))
    return clips[:study.s.max_clips]


def _write_source(path: str, clips, anns: Dict[str, Dict],
                  keypoints: np.ndarray, scores: np.ndarray,
                  meta: Dict) -> None:
    """A 2D source as an MMAction2 pickle of the clips' rendered frames
    (split ``'clips'``)."""
    from ..utils.atomic import atomic_write
    out, row = [], 0
    for name, frames in clips:
        n = len(frames)
        ann = anns[name]
        out.append(dict(
            frame_dir=name, label=int(ann['label']), total_frames=n,
            img_shape=tuple(ann['img_shape']),
            original_shape=tuple(ann['img_shape']),
            keypoint=keypoints[None, row:row + n].astype(np.float32),
            keypoint_score=scores[None, row:row + n].astype(np.float32)))
        row += n
    data = dict(split=dict(clips=[c[0] for c in clips]), annotations=out,
                meta=meta)
    atomic_write(path, lambda f: pickle.dump(data, f, protocol=4))


def stage_zoo(study: _Study, models: Dict[str, Dict]) -> List[Dict]:
    """The 2D recogniser on each 2D zoo model's keypoints (and on the
    ground truth) of the rendered validation clips."""
    from ..datasets.generators.synthactions import SynthActionsParams
    from ..datasets.generators.synthactions_video import (COCO_FILE,
                                                          render_clips)
    from ..datasets.keypoint_sources import read_predictions
    from ..datasets.skeleton_action_dataset import load_skeleton_annotations
    clips = _clips(study, models[MODELS_2D[0]])
    loaded = load_skeleton_annotations(study.ann('2d'))
    anns = {a['frame_dir']: a for a in loaded['annotations']}
    meta = loaded['meta']
    frames_dir = study.path('frames', 'x')[:-2]
    coco = osp.join(frames_dir, COCO_FILE)
    render_key = dict(data=file_key(study.ann('2d')), clips=clips,
                      scale=study.s.render_scale)

    def render() -> dict:
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in meta['params'].items()}
        return render_clips(frames_dir, clips, int(meta['seed']),
                            SynthActionsParams(**params),
                            scale=study.s.render_scale,
                            workers=study.s.workers, force=True,
                            progress=study.progress)

    study.cell('zoo', 'frames', render_key, render, outputs=[coco])
    num = sum(len(f) for _, f in clips)
    sources = {_GT: study.path('sources', 'gt.pkl')}
    ap = {}

    def gt_source() -> dict:
        kpts = np.concatenate([anns[n]['keypoint'][0, f] for n, f in clips])
        scores = np.ones(kpts.shape[:2], np.float32)
        _write_source(sources[_GT], clips, anns, kpts, scores,
                      dict(meta, source='ground truth'))
        return dict(frames=num)

    study.cell('zoo', 'source_gt', dict(frames=file_key(coco)), gt_source,
               outputs=[sources[_GT]])
    for zoo in study.s.models:
        short = MODEL_NAMES.get(zoo, zoo)
        sources[short] = study.path('sources', f'{short}.pkl')
        tester, weights = zoo_tester(zoo, study.testers)

        def predict(tester=tester, short=short) -> dict:
            metrics, preds = zoo_predict(
                tester, frames_dir + '/', coco, 'images/',
                study.s.batch_size, keep=True,
                progress=short if study.progress else None)
            fields = read_predictions(preds, num)
            kpts = fields['keypoints'] * study.s.render_scale
            _write_source(sources[short], clips, anns, kpts,
                          fields['scores'], dict(meta, source=zoo))
            return dict(AP=metrics.get('coco/AP'),
                        Ex_AP=metrics.get('coco/Ex-AP'))

        ap[short] = study.cell(
            'zoo', f'source_{short}',
            dict(weights=file_key(weights), frames=file_key(coco)), predict,
            outputs=[sources[short]])
    records = []
    for name in MODELS_2D:
        model = models[name]
        for short, path in sources.items():
            value = study.cell(
                'zoo', f'eval_{name}_{short}',
                dict(model=_model_key(model), source=file_key(path)),
                lambda model=model, path=path: _evaluate(
                    study, model, ann_file=path, split='clips',
                    data_root=''))
            records.append(dict(model=name, source=short, clips=len(clips),
                                **value, **ap.get(short, {})))
    return records


STAGES = ('clean', 'noise', 'keypoint', 'zoo')


def run_action_study(settings: ActionStudySettings,
                     stages: Sequence[str] = STAGES,
                     progress: bool = True) -> Dict:
    """Train the recognisers (or find them) and run the stages.

    Args:
        settings (ActionStudySettings): What runs.
        stages (Sequence[str]): Names from :data:`STAGES`.
        progress (bool): Progress bars and lines.

    Returns:
        dict: ``meta``, ``models`` (config, checkpoint, epochs, training
        minutes, clean accuracy) and one record list per stage.
    """
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f'unknown stages {unknown}; choose from {STAGES}')
    study = _Study(settings, progress)
    start = time.time()
    _ensure_data(study)
    models = _train(study)
    results: Dict = dict(
        meta=dict(run_stamp(), settings=dataclasses.asdict(settings)),
        models=models)
    funcs = dict(clean=stage_clean, noise=stage_noise,
                 keypoint=stage_keypoint, zoo=stage_zoo)
    for stage in stages:
        results[stage] = funcs[stage](study, models)
    results['meta']['minutes'] = round((time.time() - start) / 60, 2)
    return results


def publish_recognizers(results: Dict,
                        root: Optional[str] = None) -> List[dict]:
    """Put the study's recognisers into the zoo
    (``configs/synthactions/metafile.yml``, ``checkpoints/synthactions/``):
    the end-of-schedule checkpoint (the one evaluated), its validation
    accuracy and training minutes.

    Args:
        results (dict): :func:`run_action_study`'s output (with the
            ``clean`` stage).
        root (str, optional): Zoo root (default: the repository).

    Returns:
        list[dict]: The metafile entries written.
    """
    import torch
    from .zoo import publish
    meta = results['meta']
    clean = {r['model']: r for r in results.get('clean', [])}
    entries = []
    for name, model in results['models'].items():
        if name not in clean or name not in ZOO_NAMES:
            continue
        split = 'X-View' if 'X-View' in name else 'X-Sub'
        weights = torch.load(model['checkpoint'], map_location='cpu',
                             weights_only=True)['state_dict']
        params = int(sum(v.numel() for k, v in weights.items()
                         if not k.endswith(('running_mean', 'running_var',
                                            'num_batches_tracked'))))
        entries.append(publish(
            ZOO_NAMES[name], model['source_config'], model['work_dir'],
            [dict(Task='Skeleton Action Recognition',
                  Dataset=f'SynthActions {split}',
                  Metrics={'Top 1 Accuracy': round(clean[name]['top1'], 4),
                           'Top 5 Accuracy': round(clean[name]['top5'], 4),
                           'Mean Class Accuracy': round(
                               clean[name]['mean1'], 4)})],
            metadata={
                'Training Data': f'SynthActions {split} train',
                'Input': ('3D Human3.6M-17 joints' if '3D' in name else
                          '2D COCO-17 keypoints + scores'),
                'Parameters': params,
                'Epochs': model['epochs'],
                'Batch Size': 32,
                'Training Minutes': model['minutes'],
                'Training Resources': meta['machine'],
                'Date': meta['date'],
            },
            root=root, collection='SynthActions',
            checkpoint=model['checkpoint']))
    return entries


def write_action_results(results: Dict, out_dir: str) -> List[str]:
    """``results.json``, ``action_robustness.md`` (tables) and PNGs
    (``noise.png``, ``keypoint.png``) of a study in ``out_dir``."""
    from ..analysis import action as an
    os.makedirs(out_dir, exist_ok=True)
    written = [osp.join(out_dir, 'results.json')]
    write_json(written[0], results)
    meta = results.get('meta', {})
    text = [f'# Action recognition under keypoint noise '
            f'({meta.get("date", "")}, {meta.get("machine", "")})', '']
    text += [an.models_table(results.get('models', {}),
                             results.get('clean', [])), '']
    if results.get('noise'):
        text += ['## Gaussian noise on the joints', '',
                 an.noise_table(results['noise'], SEED_NOISE_CURVE), '']
        png = osp.join(out_dir, 'noise.png')
        an.plot_noise(results['noise'], SEED_NOISE_CURVE, png)
        written.append(png)
    if results.get('keypoint'):
        from ..analysis import robustness as rb
        summary = rb.corruption_summary(results['keypoint'], 'top1')
        text += ['## Keypoint corruptions (2D models, top-1, mean over '
                 'severities)', '', rb.corruption_table(summary), '']
        png = osp.join(out_dir, 'keypoint.png')
        rb.plot_corruption_curves(results['keypoint'], 'top1', png,
                                  ylabel='top-1')
        written.append(png)
    if results.get('zoo'):
        text += ['## 2D inputs from the zoo models (rendered validation '
                 'clips)', '', an.zoo_table(results['zoo']), '']
    md = osp.join(out_dir, 'action_robustness.md')
    with open(md, 'w') as f:
        f.write('\n'.join(text))
    written.append(md)
    return written

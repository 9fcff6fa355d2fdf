"""tools/demo.py end to end at tiny size on a temporary zoo of random-weight
checkpoints: data, evaluation with held-out thresholds, the claims table
against the JSON, pictures, fine-tuning, re-runs, a missing model, and
``--retrain`` publishing a metafile entry."""
import json
import pickle
import shutil

import cv2
import numpy as np
import pytest
import torch
import yaml

from tests.conftest import REPO, run_python
from tests.tools._zoo import ZOO_CONFIGS, copy_zoo_configs, make_zoo

pytestmark = pytest.mark.slow

HEATMAP, PROBPOSE, DH = ZOO_CONFIGS
LOADERS = [f'{split}_dataloader.{key}'
           for split in ('train', 'val', 'test')
           for key in ('num_workers=0', 'persistent_workers=False')]
OPTIONS = ['train_dataloader.batch_size=8', *LOADERS]
FINETUNE_ITERS = 3
BACKGROUND = (48, 48, 48)


def _demo(paths, work, zoo, *extra):
    args = [REPO / 'tools' / 'demo.py', '--data-root', paths['data'],
            '--crop-root', paths['crop'], '--heldout-root', paths['heldout'],
            '--heldout-crop-root', paths['heldout_crop'], '--fresh-root',
            paths['fresh'], '--work-dir', work, '--num-train', 24,
            '--num-val', 16, '--num-heldout', 8, '--finetune-iters',
            FINETUNE_ITERS, *extra]
    if '--cfg-options' not in extra:
        args += ['--cfg-options', *OPTIONS]
    return run_python(args, PROBPOSE_ZOO_ROOT=zoo)


def _json(path):
    return json.loads(path.read_text())


@pytest.fixture(scope='module')
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    return {name: root / name for name in
            ('data', 'crop', 'heldout', 'heldout_crop', 'fresh', 'work',
             'zoo')}


@pytest.fixture(scope='module')
def run(paths):
    """The demo on three random-weight zoo models."""
    make_zoo(paths['zoo'])
    proc = _demo(paths, paths['work'], paths['zoo'])
    summary = _json(paths['work'] / 'summary.json')
    return proc, summary


def test_data_splits_and_their_seeds(paths, run):
    proc, summary = run
    seeds = {}
    for name, images in (('data', 16), ('heldout', 8), ('fresh', 16),
                         ('crop', None), ('heldout_crop', None)):
        coco = _json(paths[name] / 'annotations' /
                     'person_keypoints_val.json')
        seeds[name] = coco['info']['seed']
        if images is not None:
            assert len(coco['images']) == images
    assert seeds == dict(data=0, heldout=1, fresh=2, crop=0, heldout_crop=1)
    assert len(_json(paths['data'] / 'annotations' /
                     'person_keypoints_train.json')['images']) == 24
    # another seed draws other images
    first = '000000000001.jpg'
    assert ((paths['data'] / 'val' / first).read_bytes() !=
            (paths['fresh'] / 'val' / first).read_bytes())
    for title in ('SynthPose', 'SynthPose-Crop', 'SynthPose held-out split',
                  'SynthPose-Crop held-out split', 'SynthPose seed-2 val'):
        assert f'Generating {title} (' in proc.stdout
    assert summary['splits']['heldout_crop'] == str(
        paths['heldout_crop'] / 'annotations' / 'person_keypoints_val.json')


def test_thresholds_come_from_the_heldout_crop_split(paths, run):
    from probpose_ext.analysis.inout import accuracy_curves, load_inout
    from probpose_ext.analysis.presence_thr import (choose_presence_thr,
                                                    ex_ap_curve)
    _, summary = run
    held_ann = paths['heldout_crop'] / 'annotations' / \
        'person_keypoints_val.json'
    crop_ann = paths['crop'] / 'annotations' / 'person_keypoints_val.json'
    assert list(summary['models']) == [HEATMAP, PROBPOSE, DH]
    for name, model in summary['models'].items():
        work = paths['work'] / name
        thr = model['thresholds']
        assert thr['split'] == str(held_ann)
        record = _json(work / 'presence_thr.json')['value']
        assert record['split'] == str(held_ann)
        for criterion in ('ex_ap', 'balanced_acc'):
            again = choose_presence_thr(work / 'preds_heldout_crop.pkl',
                                        held_ann, criterion)
            assert thr[criterion] == again['thr'] == record[criterion]['thr']
            assert thr[f'heldout_{criterion}'] == pytest.approx(
                again['value'])
        # the reported splits were evaluated at that threshold ...
        for tag in ('val', 'fresh', 'crop'):
            evaluated = _json(work / f'eval_{tag}.json')
            assert evaluated['value']['presence_thr'] == thr['ex_ap']
            assert any(o.endswith(f".presence_thr={thr['ex_ap']!r}")
                       for o in evaluated['key']['options'])
            assert evaluated['value']['metrics'] == model['metrics'][tag]
        # ... and the Ex-AP is ExCocoMetric's at it
        crop_dump = pickle.loads((work / 'preds_crop.pkl').read_bytes())
        assert model['metrics']['crop']['coco/Ex_AP'] == pytest.approx(
            ex_ap_curve(crop_dump, str(crop_ann), [thr['ex_ap']])[0],
            abs=1e-12)
        # in/out accuracy at the balanced-accuracy threshold
        labels, scores = load_inout(work / 'preds_crop.pkl')
        curves = accuracy_curves(labels, scores,
                                 np.array([thr['balanced_acc']]))
        assert model['inout']['thr'] == thr['balanced_acc']
        assert model['inout']['balanced_acc'] == pytest.approx(
            curves['balanced_acc'][0])
        assert model['inout']['score'] == (
            'keypoint_scores' if name == HEATMAP else 'keypoint_presence')
        assert 'coco/Ex_AP (v=3)' in model['metrics']['crop']
        assert 'coco/Ex_AP (v=3)' not in model['metrics']['val']


def _row(name, model):
    val, fresh, crop = (model['metrics'][t] for t in ('val', 'fresh',
                                                      'crop'))
    out = model['outside']
    return (f"| {name} | {val['coco/AP']:.3f} | {fresh['coco/AP']:.3f} | "
            f"{crop['coco/AP']:.3f} | {crop['coco/Ex_AP']:.3f} | "
            f"{crop['coco/Ex_AP (v=3)']:.3f} | "
            f"{model['thresholds']['ex_ap']:.2f} | "
            f"{model['thresholds']['balanced_acc']:.2f} | "
            f"{model['inout']['balanced_acc']:.3f} | "
            f"{out['mean_similarity']:.3f} | "
            f"{100 * out['predicted_outside']:.1f}% |")


def test_printed_and_written_tables_match_the_json(paths, run):
    from probpose_ext.analysis.outside import outside_image_summary
    proc, summary = run
    md = (paths['work'] / 'summary.md').read_text()
    assert md in proc.stdout
    assert summary['date'][:4].isdigit() and summary['date'] in md
    assert summary['machine']['cpu_count'] >= 1
    assert f"{summary['machine']['cpu_count']} CPU cores" in md
    assert summary['missing'] == {}
    models, claims = summary['models'], summary['claims']
    for name, model in models.items():
        assert _row(name, model) in md
        assert model['outside'] == pytest.approx(outside_image_summary(
            paths['work'] / name / 'preds_crop.pkl'))
    for key, claim in claims.items():
        assert claim['measured'], key
        assert f"| ({key}) | {claim['claim']} | {claim['text']} |" in md
    # (a) Ex-AP on SynthPose-Crop val, ProbPose vs heatmap, in points
    a = claims['a']
    ex_ap = {n: models[n]['metrics']['crop']['coco/Ex_AP']
             for n in (PROBPOSE, HEATMAP)}
    assert (a['probpose'], a['heatmap']) == (ex_ap[PROBPOSE], ex_ap[HEATMAP])
    assert a['difference_points'] == pytest.approx(
        100 * (ex_ap[PROBPOSE] - ex_ap[HEATMAP]))
    assert a['text'].startswith(f'Ex-AP {a["probpose"]:.3f} (ProbPose) vs '
                                f'{a["heatmap"]:.3f} (heatmap): ')
    # (b) balanced in/out accuracy and its error reduction
    b = claims['b']
    assert b['probpose'] == models[PROBPOSE]['inout']['balanced_acc']
    assert b['heatmap'] == models[HEATMAP]['inout']['balanced_acc']
    assert b['error_reduction'] == pytest.approx(
        1 - (1 - b['probpose']) / (1 - b['heatmap']))
    assert (f"balanced accuracy {b['probpose']:.3f} (presence) vs "
            f"{b['heatmap']:.3f} (heatmap confidence), error reduction "
            f"{100 * b['error_reduction']:.1f}%") in b['text']
    # (c) 90% coverage on SynthPose val after the held-out fit
    c, calibration = claims['c'], summary['calibration']
    evaluated = _json(paths['work'] / 'calibration' /
                      'eval_calibration.json')
    fitted = _json(paths['work'] / 'calibration' / 'calibration.json')
    levels = evaluated['inputs']['levels']
    for when in ('before', 'after'):
        coverage = evaluated['reports'][when]['coverage']['coverage'][
            levels.index(0.9)]
        assert c[f'coverage_{when}'] == coverage == calibration['val'][
            when]['coverage']['0.9']
    assert c['temperature_after'] == fitted['temperature']
    # fitted on the held-out 90% coverage, which the fit brings nearer 0.9
    assert (fitted['metric'], fitted['level']) == ('coverage', 0.9)
    held = {when: fitted[when]['coverage']['coverage'][
        fitted['inputs']['levels'].index(0.9)] for when in ('before', 'after')}
    assert abs(held['after'] - 0.9) <= abs(held['before'] - 0.9)
    assert fitted['inputs']['ann_file'] == str(
        paths['heldout'] / 'annotations' / 'person_keypoints_val.json')
    assert (f"coverage {c['coverage_after']:.3f} at T "
            f"{c['temperature_after']:.3f}") in c['text']
    # (d) ProbPose-DH vs ProbPose outside the crop
    d = claims['d']
    for who, name in (('dh', DH), ('probpose', PROBPOSE)):
        assert d['ex_ap_v3'][who] == models[name]['metrics']['crop'][
            'coco/Ex_AP (v=3)']
        assert d['balanced_acc'][who] == models[name]['inout'][
            'balanced_acc']
        assert d['outside'][who] == models[name]['outside']
    assert d['ex_ap_v3']['difference_points'] == pytest.approx(
        100 * (d['ex_ap_v3']['dh'] - d['ex_ap_v3']['probpose']))
    assert d['error_reduction'] == pytest.approx(
        1 - (1 - d['balanced_acc']['dh']) / (1 - d['balanced_acc'][
            'probpose']))
    out_dh, out_pp = d['outside']['dh'], d['outside']['probpose']
    assert out_dh['count'] > 0
    assert (f"{out_dh['count']} GT keypoints outside the image: mean "
            f"keypoint OKS {out_dh['mean_similarity']:.3f} vs "
            f"{out_pp['mean_similarity']:.3f}") in d['text']
    # (e) the fresh draw
    for name, per in claims['e']['models'].items():
        assert per['val'] == models[name]['metrics']['val']['coco/AP']
        assert per['fresh'] == models[name]['metrics']['fresh']['coco/AP']
        assert f"{name}: AP {per['val']:.3f} vs {per['fresh']:.3f}" in \
            claims['e']['text']
    # the in/out table of the four models' curves, ProbPose first
    inout = _json(paths['work'] / 'inout.json')
    assert summary['inout'] == inout
    assert list(inout['models']) == [PROBPOSE, HEATMAP, DH]


def _png(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image[..., ::-1]


def test_pictures(paths, run):
    proc, summary = run
    pictures = summary['pictures']
    grid = pictures['grid']
    assert grid['model'] == PROBPOSE
    assert grid['presence_thr'] == summary['models'][PROBPOSE][
        'thresholds']['ex_ap']
    assert len(grid['images']) == 8
    image = _png(grid['path'])
    assert grid['size'] == [1024, 512] == [image.shape[1], image.shape[0]]
    assert image.std() > 20
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1000

    outside = pictures['outside']
    assert outside['model'] == DH and outside['gt_outside'] > 0
    image = _png(outside['path'])
    w, h = outside['image_size']
    scale, margin = outside['scale'], outside['margin']
    size = [round(w * scale) + 2 * margin, round(h * scale) + 2 * margin]
    assert outside['size'] == size == [image.shape[1], image.shape[0]]
    assert margin >= 24
    # the image border: a white rectangle just outside the image
    left = image[margin:margin + round(h * scale), margin - 1]
    assert (left == 255).all(-1).mean() > 0.9
    # every predicted keypoint outside the image is drawn in the margin
    sample = next(
        s for s in pickle.loads((paths['work'] / DH /
                                 'preds_crop.pkl').read_bytes())
        if s['id'] == outside['annotation_id'])
    factor = np.array([round(w * scale) / w, round(h * scale) / h])
    points = sample['pred_instances']['keypoints'][0] * factor + margin + \
        0.5 * (factor - 1)
    beyond = [p for p, k in zip(points,
                                sample['pred_instances']['keypoints'][0])
              if not (0 <= k[0] < w and 0 <= k[1] < h)]
    assert beyond
    for x, y in np.round(beyond).astype(int):
        assert tuple(image[y, x]) != BACKGROUND
    # the analysis modules' plots
    for path in summary['picture_paths'].values():
        assert _png(path).size > 0
        assert f': {path}' in proc.stdout
    assert summary['picture_paths']['in/out accuracy vs threshold'] == str(
        paths['work'] / 'inout.png')


def test_finetuning_runs_the_requested_iterations(paths, run):
    proc, summary = run
    ft = summary['finetune']
    assert ft['model'] == PROBPOSE and ft['iterations'] == FINETUNE_ITERS
    checkpoint = torch.load(ft['checkpoint'], map_location='cpu',
                            weights_only=True)
    assert checkpoint['meta']['iter'] == FINETUNE_ITERS
    assert f'{FINETUNE_ITERS}/{FINETUNE_ITERS}' in proc.stderr  # tqdm bar
    ap = ft['metrics']['coco/AP']
    assert ft['split'] == 'SynthPose val'
    assert ft['zoo_ap'] == summary['models'][PROBPOSE]['metrics']['val'][
        'coco/AP']
    assert (f"Fine-tuned {PROBPOSE} for {FINETUNE_ITERS} iterations (batch "
            f"8, lr 0.0001) in {ft['train_seconds']:.0f} s: SynthPose val AP "
            f'{ap:.3f}') in proc.stdout
    config = (paths['work'] / 'finetune' / 'finetune_config.py').read_text()
    assert str(paths['zoo'] / 'checkpoints' / 'synthpose' /
               f'{PROBPOSE}.pth') in config


def test_rerun_reuses_results_and_reports_a_missing_model(paths, run):
    _, first = run
    weights = paths['zoo'] / 'checkpoints' / 'synthpose' / f'{DH}.pth'
    hidden = weights.with_suffix('.hidden')
    shutil.move(weights, hidden)
    try:
        proc = _demo(paths, paths['work'], paths['zoo'])
    finally:
        shutil.move(hidden, weights)
    summary = _json(paths['work'] / 'summary.json')
    assert list(summary['models']) == [HEATMAP, PROBPOSE]
    assert list(summary['missing']) == [DH]
    assert f'Zoo models missing: {DH} (' in proc.stdout
    assert f'`python tools/demo.py --retrain --models {DH}`' in proc.stdout
    assert summary['claims']['d'] == dict(
        measured=False, missing=[DH], claim=first['claims']['d']['claim'],
        text=f'not measured: needs {DH}')
    for key in 'abce':
        if key != 'e':
            assert summary['claims'][key] == first['claims'][key]
    # everything reused: data, evaluations, calibration, fine-tuning
    assert proc.stdout.count(' found at ') == 5 + 2
    assert proc.stdout.count('(reused)') == 2 * 3
    assert 'Calibration found at' in proc.stdout
    assert 'Fine-tuning found at' in proc.stdout
    assert summary['finetune'] == first['finetune']


def test_retrain_publishes_the_zoo_then_runs_the_demo(paths, run,
                                                      tmp_path):
    zoo = tmp_path / 'zoo'
    copy_zoo_configs(zoo)
    runs = tmp_path / 'runs'
    work = tmp_path / 'work'
    proc = _demo(paths, work, zoo, '--retrain', '--models', PROBPOSE,
                 '--zoo-work-dir', runs, '--finetune-iters', 0,
                 '--refit-epochs', 1,
                 '--cfg-options', *OPTIONS, 'train_cfg.max_epochs=1')
    assert f'{PROBPOSE}: 5 iterations per epoch x 1 epochs, about' in \
        proc.stdout  # 36 people of 24 images in batches of 8
    assert 'Retraining took ' in proc.stdout
    metafile = yaml.safe_load((zoo / 'configs' / 'synthpose' /
                               'metafile.yml').read_text())
    entry, = metafile['Models']
    assert entry['Name'] == PROBPOSE
    assert entry['Config'] == ZOO_CONFIGS[PROBPOSE]
    weights = zoo / entry['Weights']
    assert set(torch.load(weights, weights_only=True)) == {'state_dict',
                                                           'meta'}
    evaluated = {tag: _json(work / 'retrain' / PROBPOSE /
                            f'eval_{tag}.json')['value']['metrics']
                 for tag in ('val', 'crop')}
    summary = _json(work / 'summary.json')
    model = summary['models'][PROBPOSE]
    val, crop = entry['Results']
    assert val == dict(Task='Body 2D Keypoint', Dataset='SynthPose val',
                       Metrics={'AP': round(evaluated['val']['coco/AP'], 4),
                                'AP50': round(evaluated['val']['coco/AP .5'],
                                              4),
                                'AP75': round(evaluated['val']['coco/AP .75'],
                                              4)})
    assert crop['Task'] == 'Body 2D Keypoint'
    assert crop['Dataset'] == 'SynthPose-Crop val'
    assert crop['Metrics']['AP'] == round(evaluated['crop']['coco/AP'], 4)
    assert crop['Metrics']['Ex-AP'] == round(evaluated['crop']['coco/Ex_AP'],
                                             4)
    # the published weights are the trained ones: the demo measures the same
    assert val['Metrics']['AP'] == round(model['metrics']['val']['coco/AP'],
                                         4)
    assert crop['Metrics']['In/out balanced accuracy'] == round(
        model['inout']['balanced_acc'], 4)
    # training minutes: the run's and the branch refit's logged iteration
    # times (one epoch each here)
    from probpose_ext.analysis.curves import read_curve
    seconds = [60 * read_curve(next(d.glob('2*/*.log')).read_text())[-1][
        'minutes'] for d in (runs / PROBPOSE, runs / PROBPOSE / 'refit')]
    assert min(seconds) > 0
    meta = entry['Metadata']
    assert meta['Epochs'] == 1 and meta['Batch Size'] == 8
    assert meta['Training Minutes'] == round(sum(seconds) / 60, 1)
    # the published weights are the refit's (branches changed), its logs
    # published beside
    published = torch.load(weights, weights_only=True)['state_dict']
    refit, trained = (torch.load(d / 'best_coco_AP_epoch_1.pth',
                                 weights_only=True)['state_dict']
                      for d in (runs / PROBPOSE / 'refit', runs / PROBPOSE))
    assert all(torch.equal(published[k], v) for k, v in refit.items())
    assert not torch.equal(published['head.presence_branch.0.weight'],
                           trained['head.presence_branch.0.weight'])
    assert list((zoo / 'checkpoints' / 'synthpose' / PROBPOSE /
                 'refit').glob('2*.log'))
    assert meta['Presence Threshold'] == model['thresholds']['ex_ap']
    assert 'CPU cores' in meta['Training Resources']
    assert str(meta['Date'])[:4].isdigit()
    assert summary['retrain']['models'][PROBPOSE]['Weights'] == \
        entry['Weights']
    # the demo ran on what was published; the rest is not measured
    assert list(summary['models']) == [PROBPOSE]
    for key, needs in (('a', HEATMAP), ('b', HEATMAP), ('d', DH)):
        assert not summary['claims'][key]['measured']
        assert needs in summary['claims'][key]['missing']
    assert summary['claims']['c']['measured']
    assert summary['finetune'] is None

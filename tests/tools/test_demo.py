"""tools/demo.py end to end at tiny size: generate, train, evaluate, report."""
import json

import pytest

from tests.conftest import REPO, run_python

pytestmark = pytest.mark.slow

def test_demo_generates_trains_and_reports(tmp_path):
    data = tmp_path / 'synthpose'
    crop = tmp_path / 'synthpose_crop'
    heldout = tmp_path / 'synthpose_heldout'
    work = tmp_path / 'work'
    args = [REPO / 'tools' / 'demo.py', '--data-root', data, '--crop-root',
            crop, '--work-dir',
            work, '--num-train', 12, '--num-val', 6, '--heldout-root',
            heldout, '--num-heldout', 4, '--cfg-options',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'train_dataloader.batch_size=8',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    proc = run_python(args)
    assert (data / 'annotations' / 'person_keypoints_val.json').is_file()
    crop_ann = crop / 'annotations' / 'person_keypoints_val.json'
    crop_json = json.loads(crop_ann.read_text())
    assert any(3 in a['keypoints'][2::3] for a in crop_json['annotations'])
    summary = json.loads((work / 'summary.json').read_text())
    models = summary['models']
    assert [r['model'] for r in models] == ['heatmap', 'probpose']
    for r in models:
        for metrics in (r['metrics'], r['crop_metrics']):
            assert 0.0 <= metrics['coco/AP'] <= 1.0
            assert 0.0 <= metrics['coco/Ex_AP'] <= 1.0
        # SynthPose-Crop has keypoints outside the activation window
        assert 'coco/Ex_AP (v=3)' in r['crop_metrics']
        assert 'coco/Ex_AP (v=3)' not in r['metrics']
        m, c = r['metrics'], r['crop_metrics']
        name = r['model']
        assert (f"SynthPose val AP ({name}): {m['coco/AP']:.3f}, "
                f"Ex-AP: {m['coco/Ex_AP']:.3f}") in proc.stdout
        assert (f"SynthPose-Crop val AP ({name}): {c['coco/AP']:.3f}, "
                f"Ex-AP: {c['coco/Ex_AP']:.3f}") in proc.stdout
    presence = models[1]['metrics']['presence/acc']
    assert 0.0 <= presence <= 1.0
    assert (f'SynthPose val presence accuracy (probpose): {presence:.3f}'
            in proc.stdout)
    assert 'presence/acc' not in models[0]['metrics']
    # in/out accuracy: presence (ProbPose) compared with the confidence
    inout = summary['inout']
    assert set(inout['models']) == {'heatmap', 'probpose'}
    assert inout['models']['probpose']['n_out'] > 0
    for name in ('inout.png', 'inout.md', 'summary.md'):
        assert (work / name).is_file()
    for name in ('heatmap', 'probpose'):
        assert (work / name / 'test_metrics_synthpose.json').is_file()
        assert (work / name / 'preds_synthpose_crop.pkl').is_file()
    # calibration: fitted on the held-out split (its own seed, so other
    # images than val), reported before/after on SynthPose val
    calibration = summary['calibration']
    val_json = json.loads((data / 'annotations' /
                           'person_keypoints_val.json').read_text())
    held_json = json.loads((heldout / 'annotations' /
                            'person_keypoints_val.json').read_text())
    assert len(held_json['images']) == 4
    assert calibration['heldout']['seed'] == 1
    assert calibration['heldout']['instances'] == len(
        held_json['annotations'])
    assert calibration['val']['instances'] == len(val_json['annotations'])
    fitted = json.loads((work / 'calibration' /
                         'calibration.json').read_text())
    evaluated = json.loads((work / 'calibration' /
                            'eval_calibration.json').read_text())
    assert calibration['temperature_before'] == 0.5
    assert calibration['temperature_after'] == fitted['temperature']
    for when in ('before', 'after'):
        assert calibration['heldout'][when]['mace'] == \
            fitted[when]['miscalibration']['mace']
        row, report = calibration['val'][when], evaluated['reports'][when]
        assert row['temperature'] == report['temperature']
        assert row['mace'] == report['miscalibration']['mace']
        assert row['coverage']['0.9'] == report['coverage']['coverage'][2]
    assert (calibration['heldout']['after']['mace'] <=
            calibration['heldout']['before']['mace'])
    assert (f"Calibration (probpose): temperature 0.500 -> "
            f"{fitted['temperature']:.3f}") in proc.stdout
    assert 'Calibration of ProbPose' in (work / 'summary.md').read_text()
    for name in ('calibration_curve.png', 'eval_credible_coverage.png',
                 'probpose_vit-tiny_synthpose-128x96_calibrated.py'):
        assert (work / 'calibration' / name).is_file()
    # a second run reuses data and the finished training (resume)
    again = run_python(args)
    assert 'SynthPose found at' in again.stdout
    assert 'SynthPose-Crop found at' in again.stdout
    assert 'SynthPose held-out split found at' in again.stdout
    assert 'Calibration found at' in again.stdout
    assert json.loads((work / 'summary.json').read_text())[
        'calibration'] == calibration
    again_models = json.loads((work / 'summary.json').read_text())['models']
    assert again_models[0]['metrics']['coco/AP'] == models[0]['metrics'][
        'coco/AP']
    # resuming a finished run does not count as training time
    assert [r['train_seconds'] for r in again_models] == [
        r['train_seconds'] for r in models]
    assert all(r['train_seconds'] > 0 for r in models)

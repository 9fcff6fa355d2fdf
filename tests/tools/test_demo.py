"""tools/demo.py end to end at tiny size: generate, train, evaluate, report."""
import json

from tests.conftest import REPO, run_python


def test_demo_generates_trains_and_reports(tmp_path):
    data = tmp_path / 'synthpose'
    crop = tmp_path / 'synthpose_crop'
    work = tmp_path / 'work'
    args = [REPO / 'tools' / 'demo.py', '--data-root', data, '--crop-root',
            crop, '--work-dir',
            work, '--num-train', 12, '--num-val', 6, '--cfg-options',
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
    # a second run reuses data and the finished training (resume)
    again = run_python(args)
    assert 'SynthPose found at' in again.stdout
    assert 'SynthPose-Crop found at' in again.stdout
    again_models = json.loads((work / 'summary.json').read_text())['models']
    assert again_models[0]['metrics']['coco/AP'] == models[0]['metrics'][
        'coco/AP']
    # resuming a finished run does not count as training time
    assert [r['train_seconds'] for r in again_models] == [
        r['train_seconds'] for r in models]
    assert all(r['train_seconds'] > 0 for r in models)

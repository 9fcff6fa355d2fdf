"""tools/demo.py end to end at tiny size: generate, train, evaluate, report."""
import json

from tests.conftest import REPO, run_python


def test_demo_generates_trains_and_reports(tmp_path):
    data = tmp_path / 'synthpose'
    work = tmp_path / 'work'
    args = [REPO / 'tools' / 'demo.py', '--data-root', data, '--work-dir',
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
    summary = json.loads((work / 'summary.json').read_text())
    assert [r['model'] for r in summary] == ['heatmap', 'probpose']
    ap = summary[0]['metrics']['coco/AP']
    assert 0.0 <= ap <= 1.0
    assert f'SynthPose val AP (heatmap): {ap:.3f}' in proc.stdout
    presence = summary[1]['metrics']['presence/acc']
    assert 0.0 <= presence <= 1.0
    assert (f'SynthPose val presence accuracy (probpose): {presence:.3f}'
            in proc.stdout)
    assert 'presence/acc' not in summary[0]['metrics']
    for name in ('heatmap', 'probpose'):
        assert (work / name / 'test_metrics.json').is_file()
    # a second run reuses data and the finished training (resume)
    again = run_python(args)
    assert 'SynthPose found at' in again.stdout
    again_summary = json.loads((work / 'summary.json').read_text())
    assert again_summary[0]['metrics']['coco/AP'] == ap
    # resuming a finished run does not count as training time
    assert [r['train_seconds'] for r in again_summary] == [
        r['train_seconds'] for r in summary]
    assert all(r['train_seconds'] > 0 for r in summary)

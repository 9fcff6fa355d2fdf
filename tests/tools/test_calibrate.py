"""tools/analysis_tools/calibrate.py end to end on a tiny SynthPose split
with a random-init ProbPose checkpoint: the files, the calibrated config
(loads from anywhere, runs with tools/test.py, its maps are
sparsemax(logits / T)), the JSON numbers against a brute-force
recomputation from the collected arrays, and the evaluation mode."""
import contextlib
import importlib.util
import io
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from probpose_ext.ops.simplex import sparsemax

from tests.conftest import REPO, run_python
from tests.ops._brute_calibration import (brute_coverage, brute_distances,
                                          brute_errors, brute_rank_mass)

pytestmark = pytest.mark.slow

TOOL = REPO / 'tools' / 'analysis_tools' / 'calibrate.py'
CONFIG = REPO / 'configs' / 'synthpose' / \
    'probpose_vit-tiny_synthpose-128x96.py'
HEATMAP_CONFIG = REPO / 'configs' / 'synthpose' / \
    'td-hm_vit-tiny_synthpose-128x96.py'
STEM = 'probpose_vit-tiny_synthpose-128x96'
LEVELS = (0.5, 0.9)
LOADER = ['test_dataloader.num_workers=0']


def _tool_main(argv):
    """The tool's ``main`` run in this process (saves an interpreter start;
    tools/test.py below runs as a subprocess)."""
    spec = importlib.util.spec_from_file_location('calibrate_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(a) for a in argv])


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = tmp_path_factory.mktemp('cal') / 'synthpose'
    make_synthpose(root, num_train=0, num_val=3, seed=5, workers=1,
                   progress=False)
    return root


@pytest.fixture(scope='module')
def checkpoint(split):
    """A random-init ProbPose model of the demo config (PyTorch's default
    initialisation, so the maps are not flat), saved weights-only."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    path = split.parent / 'random.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def calibrated(split, checkpoint):
    work = split.parent / 'work'
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        _tool_main([
            CONFIG, checkpoint, '--ann-file',
            split / 'annotations' / 'person_keypoints_val.json',
            '--data-prefix', split / 'val', '--work-dir', work, '--levels',
            *LEVELS, '--save-data', '--no-progress', '--cfg-options',
            *LOADER])
    return work, stdout.getvalue()


def test_writes_reports_plots_and_a_config(calibrated, tmp_path,
                                           monkeypatch):
    work, stdout = calibrated
    result = json.loads((work / 'calibration.json').read_text())
    names = {'calibration.json', 'calibration.md', 'calibration_curve.png',
             'credible_coverage.png', 'presence_reliability.png',
             'calibration_data.npz', f'{STEM}_calibrated.py'}
    assert {p.name for p in work.iterdir()} == names
    assert result['initial_temperature'] == 0.5
    assert result['temperature'] > 0
    for metric in ('ks', 'mace'):
        assert 0 <= result['after']['miscalibration'][metric] <= 1
    # the fitted metric never gets worse (the initial T is a candidate)
    assert (result['after']['miscalibration']['mace'] <=
            result['before']['miscalibration']['mace'])
    assert f"fitted temperature {result['temperature']!r}" in stdout
    # the config loads from any working directory and carries the JSON's T
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(result['calibrated_config'])
    assert cfg.model.test_cfg.temperature == result['temperature']
    assert cfg.model.test_cfg.flip_test is True  # the rest is inherited
    assert cfg.model.head.type == 'ProbMapHead'


def test_json_equals_brute_force_on_the_collected_arrays(calibrated):
    work, _ = calibrated
    result = json.loads((work / 'calibration.json').read_text())
    arrays = np.load(work / 'calibration_data.npz')
    logits = torch.from_numpy(arrays['logits'])
    gt, valid = arrays['gt_xy'], arrays['map_valid']
    n, k, h, w = logits.shape
    assert result['inputs']['instances'] == n
    assert result['inputs']['heatmap_size'] == [w, h]
    # tie shares: torch.rand((N, K)) from a generator seeded with --seed
    share = torch.rand(n, k, generator=torch.Generator().manual_seed(0))
    for name in ('before', 'after'):
        report = result[name]
        t = report['temperature']
        prob = sparsemax(logits.flatten(-2) / t, -1).view(n, k, h, w)
        masses = brute_rank_mass(prob, gt, valid, share)
        ks, mace = brute_distances(masses)
        mis = report['miscalibration']
        assert mis['count'] == len(masses) == int(valid.sum())
        assert mis['ks'] == pytest.approx(ks, abs=1e-6), name
        assert mis['mace'] == pytest.approx(mace, abs=2e-6), name
        for i, p in enumerate(LEVELS):
            cov, mass, area, count = brute_coverage(prob, gt, valid, p)
            got = report['coverage']
            assert got['count'] == count
            assert got['coverage'][i] == pytest.approx(cov), (name, p)
            assert got['mass'][i] == pytest.approx(mass, rel=1e-5)
            assert got['area'][i] == pytest.approx(area)
    used = arrays['presence_valid']
    ref = brute_errors(arrays['presence'][used].astype(float).tolist(),
                       arrays['in_window'][used].astype(float).tolist(), 10)
    for key in ('ece', 'mce', 'brier', 'count'):
        assert result['presence'][key] == pytest.approx(ref[key]), key


def test_collected_arrays_are_the_models_maps_and_the_gt(split, checkpoint,
                                                         calibrated):
    """MMPose's own inference with the calibrated config (no flip, maps
    output) gives sparsemax(collected logits / T); the collected GT is the
    annotation warped into the heatmap by the sample's UDP crop."""
    from mmengine.registry import init_default_scope
    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import DATASETS
    work, _ = calibrated
    result = json.loads((work / 'calibration.json').read_text())
    arrays = np.load(work / 'calibration_data.npz')
    cfg = Config.fromfile(result['calibrated_config'])
    cfg.model.test_cfg.update(flip_test=False, output_heatmaps=True)
    model = init_model(cfg, str(checkpoint), device='cpu')
    init_default_scope('mmpose')
    dataset = DATASETS.build(dict(
        cfg.test_dataloader.dataset, data_root='',
        ann_file=str(split / 'annotations' / 'person_keypoints_val.json'),
        data_prefix=dict(img=str(split / 'val') + '/'), pipeline=[]))
    assert len(dataset) == arrays['logits'].shape[0]
    temperature = result['temperature']
    width, height = cfg.codec['heatmap_size']
    in_w, in_h = cfg.codec['input_size']
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        sample = inference_topdown(model, info['img_path'], info['bbox'])[0]
        logits = torch.from_numpy(arrays['logits'][i:i + 1])
        expected = sparsemax(logits.flatten(-2) / temperature, -1)
        np.testing.assert_allclose(
            sample.pred_fields.heatmaps.flatten(-2).numpy(),
            expected[0].numpy(), atol=1e-5)
        centre = sample.metainfo['input_center']
        scale = sample.metainfo['input_scale']
        size = np.array([width - 1.0, height - 1.0])
        gt = (info['keypoints'][0] - centre + scale / 2) * size / scale
        np.testing.assert_allclose(arrays['gt_xy'][i], gt, atol=2e-3)
        in_input = gt * np.array([in_w - 1.0, in_h - 1.0]) / size
        inside = ((in_input >= 0) & (in_input <= [in_w - 1, in_h - 1])).all(
            axis=-1)
        annotated = info['keypoints_visible'][0] > 0
        np.testing.assert_array_equal(arrays['map_valid'][i],
                                      annotated & inside)
        np.testing.assert_array_equal(arrays['presence_valid'][i], annotated)


def test_calibrated_config_runs_with_the_test_tool(split, checkpoint,
                                                   calibrated, tmp_path):
    work, _ = calibrated
    result = json.loads((work / 'calibration.json').read_text())
    out = tmp_path / 'metrics.json'
    ann = split / 'annotations' / 'person_keypoints_val.json'
    run_python([
        REPO / 'tools' / 'test.py', result['calibrated_config'], checkpoint,
        '--work-dir', tmp_path, '--out', out, '--cfg-options',
        f'test_dataloader.dataset.data_root={split}',
        f'test_evaluator.0.ann_file={ann}', *LOADER,
        'test_dataloader.persistent_workers=False'], cwd=tmp_path)
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert 0.0 <= metrics['presence/acc'] <= 1.0


def test_eval_only_reproduces_the_fitted_report(split, checkpoint,
                                                calibrated):
    """The calibrated config evaluated without fitting (same split, same
    seed) gives exactly the fit's 'after' report."""
    work, _ = calibrated
    result = json.loads((work / 'calibration.json').read_text())
    _tool_main([
        result['calibrated_config'], checkpoint, '--ann-file',
        split / 'annotations' / 'person_keypoints_val.json',
        '--data-prefix', split / 'val', '--work-dir', work, '--eval-only',
        '--levels', *LEVELS, '--no-progress', '--cfg-options', *LOADER])
    report = json.loads((work / 'eval_calibration.json').read_text())
    assert report['reports']['test'] == result['after']
    assert report['presence'] == result['presence']
    assert (work / 'eval_calibration_curve.png').is_file()
    assert not (work / f'{STEM}_calibrated_calibrated.py').exists()


def test_clear_errors(split, checkpoint, tmp_path, capsys):
    ann = split / 'annotations' / 'person_keypoints_val.json'
    with pytest.raises(SystemExit, match='ProbMapHead.*HeatmapHead'):
        _tool_main([HEATMAP_CONFIG, checkpoint, '--ann-file', ann,
                    '--work-dir', tmp_path])
    with pytest.raises(SystemExit, match="ann_file 'missing.json' not found"):
        _tool_main([CONFIG, checkpoint, '--ann-file', 'missing.json',
                    '--work-dir', tmp_path])
    with pytest.raises(SystemExit, match='checkpoint .*nope.pth.* not found'):
        _tool_main([CONFIG, tmp_path / 'nope.pth', '--ann-file', ann,
                    '--work-dir', tmp_path])
    # the checkpoint trust model: numpy objects need an explicit opt-in
    legacy = tmp_path.parent / 'legacy.pth'
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt['meta'] = {'dataset_meta': {'sigmas': np.ones(17)}}
    torch.save(ckpt, legacy)
    with pytest.raises(SystemExit, match='PROBPOSE_TRUST_CHECKPOINTS'):
        _tool_main([CONFIG, legacy, '--ann-file', ann, '--work-dir',
                    tmp_path])
    with pytest.raises(SystemExit) as exit_info:
        _tool_main([CONFIG, checkpoint, '--temperature', '0.7'])
    assert exit_info.value.code == 2
    assert '--temperature needs --eval-only' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())

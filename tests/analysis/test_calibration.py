"""Tests of :mod:`probpose_ext.analysis.calibration` on synthetic logits
whose GT is drawn from sparsemax(logits / T_true): the fit recovers T_true,
coverage after calibration matches the held mass, the reported numbers
equal brute-force recomputations, and the written files are what they
claim."""
import json
import math

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from probpose_ext.analysis.calibration import (CalibrationData,
                                               calibration_markdown,
                                               evaluate_calibration,
                                               fit_calibration,
                                               plot_calibration_curves,
                                               plot_coverage,
                                               plot_reliability,
                                               presence_report,
                                               run_calibration,
                                               write_calibrated_config)
from probpose_ext.ops.simplex import sparsemax

from tests.conftest import REPO
from tests.ops._brute_calibration import (brute_coverage, brute_distances,
                                          brute_errors, brute_rank_mass)

CONFIG = REPO / 'configs' / 'synthpose' / \
    'probpose_vit-tiny_synthpose-128x96.py'
T_TRUE = 1.3
T_MODEL = 0.5


def _synthetic(n, k=17, h=16, w=12, seed=0, t_true=T_TRUE):
    """Blob logits; GT drawn from sparsemax(logits / t_true), jittered in
    its pixel; presence drawn calibrated (label ~ Bernoulli(presence));
    about 10% of the maps and presences invalid."""
    gen = torch.Generator().manual_seed(seed)
    ys = torch.arange(h, dtype=torch.float64)[:, None]
    xs = torch.arange(w, dtype=torch.float64)[None, :]
    cx = torch.rand(n, k, 1, 1, generator=gen, dtype=torch.float64) * (w - 1)
    cy = torch.rand(n, k, 1, 1, generator=gen, dtype=torch.float64) * (h - 1)
    scale = 0.3 + torch.rand(n, k, 1, 1, generator=gen, dtype=torch.float64)
    logits = (-((xs - cx)**2 + (ys - cy)**2) * scale / 4).float()
    prob = sparsemax(logits.flatten(-2).double() / t_true, -1)
    idx = torch.multinomial(prob.reshape(n * k, h * w), 1,
                            generator=gen).view(n, k)
    jitter = torch.rand(n, k, 2, generator=gen) * 0.98 - 0.49
    gt = torch.stack([idx % w, idx // w], dim=-1).float() + jitter
    presence = torch.rand(n, k, generator=gen)
    in_window = (torch.rand(n, k, generator=gen) < presence).float()
    return CalibrationData(
        logits=logits, gt_xy=gt,
        map_valid=torch.rand(n, k, generator=gen) > 0.1,
        presence=presence, in_window=in_window,
        presence_valid=torch.rand(n, k, generator=gen) > 0.1,
        temperature=T_MODEL)


@pytest.fixture(scope='module')
def data():
    return _synthetic(150)


@pytest.fixture(scope='module')
def fitted(data):
    return fit_calibration(data, levels=(0.5, 0.8, 0.9))


def test_fit_recovers_the_true_temperature(data, fitted):
    assert fitted['initial_temperature'] == T_MODEL
    assert fitted['temperature'] == pytest.approx(T_TRUE, rel=0.1)
    n = fitted['after']['miscalibration']['count']
    assert n == int(data.map_valid.sum())
    before = fitted['before']['miscalibration']
    after = fitted['after']['miscalibration']
    assert after['mace'] <= before['mace']
    # calibrated: KS within sampling noise (1.63 / sqrt(n) is the 1%
    # critical value); T_MODEL is far off
    assert after['ks'] < 1.63 / math.sqrt(n)
    assert before['ks'] > 5 / math.sqrt(n)
    # the ops' own before/after numbers use the same tie shares
    for key in ('ks', 'mace', 'count'):
        assert fitted['fit']['before'][key] == before[key]
        assert fitted['fit']['after'][key] == after[key]
    # the current temperature is among the candidates
    assert any(t == pytest.approx(T_MODEL) for t in fitted['fit']['grid'])


def test_coverage_after_calibration_matches_level(data, fitted):
    """After the fit, GT falls in the level-p regions as often as they hold
    mass (>= p); before (T too small: too sharp maps) far less often."""
    m = fitted['after']['coverage']['count']
    after, before = fitted['after']['coverage'], fitted['before']['coverage']
    for i, p in enumerate(after['levels']):
        tol = 4 * math.sqrt(p * (1 - p) / m)
        assert after['mass'][i] >= p
        assert abs(after['coverage'][i] - after['mass'][i]) < tol, p
        assert after['coverage'][i] > p - tol
        assert before['coverage'][i] < p - tol, p


def test_reported_numbers_equal_brute_force(data):
    temperature = 0.9
    small = CalibrationData(
        logits=data.logits[:12], gt_xy=data.gt_xy[:12],
        map_valid=data.map_valid[:12], presence=data.presence[:12],
        in_window=data.in_window[:12],
        presence_valid=data.presence_valid[:12], temperature=T_MODEL)
    report = evaluate_calibration(small, temperature, levels=(0.5, 0.9),
                                  seed=7, curve_bins=20)
    n, k, h, w = small.logits.shape
    prob = sparsemax(small.logits.flatten(-2) / temperature, -1).view(
        n, k, h, w)
    # tie shares as documented: torch.rand((N, K)) from the seeded generator
    share = torch.rand(n, k, generator=torch.Generator().manual_seed(7))
    masses = brute_rank_mass(prob, small.gt_xy, small.map_valid, share)
    ks, mace = brute_distances(masses)
    assert report['temperature'] == temperature
    assert report['miscalibration']['count'] == len(masses)
    assert report['miscalibration']['ks'] == pytest.approx(ks, abs=1e-6)
    assert report['miscalibration']['mace'] == pytest.approx(mace, abs=2e-6)
    # curve: fraction of masses <= t at t = 0, 0.05, ..., 1
    t = np.asarray(report['curve']['t'])
    np.testing.assert_allclose(t, np.arange(21) / 20, atol=1e-12)
    np.testing.assert_allclose(
        report['curve']['cdf'],
        [np.mean(np.asarray(masses) <= v) for v in t], atol=1e-12)
    for i, p in enumerate((0.5, 0.9)):
        cov, mass, area, count = brute_coverage(prob, small.gt_xy,
                                                small.map_valid, p)
        assert report['coverage']['count'] == count
        assert report['coverage']['coverage'][i] == pytest.approx(cov)
        assert report['coverage']['mass'][i] == pytest.approx(mass,
                                                              rel=1e-6)
        assert report['coverage']['area'][i] == pytest.approx(area)
    zero = [prob[i, j].flatten()[int(math.floor(y + 0.5)) * w +
                                 int(math.floor(x + 0.5))].item() == 0
            for i in range(n) for j in range(k) if small.map_valid[i, j]
            for x, y in [small.gt_xy[i, j].tolist()]]
    assert report['outside_support'] == pytest.approx(np.mean(zero))
    # presence: brute-force bins over the annotated keypoints
    used = small.presence_valid
    ref = brute_errors(small.presence[used].double().tolist(),
                       small.in_window[used].double().tolist(), 10)
    presence = presence_report(small, bins=10)
    for key in ('ece', 'mce', 'brier'):
        assert presence[key] == pytest.approx(ref[key], rel=1e-6), key
    assert presence['count'] == ref['count'] == sum(
        presence['diagram']['count'])
    assert presence['positive'] == pytest.approx(
        small.in_window[used].mean().item())


def test_coverage_fit_meets_its_level_in_the_reported_coverage(data):
    # the fit's objective and the report's explicit credible regions agree
    fit = fit_calibration(data, metric='coverage', level=0.8,
                          levels=(0.5, 0.8))
    assert fit['metric'] == 'coverage' and fit['level'] == 0.8
    cov = dict(zip(fit['after']['coverage']['levels'],
                   fit['after']['coverage']['coverage']))
    count = fit['after']['coverage']['count']
    assert fit['fit']['after']['coverage'] == pytest.approx(cov[0.8],
                                                            abs=1e-9)
    assert abs(cov[0.8] - 0.8) <= 2.0 / count
    before = dict(zip(fit['before']['coverage']['levels'],
                      fit['before']['coverage']['coverage']))
    assert abs(cov[0.8] - 0.8) <= abs(before[0.8] - 0.8)
    with pytest.raises(ValueError, match='level'):
        fit_calibration(data, metric='coverage', level=0.0)


def test_calibrated_presence_has_small_ece():
    data = _synthetic(400, k=17, h=4, w=4, seed=3)
    report = presence_report(data)
    n = report['count']
    assert report['ece'] < 3 * math.sqrt(10 / n)
    # Brier of calibrated uniform presences: E[q (1 - q)] = 1/6
    assert report['brier'] == pytest.approx(1 / 6, abs=0.02)


def test_calibration_data_round_trip_and_validation(tmp_path, data):
    path = tmp_path / 'd.npz'
    data.save(path)
    back = CalibrationData.load(path)
    assert back.temperature == data.temperature
    for name in ('logits', 'gt_xy', 'map_valid', 'presence', 'in_window',
                 'presence_valid'):
        assert torch.equal(getattr(back, name), getattr(data, name)), name
    with pytest.raises(ValueError, match='gt_xy must have shape'):
        CalibrationData(data.logits, data.gt_xy[:, :3], data.map_valid,
                        data.presence, data.in_window, data.presence_valid,
                        0.5)
    with pytest.raises(ValueError, match='presence must have shape'):
        CalibrationData(data.logits, data.gt_xy, data.map_valid,
                        data.presence[:2], data.in_window,
                        data.presence_valid, 0.5)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        CalibrationData(data.logits, data.gt_xy, data.map_valid,
                        data.presence, data.in_window, data.presence_valid,
                        0.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        fit_calibration(data, metric='ece')
    with pytest.raises(ValueError, match='temperature must be > 0'):
        evaluate_calibration(data, -1.0)


def test_calibrated_config_loads_from_any_cwd(tmp_path, monkeypatch):
    out = write_calibrated_config(CONFIG, 0.8125, tmp_path / 'sub' / 'c.py',
                                  comment='line one\nline two')
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(out)
    base = Config.fromfile(CONFIG)
    assert cfg.model.test_cfg.temperature == 0.8125
    # everything else is the base config's
    for key, value in base.model.test_cfg.items():
        assert cfg.model.test_cfg[key] == value
    assert cfg.model.head == base.model.head
    assert cfg.test_dataloader == base.test_dataloader
    assert '# line two' in open(out).read()
    with pytest.raises(ValueError, match='temperature must be > 0'):
        write_calibrated_config(CONFIG, 0.0, tmp_path / 'x.py')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        write_calibrated_config(tmp_path / 'nope.py', 1.0, tmp_path / 'x.py')


def _image(path):
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_plots_and_markdown(tmp_path, data, fitted):
    reports = {'before': fitted['before'], 'after': fitted['after']}
    plot_calibration_curves(reports, tmp_path / 'curve.png')
    plot_coverage(reports, tmp_path / 'cov.png')
    plot_reliability(fitted['presence'], tmp_path / 'rel.png')
    for name in ('curve.png', 'cov.png', 'rel.png'):
        h, w = _image(tmp_path / name).shape[:2]
        assert h > 300 and w > 400
    text = calibration_markdown(reports, fitted['presence'])
    after = fitted['after']
    assert f"| after | {after['temperature']:.4g} |" in text
    assert f"{after['miscalibration']['mace']:.3f}" in text
    assert f"ECE {fitted['presence']['ece']:.3f}" in text
    assert text.count('| [') == 10  # one row per presence bin


def test_run_calibration_writes_consistent_files(tmp_path):
    """Fit mode then evaluation mode on collected arrays (no model): the
    JSON is the returned result, the config carries its temperature, and
    evaluation at the fitted temperature reproduces the fit's report."""
    data = _synthetic(20, k=5, h=8, w=6, seed=5)
    work = tmp_path / 'work'
    (work).mkdir()
    (work / 'keep.txt').write_text('not ours')
    result = run_calibration(CONFIG, tmp_path / 'unused.pth', work,
                             levels=(0.5, 0.9), data=data, save_data=True)
    names = sorted(p.name for p in work.iterdir())
    assert names == sorted([
        'calibration.json', 'calibration.md', 'calibration_curve.png',
        'credible_coverage.png', 'presence_reliability.png',
        'calibration_data.npz', 'keep.txt',
        'probpose_vit-tiny_synthpose-128x96_calibrated.py'])
    saved = json.loads((work / 'calibration.json').read_text())
    assert saved['temperature'] == result['temperature']
    assert saved['after'] == json.loads(json.dumps(result['after']))
    assert saved['inputs']['flip_test'] is False
    assert saved['inputs']['instances'] == data.logits.shape[0]
    cfg = Config.fromfile(result['calibrated_config'])
    assert cfg.model.test_cfg.temperature == saved['temperature']
    assert torch.equal(CalibrationData.load(
        work / 'calibration_data.npz').logits, data.logits)

    evaluated = run_calibration(
        CONFIG, tmp_path / 'unused.pth', work, levels=(0.5, 0.9),
        eval_only=True, data=data,
        temperatures={'fitted': saved['temperature']})
    report = json.loads((work / 'eval_calibration.json').read_text())
    assert report['reports']['fitted'] == saved['after']
    assert report['presence'] == saved['presence']
    assert set(evaluated['files']) == {'curve', 'coverage', 'reliability',
                                       'json', 'md'}
    for path in evaluated['files'].values():
        assert path.startswith(str(work / 'eval_'))
    assert (work / 'keep.txt').read_text() == 'not ours'
    assert not [p for p in work.iterdir() if p.name.startswith('.')]

"""Training minutes and validation metrics read from MMEngine logs."""
import json

import pytest

from probpose_ext.analysis.curves import (idle_seconds_per_iter, load_probes,
                                          plot_curves, read_curve)

LOG = """\
12/05 10:00:00 - mmengine - INFO - Checkpoints will be saved to w.
12/05 10:00:20 - mmengine - INFO - Epoch(train)  [1][20/50]  lr: 1e-3  eta: 0:01:00  time: 1.000000  data_time: 0.01  loss: 0.5
12/05 10:01:00 - mmengine - INFO - Epoch(train)  [1][40/50]  lr: 1e-3  eta: 0:00:20  time: 2.000000  data_time: 0.01  loss: 0.4
12/05 10:01:30 - mmengine - INFO - Epoch(val) [1][8/8]    eta: 0:00:00  time: 3.0  data_time: 0.1
12/05 10:01:30 - mmengine - INFO - Epoch(val) [1][8/8]    coco/AP: 0.250000  coco/AP .5: 0.600000  coco/AP (M): -1.000000  coco/Ex_AP (v=3): 0.125000  presence/acc: 0.9  time: 3.0
12/05 10:01:50 - mmengine - INFO - Epoch(train)  [2][20/50]  lr: 1e-3  eta: 0:00:40  time: 0.500000  data_time: 0.01  loss: 0.3
12/05 10:02:50 - mmengine - INFO - Epoch(val) [2][8/8]    coco/AP: 0.500000  coco/AP .5: 0.800000  time: 3.0
12/05 10:03:00 - mmengine - INFO - Epoch(train)  [3][40/50]  lr: 1e-3  eta: 0:00:40  time: 1.000000  data_time: 0.01  loss: 0.3
12/05 10:03:10 - mmengine - INFO - Epoch(train)  [4][20/50]  lr: 1e-3  eta: 0:00:40  time: 2.000000  data_time: 0.01  loss: 0.3
12/05 10:03:50 - mmengine - INFO - Epoch(val) [4][8/8]    coco/AP: 0.600000  time: 3.0
"""


def test_read_curve_counts_training_time_only():
    points = read_curve(LOG)
    assert [p['epoch'] for p in points] == [1, 2, 4]
    # epoch 1: 20 x 1 s + 20 x 2 s + the 10 unlogged iterations at 2 s
    assert points[0]['minutes'] == pytest.approx(80 / 60)
    # epoch 2: + 20 x 0.5 s + 30 unlogged at 0.5 s; validation not counted
    assert points[1]['minutes'] == pytest.approx((80 + 25) / 60)
    assert points[0]['coco/AP'] == 0.25 and points[0]['coco/AP .5'] == 0.6
    assert points[0]['coco/AP (M)'] == -1.0
    assert points[0]['coco/Ex_AP (v=3)'] == 0.125
    assert points[0]['presence/acc'] == 0.9
    assert points[1]['coco/AP'] == 0.5
    assert [p['iteration'] for p in points] == [50, 100, 200]
    # epoch 3 (no validation): 40 x 1 s + its unlogged 10 at 1 s; epoch 4:
    # 20 x 2 s + 30 unlogged at 2 s
    assert points[2]['minutes'] == pytest.approx((105 + 50 + 100) / 60)


def test_idle_speed_is_a_quantile_of_the_logged_times():
    # logged times 1, 2, 0.5, 1, 2 -> 25th percentile 1.0, minimum 0.5
    assert idle_seconds_per_iter(LOG) == pytest.approx(1.0)
    assert idle_seconds_per_iter(LOG, 0.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match='no Epoch'):
        idle_seconds_per_iter('nothing')


def test_plot_and_probes(tmp_path):
    probes = tmp_path / 'probes.json'
    probes.write_text(json.dumps([dict(label='old', minutes=[1, 2],
                                       ap=[0.1, 0.2])]))
    out = plot_curves({'run': read_curve(LOG)}, str(tmp_path / 'c.png'),
                      load_probes(str(probes)))
    assert (tmp_path / 'c.png').stat().st_size > 10000
    assert out.endswith('c.png')
    probes.write_text(json.dumps([dict(label='bad', minutes=[1], ap=[])]))
    with pytest.raises(ValueError, match='bad'):
        load_probes(str(probes))


def test_read_curve_of_a_lifter_log():
    line = ('12/06 16:19:24 - mmengine - INFO - Epoch(train) [{e}][{i}/100]'
            '  lr: 1e-3  eta: 0:10:17  time: {t}  data_time: 0.3  loss: 0.1')
    val = ('12/06 16:20:00 - mmengine - INFO - Epoch(val) [{e}][10/10]    '
           'MPJPE: {m}  MPJPE_Walk: 0.2  P-MPJPE: 0.05  data_time: 0.002')
    log = '\n'.join([
        line.format(e=1, i=50, t=0.4), line.format(e=1, i=100, t=0.6),
        val.format(e=1, m=0.12), line.format(e=2, i=50, t=0.5),
        val.format(e=2, m=0.08)])
    points = read_curve(log, 'MPJPE')
    assert [p['epoch'] for p in points] == [1, 2]
    # 50 x 0.4 + 50 x 0.6 s, then 100 x 0.5 s (the unlogged end at 0.5)
    assert points[0]['minutes'] == pytest.approx(50 / 60)
    assert points[1]['minutes'] == pytest.approx(100 / 60)
    assert points[1]['MPJPE'] == 0.08 and points[1]['P-MPJPE'] == 0.05
    assert read_curve(log) == []            # no coco/AP in a lifter log

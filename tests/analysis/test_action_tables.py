"""Tables and plots of the action-robustness study."""
import pytest

from probpose_ext.analysis.action import (models_table, noise_table,
                                          plot_noise, zoo_table)

RECORDS = [dict(model='3D ST-GCN', std=0.0, top1=0.99),
           dict(model='3D ST-GCN', std=0.05, top1=0.5),
           dict(model='2D ST-GCN', std=0.0, top1=0.97)]
SEED = ((0.0, 0.92), (0.01, 0.91))


def test_noise_table_columns_and_rows():
    lines = noise_table(RECORDS, SEED).splitlines()
    assert lines[0] == '| top-1 at noise std | 0 | 0.01 | 0.05 |'
    assert lines[2] == '| 3D ST-GCN, SynthActions X-Sub | 0.990 | - | 0.500 |'
    assert lines[3] == '| 2D ST-GCN, SynthActions X-Sub | 0.970 | - | - |'
    assert lines[4] == ('| SkateFormer, NTU-60 X-Sub (seed report) | 0.920 '
                        '| 0.910 | - |')


def test_zoo_and_models_tables():
    text = zoo_table([dict(model='2D', source='ground truth', clips=3,
                           top1=1.0, top5=1.0),
                      dict(model='2D', source='tic', clips=3, AP=0.81234,
                           top1=2 / 3, top5=1.0)])
    assert '| 2D | tic | 3 | 0.812 | 0.667 | 1.000 |' in text
    assert '| 2D | ground truth | 3 | - | 1.000 | 1.000 |' in text
    table = models_table({'3D': dict(epochs=30, minutes=6.81),
                          '3D X-View': dict(epochs=30, minutes=None)},
                         [dict(model='3D', top1=0.99, top5=1.0, mean1=0.98)])
    assert '| 3D | X-Sub | 30 | 6.8 | 0.990 | 1.000 | 0.980 |' in table
    assert '| 3D | X-View | 30 | - | - | - | - |' in table


def test_plot_noise_writes_png(tmp_path):
    path = tmp_path / 'noise.png'
    plot_noise(RECORDS, SEED, str(path))
    assert path.stat().st_size > 1000
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('func', [noise_table, zoo_table])
def test_empty_records(func):
    assert func([]).count('\n') == 1  # header and rule only

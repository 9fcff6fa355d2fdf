"""Zoo names: metafile lookup, tools/infer.py and MMPoseInferencer with a
name instead of config + checkpoint."""
import json
import shutil

import numpy as np
import pytest

from probpose_ext.apis import infer_main
from probpose_ext.apis.zoo import (ZOO_ENV, best_checkpoint, is_zoo_name,
                                   last_checkpoint, resolve, resolve_model,
                                   zoo_names)
from tests.apis._random_ckpt import SYNTH_CFG, save_random_checkpoint
from tests.conftest import DATA

IMG = DATA / 'coco' / '000000000785.jpg'
METAFILE = """Collections:
- Name: Test
Models:
- Name: test-probpose
  Alias: [Probpose-Test]
  In Collection: Test
  Config: configs/synthpose/{config}
  Weights: checkpoints/synthpose/test-probpose.pth
  Results:
  - Task: Body 2D Keypoint
    Dataset: SynthPose
    Metrics:
      AP: 0.0
- Name: test-missing-weights
  Config: configs/synthpose/{config}
  Weights: checkpoints/synthpose/nothing.pth
- Name: test-config-only
  Config: configs/synthpose/{config}
"""


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """A zoo root with one random-weight ProbPose model and one entry
    without weights."""
    configs = tmp_path / 'configs' / 'synthpose'
    configs.mkdir(parents=True)
    for path in SYNTH_CFG.parent.glob('*vit-tiny_synthpose-128x96.py'):
        shutil.copy(path, configs / path.name)  # the config and its bases
    shutil.copytree(SYNTH_CFG.parent.parent / '_base_',
                    tmp_path / 'configs' / '_base_')
    (configs / 'metafile.yml').write_text(
        METAFILE.format(config=SYNTH_CFG.name))
    (tmp_path / 'checkpoints' / 'synthpose').mkdir(parents=True)
    save_random_checkpoint(
        tmp_path / 'checkpoints' / 'synthpose' / 'test-probpose.pth')
    monkeypatch.setenv(ZOO_ENV, str(tmp_path))
    return tmp_path


def test_resolve_names_aliases_and_errors(zoo):
    config, weights = resolve('test-probpose')
    assert config == str(zoo / 'configs' / 'synthpose' / SYNTH_CFG.name)
    assert weights == str(zoo / 'checkpoints' / 'synthpose' /
                          'test-probpose.pth')
    assert resolve('PROBPOSE-test') == (config, weights)  # alias, any case
    # an entry without Weights (a config listed for the model index) is
    # not a zoo model
    assert zoo_names() == ['test-missing-weights', 'test-probpose']
    assert not is_zoo_name('test-config-only')
    assert is_zoo_name('test-probpose') and not is_zoo_name(str(IMG))
    with pytest.raises(KeyError, match="did you mean 'test-probpose'.*"
                       'the zoo has test-missing-weights, test-probpose'):
        resolve('test-probpos')
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        resolve('test-missing-weights')


def test_resolve_model_takes_a_config_and_checkpoint_or_a_zoo_name(zoo):
    config, weights = resolve('test-probpose')
    assert resolve_model('test-probpose') == (config, weights)
    # with a zoo name, a checkpoint replaces the zoo's weights
    assert resolve_model('test-probpose', 'other.pth') == (config,
                                                           'other.pth')
    assert resolve_model(str(SYNTH_CFG), 'w.pth') == (str(SYNTH_CFG),
                                                      'w.pth')
    with pytest.raises(ValueError, match='neither a config file nor a zoo'):
        resolve_model(str(SYNTH_CFG))


def test_last_and_best_checkpoint_of_a_run(tmp_path):
    assert last_checkpoint(str(tmp_path)) is None
    with pytest.raises(FileNotFoundError, match='no checkpoint'):
        best_checkpoint(str(tmp_path))
    last = tmp_path / 'epoch_3.pth'
    (tmp_path / 'last_checkpoint').write_text(f'{last}\n')
    assert last_checkpoint(str(tmp_path)) == str(last)
    assert best_checkpoint(str(tmp_path)) == str(last)
    (tmp_path / 'best_coco_AP_epoch_2.pth').write_bytes(b'')
    assert best_checkpoint(str(tmp_path)) == str(
        tmp_path / 'best_coco_AP_epoch_2.pth')


@pytest.mark.slow
def test_infer_tool_and_inferencer_take_a_zoo_name(zoo, tmp_path):
    from mmpose.apis import MMPoseInferencer
    out = tmp_path / 'preds.json'
    samples = infer_main([str(IMG), 'test-probpose', '--out-json', str(out)])
    inst = samples[0].pred_instances
    assert inst.keypoint_presence.shape == (1, 17)
    assert len(json.loads(out.read_text())['images']) == 1
    # the name goes through MMEngine's metafile lookup
    inferencer = MMPoseInferencer(pose2d='test-probpose', device='cpu')
    result = next(inferencer(str(IMG), return_datasamples=True))
    pred = result['predictions'][0].pred_instances
    np.testing.assert_allclose(pred.keypoints, inst.keypoints, rtol=1e-5,
                               atol=1e-3)
    np.testing.assert_allclose(pred.keypoint_presence, inst.keypoint_presence,
                               rtol=1e-5, atol=1e-6)
    # names that are not ours still reach MMEngine's own lookup
    with pytest.raises(ValueError, match='Cannot find model'):
        MMPoseInferencer(pose2d='no-such-model-anywhere', device='cpu')
    with pytest.raises(SystemExit):
        infer_main([str(IMG), 'no-such-model', '--out-json', str(out)])


def test_publish_writes_weights_logs_and_the_metafile(tmp_path,
                                                      monkeypatch):
    import torch

    from probpose_ext.apis.zoo import publish, zoo_models
    root = tmp_path / 'zoo'
    (root / 'configs' / 'synthpose').mkdir(parents=True)
    monkeypatch.setenv(ZOO_ENV, str(root))
    # a training run: the best checkpoint with optimiser state (plain, as
    # PlainCheckpointHook saves them), a log and scalars
    work = tmp_path / 'work'
    (work / '20261205_000000' / 'vis_data').mkdir(parents=True)
    (work / '20261205_000000' / '20261205_000000.log').write_text('log\n')
    (work / '20261205_000000' / 'vis_data' / 'scalars.json').write_text('{}')
    ckpt = save_random_checkpoint(tmp_path / 'random.pth')
    state = torch.load(ckpt, weights_only=True)
    best = dict(state_dict=state['state_dict'],
                meta=dict(epoch=7, dataset_meta=dict(
                    sigmas=[0.05] * 17, dataset_name='coco')),
                optimizer={'state': {}})
    torch.save(best, work / 'best_coco_AP_epoch_7.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_8.pth'))
    results = [dict(Task='Body 2D Keypoint', Dataset='SynthPose val',
                    Metrics={'AP': 0.61})]
    entry = publish('synthpose-test', f'configs/synthpose/{SYNTH_CFG.name}',
                    str(work), results, metadata={'Training minutes': 3.5})
    assert entry['Weights'] == 'checkpoints/synthpose/synthpose-test.pth'
    saved = torch.load(root / entry['Weights'], weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}  # no optimiser state
    assert saved['meta']['epoch'] == 7
    assert saved['meta']['dataset_meta']['sigmas'] == [0.05] * 17
    for key, value in state['state_dict'].items():
        assert torch.equal(saved['state_dict'][key], value), key
    logs = root / 'checkpoints' / 'synthpose' / 'synthpose-test'
    assert (logs / '20261205_000000.log').read_text() == 'log\n'
    assert (logs / '20261205_000000_scalars.json').is_file()
    listed = zoo_models()['synthpose-test']
    assert listed['Results'] == results
    assert listed['Metadata'] == {'Training minutes': 3.5}
    # publishing another run replaces the entry and the earlier logs
    other = tmp_path / 'other'
    (other / '20261206_000000').mkdir(parents=True)
    (other / '20261206_000000' / '20261206_000000.log').write_text('new\n')
    torch.save(best, other / 'best_coco_AP_epoch_9.pth')
    publish('synthpose-test', f'configs/synthpose/{SYNTH_CFG.name}',
            str(other), [])
    assert zoo_models()['synthpose-test']['Results'] == []
    assert sorted(p.name for p in logs.iterdir()) == ['20261206_000000.log']
    assert zoo_names() == ['synthpose-test']
    # with a branch refit: its weights, the run's logs and the refit's
    refit = other / 'refit'
    (refit / '20261206_010000').mkdir(parents=True)
    (refit / '20261206_010000' / '20261206_010000.log').write_text('refit\n')
    refitted = dict(best, meta=dict(best['meta'], epoch=6))
    refitted['state_dict'] = {k: v + 1 for k, v in best['state_dict'].items()}
    torch.save(refitted, refit / 'best_coco_AP_epoch_6.pth')
    publish('synthpose-test', f'configs/synthpose/{SYNTH_CFG.name}',
            str(other), [], refit_dir=str(refit))
    saved = torch.load(root / entry['Weights'], weights_only=True)
    assert saved['meta']['epoch'] == 6
    for key, value in refitted['state_dict'].items():
        assert torch.equal(saved['state_dict'][key], value), key
    assert (logs / '20261206_000000.log').read_text() == 'new\n'
    assert (logs / 'refit' / '20261206_010000.log').read_text() == 'refit\n'

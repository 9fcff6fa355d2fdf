"""Branch refit (probpose_ext.apis.refit, tools/refit_branches.py): the
derived config, its errors, and a real refit of a tiny trained model that
changes the branches and nothing else."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from probpose_ext.apis import REFIT_BRANCHES, branch_refit_config
from tests.conftest import REPO, run_python

ZOO_CONFIG = REPO / 'configs' / 'synthpose' / \
    'probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py'
TINY_CONFIG = REPO / 'configs' / 'synthpose' / \
    'probpose_vit-tiny_synthpose-128x96.py'


def _crops(cfg):
    return [t for t in cfg.train_dataloader.dataset.pipeline
            if t.type == 'RandomCropOut']


def test_refit_config_freezes_all_but_the_branches_and_crops_more():
    cfg = Config.fromfile(ZOO_CONFIG)
    before = cfg.pretty_text
    refit = branch_refit_config(cfg, 'w.pth', epochs=3, lr=5e-4,
                                crop_prob=0.7, keep_ratio=(0.5, 0.8))
    assert cfg.pretty_text == before  # the input is not modified
    assert refit.load_from == str(Path('w.pth').resolve())
    assert refit.model.backbone.init_cfg is None
    assert dict(refit.train_cfg) == dict(by_epoch=True, max_epochs=3,
                                         val_interval=3)
    assert refit.optim_wrapper.optimizer.lr == 5e-4
    hooks = [h for h in refit.custom_hooks if h.type == 'TrainOnlyHook']
    assert len(hooks) == 1 and tuple(hooks[0].trainable) == REFIT_BRANCHES
    [crop] = _crops(refit)
    assert crop.prob == 0.7 and tuple(crop.keep_ratio) == (0.5, 0.8)
    # the rest of the pipeline and the model are the config's
    assert refit.model.head == cfg.model.head
    assert [t.type for t in refit.train_dataloader.dataset.pipeline] == \
        [t.type for t in cfg.train_dataloader.dataset.pipeline]
    # a refit of a refit keeps one TrainOnlyHook
    again = branch_refit_config(refit, 'w.pth')
    assert sum(h.type == 'TrainOnlyHook' for h in again.custom_hooks) == 1


def test_refit_config_errors():
    cfg = Config.fromfile(ZOO_CONFIG)
    heatmap = Config.fromfile(REPO / 'configs' / 'synthpose' /
                              'td-hm_effnet-lite0_1xb32-24e_'
                              'synthpose-128x96.py')
    with pytest.raises(ValueError, match='ProbMapHead'):
        branch_refit_config(heatmap, 'w.pth')
    attached = copy.deepcopy(cfg)
    attached.model.head.detach_branches = False
    with pytest.raises(ValueError, match='detach_branches'):
        branch_refit_config(attached, 'w.pth')
    uncropped = copy.deepcopy(cfg)
    uncropped.train_dataloader.dataset.pipeline = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type != 'RandomCropOut']
    with pytest.raises(ValueError, match='RandomCropOut'):
        branch_refit_config(uncropped, 'w.pth')
    for kwargs in (dict(epochs=0), dict(lr=0), dict(crop_prob=1.5),
                   dict(keep_ratio=(0.9, 0.4)), dict(keep_ratio=(0.5, )),
                   dict(keep_ratio=(0, 0.5))):
        with pytest.raises(ValueError):
            branch_refit_config(cfg, 'w.pth', **kwargs)


@pytest.mark.slow
def test_refit_trains_the_branches_and_nothing_else(tmp_path):
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    data = tmp_path / 'synthpose'
    make_synthpose(data, num_train=8, num_val=4, img_size=(128, 128),
                   seed=0, workers=1, progress=False)
    ann_val = data / 'annotations' / 'person_keypoints_val.json'
    config = tmp_path / 'tiny.py'
    config.write_text(f'''
_base_ = [{str(TINY_CONFIG)!r}]
data_root = {str(data) + '/'!r}
train_cfg = dict(max_epochs=1, val_interval=1)
model = dict(backbone=dict(arch=dict(num_layers=1)),
             head=dict(branch_grid=(2, 2), branch_grid_channels=4))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root),
                        **loader)
val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root),
                      **loader)
test_dataloader = val_dataloader
val_evaluator = [dict(type='ExCocoMetric', ann_file={str(ann_val)!r})]
test_evaluator = val_evaluator
''')
    work = tmp_path / 'train'
    run_python([REPO / 'tools' / 'train.py', config, '--work-dir', work],
               PYTHONPATH=REPO)
    trained = Path((work / 'last_checkpoint').read_text().strip())
    refit_work = tmp_path / 'refit'
    # --resume with nothing to resume starts from the trained weights
    proc = run_python([REPO / 'tools' / 'refit_branches.py', config,
                       trained, '--work-dir', refit_work, '--epochs', '2',
                       '--lr', '0.01', '--resume'], PYTHONPATH=REPO)
    assert 'TrainOnlyHook: training' in proc.stdout + proc.stderr
    written = Config.fromfile(refit_work / 'refit_config.py')
    assert written.load_from == str(trained)
    refit = Path((refit_work / 'last_checkpoint').read_text().strip())
    old = torch.load(trained, weights_only=True)['state_dict']
    new = torch.load(refit, weights_only=True)['state_dict']
    assert old.keys() == new.keys()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed, 'the refit changed nothing'
    # only the branches changed: weights, BatchNorm statistics and all
    assert all(k.startswith(tuple(f'{b}.' for b in REFIT_BRANCHES))
               for k in changed), sorted(changed)
    branch_params = {k for k in old
                     if k.startswith(tuple(f'{b}.' for b in REFIT_BRANCHES))}
    assert changed == branch_params

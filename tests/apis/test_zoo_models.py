"""The committed zoo: every metafile entry loads weights-only into the
model its config builds, and localises people on fresh SynthPose images."""
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from probpose_ext.apis import predict_image
from probpose_ext.apis.zoo import resolve, zoo_models, zoo_names
from probpose_ext.datasets.generators.synthpose import make_synthpose
from probpose_ext.ops import oks

NAMES = zoo_names()
#: the zoo models: the three ``make demo`` trains, and the TIC model
#: (tools/analysis_tools/tic_comparison.py --publish)
EXPECTED = {'synthpose-heatmap', 'synthpose-probpose',
            'synthpose-probpose-dh', 'synthpose-tic'}


def test_the_zoo_lists_only_known_models():
    assert NAMES, 'configs/**/metafile.yml lists no model'
    assert set(NAMES) <= EXPECTED
    for name in NAMES:
        entry = zoo_models()[name]
        metrics = {r['Dataset']: r['Metrics'] for r in entry['Results']}
        assert 0 < metrics['SynthPose val']['AP'] <= 1
        assert 'Ex-AP' in metrics['SynthPose-Crop val']
        assert entry['Metadata']['Epochs'] > 0


@pytest.fixture(scope='module')
def synth_val(tmp_path_factory):
    """Eight SynthPose images drawn with a seed no zoo split uses."""
    root = tmp_path_factory.mktemp('zoo_val') / 'synthpose'
    make_synthpose(root, num_train=0, num_val=8, seed=7, workers=1,
                   progress=False)
    with open(root / 'annotations' / 'person_keypoints_val.json') as f:
        return root, json.load(f)


@pytest.mark.slow
@pytest.mark.parametrize('name', NAMES)
def test_weights_load_strictly_and_localise(name, synth_val):
    config, weights = resolve(name)
    assert os.path.getsize(weights) <= 25 * 2**20
    ckpt = torch.load(weights, map_location='cpu', weights_only=True)
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    # every entry of the model is in the checkpoint and nothing else
    model.load_state_dict(ckpt['state_dict'], strict=True)
    model.cfg = cfg
    model.dataset_meta = ckpt['meta']['dataset_meta']
    model.eval()
    root, coco = synth_val
    sigmas = np.asarray(model.dataset_meta['sigmas'])
    images = {im['id']: im['file_name'] for im in coco['images']}
    scores = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        x, y, w, h = ann['bbox']
        image = str(root / 'val' / images[ann['image_id']])
        sample = predict_image(model, image, np.array([[x, y, x + w, y + h]]))
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        pred = sample.pred_instances.keypoints[0]
        per_kpt = oks(torch.as_tensor(pred[None], dtype=torch.float64),
                      torch.as_tensor(gt[None, :, :2]), [ann['area']],
                      sigmas)[0].numpy()
        visible = gt[:, 2] > 0
        scores.append(per_kpt[visible].mean())
    # a model that localises: most annotated keypoints close to the truth
    # (the published zoo models reach SynthPose val AP of 0.6)
    assert len(scores) >= 8
    assert np.mean(scores) > 0.6, scores

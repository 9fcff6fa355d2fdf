"""Bad-input catalogue: each mistake a user can make raises the exact error
below, naming the file and the field (or the image and the field), never a
traceback from deep inside numpy, xtcocotools or MMEngine.

Annotation files are checked by every consumer: ``CropCocoDataset`` (when
built), ``ExCocoMetric`` (when built; the number of keypoints when it
evaluates) and the CropCOCO generator (before it writes anything).
"""
import json
import logging
import re
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.registry import (DATASETS, HOOKS, KEYPOINT_CODECS, METRICS,
                             MODELS, TRANSFORMS, VISUALIZERS)

from probpose_ext.codecs import ProbMap
from probpose_ext.datasets import cropcoco_dataset
from probpose_ext.datasets.generators.cropcoco import make_cropcoco
from probpose_ext.utils.metainfo import load_metainfo

K = 17
META = dict(load_metainfo(), CLASSES=[dict(id=1, name='person')],
            dataset_name='bad_input_test')
USABLE = ('(not crowd, with keypoints, an annotated one among them, and a '
          'bbox that is not empty in its image)')


def _ann(ann_id: int, image_id: int) -> dict:
    kpts = [[10 + i, 12 + i, 2] for i in range(K)]
    return dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0,
                bbox=[2, 3, 30, 40], area=600.0, num_keypoints=K,
                keypoints=[float(c) for k in kpts for c in k])


def _coco() -> dict:
    """A valid file: two 40x50 images with one person each."""
    return dict(
        images=[dict(id=i, file_name=f'{n}.png', width=40, height=50)
                for i, n in ((1, 'a'), (2, 'b'))],
        categories=[dict(id=1, name='person')],
        annotations=[_ann(5, 1), _ann(6, 2)])


def _edit(fn: Callable[[dict], None]) -> Callable[[], str]:
    def text() -> str:
        coco = _coco()
        fn(coco)
        return json.dumps(coco)
    return text


def _set(index: int, **fields) -> Callable[[dict], None]:
    return lambda c: c['annotations'][index].update(fields)


def _kpt(index: int, coord: int, value) -> Callable[[dict], None]:
    def edit(c):
        c['annotations'][1]['keypoints'][3 * index + coord] = value
    return edit


BOX = "'bbox' must be [x, y, w, h]"
A6 = '{file}: annotation id 6 (image id 2)'
ALL = ('dataset', 'metric', 'cropcoco')
# name, file content (None: no file), exception, exact message ({file}: the
# file's path), consumers
CASES = [
    ('missing file', None, FileNotFoundError,
     '{file}: annotation file not found', ALL),
    ('truncated in a string',
     lambda: '{"images": [{"id": 1, "file_name": "a.p',
     ValueError, '{file}: invalid JSON at line 1, column 36 (char 35): '
     'Unterminated string starting at (the file ends early: truncated?)', ALL),
    ('truncated between values', lambda: '{"images": [], ', ValueError,
     '{file}: invalid JSON at line 1, column 16 (char 15): Expecting '
     'property name enclosed in double quotes (the file ends early: '
     'truncated?)', ALL),
    ('invalid JSON', lambda: '{"images": [],\n "annotations": [],}',
     ValueError, '{file}: invalid JSON at line 2, column 20 (char 34): '
     'Expecting property name enclosed in double quotes', ALL),
    ('not UTF-8', lambda: b'\xff\xfe{}', ValueError,
     '{file}: not UTF-8 text (byte 0: invalid start byte), so not a JSON '
     'annotation file', ALL),
    ('a list', lambda: '[]', ValueError,
     "{file}: not a COCO annotation file: expected a JSON object with "
     "'images', 'annotations' and 'categories' lists, got list", ALL),
    ('no categories', _edit(lambda c: c.pop('categories')), ValueError,
     "{file}: not a COCO annotation file: 'categories' must be a list, got "
     'missing', ALL),
    ('no images', _edit(lambda c: c.update(images=[], annotations=[])),
     ValueError, "{file}: empty data set: 'images' is empty", ALL),
    ('no annotations', _edit(lambda c: c.update(annotations=[])), ValueError,
     "{file}: empty data set: 'annotations' is empty (2 images)", ALL),
    ('only crowds', _edit(lambda c: [a.update(iscrowd=1)
                                     for a in c['annotations']]),
     ValueError, '{file}: empty data set: none of its 2 annotations on 2 '
     f'images is a usable instance {USABLE}', ('dataset', )),
    ('image without width', _edit(lambda c: c['images'][1].update(width=0)),
     ValueError, "{file}: image id 2: 'width' must be a positive number, "
     'got 0', ALL),
    ('image without file_name', _edit(lambda c: c['images'][0].pop(
        'file_name')), ValueError,
     "{file}: image id 1: 'file_name' must be a non-empty string, got None",
     ALL),
    ('repeated annotation id', _edit(_set(1, id=5)), ValueError,
     '{file}: annotation id 5 appears more than once', ALL),
    ('unknown image id', _edit(_set(1, image_id=9)), ValueError,
     "{file}: annotation id 6 (image id 9): 'image_id' is not an id of "
     "'images'", ALL),
    ('unknown category id', _edit(_set(1, category_id=7)), ValueError,
     f"{A6}: 'category_id' 7 is not an id of 'categories' (1)", ALL),
    ('16 keypoints', _edit(_set(1, keypoints=[1.0, 2.0, 2] * 16)),
     ValueError, f"{A6}: 'keypoints' has 48 values, expected 3 * 17 = 51",
     ('dataset', 'metric')),
    ('keypoints not a multiple of 3', _edit(_set(1, keypoints=[1.0] * 50)),
     ValueError, f"{A6}: 'keypoints' has 50 values, not a multiple of 3 "
     '(x, y, v per keypoint)', ('cropcoco', )),
    ('keypoints not a list', _edit(_set(1, keypoints='none')), ValueError,
     f"{A6}: 'keypoints' must be a list of numbers, got none", ALL),
    ('visibility 4', _edit(_kpt(2, 2, 4)), ValueError,
     f"{A6}: 'keypoints' has visibility values [4] outside {{0, 1, 2, 3}} "
     '(keypoint indices [2])', ALL),
    ('visibility -1 and 2.5',
     _edit(lambda c: (_kpt(0, 2, -1)(c), _kpt(3, 2, 2.5)(c))), ValueError,
     f"{A6}: 'keypoints' has visibility values [-1, 2.5] outside "
     '{0, 1, 2, 3} (keypoint indices [0, 3])', ALL),
    ('NaN coordinate', _edit(_kpt(1, 0, float('nan'))), ValueError,
     f"{A6}: 'keypoints' has NaN/Inf values (keypoint indices [1])", ALL),
    ('Infinity coordinate', _edit(_kpt(4, 1, float('inf'))), ValueError,
     f"{A6}: 'keypoints' has NaN/Inf values (keypoint indices [4])", ALL),
    ('negative bbox width', _edit(_set(1, bbox=[1, 1, -5, 30])), ValueError,
     f'{A6}: {BOX} with finite values and w, h >= 0, got [1, 1, -5, 30]',
     ALL),
    ('bbox of 3 numbers', _edit(_set(1, bbox=[1, 2, 3])), ValueError,
     f'{A6}: {BOX} (4 numbers), got [1, 2, 3]', ALL),
    ('NaN area', _edit(_set(1, area=float('nan'))), ValueError,
     f"{A6}: 'area' must be a finite number >= 0, got nan", ALL),
]


def _images(root: Path) -> None:
    for name in ('a', 'b'):
        assert cv2.imwrite(str(root / f'{name}.png'),
                           np.full((50, 40, 3), 128, np.uint8))


def _build_dataset(ann_file: Path, **kwargs):
    with DefaultScope.overwrite_default_scope('mmpose'):
        return DATASETS.build(dict(
            type='CropCocoDataset', data_root=str(ann_file.parent),
            ann_file=ann_file.name, data_prefix=dict(img=''), **kwargs))


def _prediction(img_id: int = 1, **fields) -> dict:
    """A data sample with a prediction near GT annotation 5 (image 1)."""
    kpts = np.asarray(_ann(5, 1)['keypoints']).reshape(K, 3)[None, :, :2]
    pred = dict(keypoints=kpts + 0.5, keypoint_scores=np.full((1, K), 0.9),
                keypoint_presence=np.full((1, K), 0.8))
    pred.update(fields)
    return dict(id=5, img_id=img_id, category_id=1, ori_shape=(50, 40),
                gt_instances=dict(bbox_scores=np.ones(1)),
                pred_instances=pred)


def _evaluate(ann_file: Path, samples) -> dict:
    metric = METRICS.build(dict(type='ExCocoMetric', ann_file=str(ann_file)))
    metric.dataset_meta = META
    metric.process([], samples)
    return metric.evaluate(len(samples))


def _use(consumer: str, ann_file: Path, tmp_path: Path) -> None:
    if consumer == 'dataset':
        _build_dataset(ann_file)
    elif consumer == 'metric':
        _evaluate(ann_file, [_prediction()])
    else:
        out = tmp_path / 'out'
        try:
            make_cropcoco(tmp_path, ann_file, out, workers=1, progress=False)
        except Exception:
            assert not out.exists()  # nothing written
            raise


@pytest.mark.parametrize(
    'content, exc, message, consumer',
    [(c[1], c[2], c[3], use) for c in CASES for use in c[4]],
    ids=[f'{c[0]}-{use}' for c in CASES for use in c[4]])
def test_bad_annotation_file(tmp_path, content, exc, message, consumer):
    ann_file = tmp_path / 'person_keypoints.json'
    if content is not None:
        text = content()
        if isinstance(text, str):
            ann_file.write_text(text)
        else:
            ann_file.write_bytes(text)
    _images(tmp_path)
    with pytest.raises(exc, match='^' + re.escape(
            message.replace('{file}', str(ann_file))) + '$'):
        _use(consumer, ann_file, tmp_path)


@pytest.mark.parametrize('consumer', ALL)
def test_the_valid_file_is_accepted(tmp_path, consumer):
    """The file every bad case edits passes all consumers."""
    ann_file = tmp_path / 'person_keypoints.json'
    ann_file.write_text(json.dumps(_coco()))
    _images(tmp_path)
    _use(consumer, ann_file, tmp_path)
    if consumer == 'dataset':
        assert len(_build_dataset(ann_file)) == 2


def test_zero_size_bbox_is_dropped_with_a_warning(tmp_path, monkeypatch):
    """Legal COCO, dropped by MMPose as by us, but never silently."""
    logged = []
    monkeypatch.setattr(cropcoco_dataset, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    coco = _coco()
    coco['annotations'][1]['bbox'] = [5, 5, 0, 20]  # zero width
    coco['annotations'].append(_ann(7, 2))
    coco['annotations'][2]['bbox'] = [45, 5, 10, 20]  # right of the image
    coco['annotations'].append(_ann(8, 2))
    coco['annotations'][3].update(bbox=[5, 5, 0, 0], iscrowd=1)  # crowd
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(coco))
    _images(tmp_path)
    dataset = _build_dataset(ann_file)
    assert [dataset.get_data_info(i)['id'] for i in range(len(dataset))] \
        == [5]
    assert logged == [(
        f'{ann_file}: dropped 2 annotation(s) with annotated keypoints whose '
        'bbox is empty once clipped to the image (zero width or height): '
        'ids 6, 7', logging.WARNING)]


def test_missing_image_files_are_listed_at_build_time(tmp_path):
    coco = _coco()
    coco['images'] += [dict(id=i, file_name=f'gone{i}.png', width=40,
                            height=50) for i in range(3, 8)]
    coco['annotations'] += [_ann(10 + i, i) for i in range(3, 8)]
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(coco))
    _images(tmp_path)
    missing = ', '.join(repr(str(tmp_path / f'gone{i}.png'))
                        for i in (3, 4, 5))
    with pytest.raises(FileNotFoundError, match='^' + re.escape(
            f'{ann_file}: 5 of 7 image files are missing, e.g. {missing}, '
            "... (image paths are data_prefix['img'] + file_name, under "
            'data_root; check_images=False skips this check)') + '$'):
        _build_dataset(ann_file)
    assert len(_build_dataset(ann_file, check_images=False)) == 7


def test_lazy_dataset_checks_when_loaded(tmp_path):
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text('{')
    dataset = _build_dataset(ann_file, lazy_init=True)
    with pytest.raises(ValueError, match='invalid JSON at line 1'):
        dataset.full_init()


# ---------------------------------------------------------------------------
# NaN / Inf in predictions and maps
# ---------------------------------------------------------------------------
def _nan_at(shape, index, value=float('nan')) -> np.ndarray:
    array = np.full(shape, 0.5)
    array[index] = value
    return array


@pytest.mark.parametrize('field, value, message', [
    ('keypoints', _nan_at((1, K, 2), (0, 3, 1)),
     'pred_instances.keypoints has 1 NaN/Inf value(s) of 34 (first at index '
     '(0, 3, 1))'),
    ('keypoint_scores', _nan_at((1, K), (0, 16), float('inf')),
     'pred_instances.keypoint_scores has 1 NaN/Inf value(s) of 17 (first at '
     'index (0, 16))'),
    ('keypoint_presence', _nan_at((1, K), (0, 2)),
     'pred_instances.keypoint_presence has 1 NaN/Inf value(s) of 17 (first '
     'at index (0, 2))'),
])
def test_metric_rejects_non_finite_predictions(tmp_path, field, value,
                                               message):
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(_coco()))
    samples = [_prediction(), _prediction(img_id=2, **{field: value})]
    with pytest.raises(ValueError, match='^' + re.escape(
            f'ExCocoMetric: image id 2: {message}') + '$'):
        _evaluate(ann_file, samples)


def test_presence_accuracy_rejects_non_finite_presence():
    metric = METRICS.build(dict(type='PresenceAccuracy'))
    sample = dict(
        img_id=785, input_center=np.array([20., 25.]),
        input_scale=np.array([40., 50.]),
        gt_instances=dict(keypoints=np.zeros((1, K, 2)),
                          keypoints_visible=np.ones((1, K))),
        pred_instances=dict(
            keypoint_presence=_nan_at((1, K), (0, 4), -float('inf'))))
    with pytest.raises(ValueError, match='^' + re.escape(
            'PresenceAccuracy: image id 785: pred_instances.keypoint_presence'
            ' has 1 NaN/Inf value(s) of 17 (first at index (0, 4))') + '$'):
        metric.process([], [sample])


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_decoder_rejects_non_finite_maps(bad):
    codec = KEYPOINT_CODECS.build(
        dict(type='ProbMap', input_size=(48, 64), heatmap_size=(12, 16)))
    maps = torch.full((2, K, 16, 12), 1 / (16 * 12))
    maps[1, 5, 3, 4] = bad
    message = '^ProbMap.decode: the probability maps contain NaN or Inf$'
    with pytest.raises(ValueError, match=message):
        codec.batch_decode(maps)
    with pytest.raises(ValueError, match=message):
        codec.decode(maps[1].numpy())
    codec.batch_decode(maps[:1])  # the finite one decodes


def test_head_with_non_finite_features_does_not_predict():
    """NaN features give NaN maps, which the decoder refuses: a model that
    diverged never outputs keypoints."""
    head = MODELS.build(dict(
        type='ProbMapHead', in_channels=8, out_channels=K,
        deconv_out_channels=(), deconv_kernel_sizes=(),
        decoder=dict(type='ProbMap', input_size=(48, 64),
                     heatmap_size=(12, 16))))
    feats = torch.randn(1, 8, 16, 12)
    feats[0, 0, 2, 2] = float('nan')
    from mmpose.structures import PoseDataSample
    samples = [PoseDataSample(metainfo=dict(
        flip_indices=META['flip_indices']))]
    with pytest.raises(ValueError, match='NaN or Inf'):
        head.predict((feats, ), samples, test_cfg=dict(flip_test=False))


def test_codec_rejects_wrong_keypoint_count_and_visibility():
    codec = ProbMap((48, 64), (12, 16))
    with pytest.raises(ValueError,
                       match=r'^got 16 keypoints but 17 OKS sigmas$'):
        codec.encode(np.zeros((1, 16, 2)))
    raw = np.full((1, K), 2)
    raw[0, 3] = 5
    with pytest.raises(ValueError, match=re.escape(
            'keypoints_visibility_raw must be in {0, 1, 2, 3}, got [2 5]')):
        codec.encode(np.zeros((1, K, 2)), keypoints_visibility_raw=raw)


# ---------------------------------------------------------------------------
# Misspelt arguments of every registered class of this package
# ---------------------------------------------------------------------------
REGISTRIES = (MODELS, KEYPOINT_CODECS, METRICS, DATASETS, TRANSFORMS, HOOKS,
              VISUALIZERS)


def _ours() -> dict:
    return {f'{r.name}.{name}': (r, name)
            for r in REGISTRIES for name, obj in list(r.module_dict.items())
            if isinstance(obj, type) and obj.__module__.startswith(
                'probpose_ext.')}


#: Arguments without defaults (Python reports a missing one before an
#: unknown one when ``**kwargs`` are forwarded).
REQUIRED = {
    'ProbMapDHHead': dict(
        in_channels=8, out_channels=K,
        decoder=dict(type='ProbMapDH', input_size=(48, 64),
                     heatmap_size=(12, 16))),
    'ProbPoseLocalVisualizer': dict(name='misspelt_args_test'),
    'SkeletonActionDataset': dict(ann_file='missing.pkl'),
}
#: Classes whose ``__init__`` forwards ``**kwargs`` to an MMPose/MMEngine
#: base (or inherits it), where Python's message would name the base class:
#: ``probpose_ext.utils.validation.strict_kwargs`` checks their arguments
#: first, so the message names them and lists what they accept.
FORWARDING = {'ProbMapDHHead', 'ProbPoseEstimator', 'ProbPoseLocalVisualizer',
              'SkeletonActionDataset'}


@pytest.mark.parametrize('key', sorted(_ours()))
def test_misspelt_argument_names_class_and_argument(key):
    registry, name = _ours()[key]
    cfg = dict(type=name, tempreature=0.5, **REQUIRED.get(name, {}))
    with DefaultScope.overwrite_default_scope('mmpose'), pytest.raises(
            TypeError) as info:
        registry.build(cfg)
    message = str(info.value)
    # either strict_kwargs' message or Python's own for the class itself
    # (never a base class's)
    assert re.match(
        rf"^{name}(: unexpected argument 'tempreature'[;( ]|"
        rf"\.__init__\(\) got an unexpected keyword argument "
        rf"'tempreature'$)", message), message


#: Some accepted arguments of each: the class's own and its base's.
OWN_AND_BASE = {
    'ProbMapDHHead': ({'temperature', 'decoder'},
                      {'in_channels', 'out_channels', 'init_cfg'}),
    'ProbPoseEstimator': ({'metainfo'}, {'backbone', 'head', 'test_cfg'}),
    'ProbPoseLocalVisualizer': ({'presence_thr', 'cov_level'},
                                {'name', 'kpt_color', 'skeleton'}),
    'SkeletonActionDataset': ({'split', 'num_classes'},
                              {'data_root', 'pipeline', 'test_mode'}),
}


@pytest.mark.parametrize('name', sorted(FORWARDING))
def test_classes_forwarding_kwargs_name_themselves(name):
    registry = next(r for r in REGISTRIES if name in r.module_dict)
    cfg = dict(type=name, tempreature=0.5, **REQUIRED.get(name, {}))
    with DefaultScope.overwrite_default_scope('mmpose'), pytest.raises(
            TypeError) as info:
        registry.build(cfg)
    message = str(info.value)
    assert message.startswith(f"{name}: unexpected argument 'tempreature'")
    # the suggestion of a close name, when there is one
    assert ("(did you mean 'temperature'?)" in message) == (
        name == 'ProbMapDHHead')
    # the accepted arguments, sorted, include the base class's keywords
    accepted = message.split('; accepted arguments: ')[1].split(', ')
    assert accepted == sorted(accepted)
    own, base = OWN_AND_BASE[name]
    assert own | base <= set(accepted), (own | base) - set(accepted)
    if name == 'ProbPoseEstimator':
        assert accepted == ['backbone', 'data_preprocessor', 'head',
                            'init_cfg', 'metainfo', 'neck', 'test_cfg',
                            'train_cfg']


def test_misspelt_argument_suggests_the_close_name():
    with pytest.raises(TypeError, match=re.escape(
            "ExCocoMetric: unexpected argument 'presense_thr' (did you mean "
            "'presence_thr'?); accepted arguments: ann_file, aspect_ratio,")):
        METRICS.build(dict(type='ExCocoMetric', presense_thr=0.5))
    with pytest.raises(TypeError, match=re.escape(
            "SafeCheckpointHook: unexpected argument 'max_keep_ckpt' (did you "
            "mean 'max_keep_ckpts'?)")):
        HOOKS.build(dict(type='SafeCheckpointHook', max_keep_ckpt=1))
    with pytest.raises(TypeError, match=re.escape(
            "PlainCheckpointHook: unexpected argument 'interval'; it takes "
            'no arguments')):
        HOOKS.build(dict(type='PlainCheckpointHook', interval=1))


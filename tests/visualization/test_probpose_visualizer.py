"""ProbPoseLocalVisualizer: pixel checks of the presence rule, credible
boxes, covariance ellipses and the probability-map overlay."""
import itertools

import numpy as np
import pytest
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

from probpose_ext.ops import ellipse_radius
from probpose_ext.utils.metainfo import load_metainfo
from probpose_ext.visualization import (ProbPoseLocalVisualizer,
                                        overlay_probability_maps)

_ids = itertools.count()
RED = (255, 0, 0)


def _vis(cls=ProbPoseLocalVisualizer, **kwargs):
    cfg = dict(type=cls.__name__, name=f'vis_test_{next(_ids)}', radius=3,
               line_width=2)
    cfg.update(kwargs)
    return VISUALIZERS.build(cfg)


def _sample(**fields):
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(**fields)
    return sample


def _draw(vis, sample, image, **kwargs):
    kwargs.setdefault('kpt_thr', 0.3)
    return vis.add_datasample('x', image, sample, draw_gt=False, show=False,
                              **kwargs).copy()


def _pose(rng, presence):
    kpts = rng.uniform(20, 100, (1, 17, 2))
    return dict(keypoints=kpts, keypoint_scores=np.ones((1, 17)),
                keypoints_visible=np.full((1, 17), 0.9),
                keypoint_presence=np.asarray(presence, float)[None])


def test_built_from_config_through_registry():
    vis = _vis(presence_thr=0.4, show_cov=False, cov_level=0.5)
    assert isinstance(vis, ProbPoseLocalVisualizer)
    assert vis.presence_thr == 0.4 and not vis.show_cov
    for bad in (dict(presence_thr=float('nan')), dict(cov_level=1.0),
                dict(region_line_width=0), dict(heatmap_alpha=2.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _vis(**bad)


def test_low_presence_keypoint_is_not_drawn():
    meta = load_metainfo()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 130, 3), dtype=np.uint8)
    presence = np.full(17, 0.9)
    presence[[0, 9]] = 0.2  # below presence_thr, above MMPose's kpt_thr
    fields = _pose(rng, presence)
    ours = _vis(presence_thr=0.5)
    ours.set_dataset_meta(meta)
    drawn = _draw(ours, _sample(**fields), image)
    # MMPose's own visualiser with those keypoints hidden by visibility
    ref = _vis(PoseLocalVisualizer)
    ref.set_dataset_meta(meta)
    hidden = dict(fields, keypoints_visible=np.where(presence >= 0.5, 0.9,
                                                     0.0)[None])
    np.testing.assert_array_equal(drawn, _draw(ref, _sample(**hidden),
                                               image))
    # ... and they would have been drawn with enough presence
    shown = _draw(ours, _sample(**dict(fields, keypoint_presence=np.full(
        (1, 17), 0.9))), image)
    assert (shown != drawn).any()
    # without keypoint_presence the rule falls back to keypoints_visible
    fallback = dict(fields, keypoints_visible=presence[None])
    del fallback['keypoint_presence']
    np.testing.assert_array_equal(_draw(ours, _sample(**fallback), image),
                                  drawn)


def test_credible_box_drawn_at_expected_pixels():
    vis = _vis(kpt_color='red', presence_thr=0.5)
    image = np.zeros((100, 120, 3), np.uint8)
    fields = dict(
        keypoints=np.array([[[50.0, 40.0], [90.0, 80.0]]]),
        keypoint_scores=np.ones((1, 2)),
        keypoints_visible=np.ones((1, 2)),
        keypoint_presence=np.array([[0.9, 0.1]]),
        keypoint_credible_box=np.array([[[30.4, 20.6, 70.2, 60.0],
                                         [80.0, 70.0, 110.0, 95.0]]]))
    out = _draw(vis, _sample(**fields), image)
    red = (out == RED).all(-1)
    x0, y0, x1, y1 = 30, 21, 70, 60  # corners rounded to the nearest pixel
    assert red[y0, x0:x1 + 1].all() and red[y1, x0:x1 + 1].all()
    assert red[y0:y1 + 1, x0].all() and red[y0:y1 + 1, x1].all()
    assert not red[y0 - 1].any() and not red[y1 + 1].any()
    assert not red[:, x0 - 1].any() and not red[:, x1 + 1].any()
    # inside: only the keypoint's disc (radius 3 at (50, 40))
    inner = red[y0 + 1:y1, x0 + 1:x1].copy()
    inner[40 - y0 - 1 - 3:40 - y0 - 1 + 4, 50 - x0 - 1 - 3:50 - x0 - 1 + 4] = \
        False
    assert not inner.any()
    # the absent keypoint (presence 0.1) has neither disc nor box
    assert not red[66:, 76:].any()
    # show_credible=False draws the keypoint only
    plain = _draw(_vis(kpt_color='red', show_credible=False),
                  _sample(**fields), image)
    assert (plain == RED).all(-1).sum() < red.sum()
    assert not (plain == RED).all(-1)[y0, x0:x1 + 1].any()
    # NaN boxes are skipped
    fields['keypoint_credible_box'][0, 0] = np.nan
    np.testing.assert_array_equal(
        _draw(vis, _sample(**fields), image), plain)


def test_covariance_ellipse_at_expected_radius():
    vis = _vis(kpt_color='red', cov_level=0.9, radius=1)
    image = np.zeros((100, 140, 3), np.uint8)
    cov = np.diag([100.0, 25.0])[None, None]  # sigma 10 in x, 5 in y
    fields = dict(keypoints=np.array([[[60.0, 50.0]]]),
                  keypoint_scores=np.ones((1, 1)),
                  keypoints_visible=np.ones((1, 1)), keypoints_cov=cov)
    out = _draw(vis, _sample(**fields), image)
    r = ellipse_radius(level=0.9)
    lit = out.max(-1) > 0
    cols = np.nonzero(lit[50])[0]
    rows = np.nonzero(lit[:, 60])[0]
    # extreme lit pixels of the outline along the axes (anti-aliased)
    assert abs(cols.max() - (60 + 10 * r)) <= 1.5
    assert abs(cols.min() - (60 - 10 * r)) <= 1.5
    assert abs(rows.max() - (50 + 5 * r)) <= 1.5
    assert abs(rows.min() - (50 - 5 * r)) <= 1.5
    # nothing lit well outside the ellipse
    yy, xx = np.mgrid[:100, :140]
    outside = ((xx - 60) / (10 * r + 2))**2 + ((yy - 50) / (5 * r + 2))**2 > 1
    assert not lit[outside].any()
    # the full-covariance field draws the same ellipse
    full = dict(fields, keypoints_cov_full=np.diag([100.0, 25.0])[None])
    del full['keypoints_cov']
    np.testing.assert_array_equal(_draw(vis, _sample(**full), image), out)
    # show_cov=False draws only the keypoint disc
    dot = _draw(_vis(kpt_color='red', radius=1, show_cov=False),
                _sample(**fields), image)
    assert dot.max(-1).astype(bool).sum() < lit.sum()


def test_overlay_changes_only_nonzero_pixels():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    maps = np.zeros((2, 40, 50))
    maps[0, 10:14, 5:9] = rng.random((4, 4))
    maps[0, 11, 6] = 2.0  # peak of map 0
    maps[1, 30, 40] = 0.1  # a one-pixel map with a small peak
    out = overlay_probability_maps(image, maps, alpha=0.5)
    nonzero = maps.max(0) > 0
    np.testing.assert_array_equal(out[~nonzero], image[~nonzero])
    assert (out[nonzero] != image[nonzero]).any(-1).all()
    # each map's peak is coloured at full strength: jet(1) = RGB (128, 0, 0)
    top = np.array([128.0, 0.0, 0.0])
    for y, x in ((11, 6), (30, 40)):
        np.testing.assert_array_equal(
            out[y, x], np.round(0.5 * image[y, x] + 0.5 * top))
    # maps of another size are resized to the image
    small = overlay_probability_maps(image, maps[:, ::2, ::2], alpha=0.5)
    assert small.shape == image.shape
    with pytest.raises(ValueError, match='alpha'):
        overlay_probability_maps(image, maps, alpha=1.5)
    with pytest.raises(ValueError, match='heatmaps'):
        overlay_probability_maps(image, maps[None], alpha=0.5)


def test_heatmap_drawn_below_the_keypoints():
    vis = _vis(heatmap_alpha=0.5)
    image = np.full((40, 50, 3), 100, np.uint8)
    maps = np.zeros((1, 40, 50))
    maps[0, 5:8, 5:8] = 1.0
    sample = _sample(keypoints=np.array([[[30.0, 30.0]]]),
                     keypoint_scores=np.ones((1, 1)),
                     keypoints_visible=np.ones((1, 1)))
    sample.pred_fields = PixelData(heatmaps=maps)
    out = _draw(vis, sample, image, draw_heatmap=True)
    assert out.shape == (80, 50, 3)
    np.testing.assert_array_equal(out[40:],
                                  overlay_probability_maps(image, maps, 0.5))


def test_matplotlib_backend_draws_the_box():
    vis = _vis(backend='matplotlib', kpt_color='red')
    image = np.zeros((60, 80, 3), np.uint8)
    fields = dict(keypoints=np.array([[[40.0, 30.0]]]),
                  keypoint_scores=np.ones((1, 1)),
                  keypoints_visible=np.ones((1, 1)),
                  keypoint_credible_box=np.array([[[10.0, 10.0, 70.0,
                                                    50.0]]]))
    out = _draw(vis, _sample(**fields), image)
    reddish = (out[..., 0] > 100) & (out[..., 1] < 80)
    assert reddish[8:13, 20:60].any(0).mean() > 0.9  # the top edge
    assert not reddish[20:40, 15:30].any()  # inside, away from the disc

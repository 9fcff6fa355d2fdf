"""Figure helpers: instances moved onto a canvas, the padded canvas with
keypoints outside the image, grids, and grouping a dump by image."""
import itertools

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS

from probpose_ext.utils.metainfo import load_metainfo
from probpose_ext.visualization import (cut_first_grid, draw_on_canvas,
                                        group_by_image, image_grid,
                                        map_instances)

_ids = itertools.count()
GREEN = (10, 200, 30)
WHITE = (255, 255, 255)
DARK = (48, 48, 48)


def _vis(**kwargs):
    vis = VISUALIZERS.build(dict(type='ProbPoseLocalVisualizer',
                                 name=f'figures_test_{next(_ids)}', radius=3,
                                 line_width=1, **kwargs))
    vis.set_dataset_meta(load_metainfo())
    return vis


def test_map_instances_moves_every_spatial_field():
    inst = InstanceData(
        keypoints=np.array([[[1., 2.], [3., 4.]]]),
        bboxes=np.array([[0., 0., 10., 20.]]),
        keypoint_credible_box=np.array([[[0., 1., 2., 3.], [4., 5., 6., 7.]]]),
        keypoint_credible_area=np.array([[2., 3.]]),
        keypoints_cov=np.array([[np.eye(2), [[1., .5], [.5, 2.]]]]),
        keypoint_presence=np.array([[0.2, 0.9]]))
    out = map_instances(inst, (2., 3.), (10., -1.))
    np.testing.assert_allclose(out.keypoints, [[[12, 5], [16, 11]]])
    np.testing.assert_allclose(out.bboxes, [[10, -1, 30, 59]])
    np.testing.assert_allclose(out.keypoint_credible_box,
                               [[[10, 2, 14, 8], [18, 14, 22, 20]]])
    np.testing.assert_allclose(out.keypoint_credible_area, [[12, 18]])
    np.testing.assert_allclose(out.keypoints_cov[0, 1],
                               [[4, 3], [3, 18]])
    np.testing.assert_array_equal(out.keypoint_presence,
                                  inst.keypoint_presence)
    assert out.keypoints is not inst.keypoints  # a copy
    np.testing.assert_allclose(inst.keypoints, [[[1, 2], [3, 4]]])


def _person(presence):
    keypoints = np.full((1, 17, 2), 15.0)
    keypoints[0, 0] = (-6, 10)  # the nose, left of the image
    keypoints[0, 1] = (20, 30)
    return InstanceData(keypoints=keypoints,
                        keypoints_visible=np.ones((1, 17)),
                        keypoint_presence=np.asarray([presence], float))


def test_canvas_shows_keypoints_outside_the_image_and_its_border():
    meta = load_metainfo()
    image = np.empty((40, 30, 3), np.uint8)
    image[...] = GREEN
    presence = np.zeros(17)
    presence[0] = 0.9  # only the nose is drawn, the rest is below 0.5
    canvas = draw_on_canvas(_vis(presence_thr=0.5), image,
                            _person(presence), scale=2, margin=20,
                            draw_bbox=False, crosses=np.array([[0., 35.]]))
    assert canvas.shape == (40 * 2 + 40, 30 * 2 + 40, 3)
    assert canvas.dtype == np.uint8
    # nose: (-6, 10) -> 2 * x + 20.5 = (8.5, 40.5), in the margin
    nose = tuple(int(c) for c in meta['keypoint_colors'][0])
    np.testing.assert_array_equal(canvas[40, 8], nose)
    # hidden keypoint (20, 30) -> (60.5, 80.5): the image is untouched
    np.testing.assert_array_equal(canvas[80, 60], GREEN)
    np.testing.assert_array_equal(canvas[70:90, 50:70].reshape(-1, 3),
                                  np.tile(GREEN, (400, 1)))
    # image border one pixel outside the image; the margin elsewhere
    np.testing.assert_array_equal(canvas[19, 50], WHITE)
    np.testing.assert_array_equal(canvas[20 + 80, 50], WHITE)
    np.testing.assert_array_equal(canvas[0, 99], DARK)
    # the cross at image (0, 35) -> canvas (20.5, 90.5)
    np.testing.assert_array_equal(canvas[90, 20], WHITE)


def test_canvas_without_margin_is_the_resized_image():
    image = np.empty((10, 16, 3), np.uint8)
    image[...] = GREEN
    empty = InstanceData(keypoints=np.zeros((0, 17, 2)),
                         keypoints_visible=np.zeros((0, 17)))
    canvas = draw_on_canvas(_vis(), image, empty, scale=0.5,
                            draw_bbox=False)
    assert canvas.shape == (5, 8, 3)
    np.testing.assert_array_equal(canvas.reshape(-1, 3),
                                  np.tile(GREEN, (40, 1)))
    with pytest.raises(ValueError, match='scale'):
        draw_on_canvas(_vis(), image, empty, scale=0)
    with pytest.raises(ValueError, match='margin'):
        draw_on_canvas(_vis(), image, empty, margin=-1)


def test_grid_fits_each_image_into_its_cell():
    red = np.zeros((10, 20, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((30, 30, 3), np.uint8)
    blue[..., 2] = 255
    grid = image_grid([red, blue, red], cols=2, cell_size=(40, 20))
    assert grid.shape == (40, 80, 3)
    # red 20x10 scaled by 2 fills the first cell
    assert (grid[:20, :40] == (255, 0, 0)).all()
    # blue 30x30 scaled to 20x20, centred: x 50-70
    assert (grid[:20, 50:70] == (0, 0, 255)).all()
    assert (grid[:20, 40:50] == 255).all() and (grid[:20, 70:] == 255).all()
    # second row: red, then an empty cell
    assert (grid[20:, :40] == (255, 0, 0)).all()
    assert (grid[20:, 40:] == 255).all()
    with pytest.raises(ValueError, match='no images'):
        image_grid([], cols=2, cell_size=(4, 4))


def test_group_by_image_concatenates_the_people_of_an_image():
    def sample(path, x):
        return dict(img_path=path, pred_instances=dict(
            keypoints=np.full((1, 17, 2), x),
            keypoint_presence=np.full((1, 17), x / 10)))

    grouped = group_by_image([sample('b.jpg', 1.), sample('a.jpg', 2.),
                              sample('b.jpg', 3.)])
    assert [path for path, _ in grouped] == ['b.jpg', 'a.jpg']
    b = grouped[0][1]
    assert len(b) == 2
    np.testing.assert_allclose(b.keypoints[:, 0, 0], [1, 3])
    np.testing.assert_allclose(b.keypoint_presence[:, 0], [.1, .3])


def test_cut_first_grid_puts_images_with_cut_keypoints_first(tmp_path):
    import cv2
    colours = {'a.png': (200, 0, 0), 'b.png': (0, 200, 0),
               'c.png': (0, 0, 200)}
    samples = []
    for name, colour in colours.items():
        path = str(tmp_path / name)
        image = np.empty((32, 32, 3), np.uint8)
        image[...] = colour[::-1]  # written as BGR, read back as RGB
        cv2.imwrite(path, image)
        kpts = [0, 0, 2] * 17
        if name == 'c.png':
            kpts[2] = 3  # a keypoint cut by the border
        person = _person(np.zeros(17))  # nothing drawn: presence 0
        samples.append(dict(img_path=path,
                            raw_ann_info=dict(keypoints=kpts),
                            pred_instances=person.to_dict()))
    grid, paths = cut_first_grid(_vis(presence_thr=0.5), samples, num=2,
                                 cell=64, cols=4)
    assert [p.rsplit('/', 1)[-1] for p in paths] == ['c.png', 'a.png']
    assert grid.shape == (64, 128, 3)
    # each cell is its image, upscaled (the caption aside)
    np.testing.assert_array_equal(grid[40, 32], colours['c.png'])
    np.testing.assert_array_equal(grid[40, 96], colours['a.png'])

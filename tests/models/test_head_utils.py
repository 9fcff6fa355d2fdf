"""models.utils: flip-test averaging and packing shared by the heads,
against written-out loops."""
import numpy as np
import pytest
import torch

from probpose_ext.models.utils import (flip_back_maps, flip_test_average,
                                       pack_instances)

FLIP3 = [0, 2, 1]  # keypoint 0 is central, 1 and 2 are a left/right pair


def _maps(groups, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(2, groups * 3, 4, 5, generator=gen)


@pytest.mark.parametrize('groups', [1, 2])
def test_flip_back_maps_mirrors_x_and_swaps_pairs_within_groups(groups):
    maps = _maps(groups)
    out = flip_back_maps(maps, FLIP3, groups)
    w = maps.shape[-1]
    for g in range(groups):
        for k in range(3):
            src = g * 3 + FLIP3[k]
            for x in range(w):
                torch.testing.assert_close(out[:, g * 3 + k, :, x],
                                           maps[:, src, :, w - 1 - x],
                                           rtol=0, atol=0)
    # flipping back twice is the identity
    torch.testing.assert_close(
        flip_back_maps(out, FLIP3, groups), maps, rtol=0, atol=0)


def test_flip_back_maps_rejects_a_channel_count_off_the_groups():
    with pytest.raises(ValueError, match='2 group'):
        flip_back_maps(_maps(1), FLIP3, groups=2)


def test_flip_test_average_is_the_mean_of_the_two_predictions():
    maps = _maps(2, seed=1)
    maps /= maps.sum(dim=(2, 3), keepdim=True)
    flipped = _maps(2, seed=2)
    flipped /= flipped.sum(dim=(2, 3), keepdim=True)
    logits = [torch.randn(2, 3), torch.randn(2, 3)]
    logits_f = [torch.randn(2, 3), torch.randn(2, 3)]
    prob, probs = flip_test_average(maps, flipped, logits, logits_f, FLIP3,
                                    groups=2)
    # still distributions
    torch.testing.assert_close(prob.sum(dim=(2, 3)), torch.ones(2, 6))
    w = maps.shape[-1]
    for k in range(6):
        g, j = divmod(k, 3)
        back = flipped[:, g * 3 + FLIP3[j]].flip(-1)
        torch.testing.assert_close(prob[:, k], 0.5 * (maps[:, k] + back))
        assert back.shape[-1] == w
    for got, a, b in zip(probs, logits, logits_f):
        for j in range(3):
            expected = 0.5 * (torch.sigmoid(a[:, j]) +
                              torch.sigmoid(b[:, FLIP3[j]]))
            torch.testing.assert_close(got[:, j], expected)


def test_pack_instances_gives_each_sample_its_own_copies():
    keypoints = torch.arange(12.).reshape(2, 3, 2)
    scores = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    boxes = torch.arange(24.).reshape(2, 3, 4)
    preds = pack_instances(keypoints, dict(keypoint_scores=scores,
                                           keypoints_visible=scores,
                                           keypoint_credible_box=boxes))
    assert len(preds) == 2
    for i, pred in enumerate(preds):
        np.testing.assert_array_equal(pred.keypoints, keypoints[i:i + 1])
        np.testing.assert_array_equal(pred.keypoint_credible_box,
                                      boxes[i:i + 1])
        assert pred.keypoint_scores.shape == (1, 3)
    # two fields made from one tensor do not alias each other
    preds[0].keypoint_scores[0, 0] = 9.0
    assert preds[0].keypoints_visible[0, 0] == pytest.approx(0.1)


def test_pack_instances_rejects_a_field_of_another_batch():
    with pytest.raises(ValueError, match='batch size'):
        pack_instances(torch.zeros(2, 3, 2), dict(s=torch.zeros(3, 3)))


@pytest.mark.parametrize('head_type,codec', [
    ('ProbMapHead', 'ProbMapDH'), ('ProbMapDHHead', 'ProbMap'),
    ('TICHead', 'UDPHeatmap')])
def test_heads_reject_a_codec_they_cannot_decode(head_type, codec):
    from tests.models._heads import build_head
    decoder = dict(type=codec, input_size=(48, 64), heatmap_size=(12, 16))
    with pytest.raises(ValueError,
                       match=f'{head_type} decodes with the .* codec, got '
                       f"decoder type '{codec}'"):
        build_head(head_type, decoder=decoder)


def test_gather_labels_concatenates_and_names_a_missing_label():
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    from probpose_ext.models.utils import gather_labels
    samples = []
    for i in range(3):
        s = PoseDataSample()
        s.gt_instance_labels = InstanceData(a=torch.full((1, 2), float(i)))
        samples.append(s)
    got = gather_labels(samples, ['a'], 'SomeHead', 'ProbMap')
    torch.testing.assert_close(got['a'],
                               torch.tensor([[0.0, 0.0], [1.0, 1.0],
                                             [2.0, 2.0]]))
    with pytest.raises(KeyError, match=r"SomeHead needs gt_instance_labels\.b"
                       r".*type='ProbMap'"):
        gather_labels(samples, ['a', 'b'], 'SomeHead', 'ProbMap')

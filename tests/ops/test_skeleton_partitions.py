"""Skeletal-temporal partitions against their definition, joint by joint."""
import itertools

import numpy as np
import pytest

from probpose_ext.ops.skeleton_graph import skeleton_layout
from probpose_ext.ops.skeleton_partitions import (BODY_PARTS,
                                                  PARTITION_TYPES,
                                                  joint_parts,
                                                  partition_masks)


@pytest.mark.parametrize('layout', sorted(BODY_PARTS))
def test_parts_cover_every_joint_once_and_are_connected(layout):
    parts = BODY_PARTS[layout]
    joints = sorted(v for p in parts for v in p)
    assert joints == list(range(skeleton_layout(layout).num_nodes))
    edges = {frozenset(map(int, e)) for e in skeleton_layout(layout).edges}
    for p in parts:  # each part is a connected piece of the tree
        inside = [e for e in edges if e <= set(p)]
        assert len(inside) == len(p) - 1, (layout, p)


@pytest.mark.parametrize('layout,frames,window', [('coco', 7, 3),
                                                  ('h36m', 8, 4),
                                                  ('nturgb+d', 5, 2)])
def test_masks_against_definition(layout, frames, window):
    masks = partition_masks(layout, frames, window)
    part, place = joint_parts(layout)
    v = len(part)
    assert masks.shape == (4, frames * v, frames * v)
    for (t1, j1), (t2, j2) in itertools.product(
            itertools.product(range(frames), range(v)), repeat=2):
        near = part[j1] == part[j2]
        far = place[j1] == place[j2]
        local = t1 // window == t2 // window
        glob = t1 % window == t2 % window
        expect = [near and local, far and local, near and glob, far and glob]
        got = masks[:, t1 * v + j1, t2 * v + j2]
        assert got.tolist() == expect
    assert all((m == m.T).all() and m.diagonal().all() for m in masks)


def test_far_joints_are_one_per_part():
    part, place = joint_parts('h36m')
    masks = partition_masks('h36m', 1, 1, ('far-local', ))
    # the left wrist (13) meets the head (10)? no: places differ
    row = masks[0, 13]
    assert set(np.flatnonzero(row)) == {v for v in range(17)
                                        if place[v] == place[13]}
    assert len({part[v] for v in np.flatnonzero(row)}) == \
        row.sum()


def test_bad_arguments():
    with pytest.raises(ValueError, match='unknown layout'):
        joint_parts('openpose')
    with pytest.raises(ValueError, match='window'):
        partition_masks('coco', 4, 0)
    with pytest.raises(ValueError, match='partition types'):
        partition_masks('coco', 4, 2, ('near-far', ))
    assert PARTITION_TYPES[0] == 'near-local'

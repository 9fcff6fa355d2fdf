"""Skeleton graphs: layouts against MMPose's metainfo, hop distances against
Floyd-Warshall, the partitioned adjacency's identities and bones."""
import warnings

import numpy as np
import pytest
import torch

from probpose_ext.ops.skeleton_graph import (LAYOUTS, SkeletonLayout,
                                             adjacency, bone_parents,
                                             hop_distance, skeleton_bones,
                                             skeleton_layout)

NAMES = sorted(LAYOUTS)


def _metainfo(name: str) -> dict:
    """MMPose's parsed dataset metainfo from its own config file."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with warnings.catch_warnings():  # the file is found in mmpose's .mim
        warnings.simplefilter('ignore', UserWarning)
        return parse_pose_metainfo(
            dict(from_file=f'configs/_base_/datasets/{name}.py'))


def _links(pairs) -> set:
    return {frozenset(int(v) for v in pair) for pair in pairs}


def _floyd_warshall(num_nodes: int, edges: np.ndarray) -> np.ndarray:
    dist = np.full((num_nodes, num_nodes), np.inf)
    np.fill_diagonal(dist, 0.0)
    for i, j in edges:
        dist[i, j] = dist[j, i] = 1.0
    for k in range(num_nodes):
        for i in range(num_nodes):
            for j in range(num_nodes):
                if dist[i, k] + dist[k, j] < dist[i, j]:
                    dist[i, j] = dist[i, k] + dist[k, j]
    return dist


def test_h36m_edges_are_mmpose_skeleton():
    meta = _metainfo('h36m')
    layout = skeleton_layout('h36m')
    assert layout.num_nodes == meta['num_keypoints'] == 17
    assert _links(layout.edges) == _links(meta['skeleton_links'])
    names = [meta['keypoint_id2name'][i] for i in range(17)]
    assert names[0] == 'root' and names[1] == 'right_hip' \
        and names[4] == 'left_hip' and names[8] == 'thorax'


def test_coco_edges_against_mmpose_skeleton():
    """The ST-GCN tree shares 14 links with MMPose's cyclic COCO skeleton;
    it links the shoulders to the nose (not to the ears) and has no
    cross links."""
    meta = _metainfo('coco')
    layout = skeleton_layout('coco')
    names = [meta['keypoint_id2name'][i] for i in range(17)]
    assert layout.num_nodes == meta['num_keypoints'] == 17
    assert names[:3] == ['nose', 'left_eye', 'right_eye'] \
        and names[15:] == ['left_ankle', 'right_ankle']
    ours, theirs = _links(layout.edges), _links(meta['skeleton_links'])
    assert ours - theirs == _links([(5, 0), (6, 0)])
    assert theirs - ours == _links([(1, 2), (3, 5), (4, 6), (5, 6),
                                    (11, 12)])
    # every tree edge joins a joint to its same-side (or central) parent
    for child, parent in layout.edges:
        side = names[child].split('_')[0]
        assert names[parent] == 'nose' or names[parent].startswith(side)


def test_ntu_edges():
    layout = skeleton_layout('nturgb+d')
    assert layout.num_nodes == 25 and layout.center == 20
    one_based = _links(layout.edges + 1)
    for link in [(1, 2), (2, 21), (3, 21), (4, 3), (13, 1), (17, 1),
                 (22, 8), (23, 8), (24, 12), (25, 12)]:
        assert frozenset(link) in one_based


@pytest.mark.parametrize('name', NAMES)
def test_layout_is_connected_tree_rooted_at_center(name):
    layout = skeleton_layout(name)
    assert isinstance(layout, SkeletonLayout) and layout.name == name
    V = layout.num_nodes
    assert layout.edges.shape == (V - 1, 2)
    assert len(_links(layout.edges)) == V - 1  # no duplicates/self loops
    assert np.isfinite(_floyd_warshall(V, layout.edges)).all()  # connected
    parents = layout.parents
    assert parents[layout.center] == layout.center
    # edges are (child, parent) towards the center
    np.testing.assert_array_equal(parents[layout.edges[:, 0]],
                                  layout.edges[:, 1])
    # following parents reaches the center from every joint
    depth = _floyd_warshall(V, layout.edges)[:, layout.center]
    for v in range(V):
        if v != layout.center:
            assert depth[parents[v]] == depth[v] - 1
    np.testing.assert_array_equal(bone_parents(name), parents)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('max_hop', [0, 1, 2, 4])
def test_hop_distance_against_floyd_warshall(name, max_hop):
    layout = skeleton_layout(name)
    want = _floyd_warshall(layout.num_nodes, layout.edges)
    want[want > max_hop] = np.inf
    got = hop_distance(layout.num_nodes, layout.edges, max_hop)
    assert got.shape == (layout.num_nodes, ) * 2
    np.testing.assert_array_equal(got, want)


def test_hop_distance_disconnected_and_errors():
    got = hop_distance(4, [(0, 1), (2, 3)], max_hop=10)
    assert got[0, 1] == 1 and np.isinf(got[0, 2]) and np.isinf(got[1, 3])
    with pytest.raises(ValueError, match='max_hop'):
        hop_distance(3, [(0, 1)], -1)
    with pytest.raises(ValueError, match='out of range'):
        hop_distance(3, [(0, 3)], 1)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('max_hop', [1, 2])
def test_partitions_sum_to_uniform(name, max_hop):
    layout = skeleton_layout(name)
    V = layout.num_nodes
    uniform = adjacency(name, 'uniform', max_hop)
    assert uniform.shape == (1, V, V) and uniform.dtype == np.float32
    # uniform = B D^-1 with B = [hop <= max_hop] (A + I for max_hop 1)
    hop = _floyd_warshall(V, layout.edges)
    B = (hop <= max_hop).astype(np.float64)
    np.testing.assert_allclose(uniform[0], B / B.sum(0, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(uniform[0].sum(0), 1.0, rtol=1e-6)
    if max_hop == 1:
        eye = np.eye(V)
        link = np.zeros((V, V))
        link[layout.edges[:, 0], layout.edges[:, 1]] = 1
        link = link + link.T
        deg = (link + eye).sum(0)
        np.testing.assert_allclose(uniform[0], (link + eye) / deg,
                                   rtol=1e-6)
    for strategy, K in (('distance', max_hop + 1), ('spatial', 3)):
        parts = adjacency(layout, strategy, max_hop)
        assert parts.shape == (K, V, V)
        np.testing.assert_allclose(parts.sum(0), uniform[0], rtol=1e-6)
        # disjoint supports
        assert ((parts != 0).sum(0) <= 1).all()
    dist = adjacency(name, 'distance', max_hop)
    for h in range(max_hop + 1):
        assert (hop[dist[h] != 0] == h).all()


@pytest.mark.parametrize('name', NAMES)
def test_spatial_partition(name):
    layout = skeleton_layout(name)
    root, centripetal, centrifugal = adjacency(name, 'spatial', 1)
    # in a tree, no neighbour is as far from the center as the node
    np.testing.assert_array_equal(root, np.diag(np.diag(root)))
    assert (np.diag(root) > 0).all()
    depth = _floyd_warshall(layout.num_nodes, layout.edges)[:, layout.center]
    # A[k, v, w]: node v feeds node w
    src, dst = np.nonzero(centripetal)
    assert len(src) == layout.num_nodes - 1
    assert (depth[src] < depth[dst]).all()
    # the centripetal neighbour of every non-center joint is its parent
    np.testing.assert_array_equal(layout.parents[dst], src)
    src, dst = np.nonzero(centrifugal)
    assert len(src) == layout.num_nodes - 1
    assert (depth[src] > depth[dst]).all()
    # the center receives nothing centripetally
    assert not centripetal[:, layout.center].any()


def test_errors_list_names():
    with pytest.raises(ValueError, match=r"coco.*h36m.*nturgb\+d"):
        skeleton_layout('openpose')
    with pytest.raises(ValueError, match='uniform'):
        adjacency('coco', 'nope')
    with pytest.raises(ValueError, match='max_hop'):
        adjacency('coco', 'spatial', 0)


@pytest.mark.parametrize('name', NAMES)
def test_bones(name):
    layout = skeleton_layout(name)
    rng = np.random.default_rng(0)
    joints = rng.standard_normal((2, 5, layout.num_nodes, 3))
    bones = skeleton_bones(joints, name)
    assert bones.shape == joints.shape
    np.testing.assert_array_equal(bones[..., layout.center, :], 0.0)
    for child, parent in layout.edges:
        np.testing.assert_allclose(bones[..., child, :],
                                   joints[..., child, :]
                                   - joints[..., parent, :])
    tensor = skeleton_bones(torch.from_numpy(joints), name)
    assert isinstance(tensor, torch.Tensor)
    np.testing.assert_allclose(tensor.numpy(), bones)
    with pytest.raises(ValueError, match='joints'):
        skeleton_bones(joints[..., :3, :], name)

"""Skeleton graphs of spatial-temporal graph convolutions (ST-GCN, Yan et
al. 2018, "Spatial Temporal Graph Convolutional Networks for
Skeleton-Based Action Recognition"): joint layouts as trees, hop
distances, the partitioned adjacency matrices and bone vectors.

Layouts (:data:`LAYOUTS`). Each layout is a tree over its ``V`` joints
given as ``V - 1`` (child, parent) edges and a center joint:

- ``'coco'``: COCO-17 in MMPose's keypoint order with the tree of ST-GCN /
  MMAction2: eyes -> nose, ears -> eyes, shoulders -> nose, elbows ->
  shoulders, wrists -> elbows, hips -> shoulders, knees -> hips, ankles ->
  knees; center 0 (nose). It differs from MMPose's (cyclic) COCO
  ``skeleton_info``, which links the ears to the shoulders instead of the
  nose to the shoulders and also has the eye-eye, shoulder-shoulder and
  hip-hip cross links.
- ``'h36m'``: Human3.6M-17 in MMPose's order (root, r_hip, r_knee, r_foot,
  l_hip, l_knee, l_foot, spine, thorax, neck_base, head, l_shoulder,
  l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist); its edges are exactly
  MMPose's H36M ``skeleton_info`` links; center 0 (root).
- ``'nturgb+d'``: the 25 Kinect v2 joints of NTU RGB+D with the bone list
  of MMAction2 (hand tips and thumbs attached to the hands: 22-8, 23-8,
  24-12, 25-12 in the 1-based numbering; the original ST-GCN code chains
  them as 22-23-8 and 24-25-12 instead); center 20 (0-based; joint 21,
  the spine at shoulder level) as in ST-GCN.

Adjacency convention (:func:`adjacency`). A stack ``A`` of shape (K, V, V)
in which ``A[k, v, w]`` is the weight of input node ``v`` in the output at
node ``w`` (column = receiving node), so that a graph convolution is

    out[..., w] = sum_k sum_v x_k[..., v] A[k, v, w]   (x_k @ A[k])

as ``einsum('nkctv,kvw->nctw')`` in ST-GCN. Every strategy starts from the
neighbourhood ``B = [hop(v, w) <= max_hop]`` (``A + I`` for ``max_hop =
1``) and ST-GCN's column normalisation (``normalize_digraph`` in its code,
``Lambda^-1/2 (A + I) Lambda^-1/2`` in the paper's equation being the
symmetric variant we do not use)::

    B_norm = B D^-1,   D = diag(sum_v B[v, w])   (B_norm[v, w] = B[v, w] / d_w)

so each column sums to 1: the output at ``w`` is the mean of its
neighbours' features (itself included). The strategies split ``B_norm``
into K parts whose sum is ``B_norm`` (the same degrees normalise every
part):

- ``'uniform'`` (K = 1): ``B_norm``.
- ``'distance'`` (K = max_hop + 1): part ``h`` keeps the entries with
  ``hop(v, w) = h`` (part 0 is ``diag(1 / d)``).
- ``'spatial'`` (K = 3, ST-GCN's spatial configuration partitioning):
  with ``r(u) = hop(u, center)``, part 0 (root) keeps the entries with
  ``r(v) = r(w)`` (the node itself; in a tree no 1-hop neighbour), part 1
  (centripetal) those with ``r(v) < r(w)`` (the neighbour is closer to
  the center than the receiving node) and part 2 (centrifugal) those with
  ``r(v) > r(w)``. For ``max_hop > 1`` we keep K = 3 (ST-GCN's code
  stacks ``1 + 2 max_hop`` parts).

Note:
    - V: number of joints (graph nodes)
    - E: number of edges (``V - 1`` for a tree)
    - K: number of adjacency partitions
    - C: channels (coordinates) per joint
"""
from collections import deque
from typing import Dict, NamedTuple, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'LAYOUTS', 'SkeletonLayout', 'skeleton_layout', 'hop_distance',
    'adjacency', 'bone_parents', 'skeleton_bones'
]


def _one_based(pairs: Sequence[Tuple[int, int]]) -> Tuple[Tuple[int, int],
                                                          ...]:
    return tuple((i - 1, j - 1) for i, j in pairs)


#: name -> (num_nodes, (child, parent) edges of a tree, center).
LAYOUTS: Dict[str, Tuple[int, Tuple[Tuple[int, int], ...], int]] = {
    'coco': (17, ((1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5),
                  (8, 6), (9, 7), (10, 8), (11, 5), (12, 6), (13, 11),
                  (14, 12), (15, 13), (16, 14)), 0),
    'h36m': (17, ((1, 0), (2, 1), (3, 2), (4, 0), (5, 4), (6, 5), (7, 0),
                  (8, 7), (9, 8), (10, 9), (11, 8), (12, 11), (13, 12),
                  (14, 8), (15, 14), (16, 15)), 0),
    'nturgb+d': (25, _one_based(
        ((1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7),
         (9, 21), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14),
         (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 8), (23, 8),
         (24, 12), (25, 12))), 20),
}

STRATEGIES: Tuple[str, ...] = ('uniform', 'distance', 'spatial')


class SkeletonLayout(NamedTuple):
    """A skeleton tree.

    Attributes:
        name (str): Layout name (a key of :data:`LAYOUTS`).
        num_nodes (int): Number of joints V.
        edges (np.ndarray): (child, parent) pairs, shape (E, 2), int64.
        center (int): Index of the center joint (the tree's root).
        parents (np.ndarray): Parent of each joint on its path to the
            center, ``parents[center] = center``, shape (V, ), int64.
    """
    name: str
    num_nodes: int
    edges: np.ndarray
    center: int
    parents: np.ndarray


def _bfs_parents(num_nodes: int, edges: np.ndarray,
                 center: int) -> np.ndarray:
    """Parents on the BFS tree from ``center`` (-1 for unreachable)."""
    neighbours = [[] for _ in range(num_nodes)]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    parents = np.full(num_nodes, -1, dtype=np.int64)
    parents[center] = center
    queue = deque([center])
    while queue:
        node = queue.popleft()
        for other in neighbours[node]:
            if parents[other] < 0:
                parents[other] = node
                queue.append(other)
    return parents


def skeleton_layout(name: str) -> SkeletonLayout:
    """A named skeleton layout.

    Args:
        name (str): One of :data:`LAYOUTS` (``'coco'``, ``'h36m'``,
            ``'nturgb+d'``).

    Returns:
        SkeletonLayout: The layout, its parents found by a breadth-first
        search from the center.

    Raises:
        ValueError: Unknown name.
    """
    if name not in LAYOUTS:
        raise ValueError(f'unknown skeleton layout {name!r}; choose one of '
                         f'{sorted(LAYOUTS)}')
    num_nodes, pairs, center = LAYOUTS[name]
    edges = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    parents = _bfs_parents(num_nodes, edges, center)
    return SkeletonLayout(name, num_nodes, edges, center, parents)


def _as_layout(layout: Union[str, SkeletonLayout]) -> SkeletonLayout:
    return skeleton_layout(layout) if isinstance(layout, str) else layout


def hop_distance(num_nodes: int,
                 edges: Union[np.ndarray, Sequence[Sequence[int]]],
                 max_hop: int = 1) -> np.ndarray:
    """Shortest-path lengths (in edges) between the nodes of an undirected
    graph, up to ``max_hop``.

    Args:
        num_nodes (int): Number of nodes V.
        edges (np.ndarray | Sequence[Sequence[int]]): Undirected edges,
            shape (E, 2).
        max_hop (int): Largest distance kept, ``>= 0``. Defaults to 1.

    Returns:
        np.ndarray: Distances, shape (V, V), float64, symmetric, 0 on the
        diagonal and ``inf`` beyond ``max_hop`` (or between disconnected
        nodes).
    """
    if max_hop < 0:
        raise ValueError(f'max_hop must be >= 0, got {max_hop}')
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        raise ValueError(f'edge indices out of range for {num_nodes} nodes')
    link = np.zeros((num_nodes, num_nodes), dtype=bool)
    link[edges[:, 0], edges[:, 1]] = True
    link[edges[:, 1], edges[:, 0]] = True
    dist = np.full((num_nodes, num_nodes), np.inf)
    # frontier expansion from all sources at once: reached[s, v] after h
    # steps is True iff dist(s, v) <= h
    reached = np.eye(num_nodes, dtype=bool)
    dist[reached] = 0.0
    for hop in range(1, max_hop + 1):
        grown = reached | (reached.astype(np.int64) @ link > 0)
        dist[grown & ~reached] = hop
        if (grown == reached).all():
            break
        reached = grown
    return dist


def _normalize_columns(mat: np.ndarray) -> np.ndarray:
    """``mat D^-1`` with D the column sums (zero columns stay zero)."""
    deg = mat.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / np.where(deg > 0, deg, 1.0), 0.0)
    return mat * inv[None, :]


def adjacency(layout: Union[str, SkeletonLayout],
              strategy: str = 'spatial',
              max_hop: int = 1) -> np.ndarray:
    """Partitioned, column-normalised adjacency of a skeleton (see the
    module docstring for the convention and the partitions).

    Args:
        layout (str | SkeletonLayout): Layout or its name.
        strategy (str): ``'uniform'``, ``'distance'`` or ``'spatial'``.
            Defaults to ``'spatial'``.
        max_hop (int): Neighbourhood radius, ``>= 1``. Defaults to 1.

    Returns:
        np.ndarray: ``A`` of shape (K, V, V), float32, ``A[k, v, w]`` the
        weight of node v in the output at node w; ``A.sum(0)`` is the
        ``'uniform'`` matrix (columns summing to 1). K is 1, ``max_hop +
        1`` or 3.
    """
    layout = _as_layout(layout)
    if strategy not in STRATEGIES:
        raise ValueError(f'unknown adjacency strategy {strategy!r}; choose '
                         f'one of {list(STRATEGIES)}')
    if max_hop < 1:
        raise ValueError(f'max_hop must be >= 1, got {max_hop}')
    hop = hop_distance(layout.num_nodes, layout.edges, max_hop)
    within = np.isfinite(hop)
    norm = _normalize_columns(within.astype(np.float64))
    if strategy == 'uniform':
        parts = [norm]
    elif strategy == 'distance':
        parts = [np.where(hop == h, norm, 0.0) for h in range(max_hop + 1)]
    else:
        depth = hop_distance(layout.num_nodes, layout.edges,
                             layout.num_nodes)[:, layout.center]
        src, dst = depth[:, None], depth[None, :]  # r(v), r(w)
        parts = [
            np.where(within & (src == dst), norm, 0.0),
            np.where(within & (src < dst), norm, 0.0),
            np.where(within & (src > dst), norm, 0.0),
        ]
    return np.stack(parts).astype(np.float32)


def bone_parents(name: str) -> np.ndarray:
    """Parent of each joint towards the layout's center.

    Bones are ``joints - joints[..., parents, :]`` (:func:`skeleton_bones`),
    the center's bone being zero.

    Args:
        name (str): Layout name.

    Returns:
        np.ndarray: Parents, shape (V, ), int64, ``parents[center] =
        center``.
    """
    return skeleton_layout(name).parents.copy()


def skeleton_bones(joints, name: str):
    """Bone vectors ``joint - parent joint`` (zero at the center).

    Args:
        joints (np.ndarray | torch.Tensor): Joint coordinates, shape
            (..., V, C).
        name (str): Layout name.

    Returns:
        np.ndarray | torch.Tensor: Bones, same type and shape as
        ``joints``.
    """
    parents = bone_parents(name)
    if joints.shape[-2] != len(parents):
        raise ValueError(f'layout {name!r} has {len(parents)} joints, got '
                         f'joints of shape {tuple(joints.shape)}')
    if isinstance(joints, np.ndarray):
        return joints - joints[..., parents, :]
    import torch  # lazily: the numpy path needs no torch
    index = torch.as_tensor(parents, device=joints.device)
    return joints - joints.index_select(-2, index)

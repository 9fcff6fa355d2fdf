"""Pictures of 2D keypoint sequences in the Human3.6M layout: one strip
per video of a subject and camera, a skeleton every few frames, drawn in
the camera's pixels (``part``), laid side by side."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..datasets.h36m_npz import parse_imgname

__all__ = ['video_rows', 'plot_motion_strips']


def video_rows(imgnames: Sequence[str], subject: str,
               camera: str) -> Dict[str, np.ndarray]:
    """The rows of each video (action) of one subject and camera, in file
    order.

    Args:
        imgnames (Sequence[str]): ``imgname`` of an annotation file (N, ).
        subject (str): e.g. ``'S9'``.
        camera (str): Camera id, e.g. ``'54138969'``.

    Returns:
        dict[str, np.ndarray]: Action -> row indices.
    """
    rows: Dict[str, list] = {}
    for i, name in enumerate(imgnames):
        p = parse_imgname(name)
        if p['subject'] == subject and p['camera'] == camera:
            rows.setdefault(p['action'], []).append(i)
    return {a: np.asarray(r) for a, r in rows.items()}


def plot_motion_strips(part: np.ndarray, imgnames: Sequence[str],
                       links: Sequence[Tuple[int, int]], path: str,
                       subject: Optional[str] = None,
                       camera: Optional[str] = None, every: int = 25,
                       max_videos: int = 8) -> int:
    """Draw one strip per video (first repetitions first): skeletons every
    ``every`` frames, each shifted so its root sits at a fixed spacing.

    Args:
        part (np.ndarray): 2D keypoints in pixels, (N, K, 2+).
        imgnames (Sequence[str]): Their image names (N, ).
        links (Sequence[tuple[int, int]]): Skeleton links (MMPose's
            ``skeleton_links``).
        path (str): Output PNG.
        subject (str, optional): Defaults to the first subject.
        camera (str, optional): Defaults to the first frame's camera.
        every (int): Frame step between drawn skeletons.
        max_videos (int): At most this many strips.

    Returns:
        int: The number of skeletons drawn.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    first = parse_imgname(imgnames[0])
    videos = video_rows(imgnames, subject or first['subject'],
                        camera or first['camera'])
    if not videos:
        raise ValueError(f'no video of subject {subject} seen by camera '
                         f'{camera}')
    # the first repetition of each action (Walk_1 before Walk_2), then more
    names = sorted(videos, key=lambda a: (a.rsplit('_', 1)[-1], a))
    names = names[:max_videos]
    fig, axes = plt.subplots(len(names), 1, squeeze=False,
                             figsize=(12, 1.9 * len(names)))
    drawn = 0
    for ax, action in zip(axes[:, 0], names):
        frames = videos[action][::every]
        height = np.ptp(part[frames, :, 1]) + 1e-6
        for k, row in enumerate(frames):
            pts = part[row, :, :2] - part[row, 0, :2]
            pts = pts + [1.2 * height * k / 2, 0]
            for i, j in links:
                ax.plot(pts[[i, j], 0], -pts[[i, j], 1], '-', lw=1.2,
                        color='tab:blue' if i < 7 and j < 7 else 'tab:red')
            drawn += 1
        ax.set_title(action, fontsize=8)
        ax.set_aspect('equal')
        ax.axis('off')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return drawn

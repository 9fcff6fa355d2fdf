"""SynthActions clips rendered to frames, for 2D models to run on.

The action-robustness study feeds a skeleton recogniser the 2D keypoints
that the zoo's 2D models find on video. :func:`render_clips` renders
chosen frames of chosen SynthActions annotations with the SynthPose
renderer (through :mod:`.synthmotion_video`'s per-frame drawing): the same
placed 3D motion as :func:`~.synthactions.sequence_motion` generates for
the annotation (so the rendered joints are the annotation's), seen by its
camera with the intrinsics divided by ``scale`` (a 1920x1080 camera
renders 640x360 frames at ``scale=3``), the subject's look and a
background per (subject, action, rep, camera).

Output (``out_dir``)::

    images/<frame_dir>/<frame_dir>_<frame:06d>.jpg
    annotations/person_keypoints.json   # COCO-17, one person per image,
                                        # image id = row + 1
    index.json                          # frame_dir -> first row, frames

Rows run over the clips in the given order and, within a clip, over its
frames in the given order. Multiplying a frame's pixels by ``scale`` gives
the coordinates of the full-size camera, those of the annotation.

Note:
    - T: number of rendered frames of a clip
"""
import json
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .common import (atomic_output_dir, check_seed, check_workers,
                     encode_image, num_workers, progress_map,
                     resolve_out_dir, write_bytes, write_json)
from .kinematics import coco_keypoint_names, load_coco_metainfo
from .motion import Motion
from .synthactions import (SynthActionsParams, parse_frame_dir,
                           sequence_motion, subject_cameras, subject_model,
                           subject_name)
from .synthmotion_video import (render_frames, scaled_camera,
                                subject_appearance, video_background)
from .synthpose.params import SynthPoseParams
from .synthpose.writer import ann_to_json, coco_dict

__all__ = ['render_clips', 'clip_motion']

COCO_FILE = 'annotations/person_keypoints.json'
INDEX_FILE = 'index.json'


def clip_motion(seed: int, name: str, params: SynthActionsParams
                ) -> Tuple[Motion, np.ndarray, float, object]:
    """The placed motion of a SynthActions annotation and who performs it.

    Args:
        seed (int): The data set's seed.
        name (str): The annotation's ``frame_dir``.
        params (SynthActionsParams): The data set's parameters.

    Returns:
        tuple: the :class:`~.motion.Motion`, the subject's body (B, ), its
        height in metres and the annotation's camera.
    """
    fields = parse_frame_dir(name)
    subject = subject_name(fields['subject'])
    body, height = subject_model(seed, subject)
    action = params.actions[fields['label']]
    motion = sequence_motion(seed, subject, action, fields['rep'], body,
                             height, params)
    camera = subject_cameras(seed, subject, params)[fields['camera'] - 1]
    return motion, body, height, camera


def _clip_task(task: Tuple) -> List[Dict]:
    """Render the chosen frames of one clip and write them."""
    seed, name, frames, params, scale, names, img_dir, quality = task
    motion, body, height, camera = clip_motion(seed, name, params)
    fields = parse_frame_dir(name)
    subject = subject_name(fields['subject'])
    action = params.actions[fields['label']]
    size = (int(round(camera.w / scale)), int(round(camera.h / scale)))
    small = scaled_camera(camera, size)
    frames = np.asarray(frames, dtype=np.int64)
    sub = Motion(*(np.asarray(a)[frames] for a in motion))
    look, drawn = subject_appearance(seed, subject, body)
    background = video_background(seed, subject, action, fields['rep'],
                                  fields['camera'] - 1)
    rendered = render_frames(sub, drawn, height, look, small, background,
                             names)
    anns = []
    for t, (img, _, ann) in zip(frames, rendered):
        rel = f'{name}/{name}_{int(t):06d}.jpg'
        path = os.path.join(img_dir, rel)
        write_bytes(path, encode_image(img, '.jpg', path,
                                       jpeg_quality=quality))
        anns.append(dict(ann_to_json(ann, digits=4), file_name=rel,
                         size=list(size)))
    return anns


def render_clips(out_dir: Union[str, os.PathLike],
                 clips: Sequence[Tuple[str, Sequence[int]]],
                 seed: int,
                 params: SynthActionsParams,
                 scale: int = 3,
                 jpeg_quality: int = 90,
                 workers: Optional[int] = None,
                 force: bool = False,
                 progress: bool = True) -> Dict:
    """Render frames of SynthActions annotations (see the module
    docstring).

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``); written atomically.
        clips (Sequence[tuple]): ``(frame_dir, frames)`` pairs: the
            annotations and their frame indices to render.
        seed (int): The data set's seed (its pickle's ``meta['seed']``).
        params (SynthActionsParams): The data set's parameters.
        scale (int): Divisor of the camera's image size (>= 1).
        jpeg_quality (int): JPEG quality.
        workers (int, optional): Processes (None: ``os.cpu_count()``).
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Progress bar (in clips).

    Returns:
        dict: ``out_dir``, ``coco_file``, ``num_frames``, ``img_size``,
        ``elapsed_s``.
    """
    check_seed(seed)
    check_workers(workers)
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f'scale must be an int >= 1, got {scale!r}')
    if not clips:
        raise ValueError('no clips to render')
    out_dir = resolve_out_dir(out_dir, force)
    names = coco_keypoint_names()
    meta = load_coco_metainfo()
    skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta['skeleton_links']]
    start = time.perf_counter()
    with atomic_output_dir(out_dir, force) as tmp:
        img_dir = str(tmp / 'images')
        tasks = [(int(seed), str(name), list(map(int, frames)), params,
                  scale, names, img_dir, jpeg_quality)
                 for name, frames in clips]
        with progress_map(_clip_task, tasks, num_workers(workers),
                          'SynthActions frames', progress) as iterator:
            results = list(iterator)
        records = [[ann] for anns in results for ann in anns]
        size = tuple(records[0][0]['size'])
        coco = coco_dict('clips', records, names, skeleton, seed, size,
                         SynthPoseParams())
        for image, (ann, ) in zip(coco['images'], records):
            image['file_name'] = ann['file_name']
        coco['info'] = dict(
            description='SynthActions clips rendered by SynthPose '
            '(probpose_ext.datasets.generators.synthactions_video)',
            seed=int(seed), scale=scale, img_size=list(size))
        (tmp / 'annotations').mkdir(exist_ok=True)
        write_json(tmp / COCO_FILE, coco)
        index, row = {}, 0
        for name, frames in clips:
            index[str(name)] = dict(first_row=row,
                                    frames=list(map(int, frames)))
            row += len(frames)
        (tmp / INDEX_FILE).write_text(json.dumps(index), encoding='utf-8')
    return dict(out_dir=str(out_dir), coco_file=str(out_dir / COCO_FILE),
                num_frames=row, img_size=list(size),
                elapsed_s=round(time.perf_counter() - start, 2))

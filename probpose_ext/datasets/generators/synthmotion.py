"""SynthMotion: synthetic 3D human motion in MMPose's Human3.6M layout.

Subjects with their own proportions and heights
(:func:`~.motion.subject_body`) perform the actions of
:data:`~.motion.ACTIONS` (:func:`~.motion.sample_motion`), seen by four
Human3.6M-like cameras (:func:`~.camera.h36m_like_rig`). The output loads
with MMPose's ``Human36mDataset`` exactly like the real data set::

    OUT_DIR/
        README.md
        annotation_body3d/
            cameras.pkl                  # (subject, camera id) -> params
            fps50/
                synthmotion_train.npz    # train subjects
                synthmotion_test.npz     # test subjects

Each npz holds, per frame (N frames in all, the frames of one (subject,
action, camera) video consecutive and in order):

* ``imgname`` (N, ): ``S1/S1_Walk_1.54138969/S1_Walk_1.54138969_000001.jpg``
  (action in CamelCase, repetition from 1, frame from 1; no images are
  written);
* ``S`` (N, 17, 4) float32: Human3.6M-17 joints in the camera frame
  (metres) and a visibility of 1;
* ``part`` (N, 17, 3) float32: their pixels (projected from the stored
  ``S``) and a visibility of 1;
* ``center`` (N, 2) and ``scale`` (N, ) float32: the box of the projected
  joints as MMPose's ``preprocess_h36m.py`` computes it
  (:func:`bbox_center_scale`).

Cameras: every subject has its own copy of the rig, jittered by a few
centimetres / degrees / percent (``camera_jitter``; 0 gives every subject
the same four cameras), as the real subjects' calibrations differ slightly.
Focal lengths are whole pixels and principal points half pixels, so they
are exact in float32 (MMPose's ``SimpleCamera`` casts to float32).

Determinism: subject ``s`` draws its body from ``item_rng(seed, 0,
key(s))`` and its cameras from ``item_rng(seed, 1, key(s))``, the sequence
``(s, action, rep)`` from ``item_rng(seed, 2, key(s), action index,
rep)``, with ``key(s)`` the CRC-32 of the subject's name and the action
index its place in :data:`~.motion.ACTIONS`; so the output is
byte-identical for identical arguments whatever ``workers`` is, and a
subject's data does not depend on the other subjects or actions chosen.

Note:
    - N: number of frames in a file
    - T: number of frames of a sequence
    - K: number of keypoints (17)
"""
import dataclasses
import io
import os
import pickle
import re
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .camera import PinholeCamera, h36m_like_rig
from .common import (atomic_output_dir, check_params, check_seed,
                     check_workers, item_rng, num_workers, progress_map,
                     resolve_out_dir, write_bytes)
from .kinematics import select_joints
from .motion import ACTIONS, Motion, sample_motion, subject_body

__all__ = [
    'GENERATOR_VERSION', 'SPLITS', 'SynthMotionParams', 'action_label',
    'subject_key', 'subject_model', 'subject_cameras', 'sequence_motion',
    'video_arrays', 'bbox_center_scale', 'npz_bytes', 'make_synthmotion'
]

GENERATOR_VERSION = '1.0.0'
#: Splits and the npz file of each: ``synthmotion_<split>.npz``.
SPLITS: Tuple[str, ...] = ('train', 'test')
#: MMPose's Human3.6M ``center`` / ``scale`` rule: the box of the joints
#: enlarged by this factor, in units of 200 pixels.
BBOX_PADDING, PIXEL_STD = 1.2, 200.0
_NAME = re.compile(r'^[A-Za-z0-9]+$')
_BODY, _CAMERAS, _SEQUENCE = 0, 1, 2


@dataclass(frozen=True)
class SynthMotionParams:
    """What SynthMotion generates.

    Args:
        train_subjects (tuple[str]): Subjects of the train file (letters and
            digits only, as they are parsed from image names).
        test_subjects (tuple[str]): Subjects of the test file, disjoint from
            ``train_subjects``.
        actions (tuple[str]): Actions, a subset of :data:`~.motion.ACTIONS`.
        reps (int): Sequences per action and subject.
        frames (int): Frames per sequence.
        fps (int): Frames per second (also names the ``fps<fps>`` folder).
        camera_jitter (float): Scale of the per-subject camera jitter (1:
            std of 3 deg azimuth, 0.15 m distance, 0.08 m height, 0.08 m
            target, 1 % focal length; 0: the same rig for every subject).
    """
    train_subjects: Tuple[str, ...] = ('S1', 'S5', 'S6', 'S7', 'S8')
    test_subjects: Tuple[str, ...] = ('S9', 'S11')
    actions: Tuple[str, ...] = ACTIONS
    reps: int = 2
    frames: int = 200
    fps: int = 50
    camera_jitter: float = 1.0

    def validate(self) -> None:
        """Raise ``ValueError`` if a parameter is out of its domain."""
        for name in ('train_subjects', 'test_subjects', 'actions'):
            values = getattr(self, name)
            if isinstance(
                    values,
                    str) or not isinstance(values,
                                           (tuple, list)) or len(values) == 0:
                raise ValueError(f'{name} must be a non-empty tuple of '
                                 f'names, got {values!r}')
            if len(set(values)) != len(values):
                raise ValueError(f'{name} has duplicates: {values!r}')
        for subject in (*self.train_subjects, *self.test_subjects):
            if not isinstance(subject, str) or not _NAME.match(subject):
                raise ValueError('subject names must be letters and digits '
                                 f'(e.g. "S1"), got {subject!r}')
        overlap = set(self.train_subjects) & set(self.test_subjects)
        if overlap:
            raise ValueError('train_subjects and test_subjects overlap: '
                             f'{sorted(overlap)}')
        unknown = [a for a in self.actions if a not in ACTIONS]
        if unknown:
            raise ValueError(f'unknown actions {unknown}; choose from '
                             f'{ACTIONS}')
        for name, low, high in (('reps', 1, 1000), ('frames', 1, 100000),
                                ('fps', 1, 1000)):
            value = getattr(self, name)
            if (isinstance(value, bool)
                    or not isinstance(value, (int, np.integer))
                    or not low <= value <= high):
                raise ValueError(f'{name} must be an int in [{low}, {high}]'
                                 f', got {value!r}')
        if not 0.0 <= self.camera_jitter <= 10.0:
            raise ValueError('camera_jitter must be in [0, 10], got '
                             f'{self.camera_jitter!r}')


def action_label(action: str) -> str:
    """The CamelCase name of an action in image names, e.g. ``'Walk'``."""
    return ''.join(word.capitalize() for word in action.split('_'))


def subject_key(subject: str) -> int:
    """The key of a subject in its random streams: the CRC-32 of its
    name (see the module docstring)."""
    return zlib.crc32(subject.encode('utf-8'))


def subject_model(seed: int, subject: str) -> Tuple[np.ndarray, float]:
    """The body of a subject (:func:`~.motion.subject_body` drawn from its
    own stream).

    Args:
        seed (int): Base seed.
        subject (str): Subject name.

    Returns:
        tuple:
        - body (np.ndarray): Proportions in body units, shape (B, ).
        - height (float): Standing height in metres.
    """
    return subject_body(item_rng(seed, _BODY, subject_key(subject)))


def subject_cameras(seed: int,
                    subject: str,
                    jitter: float = 1.0) -> List[PinholeCamera]:
    """The four cameras of a subject: :func:`~.camera.h36m_like_rig`
    jittered per subject (see :class:`SynthMotionParams`).

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        jitter (float): Scale of the jitter; 0 gives the default rig.

    Returns:
        list[PinholeCamera]: ``camera1`` .. ``camera4``.
    """
    rng = item_rng(seed, _CAMERAS, subject_key(subject))
    noise = rng.normal(0.0, 1.0, 10) * jitter
    azimuths = np.array([70.0, -70.0, 110.0, -110.0]) + 3.0 * noise[:4]
    return h36m_like_rig(
        distance=5.3 + 0.15 * noise[4],
        height=1.55 + 0.08 * noise[5],
        target=(0.08 * noise[6], 0.08 * noise[7], 0.9 + 0.08 * noise[8]),
        azimuths=azimuths.tolist(),
        focal=float(np.round(1145.0 * (1.0 + 0.01 * noise[9]))))


def bbox_center_scale(pixels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``center`` and ``scale`` of MMPose's Human3.6M annotations: the
    centre of the joints' bounding box, and its longer side times 1.2 in
    units of 200 pixels.

    Args:
        pixels (np.ndarray): Joint pixels, shape (..., K, 2).

    Returns:
        tuple:
        - center (np.ndarray): Shape (..., 2).
        - scale (np.ndarray): Shape (...).
    """
    pixels = np.asarray(pixels, dtype=np.float64)
    low, high = pixels.min(axis=-2), pixels.max(axis=-2)
    size = (high - low).max(axis=-1)
    return (low + high) / 2, size * BBOX_PADDING / PIXEL_STD


def sequence_motion(seed: int, subject: str, action: str, rep: int,
                    body: np.ndarray, height: float, frames: int,
                    fps: int) -> Motion:
    """The motion of sequence ``(subject, action, rep)``
    (:func:`~.motion.sample_motion` drawn from the sequence's stream).

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        action (str): One of :data:`~.motion.ACTIONS`.
        rep (int): Repetition, from 0.
        body (np.ndarray): The subject's proportions, shape (B, )
            (:func:`subject_model`).
        height (float): The subject's standing height in metres.
        frames (int): Number of frames T.
        fps (int): Frames per second.

    Returns:
        Motion: Angles (T, D), translation (T, 3), heading (T, ) and world
        joints (T, J, 3) of the sequence.
    """
    rng = item_rng(seed, _SEQUENCE, subject_key(subject),
                   ACTIONS.index(action), rep)
    return sample_motion(action, frames, fps, body, height, rng)


def video_arrays(world: np.ndarray, camera: PinholeCamera, subject: str,
                 action: str, rep: int) -> Dict[str, np.ndarray]:
    """The npz rows of one video: a sequence's Human3.6M-17 joints seen by
    one camera (see the module docstring for the fields).

    Args:
        world (np.ndarray): World joints in Human3.6M-17 order (metres),
            shape (T, 17, 3).
        camera (PinholeCamera): The camera.
        subject (str): Subject name.
        action (str): One of :data:`~.motion.ACTIONS`.
        rep (int): Repetition, from 0.

    Returns:
        dict[str, np.ndarray]: ``imgname`` (T, ), ``center`` (T, 2),
        ``scale`` (T, ), ``part`` (T, 17, 3) and ``S`` (T, 17, 4).
    """
    label = f'{action_label(action)}_{rep + 1}'
    cam = camera.world_to_camera(world).astype(np.float32)
    pixels = camera.camera_to_pixel(cam.astype(np.float64))
    center, scale = bbox_center_scale(pixels)
    ones = np.ones(cam.shape[:-1] + (1, ), dtype=np.float32)
    video = f'{subject}_{label}.{camera.id}'
    return dict(
        imgname=np.array([
            f'{subject}/{video}/{video}_{i + 1:06d}.jpg'
            for i in range(len(world))
        ]),
        center=center.astype(np.float32),
        scale=scale.astype(np.float32),
        part=np.concatenate([pixels.astype(np.float32), ones], axis=-1),
        S=np.concatenate([cam, ones], axis=-1))


def _sequence_task(task: Tuple) -> Dict[str, np.ndarray]:
    """Sample one sequence and project it into every camera."""
    seed, subject, action, rep, body, height, cameras, params = task
    motion = sequence_motion(seed, subject, action, rep, body, height,
                             params.frames, params.fps)
    world = select_joints(motion.joints, 'h36m17')
    videos = [
        video_arrays(world, camera, subject, action, rep) for camera in cameras
    ]
    return {
        k: np.concatenate([v[k] for v in videos])
        for k in ('imgname', 'center', 'scale', 'part', 'S')
    }


def npz_bytes(arrays: Dict[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` with fixed time stamps (``np.savez`` stamps
    the current time, which would make the output differ between runs).

    Args:
        arrays (dict[str, np.ndarray]): Name -> array (no object arrays).

    Returns:
        bytes: The file.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(
                f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, 'w', force_zip64=True) as f:
                np.lib.format.write_array(
                    f, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def write_cameras(path, cameras: Dict[str, List[PinholeCamera]]) -> None:
    """Write MMPose's ``cameras.pkl``: ``(subject, camera id) -> camera
    dict`` for every subject's rig.

    Args:
        path (Path): The file.
        cameras (dict[str, list[PinholeCamera]]): Subject -> its cameras.
    """
    params = {(subject, cam.id): cam.to_dict()
              for subject, rig in cameras.items() for cam in rig}
    write_bytes(path, pickle.dumps(params, protocol=4))


def _readme(seed: int, params: SynthMotionParams, summary: Dict) -> str:
    fps = f'fps{params.fps}'
    lines = [
        '# SynthMotion', '',
        'Synthetic 3D human motion in the layout of MMPose\'s Human3.6M '
        'annotations', '(generated by '
        '`probpose_ext.datasets.generators.synthmotion.make_synthmotion`, '
        f'version {GENERATOR_VERSION}; no images).', '', f'- seed: {seed}',
        f'- params: {dataclasses.asdict(params)}',
        f'- frames: {summary["num_frames"]} '
        f'(train {summary["splits"]["train"]["num_frames"]}, '
        f'test {summary["splits"]["test"]["num_frames"]})', '',
        'Load with `Human36mDataset(data_root=OUT_DIR, '
        f'ann_file=\'annotation_body3d/{fps}/synthmotion_train.npz\', '
        'camera_param_file=\'annotation_body3d/cameras.pkl\', ...)`.', ''
    ]
    return '\n'.join(lines)


def make_synthmotion(out_dir: Union[str, os.PathLike],
                     seed: int = 0,
                     workers: Optional[int] = None,
                     force: bool = False,
                     progress: bool = True,
                     params: Optional[SynthMotionParams] = None) -> Dict:
    """Generate SynthMotion in MMPose's Human3.6M layout (see the module
    docstring).

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        seed (int): Non-negative base seed.
        workers (int, optional): Number of processes; ``None`` uses
            ``os.cpu_count()``; 1 generates in this process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a tqdm progress bar (in sequences).
        params (SynthMotionParams, optional): What to generate.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``num_frames``,
        ``camera_param_file``, ``elapsed_s`` and per-split entries under
        ``splits`` (``subjects``, ``num_videos``, ``num_frames``,
        ``ann_file``).
    """
    check_seed(seed)
    check_workers(workers)
    params = check_params(params, SynthMotionParams)
    out_dir = resolve_out_dir(out_dir, force)
    workers = num_workers(workers)
    seed = int(seed)
    subjects = dict(
        train=tuple(params.train_subjects), test=tuple(params.test_subjects))

    start = time.perf_counter()
    cameras, tasks = {}, []
    for split in SPLITS:
        for subject in subjects[split]:
            cameras[subject] = subject_cameras(seed, subject,
                                               params.camera_jitter)
            body, height = subject_model(seed, subject)
            tasks += [(seed, subject, action, rep, body, height,
                       cameras[subject], params) for action in params.actions
                      for rep in range(params.reps)]
    num_per_split = {
        split: len(subjects[split]) * len(params.actions) * params.reps
        for split in SPLITS
    }

    ann_dir = 'annotation_body3d'
    with atomic_output_dir(out_dir, force) as tmp:
        with progress_map(_sequence_task, tasks, workers, 'SynthMotion',
                          progress) as iterator:
            results = list(iterator)
        write_cameras(tmp / ann_dir / 'cameras.pkl', cameras)
        summary = dict(
            out_dir=str(out_dir),
            seed=seed,
            camera_param_file=str(out_dir / ann_dir / 'cameras.pkl'),
            splits={})
        first = 0
        for split in SPLITS:
            chunk = results[first:first + num_per_split[split]]
            first += num_per_split[split]
            arrays = {
                key: np.concatenate([r[key] for r in chunk])
                for key in ('imgname', 'center', 'scale', 'part', 'S')
            }
            rel = f'{ann_dir}/fps{params.fps}/synthmotion_{split}.npz'
            write_bytes(tmp / rel, npz_bytes(arrays))
            summary['splits'][split] = dict(
                subjects=list(subjects[split]),
                num_videos=len(chunk) * len(cameras[subjects[split][0]]),
                num_frames=int(len(arrays['imgname'])),
                ann_file=str(out_dir / rel))
        summary['num_frames'] = sum(s['num_frames']
                                    for s in summary['splits'].values())
        (tmp / 'README.md').write_text(
            _readme(seed, params, summary), encoding='utf-8')
    summary['elapsed_s'] = round(time.perf_counter() - start, 2)
    return summary

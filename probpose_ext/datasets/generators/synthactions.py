"""SynthActions: synthetic skeleton action recognition in MMAction2's
skeleton pkl layout (the layout of its NTU RGB+D 60 annotations).

Subjects ``P001`` .. ``P016`` with their own proportions and heights
(:func:`~.motion.subject_body`) perform the twelve actions of
:data:`~.motion.ALL_ACTIONS` (:func:`~.motion.sample_motion`) three times
each, seen by three cameras placed like NTU RGB+D's Kinect rig (azimuths
0, -45 and +45 degrees around the subject, about 3.9 m away and 1.2 m
high, :func:`subject_cameras`). No images are written::

    OUT_DIR/
        README.md
        synthactions_3d.pkl    # Human3.6M-17 joints, camera frame, metres
        synthactions_2d.pkl    # COCO-17 joints, pixels of 1920x1080 images

Each pkl is a dict (pickle protocol 4), the layout of MMAction2's
``PoseDataset``:

* ``split``: ``xsub_train``, ``xsub_val`` (by subject,
  ``xsub_train_subjects``), ``xview_train``, ``xview_val`` (by camera,
  ``xview_train_cameras``): lists of ``frame_dir``;
* ``annotations``: one dict per (sequence, camera), sorted by
  ``frame_dir``: ``frame_dir`` (``C{camera:03d}P{subject:03d}R{rep:03d}
  A{label + 1:03d}`` like NTU, e.g. ``C001P003R002A010``), ``label`` (the
  index of the action in ``params.actions``), ``total_frames`` T,
  ``img_shape`` and ``original_shape`` (1080, 1920) and ``keypoint``
  float32 of shape (1, T, 17, 3) (3D) or (1, T, 17, 2) plus
  ``keypoint_score`` (1, T, 17) of ones (2D);
* ``meta`` (ignored by MMAction2): ``classes``, ``layout`` (``'h36m'`` /
  ``'coco'``), ``fps``, ``generator_version``, ``seed``, ``params``,
  ``cameras`` (camera id -> intrinsics ``f``, ``c``, ``w``, ``h``, the
  same for every subject) and ``extrinsics`` (subject -> camera id -> ``R``
  camera -> world and ``T`` the camera centre, as in
  :class:`~.camera.PinholeCamera`).

Placement: every sequence is turned about the vertical axis and shifted
so that the centre of its pelvis path (the bounding box of the pelvis on
the floor: the circle of ``walk`` and ``run``, the start spot otherwise)
is the world origin and its mean heading faces camera 1 within
``heading_range`` degrees, as NTU's subjects roughly face the middle
camera. The world is z-up; at heading 0 a person faces +y
(:func:`~.kinematics.body_to_world`), where camera 1 stands.

Determinism: subject ``s`` draws its body from ``item_rng(seed, 0,
key(s))`` and its camera jitter from ``item_rng(seed, 1, key(s))``; the
sequence ``(s, action, rep)`` its length, motion and placement from
``item_rng(seed, 2, key(s), action index, rep)``, with ``key(s)`` the
CRC-32 of the subject's name and the action index its place in
:data:`~.motion.ALL_ACTIONS` (not in ``params.actions``). The output is
byte-identical for identical arguments whatever ``workers`` is, and a
sequence does not depend on the other subjects or actions chosen.

Note:
    - T: number of frames of a sequence
    - K: number of keypoints (17)
    - C: number of cameras

The module is about 590 lines, half of them docstrings and parameter
checks; it is kept whole because the frame_dir naming, the rig, the
placement and the writer are one file-format contract.
"""
import dataclasses
import math
import os
import pickle
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .camera import PinholeCamera, look_at
from .common import (_is_int, atomic_output_dir, check_params, check_seed,
                     check_workers, item_rng, num_workers, progress_map,
                     resolve_out_dir, write_bytes)
from .kinematics import rotation_z, select_joints
from .motion import ALL_ACTIONS, Motion, sample_motion
from .synthmotion import subject_key, subject_model

__all__ = [
    'GENERATOR_VERSION', 'SPLITS', 'FILES', 'SynthActionsParams',
    'subject_name', 'subject_key', 'frame_dir', 'parse_frame_dir',
    'subject_model', 'subject_cameras', 'place_motion', 'sequence_motion',
    'make_synthactions'
]

GENERATOR_VERSION = '1.0.0'
#: The split lists of both files.
SPLITS: Tuple[str, ...] = ('xsub_train', 'xsub_val', 'xview_train',
                           'xview_val')
#: Layout -> file name.
FILES: Dict[str, str] = dict(
    h36m='synthactions_3d.pkl', coco='synthactions_2d.pkl')
PICKLE_PROTOCOL = 4
# random streams (0: the body, synthmotion.subject_model's, shared)
_CAMERAS, _SEQUENCE = 1, 2


def _check_ints(name: str, values, low: int, high: int) -> None:
    """Raise unless ``values`` is a non-empty tuple of distinct ints in
    [low, high] that leaves at least one of them out."""
    if not isinstance(values, (tuple, list)) or len(values) == 0:
        raise ValueError(f'{name} must be a non-empty tuple of ints, got '
                         f'{values!r}')
    if not all(_is_int(v) and low <= v <= high for v in values):
        raise ValueError(f'{name} must hold ints in [{low}, {high}], got '
                         f'{values!r}')
    if len(set(values)) != len(values):
        raise ValueError(f'{name} has duplicates: {values!r}')
    if len(values) == high - low + 1:
        raise ValueError(f'{name} leaves nothing for the val split: '
                         f'{values!r}')


@dataclass(frozen=True)
class SynthActionsParams:
    """What SynthActions generates.

    Args:
        subjects (int): Number of subjects, named ``P001`` .. ``P<n>``.
        actions (tuple[str]): Classes in label order, a subset of
            :data:`~.motion.ALL_ACTIONS`.
        reps (int): Sequences per action and subject.
        fps (int): Frames per second.
        min_frames (int): Shortest sequence (frames).
        max_frames (int): Longest sequence; every sequence's length is
            drawn uniformly in ``[min_frames, max_frames]``.
        xsub_train_subjects (tuple[int]): Subject numbers of
            ``xsub_train``; the others make ``xsub_val``.
        camera_azimuths (tuple[float]): Camera ``i + 1`` stands at
            ``camera_azimuths[i]`` degrees counter-clockwise (seen from
            above) from the front, the direction the subjects face.
        xview_train_cameras (tuple[int]): Camera numbers (from 1) of
            ``xview_train``; the others make ``xview_val``.
        camera_distance (float): Horizontal distance of the cameras from
            the target (metres).
        camera_height (float): Height of the cameras (metres).
        focal (float): Focal length in pixels (whole pixels keep it exact
            in float32).
        image_size (tuple[int]): Image (width, height) in pixels.
        camera_jitter (float): Scale of the per-subject jitter of the
            camera placement (1: std of 2 deg azimuth, 0.1 m distance,
            0.05 m height, 0.05 m target; 0: the same rig for every
            subject). The intrinsics are never jittered.
        heading_range (float): The mean heading of a sequence faces camera
            1 within +- this many degrees (uniform).
    """
    subjects: int = 16
    actions: Tuple[str, ...] = ALL_ACTIONS
    reps: int = 3
    fps: int = 25
    min_frames: int = 72
    max_frames: int = 120
    xsub_train_subjects: Tuple[int, ...] = tuple(range(1, 11))
    camera_azimuths: Tuple[float, ...] = (0.0, -45.0, 45.0)
    xview_train_cameras: Tuple[int, ...] = (2, 3)
    camera_distance: float = 3.9
    camera_height: float = 1.2
    focal: float = 1050.0
    image_size: Tuple[int, int] = (1920, 1080)
    camera_jitter: float = 1.0
    heading_range: float = 30.0

    def validate(self) -> None:
        """Raise ``ValueError`` if a parameter is out of its domain."""
        for name, low, high in (('subjects', 2, 999), ('reps', 1, 999),
                                ('fps', 1, 1000), ('min_frames', 1, 100000),
                                ('max_frames', 1, 100000)):
            value = getattr(self, name)
            if not _is_int(value) or not low <= value <= high:
                raise ValueError(f'{name} must be an int in [{low}, {high}]'
                                 f', got {value!r}')
        if self.min_frames > self.max_frames:
            raise ValueError('min_frames must be <= max_frames, got '
                             f'{self.min_frames} > {self.max_frames}')
        actions = self.actions
        if isinstance(actions, str) or not isinstance(
                actions, (tuple, list)) or len(actions) == 0:
            raise ValueError('actions must be a non-empty tuple of names, '
                             f'got {actions!r}')
        if len(set(actions)) != len(actions):
            raise ValueError(f'actions has duplicates: {actions!r}')
        unknown = [a for a in actions if a not in ALL_ACTIONS]
        if unknown:
            raise ValueError(f'unknown actions {unknown}; choose from '
                             f'{ALL_ACTIONS}')
        azimuths = self.camera_azimuths
        if not isinstance(azimuths, (tuple, list)) or not 2 <= len(
                azimuths) <= 999 or not all(
                    isinstance(a, (int, float)) and math.isfinite(a)
                    for a in azimuths):
            raise ValueError('camera_azimuths must be 2 to 999 finite '
                             f'numbers, got {azimuths!r}')
        _check_ints('xsub_train_subjects', self.xsub_train_subjects, 1,
                    self.subjects)
        _check_ints('xview_train_cameras', self.xview_train_cameras, 1,
                    len(azimuths))
        for name, low, high in (('camera_distance', 0.5, 100.0),
                                ('camera_height', 0.0, 100.0),
                                ('focal', 1.0, 1e5),
                                ('camera_jitter', 0.0, 10.0),
                                ('heading_range', 0.0, 180.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(
                    value, bool) or not low <= value <= high:
                raise ValueError(f'{name} must be a number in [{low}, '
                                 f'{high}], got {value!r}')
        size = self.image_size
        if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
                _is_int(s) and 1 <= s <= 100000 for s in size):
            raise ValueError('image_size must be (width, height) ints, got '
                             f'{size!r}')


def subject_name(number: int) -> str:
    """The name of subject ``number`` (from 1), e.g. ``'P003'``."""
    return f'P{number:03d}'


def frame_dir(camera: int, subject: int, rep: int, label: int) -> str:
    """NTU-style name of one annotation.

    Args:
        camera (int): Camera number, from 1.
        subject (int): Subject number, from 1.
        rep (int): Repetition, from 0 (written from 1).
        label (int): Class label, from 0 (written from 1).

    Returns:
        str: ``C{camera:03d}P{subject:03d}R{rep + 1:03d}A{label + 1:03d}``.
    """
    return f'C{camera:03d}P{subject:03d}R{rep + 1:03d}A{label + 1:03d}'


def parse_frame_dir(name: str) -> Dict[str, int]:
    """Inverse of :func:`frame_dir`.

    Args:
        name (str): E.g. ``'C001P003R002A010'``.

    Returns:
        dict[str, int]: ``camera``, ``subject`` (from 1), ``rep`` and
        ``label`` (from 0).
    """
    if len(name) != 16 or [name[i] for i in (0, 4, 8, 12)] != list('CPRA'):
        raise ValueError(f'not a frame_dir: {name!r}')
    c, p, r, a = (int(name[i + 1:i + 4]) for i in (0, 4, 8, 12))
    return dict(camera=c, subject=p, rep=r - 1, label=a - 1)


def subject_cameras(seed: int, subject: str,
                    params: SynthActionsParams) -> List[PinholeCamera]:
    """The cameras of a subject: the NTU-like rig of ``params``, its
    placement jittered per subject (see :class:`SynthActionsParams`).

    Camera ``i + 1`` stands ``camera_distance`` metres from the target
    (0, 0, 0.9) at ``camera_azimuths[i]`` degrees from the world's +y (the
    front), ``camera_height`` metres above the floor, and looks at the
    target.

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        params (SynthActionsParams): The rig.

    Returns:
        list[PinholeCamera]: One camera per azimuth, ids ``'1'``, ``'2'``,
        ..., principal point at the image centre, no distortion.
    """
    num = len(params.camera_azimuths)
    rng = item_rng(seed, _CAMERAS, subject_key(subject))
    noise = rng.normal(0.0, 1.0, num + 5) * params.camera_jitter
    target = np.array([0.05 * noise[num], 0.05 * noise[num + 1],
                       0.9 + 0.05 * noise[num + 2]])
    distance = params.camera_distance + 0.1 * noise[num + 3]
    height = params.camera_height + 0.05 * noise[num + 4]
    w, h = params.image_size
    cameras = []
    for i, azimuth in enumerate(params.camera_azimuths):
        a = math.radians(90.0 + float(azimuth) + 2.0 * noise[i])
        position = np.array([
            target[0] + distance * math.cos(a),
            target[1] + distance * math.sin(a), height
        ])
        cameras.append(
            PinholeCamera(
                R=look_at(position, target),
                T=position,
                f=(params.focal, params.focal),
                c=((w - 1) / 2, (h - 1) / 2),
                w=w,
                h=h,
                name=f'camera{i + 1}',
                id=str(i + 1)))
    return cameras


def _circular_mean(degrees: np.ndarray) -> float:
    """Mean direction of angles in degrees (0 if they cancel out)."""
    rad = np.radians(np.asarray(degrees, dtype=np.float64))
    return float(np.degrees(np.arctan2(np.sin(rad).sum(), np.cos(rad).sum())))


def place_motion(motion: Motion, heading: float) -> Motion:
    """Turn and shift a motion about the vertical axis so that the centre
    of its pelvis path is the world origin and its mean heading is
    ``heading``.

    Args:
        motion (Motion): A motion of :func:`~.motion.sample_motion`.
        heading (float): The new mean heading in degrees.

    Returns:
        Motion: The same angles; translation (T, 3), heading (T, ) and
        world joints (T, J, 3) moved.
    """
    xy = motion.translation[:, :2]
    centre = np.zeros(3)
    centre[:2] = (xy.min(axis=0) + xy.max(axis=0)) / 2
    turn = heading - _circular_mean(motion.heading)
    rot = rotation_z(turn)
    return Motion(motion.angles, (motion.translation - centre) @ rot.T,
                  motion.heading + turn, (motion.joints - centre) @ rot.T)


def sequence_motion(seed: int, subject: str, action: str, rep: int,
                    body: np.ndarray, height: float,
                    params: SynthActionsParams) -> Motion:
    """The placed motion of sequence ``(subject, action, rep)``: its length,
    :func:`~.motion.sample_motion` and its heading drawn from the
    sequence's stream, then :func:`place_motion`.

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        action (str): One of :data:`~.motion.ALL_ACTIONS`.
        rep (int): Repetition, from 0.
        body (np.ndarray): The subject's proportions, shape (B, )
            (:func:`subject_model`).
        height (float): The subject's standing height in metres.
        params (SynthActionsParams): Frame rate, length range and heading
            range.

    Returns:
        Motion: Angles (T, D), translation (T, 3), heading (T, ) and world
        joints (T, J, 3) with T in ``[min_frames, max_frames]``.
    """
    rng = item_rng(seed, _SEQUENCE, subject_key(subject),
                   ALL_ACTIONS.index(action), rep)
    frames = int(rng.integers(params.min_frames, params.max_frames + 1))
    motion = sample_motion(action, frames, params.fps, body, height, rng)
    heading = rng.uniform(-params.heading_range, params.heading_range)
    return place_motion(motion, heading)


def _sequence_task(task: Tuple) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Sample one sequence; per camera its Human3.6M-17 camera-frame joints
    (T, 17, 3) and COCO-17 pixels (T, 17, 2), float32."""
    seed, subject, action, rep, body, height, cameras, params = task
    motion = sequence_motion(seed, subject, action, rep, body, height,
                             params)
    h36m = select_joints(motion.joints, 'h36m17')
    coco = select_joints(motion.joints, 'coco17')
    views = []
    for camera in cameras:
        cam = camera.world_to_camera(h36m).astype(np.float32)
        # project the float32-rounded camera points of the joints both
        # sets share, so that the two files agree to float32 precision
        cam_coco = camera.world_to_camera(coco).astype(np.float32)
        pixels = camera.camera_to_pixel(cam_coco.astype(np.float64))
        views.append((cam, pixels.astype(np.float32)))
    return views


def _annotation(name: str, label: int, keypoint: np.ndarray,
                shape: Tuple[int, int], score: bool) -> Dict:
    """One annotation dict, built in this process so the pickles do not
    depend on ``workers``."""
    # a fresh array of NumPy's own float32 dtype object: arrays coming
    # back from worker processes carry unpickled (equal but distinct) dtype
    # objects, which pickle would not share (memoise) as it does the
    # canonical one, so the bytes would depend on ``workers``
    array = np.empty((1, ) + keypoint.shape, dtype=np.float32)
    array[0] = keypoint
    keypoint = array
    ann = dict(
        frame_dir=name,
        label=label,
        img_shape=shape,
        original_shape=shape,
        total_frames=int(keypoint.shape[1]),
        keypoint=keypoint)
    if score:
        ann['keypoint_score'] = np.ones(keypoint.shape[:-1], np.float32)
    return ann


def _camera_meta(cameras: Dict[str, List[PinholeCamera]]) -> Tuple[Dict,
                                                                     Dict]:
    """``meta['cameras']`` (shared intrinsics) and ``meta['extrinsics']``
    (per subject)."""
    first = next(iter(cameras.values()))
    intrinsics = {
        int(cam.id): dict(
            f=tuple(float(v) for v in cam.f[:, 0]),
            c=tuple(float(v) for v in cam.c[:, 0]),
            w=cam.w,
            h=cam.h)
        for cam in first
    }
    extrinsics = {
        subject: {
            int(cam.id): dict(
                R=tuple(tuple(float(v) for v in row) for row in cam.R),
                T=tuple(float(v) for v in cam.T[:, 0]))
            for cam in rig
        }
        for subject, rig in cameras.items()
    }
    return intrinsics, extrinsics


def _readme(seed: int, params: SynthActionsParams, summary: Dict) -> str:
    classes = ', '.join(f'{i}: {a}' for i, a in enumerate(params.actions))
    counts = ', '.join(f'{k} {v}' for k, v in summary['splits'].items())
    lines = [
        '# SynthActions', '',
        'Synthetic skeleton action recognition in the pkl layout of '
        'MMAction2\'s NTU RGB+D skeleton annotations', '(generated by '
        '`probpose_ext.datasets.generators.synthactions.make_synthactions`'
        f', version {GENERATOR_VERSION}; no images).', '',
        f'- `{FILES["h36m"]}`: Human3.6M-17 joints in the camera frame of '
        'each annotation (metres), keypoint (1, T, 17, 3).',
        f'- `{FILES["coco"]}`: COCO-17 joints in pixels of '
        f'{params.image_size[0]}x{params.image_size[1]} images, keypoint '
        '(1, T, 17, 2) and keypoint_score (1, T, 17) of ones.',
        '- frame_dir: `C{camera}P{subject}R{rep}A{label + 1}` (3 digits '
        'each, like NTU).', f'- classes: {classes}',
        f'- annotations: {summary["num_annotations"]} '
        f'({summary["num_sequences"]} sequences x '
        f'{len(params.camera_azimuths)} cameras), '
        f'{summary["num_frames"]} frames at {params.fps} fps',
        f'- splits: {counts}', f'- seed: {seed}',
        f'- params: {dataclasses.asdict(params)}', '',
        'Load with MMAction2\'s `PoseDataset(ann_file=\'OUT_DIR/'
        f'{FILES["coco"]}\', split=\'xsub_train\', pipeline=...)`.', ''
    ]
    return '\n'.join(lines)


def make_synthactions(out_dir: Union[str, os.PathLike],
                      seed: int = 0,
                      params: Optional[SynthActionsParams] = None,
                      workers: Optional[int] = None,
                      force: bool = False,
                      progress: bool = True) -> Dict:
    """Generate SynthActions in MMAction2's skeleton pkl layout (see the
    module docstring).

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        seed (int): Non-negative base seed.
        params (SynthActionsParams, optional): What to generate; ``None``
            for the defaults.
        workers (int, optional): Number of processes; ``None`` uses
            ``os.cpu_count()``; 1 generates in this process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a progress bar.

    Returns:
        dict: ``out_dir``, ``seed``, ``files`` (layout -> path),
        ``file_sizes`` (layout -> bytes), ``classes``, ``num_sequences``,
        ``num_annotations``, ``num_frames`` (of all annotations),
        ``splits`` (split -> number of annotations) and ``elapsed_s``.
    """
    check_seed(seed)
    check_workers(workers)
    params = check_params(params, SynthActionsParams)
    out_dir = resolve_out_dir(out_dir, force)
    workers = num_workers(workers)
    seed = int(seed)

    start = time.perf_counter()
    cameras, tasks, keys = {}, [], []
    for number in range(1, params.subjects + 1):
        subject = subject_name(number)
        cameras[subject] = subject_cameras(seed, subject, params)
        body, height = subject_model(seed, subject)
        for label, action in enumerate(params.actions):
            for rep in range(params.reps):
                tasks.append((seed, subject, action, rep, body, height,
                              cameras[subject], params))
                keys.append((number, label, rep))

    shape = (int(params.image_size[1]), int(params.image_size[0]))
    with atomic_output_dir(out_dir, force) as tmp:
        with progress_map(_sequence_task, tasks, workers, 'SynthActions',
                          progress) as iterator:
            results = list(iterator)
        anns: Dict[str, List[Dict]] = dict(h36m=[], coco=[])
        for (number, label, rep), views in zip(keys, results):
            for camera, (cam, pixels) in enumerate(views, 1):
                name = frame_dir(camera, number, rep, label)
                anns['h36m'].append(_annotation(name, label, cam, shape,
                                                False))
                anns['coco'].append(_annotation(name, label, pixels, shape,
                                                True))
        for layout in anns:
            anns[layout].sort(key=lambda a: a['frame_dir'])
        names = [a['frame_dir'] for a in anns['h36m']]
        parsed = [parse_frame_dir(n) for n in names]
        train_subjects = set(params.xsub_train_subjects)
        train_cameras = set(params.xview_train_cameras)
        split = dict(
            xsub_train=[
                n for n, p in zip(names, parsed)
                if p['subject'] in train_subjects
            ],
            xsub_val=[
                n for n, p in zip(names, parsed)
                if p['subject'] not in train_subjects
            ],
            xview_train=[
                n for n, p in zip(names, parsed)
                if p['camera'] in train_cameras
            ],
            xview_val=[
                n for n, p in zip(names, parsed)
                if p['camera'] not in train_cameras
            ])
        intrinsics, extrinsics = _camera_meta(cameras)
        summary = dict(
            out_dir=str(out_dir),
            seed=seed,
            files={k: str(out_dir / v)
                   for k, v in FILES.items()},
            file_sizes={},
            classes=list(params.actions),
            num_sequences=len(tasks),
            num_annotations=len(names),
            num_frames=sum(a['total_frames'] for a in anns['h36m']),
            splits={k: len(v)
                    for k, v in split.items()})
        for layout, file in FILES.items():
            meta = dict(
                classes=list(params.actions),
                layout=layout,
                fps=params.fps,
                generator_version=GENERATOR_VERSION,
                seed=seed,
                params=dataclasses.asdict(params),
                cameras=intrinsics,
                extrinsics=extrinsics)
            data = pickle.dumps(
                dict(split=split, annotations=anns[layout], meta=meta),
                protocol=PICKLE_PROTOCOL)
            write_bytes(tmp / file, data)
            summary['file_sizes'][layout] = len(data)
        (tmp / 'README.md').write_text(
            _readme(seed, params, summary), encoding='utf-8')
    summary['elapsed_s'] = round(time.perf_counter() - start, 2)
    return summary

"""SynthMotion video: the SynthMotion sequences rendered to video frames by
the SynthPose renderer.

Every (subject, action, rep, camera) video of :class:`SynthMotionParams`
is rendered frame by frame: the same 3D motion as SynthMotion generates
for the same seed and motion parameters (:func:`~.synthmotion.subject_model`,
:func:`~.synthmotion.subject_cameras`,
:func:`~.synthmotion.sequence_motion`), seen by the subject's camera with
its intrinsics scaled to ``img_size`` (:func:`scaled_camera`) and drawn
with SynthPose's person model in exact perspective
(:class:`~.synthpose.person.Placement`). One person per image, no
occluders and no photometric noise: a subject keeps its look (clothes,
skin, hair, limb widths) in all its videos, a video keeps its background
in all its frames, so consecutive frames differ only by the motion (the
corruption benchmarks add noise later). Layout::

    OUT_DIR/
        README.md
        annotation_body3d/
            cameras.pkl                        # (subject, camera id) ->
                                               # scaled camera params
            fps25/
                synthmotion_video_train.npz    # SynthMotion's fields
                synthmotion_video_test.npz
        annotations/
            person_keypoints_train.json        # COCO, one person per image
            person_keypoints_test.json
        images/
            S9/S9_Walk_1.54138969/S9_Walk_1.54138969_000001.jpg ...

The npz files have SynthMotion's fields and conventions (``imgname``
(N, ), ``S`` (N, 17, 4) camera-frame metres, ``part`` (N, 17, 3) pixels
of the scaled camera, ``center`` (N, 2), ``scale`` (N, ); Human3.6M-17),
rows in video order (subject, action, rep, camera, frame). The COCO files
list the images in the same order: image id = npz row + 1, ``file_name``
= ``imgname``, one annotation per image (id = image id) with MMPose's
COCO-17 keypoints (v = 2 visible, 1 hidden by the body itself, 0 outside
the image; :func:`~.synthpose.render.annotate_scene`), ``bbox`` the box of
the person's visible pixels ([0, 0, 0, 0] if none), ``area`` their count.
The COCO keypoints shared with Human3.6M-17 (hips, knees, ankles,
shoulders, elbows, wrists; COCO's nose is H36M's ``neck_base``) are the
npz ``part`` pixels of those joints (up to float32 rounding).

Determinism: a subject's look comes from ``item_rng(seed, 3,
subject_key(s))``, a video's background from ``item_rng(seed, 4,
subject_key(s), action index, rep, camera index)`` (SynthMotion uses the
codes 0-2), so the output is byte-identical for identical arguments
whatever ``workers`` is.

Note:
    - N: number of frames in a file
    - T: number of frames of a video
    - K: number of keypoints (17)
"""
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .camera import PinholeCamera
from .common import (atomic_output_dir, check_params, check_seed,
                     check_workers, encode_image, item_rng, num_workers,
                     progress_map, resolve_out_dir, write_bytes, write_json)
from .kinematics import (Body, angles_to_pose, array_to_body,
                         coco_keypoint_names, load_coco_metainfo,
                         select_joints)
from .motion import ALL_ACTIONS, Motion
from .synthmotion import (SynthMotionParams, npz_bytes, sequence_motion,
                          subject_cameras, subject_key, subject_model,
                          video_arrays, write_cameras)
from .synthpose.params import Look, SynthPoseParams
from .synthpose.person import Person, Placement, build_person
from .synthpose.render import annotate_scene, render_scene
from .synthpose.sampling import sample_look
from .synthpose.scene import Scene
from .synthpose.writer import ann_to_json, coco_dict

__all__ = [
    'GENERATOR_VERSION', 'SPLITS', 'LIMB_WIDTH', 'SynthMotionVideoParams',
    'scaled_camera', 'subject_appearance', 'video_background', 'frame_person',
    'anchor_textures', 'render_frames', 'make_synthmotion_video'
]

GENERATOR_VERSION = '1.0.0'
#: Splits: ``synthmotion_video_<split>.npz``, ``person_keypoints_<split>``.
SPLITS: Tuple[str, ...] = ('train', 'test')
#: Range of a subject's factor on its limb and neck radii (drawing only:
#: the radii do not move the joints).
LIMB_WIDTH: Tuple[float, float] = (0.85, 1.25)
_LOOK, _VIDEO = 3, 4
_RADII = ('neck_radius', 'arm_radius', 'forearm_radius', 'thigh_radius',
          'shin_radius')
# background clutter ranges and keypoint rules of SynthPose's defaults
_SYNTHPOSE = SynthPoseParams()
_ANN_DIR = 'annotation_body3d'
_NPZ_KEYS = ('imgname', 'center', 'scale', 'part', 'S')


def _default_motion() -> SynthMotionParams:
    return SynthMotionParams(reps=1, frames=50, fps=25)


@dataclass(frozen=True)
class SynthMotionVideoParams:
    """What SynthMotion video renders.

    Args:
        motion (SynthMotionParams): The sequences (subjects, actions, reps,
            frames, fps, camera jitter); default: 1 rep of 50 frames at 25
            fps of SynthMotion's subjects and actions.
        img_size (tuple[int, int]): Image size (w, h); the cameras'
            intrinsics are scaled to it.
        jpeg_quality (int): JPEG quality of the frames.
    """
    motion: SynthMotionParams = dataclasses.field(
        default_factory=_default_motion)
    img_size: Tuple[int, int] = (320, 320)
    jpeg_quality: int = 90

    def validate(self) -> None:
        """Raise ``ValueError`` if a parameter is out of its domain."""
        if not isinstance(self.motion, SynthMotionParams):
            raise ValueError('motion must be a SynthMotionParams, got '
                             f'{type(self.motion).__name__}')
        self.motion.validate()
        size = self.img_size
        if (not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                and 32 <= v <= 4096 for v in size)):
            raise ValueError('img_size must be a (w, h) pair of ints in '
                             f'[32, 4096], got {size!r}')
        quality = self.jpeg_quality
        if (isinstance(quality, bool)
                or not isinstance(quality, (int, np.integer))
                or not 1 <= quality <= 100):
            raise ValueError('jpeg_quality must be an int in [1, 100], got '
                             f'{quality!r}')


def scaled_camera(camera: PinholeCamera,
                  img_size: Tuple[int, int]) -> PinholeCamera:
    """A camera with its intrinsics scaled to another image size: ``fx``
    and ``cx`` times ``W / camera.w``, ``fy`` and ``cy`` times ``H /
    camera.h``; same pose, distortion, name and id.

    Args:
        camera (PinholeCamera): The camera.
        img_size (tuple[int, int]): New image size (W, H).

    Returns:
        PinholeCamera: The scaled camera of size (W, H).
    """
    w, h = int(img_size[0]), int(img_size[1])
    factor = np.array([[w / camera.w], [h / camera.h]])
    return PinholeCamera(
        R=camera.R,
        T=camera.T,
        f=camera.f * factor,
        c=camera.c * factor,
        w=w,
        h=h,
        k=camera.k,
        p=camera.p,
        name=camera.name,
        id=camera.id)


def subject_appearance(seed: int, subject: str,
                       body: np.ndarray) -> Tuple[Look, Body]:
    """The look of a subject and its body for drawing.

    The look is :func:`~.synthpose.sampling.sample_look` and the limb
    width a factor in :data:`LIMB_WIDTH` on the neck and limb radii, both
    from the subject's own stream (see the module docstring).

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        body (np.ndarray): The subject's proportions, shape (B, ).

    Returns:
        tuple:
        - look (Look): Clothes, skin, hair.
        - body (Body): ``body`` with scaled radii (same joints).
    """
    rng = item_rng(seed, _LOOK, subject_key(subject))
    look = sample_look(rng)
    width = rng.uniform(*LIMB_WIDTH)
    drawn = array_to_body(body)
    for name in _RADII:
        setattr(drawn, name, getattr(drawn, name) * width)
    return look, drawn


def video_background(seed: int, subject: str, action: str, rep: int,
                     camera_index: int) -> Dict[str, int]:
    """The background of a video (the clutter ranges of SynthPose's
    defaults), from the video's own stream.

    Args:
        seed (int): Base seed.
        subject (str): Subject name.
        action (str): One of :data:`~.motion.ALL_ACTIONS` (indexed there;
            SynthMotion's actions come first, so their streams are those
            of :data:`~.motion.ACTIONS`).
        rep (int): Repetition, from 0.
        camera_index (int): Index of the camera in the subject's rig.

    Returns:
        dict[str, int]: ``bg_seed``, ``num_bg_shapes`` and ``num_bg_bars``
        of a :class:`~.synthpose.scene.Scene`.
    """
    rng = item_rng(seed, _VIDEO, subject_key(subject),
                   ALL_ACTIONS.index(action),
                   rep, camera_index)
    low, high = _SYNTHPOSE.num_bg_shapes
    shapes = int(rng.integers(low, high + 1))
    low, high = _SYNTHPOSE.num_bg_bars
    bars = int(rng.integers(low, high + 1))
    return dict(
        bg_seed=int(rng.integers(0, 2**62)),
        num_bg_shapes=shapes,
        num_bg_bars=bars)


def frame_person(motion: Motion, frame: int, body: Body, height_m: float,
                 look: Look, camera: PinholeCamera) -> Person:
    """The person of one frame, drawn where ``camera`` sees the 3D body.

    Args:
        motion (Motion): The sequence.
        frame (int): Frame index, from 0.
        body (Body): Proportions (to draw).
        height_m (float): Standing height in metres.
        look (Look): Appearance.
        camera (PinholeCamera): The (scaled) camera.

    Returns:
        Person: The person in image pixels.
    """
    placement = Placement(camera, motion.translation[frame],
                          float(motion.heading[frame]), height_m)
    return build_person(
        angles_to_pose(motion.angles[frame]),
        body,
        None,
        None,
        look,
        placement=placement)


def anchor_textures(persons: List[Person], img_size: Tuple[int, int]) -> None:
    """Give the frames of a video one texture box size (in place).

    The renderer draws a person's textures (clothing patterns, grain) in a
    patch over :meth:`Person.extent`, whose random content depends on the
    patch size; a size that changes with the pose would make the textures
    flicker from frame to frame. This sets every person's extent to a box
    of the same size in every frame (the largest padded extent of the
    video, within the image), centred on the pelvis pixel as far as it
    can be while containing everything drawn, so the textures move with
    the pelvis.

    Args:
        persons (list[Person]): The people of a video's frames (offset
            0), one per frame.
        img_size (tuple[int, int]): Image size (w, h).
    """
    size = np.asarray(img_size, dtype=np.int64)
    # the patch _draw_person would take: padded extent clipped to the image
    extents = np.array([p.extent() for p in persons])
    low = np.maximum(np.floor(extents[:, :2]) - 2, 0).astype(np.int64)
    high = np.minimum(np.ceil(extents[:, 2:]) + 3, size).astype(np.int64)
    box = np.clip((high - low).max(axis=0), 6, size)
    for person, lo, hi in zip(persons, low, high):
        centre = np.round(person.joint('pelvis')).astype(np.int64)
        first = np.maximum(hi - box, 0)
        last = np.minimum(lo, size - box)
        corner = np.minimum(np.maximum(centre - box // 2, first), last)
        extent = np.concatenate([corner + 2, corner + box - 3])
        person.local_extent = extent.astype(np.float64)
        person.offset = np.zeros(2)


def render_frames(motion: Motion, body: Body, height_m: float, look: Look,
                  camera: PinholeCamera, background: Dict[str, int],
                  keypoint_names: Sequence[str]) -> List[Tuple]:
    """Render every frame of a video.

    Args:
        motion (Motion): The sequence (T frames).
        body (Body): Proportions (to draw).
        height_m (float): Standing height in metres.
        look (Look): Appearance.
        camera (PinholeCamera): The (scaled) camera; its (w, h) is the
            image size.
        background (dict[str, int]): :func:`video_background`.
        keypoint_names (Sequence[str]): Output keypoint order (COCO).

    Returns:
        list[tuple]: Per frame ``(img, labels, ann)``: the BGR image (h, w,
        3) uint8, the label buffer (h, w) uint16 and the annotation of
        :func:`~.synthpose.render.annotate_scene` (``keypoints`` (K, 3),
        ``bbox``, ``area``, ``num_keypoints``).
    """
    img_size = (camera.w, camera.h)
    persons = [
        frame_person(motion, t, body, height_m, look, camera)
        for t in range(len(motion.angles))
    ]
    anchor_textures(persons, img_size)
    out = []
    for person in persons:
        scene = Scene(img_size, [person], **background)
        img, labels = render_scene(scene, photometric=False)
        ann = annotate_scene(scene, labels, keypoint_names, _SYNTHPOSE)[0]
        out.append((img, labels, ann))
    return out


def _video_task(task: Tuple) -> Tuple[Dict[str, np.ndarray], List[Dict]]:
    """Render and write one video; returns its npz rows and annotations."""
    (seed, subject, action, rep, cam_index, body, height, camera, params,
     names, img_dir) = task
    motion = sequence_motion(seed, subject, action, rep, body, height,
                             params.motion.frames, params.motion.fps)
    arrays = video_arrays(
        select_joints(motion.joints, 'h36m17'), camera, subject, action, rep)
    look, drawn = subject_appearance(seed, subject, body)
    background = video_background(seed, subject, action, rep, cam_index)
    frames = render_frames(motion, drawn, height, look, camera, background,
                           names)
    anns = []
    for name, (img, _, ann) in zip(arrays['imgname'], frames):
        path = os.path.join(img_dir, str(name))
        write_bytes(
            path,
            encode_image(img, '.jpg', path, jpeg_quality=params.jpeg_quality))
        anns.append(ann_to_json(ann, digits=4))
    return arrays, anns


def _readme(seed: int, params: SynthMotionVideoParams, summary: Dict) -> str:
    fps = f'fps{params.motion.fps}'
    w, h = params.img_size
    splits = summary['splits']
    lines = [
        '# SynthMotion video', '',
        'SynthMotion sequences rendered to JPEG frames by the SynthPose '
        'renderer', '(generated by '
        '`probpose_ext.datasets.generators.synthmotion_video.'
        'make_synthmotion_video`,', f'version {GENERATOR_VERSION}).', '',
        f'- seed: {seed}', f'- params: {dataclasses.asdict(params)}',
        f'- frames: {summary["num_frames"]} (train '
        f'{splits["train"]["num_frames"]}, test '
        f'{splits["test"]["num_frames"]}), {w}x{h}', '',
        f'- `annotation_body3d/{fps}/synthmotion_video_<split>.npz`: '
        "SynthMotion's fields (Human3.6M-17; `part` in the pixels of the "
        'scaled cameras of `annotation_body3d/cameras.pkl`)',
        '- `annotations/person_keypoints_<split>.json`: COCO keypoints, '
        'image id = npz row + 1, `file_name` = `imgname`',
        '- `images/<imgname>`: the frames', ''
    ]
    return '\n'.join(lines)


def make_synthmotion_video(out_dir: Union[str, os.PathLike],
                           seed: int = 0,
                           workers: Optional[int] = None,
                           force: bool = False,
                           progress: bool = True,
                           params: Optional[SynthMotionVideoParams] = None
                           ) -> Dict:
    """Render SynthMotion video (see the module docstring).

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        seed (int): Non-negative base seed (the motion is SynthMotion's of
            the same seed).
        workers (int, optional): Number of processes (one video at a time
            each); ``None`` uses ``os.cpu_count()``; 1 renders in this
            process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a tqdm progress bar (in videos).
        params (SynthMotionVideoParams, optional): What to render.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``img_size``,
        ``num_frames``, ``camera_param_file``, ``keypoints`` (counts per
        visibility ``v0``/``v1``/``v2``), ``elapsed_s`` and per-split
        entries under ``splits`` (``subjects``, ``num_videos``,
        ``num_frames``, ``ann_file`` (npz), ``coco_file``, ``img_dir``,
        ``keypoints``).
    """
    check_seed(seed)
    check_workers(workers)
    params = check_params(params, SynthMotionVideoParams)
    out_dir = resolve_out_dir(out_dir, force)
    workers = num_workers(workers)
    seed = int(seed)
    motion = params.motion
    img_size = (int(params.img_size[0]), int(params.img_size[1]))
    subjects = dict(
        train=tuple(motion.train_subjects), test=tuple(motion.test_subjects))
    meta = load_coco_metainfo()
    names = coco_keypoint_names()
    skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta['skeleton_links']]

    start = time.perf_counter()
    with atomic_output_dir(out_dir, force) as tmp:
        img_dir = str(tmp / 'images')
        cameras, tasks, num_videos = {}, [], {}
        for split in SPLITS:
            first = len(tasks)
            for subject in subjects[split]:
                cameras[subject] = [
                    scaled_camera(cam, img_size) for cam in subject_cameras(
                        seed, subject, motion.camera_jitter)
                ]
                body, height = subject_model(seed, subject)
                tasks += [(seed, subject, action, rep, index, body, height,
                           camera, params, names, img_dir)
                          for action in motion.actions
                          for rep in range(motion.reps)
                          for index, camera in enumerate(cameras[subject])]
            num_videos[split] = len(tasks) - first
        with progress_map(_video_task, tasks, workers, 'SynthMotion video',
                          progress) as iterator:
            results = list(iterator)

        write_cameras(tmp / _ANN_DIR / 'cameras.pkl', cameras)
        summary = dict(
            out_dir=str(out_dir),
            seed=seed,
            img_size=list(img_size),
            camera_param_file=str(out_dir / _ANN_DIR / 'cameras.pkl'),
            splits={})
        first = 0
        for split in SPLITS:
            chunk = results[first:first + num_videos[split]]
            first += num_videos[split]
            arrays = {
                key: np.concatenate([r[0][key] for r in chunk])
                for key in _NPZ_KEYS
            }
            rel = f'{_ANN_DIR}/fps{motion.fps}/synthmotion_video_{split}.npz'
            write_bytes(tmp / rel, npz_bytes(arrays))
            records = [[ann] for r in chunk for ann in r[1]]
            coco = coco_dict(split, records, names, skeleton, seed, img_size,
                              params)
            for image, imgname in zip(coco['images'], arrays['imgname']):
                image['file_name'] = str(imgname)
            coco['info'] = dict(
                description='SynthMotion video: SynthMotion sequences '
                'rendered by SynthPose (probpose_ext.datasets.generators.'
                'synthmotion_video)',
                version=GENERATOR_VERSION,
                split=split,
                seed=seed,
                img_size=list(img_size),
                params=json.loads(json.dumps(dataclasses.asdict(params))))
            coco_rel = f'annotations/person_keypoints_{split}.json'
            (tmp / 'annotations').mkdir(exist_ok=True)
            write_json(tmp / coco_rel, coco)
            vis = np.zeros(3, dtype=np.int64)
            for ann in coco['annotations']:
                vis += np.bincount(ann['keypoints'][2::3], minlength=3)
            summary['splits'][split] = dict(
                subjects=list(subjects[split]),
                num_videos=len(chunk),
                num_frames=int(len(arrays['imgname'])),
                ann_file=str(out_dir / rel),
                coco_file=str(out_dir / coco_rel),
                img_dir=str(out_dir / 'images'),
                keypoints={f'v{v}': int(vis[v])
                           for v in range(3)})
        splits = summary['splits']
        summary['num_frames'] = sum(s['num_frames'] for s in splits.values())
        summary['keypoints'] = {
            f'v{v}': sum(s['keypoints'][f'v{v}'] for s in splits.values())
            for v in range(3)
        }
        (tmp / 'README.md').write_text(
            _readme(seed, params, summary), encoding='utf-8')
    summary['elapsed_s'] = round(time.perf_counter() - start, 2)
    return summary

"""Transforms of skeleton action recognition (MMAction2's skeleton pipeline
on MMPose's registry).

A typical pipeline (one sample = one annotation of
:class:`~probpose_ext.datasets.SkeletonActionDataset`)::

    dict(type='SampleSkeletonFrames', clip_len=48),
    dict(type='NormalizeSkeleton'),
    dict(type='SkeletonFeatures', layout='h36m', feats=('j', )),
    dict(type='PackSkeletonInputs'),

with :class:`SkeletonGaussianNoise` (after normalising) and
:class:`CorruptSkeleton` (before sampling, 2D only) for robustness tests.
MMAction2's equivalents: ``UniformSampleFrames`` + ``PoseDecode``,
``PreNormalize2D`` / ``PreNormalize3D``, ``GenSkeFeat``, ``FormatGCNInput``
+ ``PackActionInputs``.
"""
import zlib
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement
from mmpose.registry import TRANSFORMS

from ...ops.keypoint_corruptions import KEYPOINT_CORRUPTIONS, \
    corrupt_keypoints
from ...ops.skeleton_features import (SKELETON_FEATURES, normalize_skeleton,
                                      skeleton_features,
                                      uniform_sample_indices)
from ...ops.skeleton_graph import bone_parents, skeleton_layout
from ...utils.validation import strict_kwargs

__all__ = [
    'SampleSkeletonFrames', 'NormalizeSkeleton', 'SkeletonGaussianNoise',
    'CorruptSkeleton', 'SkeletonFeatures', 'PackSkeletonInputs',
    'sample_rng'
]


def sample_rng(seed: Optional[int], results: Dict) -> np.random.Generator:
    """The random generator of one sample: seeded by ``seed`` and the
    sample's ``frame_dir`` (so an evaluation under noise is repeatable and
    independent of the order of the samples), or from NumPy's global state
    (which MMEngine seeds per worker) when ``seed`` is None."""
    if seed is None:
        return np.random.default_rng(np.random.randint(2**31))
    key = zlib.crc32(str(results.get('frame_dir', '')).encode('utf-8'))
    return np.random.default_rng((int(seed), key))


@TRANSFORMS.register_module()
@strict_kwargs
class SampleSkeletonFrames(BaseTransform):
    """Take ``num_clips`` clips of ``clip_len`` frames spread uniformly
    over the sequence (:func:`~probpose_ext.ops.uniform_sample_indices`):
    a random frame of each segment in training, fixed frames in testing.

    Args:
        clip_len (int): Frames per clip.
        num_clips (int): Clips per sample. Defaults to 1.
        test_mode (bool): Fixed frames. Defaults to False.
        seed (int, optional): Seed of the training draws (per sample, see
            :func:`sample_rng`); None uses NumPy's global state.

    Required keys: ``keypoint`` (M, T, V, C); optional ``keypoint_score``
    (M, T, V), ``total_frames``.

    Modified keys: ``keypoint`` (M, num_clips * clip_len, V, C),
    ``keypoint_score``.

    Added keys: ``frame_inds``, ``clip_len``, ``num_clips``.
    """

    def __init__(self,
                 clip_len: int,
                 num_clips: int = 1,
                 test_mode: bool = False,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        uniform_sample_indices(1, clip_len, num_clips)  # checks the ints
        self.clip_len, self.num_clips = int(clip_len), int(num_clips)
        self.test_mode, self.seed = bool(test_mode), seed

    def transform(self, results: Dict) -> Dict:
        kpt = np.asarray(results['keypoint'])
        total = int(results.get('total_frames', kpt.shape[1]))
        total = min(total, kpt.shape[1])
        rng = None if self.test_mode else sample_rng(self.seed, results)
        inds = uniform_sample_indices(total, self.clip_len, self.num_clips,
                                      rng).reshape(-1)
        results['keypoint'] = kpt[:, inds]
        if results.get('keypoint_score') is not None:
            results['keypoint_score'] = np.asarray(
                results['keypoint_score'])[:, inds]
        results.update(frame_inds=inds, clip_len=self.clip_len,
                       num_clips=self.num_clips)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode})')


@TRANSFORMS.register_module()
@strict_kwargs
class NormalizeSkeleton(BaseTransform):
    """Normalise the joints (:func:`~probpose_ext.ops.normalize_skeleton`):
    2D pixels to ``[-1, 1]`` by ``img_shape``, 3D joints relative to the
    root of the first frame.

    Args:
        root (int): Root joint of 3D skeletons. Defaults to 0 (the pelvis
            of Human3.6M-17; NTU-60's spine base).

    Required keys: ``keypoint``; ``img_shape`` for 2D.

    Modified keys: ``keypoint`` (float32).
    """

    def __init__(self, root: int = 0) -> None:
        super().__init__()
        self.root = int(root)

    def transform(self, results: Dict) -> Dict:
        results['keypoint'] = normalize_skeleton(
            results['keypoint'], results.get('img_shape'), self.root)
        return results


@TRANSFORMS.register_module()
@strict_kwargs
class SkeletonGaussianNoise(BaseTransform):
    """Add i.i.d. Gaussian noise of std ``std`` (normalised units: metres
    for 3D, half image sizes for 2D) to every coordinate; put it after
    :class:`NormalizeSkeleton`.

    Args:
        std (float): Standard deviation (>= 0).
        seed (int, optional): Seed per sample (:func:`sample_rng`); None
            uses NumPy's global state.

    Modified keys: ``keypoint``.
    """

    def __init__(self, std: float, seed: Optional[int] = None) -> None:
        super().__init__()
        if not std >= 0:
            raise ValueError(f'std must be >= 0, got {std}')
        self.std, self.seed = float(std), seed

    def transform(self, results: Dict) -> Dict:
        kpt = np.asarray(results['keypoint'], dtype=np.float32)
        if self.std > 0:
            noise = sample_rng(self.seed, results).normal(
                0.0, self.std, kpt.shape)
            kpt = (kpt + noise).astype(np.float32)
        results['keypoint'] = kpt
        return results


#: Left/right pairs and limbs of COCO-17 for :class:`CorruptSkeleton`.
COCO_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = ((1, 2), (3, 4), (5, 6),
                                                (7, 8), (9, 10), (11, 12),
                                                (13, 14), (15, 16))
COCO_LIMBS: Tuple[Tuple[int, ...], ...] = ((5, 7, 9), (6, 8, 10),
                                           (11, 13, 15), (12, 14, 16))


@TRANSFORMS.register_module()
@strict_kwargs
class CorruptSkeleton(BaseTransform):
    """Apply one keypoint corruption of the robustness chain
    (:func:`~probpose_ext.ops.keypoint_corruptions.corrupt_keypoints`:
    joint dropout, missing limbs, jitter, bias drift, left/right swaps,
    frame drops) to each person's whole 2D sequence; put it before
    :class:`SampleSkeletonFrames`. ``jitter`` and ``bias_drift`` scale with
    the person's height in pixels per frame (the vertical extent of the
    joints). Missing joints get score 0.

    Args:
        corruption (str): A name of ``KEYPOINT_CORRUPTIONS``.
        severity (int): 0..5 (0: unchanged).
        layout (str): ``'coco'`` (flip pairs and limbs of COCO-17) or
            ``'h36m'``.
        seed (int): Seed per sample (:func:`sample_rng`). Defaults to 0.

    Required keys: ``keypoint`` (M, T, V, 2); optional ``keypoint_score``.

    Modified keys: ``keypoint``, ``keypoint_score``.
    """

    def __init__(self,
                 corruption: str,
                 severity: int,
                 layout: str = 'coco',
                 seed: int = 0) -> None:
        super().__init__()
        if corruption not in KEYPOINT_CORRUPTIONS:
            raise ValueError(f'unknown corruption {corruption!r}; choose '
                             f'from {KEYPOINT_CORRUPTIONS}')
        if layout not in ('coco', 'h36m'):
            raise ValueError(f"layout must be 'coco' or 'h36m', got "
                             f'{layout!r}')
        self.corruption, self.severity = corruption, int(severity)
        self.layout, self.seed = layout, int(seed)

    def transform(self, results: Dict) -> Dict:
        kpt = np.asarray(results['keypoint'], dtype=np.float32)
        if kpt.shape[-1] != 2:
            raise ValueError('CorruptSkeleton corrupts 2D keypoints, got '
                             f'{kpt.shape[-1]} coordinates')
        score = results.get('keypoint_score')
        score = np.ones(kpt.shape[:3], np.float32) if score is None \
            else np.asarray(score, dtype=np.float32)
        extra = {} if self.layout == 'h36m' else dict(
            flip_pairs=COCO_FLIP_PAIRS, limbs=COCO_LIMBS)
        rng = sample_rng(self.seed, results)
        out_k, out_s = np.empty_like(kpt), np.empty_like(score)
        for m in range(kpt.shape[0]):
            height = np.ptp(kpt[m, ..., 1], axis=-1)
            out_k[m], out_s[m] = corrupt_keypoints(
                kpt[m], score[m], self.corruption, self.severity, rng,
                scale=np.maximum(height, 1.0), **extra)
        results['keypoint'], results['keypoint_score'] = out_k, out_s
        return results


@TRANSFORMS.register_module()
@strict_kwargs
class SkeletonFeatures(BaseTransform):
    """Joint, bone and motion features of the skeleton
    (:func:`~probpose_ext.ops.skeleton_features`), concatenated along the
    channels; bones follow the tree of the layout
    (:func:`~probpose_ext.ops.skeleton_graph.bone_parents`).

    Args:
        layout (str): Skeleton layout (``'coco'``, ``'h36m'``,
            ``'nturgb+d'``).
        feats (Sequence[str]): Features from ``('j', 'b', 'jm', 'bm')``.
            Defaults to joints only.
        with_score (bool): Append the keypoint score after each feature
            (2D). Defaults to False.

    Modified keys: ``keypoint`` (M, T, V, C') with C' = len(feats) * (C +
    with_score).
    """

    def __init__(self,
                 layout: str,
                 feats: Sequence[str] = ('j', ),
                 with_score: bool = False) -> None:
        super().__init__()
        if not feats or any(f not in SKELETON_FEATURES for f in feats):
            raise ValueError(f'feats must be names from {SKELETON_FEATURES}'
                             f', got {feats!r}')
        self.layout = skeleton_layout(layout).name
        self.parents = np.asarray(bone_parents(layout), dtype=np.int64)
        self.feats, self.with_score = tuple(feats), bool(with_score)

    def transform(self, results: Dict) -> Dict:
        kpt = np.asarray(results['keypoint'])
        if kpt.shape[2] != len(self.parents):
            raise ValueError(f'layout {self.layout!r} has '
                             f'{len(self.parents)} joints, the keypoints '
                             f'have {kpt.shape[2]}')
        score = None
        if self.with_score:
            score = results.get('keypoint_score')
            if score is None:
                score = np.ones(kpt.shape[:3], np.float32)
        results['keypoint'] = skeleton_features(kpt, self.parents,
                                                self.feats, score)
        return results


@TRANSFORMS.register_module()
@strict_kwargs
class PackSkeletonInputs(BaseTransform):
    """Pack a sample for :class:`~probpose_ext.models.SkeletonRecognizer`:
    ``inputs`` (num_clips, M, clip_len, V, C) float32 tensor, persons
    padded with zeros or cut to ``num_person``; ``data_samples`` a
    :class:`~mmengine.structures.BaseDataElement` with ``gt_label`` (1, )
    and the meta keys.

    Args:
        num_person (int): Persons M. Defaults to 1.
        meta_keys (Sequence[str]): Keys copied into the metainfo when
            present.
    """

    def __init__(self,
                 num_person: int = 1,
                 meta_keys: Sequence[str] = ('frame_dir', 'label',
                                             'total_frames', 'img_shape',
                                             'num_clips', 'clip_len')
                 ) -> None:
        super().__init__()
        if num_person < 1:
            raise ValueError(f'num_person must be >= 1, got {num_person}')
        self.num_person, self.meta_keys = int(num_person), tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        kpt = np.asarray(results['keypoint'], dtype=np.float32)
        persons, frames = kpt.shape[:2]
        num_clips = int(results.get('num_clips', 1))
        if frames % num_clips:
            raise ValueError(f'{frames} frames do not split into '
                             f'{num_clips} clips')
        if persons >= self.num_person:
            kpt = kpt[:self.num_person]
        else:
            pad = np.zeros((self.num_person - persons, ) + kpt.shape[1:],
                           np.float32)
            kpt = np.concatenate([kpt, pad])
        clips = kpt.reshape(self.num_person, num_clips, frames // num_clips,
                            *kpt.shape[2:]).transpose(1, 0, 2, 3, 4)
        sample = BaseDataElement(metainfo={
            k: results[k]
            for k in self.meta_keys if k in results
        })
        sample.gt_label = torch.tensor([int(results['label'])])
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(clips)),
                    data_samples=sample)

"""Teacher pseudo-labels for 3D lifting (the EPFL depth-uncertainty
proposal): label held-back subjects with a teacher's depth means and
sigmas, and train a student on labelled + pseudo-labelled data, weighting
the pseudo-labels by the teacher's confidence.

The pieces the tool ``tools/analysis_tools/pseudo_labels.py`` chains:

1. :func:`split_subjects`: the labelled subjects' annotation file, and the
   held-back subjects' file with its 3D withheld (``S`` zeroed, visibility
   0), plus their ground truth kept aside only to grade the pseudo-labels.
2. The teacher trains on the labelled file and predicts the held-back
   file (``tools/test.py --dump``); :func:`read_lifter_dump` turns the dump
   into per-frame arrays in file order.
3. :func:`confidence_weights` maps the teacher's depth sigmas to weights
   in (0, 1]; :func:`pseudo_annotations` writes them into the fourth
   column of ``S``, which
   :class:`~probpose_ext.datasets.transforms.SoftLiftingTargetWeight`
   turns into per-joint loss weights.
4. The student trains on both (:func:`student_annotations`); the
   labelled-only baseline trains the student's config on the labelled file.

Note:
    - N: number of frames
    - K: number of keypoints
"""
import pickle
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..datasets.h36m_npz import (H36M_NPZ_KEYS, load_h36m_npz,
                                 save_h36m_npz, select_subjects)

__all__ = [
    'split_subjects', 'withhold_3d', 'read_lifter_dump', 'confidence_weights',
    'pseudo_annotations', 'student_annotations', 'check_student_pipeline',
    'pseudo_label_quality',
    'error_by_weight', 'study_row', 'study_table'
]


def split_subjects(train_file: str, labelled: Sequence[str],
                   heldout: Sequence[str], out_dir: str) -> Dict[str, str]:
    """Split a training annotation file by subject.

    Args:
        train_file (str): MMPose Human3.6M annotation file (npz).
        labelled (Sequence[str]): Subjects whose 3D the teacher sees.
        heldout (Sequence[str]): Subjects labelled by the teacher.
        out_dir (str): Folder of the written files.

    Returns:
        dict[str, str]: Paths ``labelled`` (with 3D), ``unlabelled`` (the
        held-back subjects with 3D withheld) and ``heldout_gt`` (their
        ground truth, used only to grade the pseudo-labels).
    """
    overlap = sorted(set(labelled) & set(heldout))
    if overlap:
        raise ValueError(f'subjects {overlap} are both labelled and held '
                         'back')
    if not labelled or not heldout:
        raise ValueError('need at least one labelled and one held-back '
                         'subject')
    ann = load_h36m_npz(train_file)
    paths = dict(labelled=f'{out_dir}/labelled.npz',
                 unlabelled=f'{out_dir}/unlabelled.npz',
                 heldout_gt=f'{out_dir}/heldout_gt.npz')
    held = select_subjects(ann, heldout)
    save_h36m_npz(paths['labelled'], select_subjects(ann, labelled))
    save_h36m_npz(paths['heldout_gt'], held)
    save_h36m_npz(paths['unlabelled'], withhold_3d(held))
    return paths


def withhold_3d(ann: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """A copy of annotations without their 3D: ``S`` zero with visibility
    0 (the 2D ``part`` and the cameras stay).

    Args:
        ann (dict[str, np.ndarray]): Annotations, ``S`` of shape (N, K, 4).

    Returns:
        dict[str, np.ndarray]: The copy.
    """
    out = dict(ann)
    out['S'] = np.zeros_like(ann['S'])
    return out


def read_lifter_dump(dump: str, imgnames: Sequence[str],
                     root_index: int = 0) -> Dict[str, np.ndarray]:
    """A lifter's predictions (``tools/test.py --dump``) in the order of an
    annotation file's frames.

    The dataset must give one sample per frame (``pad_video_seq=True``) and
    pack ``target_img_path``; samples are matched to frames by it.

    Args:
        dump (str): The pickle written by MMEngine's ``DumpResults``.
        imgnames (Sequence[str]): The annotation file's ``imgname``, (N, ).
        root_index (int): Root joint; predictions are made relative to the
            predicted root.

    Returns:
        dict[str, np.ndarray]: ``keypoints`` (N, K, 3) root-relative metres
        and, when the lifter predicts them, ``depth_std`` (N, K) metres.
    """
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    row = {str(n): i for i, n in enumerate(imgnames)}
    n = len(imgnames)
    keypoints: Optional[np.ndarray] = None
    depth_std: Optional[np.ndarray] = None
    seen = np.zeros(n, dtype=bool)
    for sample in samples:
        target = sample.get('target_img_path')
        if target is None:
            raise KeyError('the dump has no target_img_path: add it to '
                           'PackPoseInputs meta_keys')
        name = str(np.asarray(target).reshape(-1)[0])
        if name not in row:
            raise KeyError(f'{name} is not a frame of the annotation file')
        i = row[name]
        pred = sample['pred_instances']
        kpts = np.asarray(pred['keypoints'], dtype=np.float64).reshape(
            -1, 3)
        if keypoints is None:
            keypoints = np.zeros((n, ) + kpts.shape)
        keypoints[i] = kpts - kpts[root_index]
        if 'keypoint_depth_std' in pred:
            std = np.asarray(pred['keypoint_depth_std'],
                             dtype=np.float64).reshape(-1)
            if depth_std is None:
                depth_std = np.zeros((n, std.size))
            depth_std[i] = std
        seen[i] = True
    if not seen.all():
        raise ValueError(f'{int((~seen).sum())} of {n} frames have no '
                         'prediction (pad_video_seq=True gives one sample '
                         'per frame)')
    out = dict(keypoints=keypoints)
    if depth_std is not None:
        out['depth_std'] = depth_std
    return out


def confidence_weights(depth_std: np.ndarray,
                       reference: Optional[float] = None,
                       root_index: int = 0) -> np.ndarray:
    """Per-joint pseudo-label weights from the teacher's depth sigmas:
    ``w = s0^2 / (s0^2 + sigma^2)`` (inverse-variance shaped, in (0, 1]).

    Args:
        depth_std (np.ndarray): Teacher's root-relative depth sigmas,
            shape (N, K).
        reference (float, optional): ``s0``; defaults to the median sigma
            of the non-root joints, so a median joint weighs 0.5.
        root_index (int): The root (sigma 0 by construction, weight 1).

    Returns:
        np.ndarray: Weights, shape (N, K).
    """
    depth_std = np.asarray(depth_std, dtype=np.float64)
    if depth_std.ndim != 2 or (depth_std < 0).any():
        raise ValueError('depth_std must be non-negative, shape (N, K)')
    if reference is None:
        others = np.delete(depth_std, root_index, axis=1)
        reference = float(np.median(others))
    if reference <= 0:
        raise ValueError(f'reference sigma must be positive, got {reference}')
    weights = reference**2 / (reference**2 + depth_std**2)
    weights[:, root_index] = 1.0
    return weights


def pseudo_annotations(unlabelled: Dict[str, np.ndarray],
                       keypoints: np.ndarray,
                       weights: np.ndarray) -> Dict[str, np.ndarray]:
    """Annotations whose 3D is the teacher's prediction.

    The pseudo 3D pose is root-relative with the root at the camera
    origin: the lifting codecs zero-centre the target, so only relative
    positions matter.

    Args:
        unlabelled (dict[str, np.ndarray]): The held-back annotations with
            3D withheld, N frames.
        keypoints (np.ndarray): Teacher's root-relative 3D, (N, K, 3).
        weights (np.ndarray): Per-joint weights in [0, 1], (N, K).

    Returns:
        dict[str, np.ndarray]: Annotations with ``S`` = (keypoints,
        weights).
    """
    n, k = unlabelled['S'].shape[:2]
    if keypoints.shape != (n, k, 3) or weights.shape != (n, k):
        raise ValueError(f'expected keypoints ({n}, {k}, 3) and weights '
                         f'({n}, {k}), got {keypoints.shape} and '
                         f'{weights.shape}')
    out = dict(unlabelled)
    out['S'] = np.concatenate([keypoints, weights[..., None]],
                              axis=-1).astype(np.float32)
    return out


def student_annotations(labelled: Dict[str, np.ndarray],
                        pseudo: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The student's training annotations: the labelled frames (weight 1)
    followed by the pseudo-labelled ones, in one file.

    One file rather than MMEngine's ``ConcatDataset`` of two: the wrapper
    compares the datasets' metainfo with ``!=``, which fails on MMPose's
    array-valued metainfo (``sigmas``, colours).

    Args:
        labelled (dict[str, np.ndarray]): Ground-truth annotations.
        pseudo (dict[str, np.ndarray]): :func:`pseudo_annotations`.

    Returns:
        dict[str, np.ndarray]: Their concatenation (the per-frame arrays of
        :data:`~probpose_ext.datasets.h36m_npz.H36M_NPZ_KEYS`).
    """
    clash = set(labelled['imgname'].tolist()) & set(pseudo['imgname'].tolist())
    if clash:
        raise ValueError(f'{len(clash)} frames are both labelled and '
                         f'pseudo-labelled, e.g. {sorted(clash)[0]}')
    return {
        k: np.concatenate([labelled[k], pseudo[k]]).astype(labelled[k].dtype)
        for k in H36M_NPZ_KEYS
    }


def check_student_pipeline(pipeline: Sequence[dict]) -> None:
    """Refuse a student training pipeline that would not weight the
    pseudo-labels (no ``SoftLiftingTargetWeight``)."""
    if not any(t.get('type') == 'SoftLiftingTargetWeight' for t in pipeline):
        raise ValueError('the student pipeline has no SoftLiftingTargetWeight'
                         ': the pseudo-labels would not be weighted')


def pseudo_label_quality(keypoints: np.ndarray, depth_std: np.ndarray,
                         gt: Dict[str, np.ndarray],
                         root_index: int = 0) -> Dict[str, float]:
    """Grade pseudo-labels against the withheld ground truth.

    Args:
        keypoints (np.ndarray): Root-relative predictions, (N, K, 3) metres.
        depth_std (np.ndarray): Depth sigmas, (N, K) metres.
        gt (dict[str, np.ndarray]): The held-back ground truth.
        root_index (int): Root joint.

    Returns:
        dict[str, float]: ``mpjpe_mm``, ``depth_mae_mm``, ``depth_cov68``
        (fraction of non-root depth errors within one sigma), and the
        weight-sorted ``mpjpe_mm`` of the most and least confident halves.
    """
    from ..ops.depth_uncertainty import interval_coverage
    s = gt['S'][..., :3].astype(np.float64)
    s = s - s[:, root_index:root_index + 1]
    err = np.linalg.norm(keypoints - s, axis=-1)
    dz = np.delete(keypoints[..., 2] - s[..., 2], root_index, axis=1)
    std = np.delete(depth_std, root_index, axis=1)
    order = np.argsort(std.ravel())
    joint_err = np.delete(err, root_index, axis=1).ravel()[order]
    half = len(order) // 2
    coverage = interval_coverage(dz.ravel(), std.ravel(), levels=(0.68, ))
    return dict(
        mpjpe_mm=1000 * float(err.mean()),
        depth_mae_mm=1000 * float(np.abs(dz).mean()),
        depth_cov68=float(np.asarray(list(coverage.values())[0])
                          if isinstance(coverage, dict) else coverage[0]),
        confident_half_mpjpe_mm=1000 * float(joint_err[:half].mean()),
        uncertain_half_mpjpe_mm=1000 * float(joint_err[half:].mean()))


def error_by_weight(keypoints: np.ndarray, weights: np.ndarray,
                    gt: Dict[str, np.ndarray], num_bins: int = 10,
                    root_index: int = 0) -> Dict[str, List[float]]:
    """Pseudo-label joint error per weight decile (non-root joints): does
    the teacher's confidence rank its errors?

    Args:
        keypoints (np.ndarray): Root-relative predictions, (N, K, 3) metres.
        weights (np.ndarray): Pseudo-label weights, (N, K).
        gt (dict[str, np.ndarray]): The held-back ground truth.
        num_bins (int): Number of equal-count bins.
        root_index (int): Root joint.

    Returns:
        dict[str, list[float]]: ``weight`` (bin means, ascending) and
        ``error_mm`` (mean joint error of each bin).
    """
    s = gt['S'][..., :3].astype(np.float64)
    s = s - s[:, root_index:root_index + 1]
    err = np.delete(np.linalg.norm(keypoints - s, axis=-1), root_index, 1)
    w = np.delete(weights, root_index, 1).ravel()
    order = np.argsort(w, kind='stable')
    bins = np.array_split(order, num_bins)
    return dict(weight=[float(w[b].mean()) for b in bins],
                error_mm=[1000 * float(err.ravel()[b].mean()) for b in bins])


def study_row(name: str, metrics: Dict[str, float],
              minutes: Optional[float]) -> dict:
    """One row of the study's table from ``tools/test.py`` metrics
    (MMPose's ``MPJPE`` in metres and ``DepthUncertaintyMetric``'s, which
    are absent for a lifter without depth sigmas)."""
    return dict(
        name=name,
        p1_mm=1000 * metrics['MPJPE'],
        p2_mm=1000 * metrics['P-MPJPE'],
        depth_nll=metrics.get('depth/NLL'),
        depth_cov68=metrics.get('depth/cov68'),
        depth_ause=metrics.get('depth/AUSE'),
        minutes=minutes)


def study_table(rows: Sequence[dict]) -> str:
    """Markdown table of :func:`study_row` rows."""
    from .lifting import cell
    lines = ['| model | P1 (mm) | P2 (mm) | depth NLL | depth cov68 | '
             'depth AUSE | training min |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f"| {r['name']} | {cell(r['p1_mm'])} | {cell(r['p2_mm'])} | "
            f"{cell(r['depth_nll'], 3)} | {cell(r['depth_cov68'], 3)} | "
            f"{cell(r['depth_ause'], 3)} | {cell(r['minutes'])} |")
    return '\n'.join(lines)

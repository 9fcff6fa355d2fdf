"""``tools/infer.py``: top-down inference on images with person boxes,
JSON with every prediction field, and drawings.

MMPose 1.3.2's ``MMPoseInferencer`` / ``Pose2DInferencer`` accept a
``bboxes`` argument but ignore it for top-down models (``preprocess_single``
resets the list before running the detector), and without detector weights
they use the whole image. This entry point therefore uses MMPose's
:func:`mmpose.apis.inference_topdown` (which honours the boxes) and
:func:`mmpose.structures.merge_data_samples` (one sample per image, maps
reverted to the image), then writes the predictions with
:func:`~probpose_ext.apis.serialize.dump_pose_json` and draws them with the
config's visualiser (``ProbPoseLocalVisualizer`` in this project's
configs).
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config, DictAction

from .cli import prepare_config
from .serialize import dump_pose_json

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_bboxes(values: Optional[Sequence[float]]) -> Optional[np.ndarray]:
    """``[x0, y0, x1, y1, x0, y0, ...]`` (image pixels) as an (N, 4) array,
    or None for no values (the whole image is one box).

    Args:
        values (Sequence[float], optional): Flat box coordinates.

    Returns:
        np.ndarray | None: Boxes (N, 4), float32.
    """
    if not values:
        return None
    if len(values) % 4:
        raise ValueError('--bboxes needs 4 numbers per box (x0 y0 x1 y1), '
                         f'got {len(values)} numbers')
    boxes = np.asarray(values, dtype=np.float32).reshape(-1, 4)
    if not (np.isfinite(boxes).all() and (boxes[:, 2:] > boxes[:, :2]).all()):
        raise ValueError('--bboxes must be finite with x1 > x0 and y1 > y0, '
                         f'got {boxes.tolist()}')
    return boxes


def list_images(path: str) -> List[str]:
    """An image file, or the images of a directory (sorted)."""
    if osp.isdir(path):
        images = sorted(
            osp.join(path, name) for name in os.listdir(path)
            if name.lower().endswith(IMAGE_EXTS))
        if not images:
            raise FileNotFoundError(f'no images ({", ".join(IMAGE_EXTS)}) '
                                    f'in {path}')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} not found')
    return [path]


def predict_image(model, img: Union[str, np.ndarray],
                  bboxes: Optional[np.ndarray] = None):
    """Top-down prediction of one image, merged into one data sample.

    Args:
        model (nn.Module): A top-down estimator from
            :func:`mmpose.apis.init_model`.
        img (str | np.ndarray): Image path or BGR array.
        bboxes (np.ndarray, optional): Person boxes (N, 4) ``xyxy`` in image
            pixels. Defaults to the whole image.

    Returns:
        PoseDataSample: ``pred_instances`` of all boxes (image pixels) and,
        with ``test_cfg.output_heatmaps``, ``pred_fields.heatmaps`` reverted
        to the image.
    """
    from mmpose.apis import inference_topdown
    from mmpose.structures import merge_data_samples
    return merge_data_samples(inference_topdown(model, img, bboxes))


def _vis_path(vis_out: str, image: str, single: bool) -> str:
    if single and vis_out.lower().endswith(IMAGE_EXTS):
        return vis_out
    stem = osp.splitext(osp.basename(image))[0]
    return osp.join(vis_out, f'{stem}.png')


def infer_main(argv: Optional[List[str]] = None) -> list:
    """Run the CLI.

    Returns:
        list[PoseDataSample]: One merged sample per image.
    """
    parser = argparse.ArgumentParser(
        description='Top-down pose inference with probabilistic fields: JSON '
        'with presence, credible regions (image pixels) and drawings')
    parser.add_argument('img', help='image file or directory of images')
    parser.add_argument(
        'config', help='model config, or a zoo model name such as '
        'synthpose-probpose (configs/**/metafile.yml), or an .onnx file '
        'exported by tools/deployment/pytorch2onnx.py (its stored config)')
    parser.add_argument(
        'checkpoint', nargs='?',
        help='checkpoint file (default: the zoo model\'s weights); an '
        '.onnx file runs in ONNX Runtime')
    parser.add_argument(
        '--bboxes', type=float, nargs='+', metavar='V',
        help='person boxes x0 y0 x1 y1 [x0 y0 x1 y1 ...] in image pixels, '
        'used for every image (default: the whole image)')
    parser.add_argument('--out-json', help='JSON file for the predictions')
    parser.add_argument(
        '--vis-out', help='drawing: an image file (single input) or a '
        'directory (<image stem>.png)')
    parser.add_argument('--draw-heatmap', action='store_true',
                        help='also draw the probability maps (below)')
    parser.add_argument('--draw-bbox', action='store_true',
                        help='draw the person boxes')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help="MMPose's threshold on keypoints_visible")
    parser.add_argument('--presence-thr', type=float,
                        help="override the visualiser's presence_thr")
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    if not (args.out_json or args.vis_out):
        parser.error('nothing to write: give --out-json and/or --vis-out')
    from ..deploy import is_onnx_file
    from .zoo import resolve_model
    onnx_file = None
    if is_onnx_file(args.config) and args.checkpoint is None:
        onnx_file = args.config  # IMG F.onnx: the config stored in the file
    else:
        try:
            args.config, args.checkpoint = resolve_model(args.config,
                                                         args.checkpoint)
        except ValueError as e:
            parser.error(str(e))
        if is_onnx_file(args.checkpoint):
            onnx_file = args.checkpoint

    from mmengine.registry import init_default_scope
    from mmpose.apis import init_model
    from tqdm import tqdm

    bboxes = parse_bboxes(args.bboxes)
    images = list_images(args.img)
    if onnx_file is not None and onnx_file == args.config:
        from ..deploy import read_metadata, stored_config
        cfg = stored_config(read_metadata(onnx_file), onnx_file)
    else:
        cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.model.get('type') == 'PoseLifter':
        parser.error(f'{args.config} is a 2D-to-3D lifter: it takes 2D '
                     'keypoint sequences, not images. Evaluate it with '
                     'tools/test.py on annotations in the Human3.6M layout '
                     '(docs/lifting.md)')
    if cfg.model.get('type') == 'SkeletonRecognizer':
        parser.error(f'{args.config} is a skeleton action recogniser: it '
                     'takes keypoint sequences, not images. Evaluate it '
                     'with tools/test.py on a skeleton pickle in MMAction2\'s '
                     'layout (docs/action_recognition.md)')
    prepare_config(cfg)  # trust_checkpoints
    cfg.model.backbone.init_cfg = None  # weights come from the checkpoint
    if args.draw_heatmap:
        cfg.model.setdefault('test_cfg', {})['output_heatmaps'] = True
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    if onnx_file is not None:  # ONNX Runtime network, our decoding
        from ..deploy import init_onnx_model
        model = init_onnx_model(cfg, onnx_file, device=args.device)
    else:
        model = init_model(cfg, args.checkpoint, device=args.device)

    visualizer = None
    if args.vis_out:
        from mmpose.registry import VISUALIZERS
        import mmcv
        vis_cfg = dict(cfg.get('visualizer', dict(type='PoseLocalVisualizer')))
        vis_cfg.update(name=f'probpose_infer_{os.getpid()}', save_dir=None,
                       vis_backends=None)
        visualizer = VISUALIZERS.build(vis_cfg)
        visualizer.set_dataset_meta(model.dataset_meta)
        if args.presence_thr is not None:
            visualizer.presence_thr = args.presence_thr

    samples = []
    for path in tqdm(images, desc='infer', disable=len(images) < 2):
        sample = predict_image(model, path, bboxes)
        samples.append(sample)
        if visualizer is not None:
            out_file = _vis_path(args.vis_out, path, len(images) == 1)
            os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
            visualizer.add_datasample(
                osp.basename(path), mmcv.imread(path, channel_order='rgb'),
                sample, draw_gt=False, draw_bbox=args.draw_bbox,
                draw_heatmap=args.draw_heatmap, kpt_thr=args.kpt_thr,
                out_file=out_file)
    if args.out_json:
        path = dump_pose_json(args.out_json, samples)
        print(f'predictions of {len(samples)} image(s) written to {path}')
    if args.vis_out:
        print(f'drawings written to {args.vis_out}')
    return samples

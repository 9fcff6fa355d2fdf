"""``tools/deployment/pytorch2onnx.py``: export a top-down model (or a zoo
model by name) to ONNX, in MMPose 0.x's argument style.

    python tools/deployment/pytorch2onnx.py CONFIG|ZOO_NAME [CHECKPOINT]
        [--output-file F.onnx] [--shape N C H W] [--opset-version V]
        [--dynamic-batch] [--fp16] [--verify] [--cfg-options k=v ...]
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, DictAction

from .cli import prepare_config

#: Model types that are not top-down image models.
_NOT_IMAGE_MODELS = {
    'PoseLifter': '2D-to-3D lifter (it takes keypoint sequences)',
    'SkeletonRecognizer': 'skeleton action recogniser (it takes keypoint '
    'sequences)',
}


def load_estimator(config: str, checkpoint: Optional[str],
                   cfg_options: Optional[dict] = None):
    """A config (or zoo name) and checkpoint as ``(estimator, cfg)`` on the
    CPU, eval mode.

    Raises:
        ValueError: Unknown zoo name, no checkpoint, or not a top-down image
            model.
    """
    from mmengine.registry import init_default_scope
    from mmpose.apis import init_model

    from .zoo import resolve_model
    config, checkpoint = resolve_model(config, checkpoint)
    if checkpoint is None:
        raise ValueError(f'{config}: give a CHECKPOINT (only zoo names '
                         'bring their weights)')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    kind = cfg.model.get('type')
    if kind in _NOT_IMAGE_MODELS:
        raise ValueError(f'{config} is a {_NOT_IMAGE_MODELS[kind]}; the ONNX '
                         'export covers top-down image models')
    prepare_config(cfg)  # trust_checkpoints
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    estimator = init_model(cfg, checkpoint, device='cpu')
    return estimator.eval(), cfg


def _format_diffs(diffs: dict) -> str:
    return '\n'.join(
        f'  batch {batch}: ' + ', '.join(f'{name} {value:.2e}'
                                        for name, value in per.items())
        for batch, per in diffs.items())


def export_main(argv: Optional[List[str]] = None) -> dict:
    """Run the CLI.

    Returns:
        dict: The metadata written, plus ``'verify'`` (batch -> output ->
        largest difference) with ``--verify``.
    """
    from ..deploy import DEFAULT_OPSET, MIN_OPSET
    parser = argparse.ArgumentParser(
        description='Export a top-down pose model to ONNX (crop -> head '
        'outputs, with the metadata that decodes them)')
    parser.add_argument('config', help='config file, or a zoo model name '
                        'such as synthpose-probpose')
    parser.add_argument('checkpoint', nargs='?',
                        help="checkpoint (default: the zoo model's weights)")
    parser.add_argument('--output-file', default='tmp.onnx',
                        help='the .onnx file (default: tmp.onnx)')
    parser.add_argument(
        '--shape', type=int, nargs=4, metavar=('N', 'C', 'H', 'W'),
        help="input shape (default: 1 3 H W of the codec's input size; N "
        'is the batch of a static graph)')
    parser.add_argument('--opset-version', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (>= {MIN_OPSET}; default '
                        f'{DEFAULT_OPSET})')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='dynamic batch axis')
    parser.add_argument('--fp16', action='store_true',
                        help='float16 weights and arithmetic (float32 '
                        'input and outputs)')
    parser.add_argument('--verify', action='store_true',
                        help='run ONNX Runtime and PyTorch on the same '
                        'random batch and print the largest differences')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    args = parser.parse_args(argv)
    if args.opset_version < MIN_OPSET:  # before loading anything
        parser.error(f'--opset-version {args.opset_version} is below '
                     f'{MIN_OPSET}: the exporter (torch.onnx, dynamo) '
                     f'writes opset {MIN_OPSET} at least; sparsemax needs '
                     'TopK and CumSum (opset 11)')
    if not args.output_file.lower().endswith('.onnx'):
        parser.error(f'--output-file must end in .onnx, got '
                     f'{args.output_file!r}')
    from ..deploy import export_onnx, require, verify_onnx
    try:
        require('onnx', 'onnxscript', *(['onnxruntime'] if args.verify
                                         else []))
        estimator, cfg = load_estimator(args.config, args.checkpoint,
                                        args.cfg_options)
    except (ImportError, ValueError) as e:
        parser.error(str(e))
    try:
        meta = export_onnx(estimator, cfg, args.output_file,
                           input_shape=args.shape,
                           opset=args.opset_version,
                           dynamic_batch=args.dynamic_batch, fp16=args.fp16)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    size = osp.getsize(args.output_file) / 2**20
    print(f'wrote {args.output_file} ({size:.1f} MB, opset {meta["opset"]}, '
          f'{meta["precision"]}, input {meta["input"]["shape"]}); outputs: '
          + ', '.join(f'{o["name"]} {o["shape"]}' for o in meta['outputs']))
    if args.verify:
        batch = int(meta['input']['shape'][0]) if not meta[
            'dynamic_batch'] else None
        diffs = verify_onnx(estimator, args.output_file,
                            (batch, ) if batch else (1, 5))
        print('ONNX Runtime vs PyTorch on random inputs, largest |difference|'
              ':\n' + _format_diffs(diffs))
        meta['verify'] = diffs
    return meta


# ------------------------------------------------------- zoo parity study
#: Splits of the parity table: name -> (data root, metric key)
PARITY_SPLITS = {
    'SynthPose val': ('data/synthpose/', 'coco/AP'),
    'SynthPose-Crop val': ('data/synthpose_crop/', 'coco/Ex_AP'),
}
#: Backends of the parity table: name -> file suffix (None: PyTorch)
PARITY_BACKENDS = {'PyTorch': None, 'ONNX Runtime fp32': '',
                   'ONNX Runtime fp16': '_fp16'}


def zoo_parity(names, out_dir: str, splits=PARITY_SPLITS,
               backends=PARITY_BACKENDS, progress: bool = True) -> dict:
    """Export zoo models (fp32 and fp16, dynamic batch) and evaluate PyTorch
    and ONNX Runtime on the same splits with the configs' test settings.

    Results are cached under ``out_dir/cells`` (:class:`~.runs.CellRun`:
    recomputed when the model file, the config or the data root change).

    Args:
        names (Sequence[str]): Zoo model names.
        out_dir (str): Where the files, cells and tables go.
        splits (dict): Split name -> (data root, metric key).
        backends (dict): Backend name -> ONNX file suffix (None: PyTorch).
        progress (bool): Show progress bars.

    Returns:
        dict: model -> split -> backend -> metrics.
    """
    import time

    from ..deploy import export_onnx
    from .inprocess import InProcessTester
    from .runs import CellRun, file_key
    from .zoo import resolve
    run = CellRun(out_dir, progress)
    results = {}
    for name in names:
        config, weights = resolve(name)
        files = {}
        for backend, suffix in backends.items():
            if suffix is None:
                files[backend] = weights
                continue
            path = osp.join(out_dir, f'{name}{suffix}.onnx')
            if not osp.isfile(path) or osp.getmtime(path) < osp.getmtime(
                    weights):
                estimator, cfg = load_estimator(name, None)
                export_onnx(estimator, cfg, path, dynamic_batch=True,
                            fp16=suffix == '_fp16')
            files[backend] = path
        results[name] = {}
        for backend, path in files.items():
            tester = None
            for split, (root, _) in splits.items():

                def compute():
                    nonlocal tester
                    if tester is None:
                        tester = InProcessTester(config, path)
                    ann = osp.join(root, 'annotations',
                                   'person_keypoints_val.json')
                    evaluators = tester.cfg.test_evaluator
                    evaluators = [dict(e) for e in (
                        evaluators if isinstance(evaluators, (list, tuple))
                        else [evaluators])]
                    evaluators[0]['ann_file'] = ann
                    start = time.time()
                    metrics, _ = tester.run(
                        tester.dataset_config(data_root=root), evaluators,
                        keep=False,
                        progress=f'{name} {backend} {split}'
                        if progress else None)
                    return dict(metrics=metrics, file=osp.basename(path),
                                seconds=round(time.time() - start, 1))

                key = dict(model=file_key(path), config=file_key(config),
                           data_root=osp.abspath(root))
                results[name].setdefault(split, {})[backend] = run.cell(
                    name, f'{backend} {split}', key, compute)['metrics']
    return results


def parity_table(results: dict, splits=PARITY_SPLITS) -> str:
    """Markdown: per model, the metric of each split per backend and the
    largest difference from PyTorch."""
    backends = list(next(iter(next(iter(results.values())).values())))
    header = ['model'] + [f'{split} {key.split("/")[1].replace("_", "-")} '
                          f'{backend}' for split, (_, key) in splits.items()
                          for backend in backends]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for name, per_split in results.items():
        cells = [name]
        for split, (_, key) in splits.items():
            ref = per_split[split][backends[0]][key]
            for backend in backends:
                value = per_split[split][backend][key]
                cells.append(f'{value:.4f}' if backend == backends[0] else
                             f'{value:.4f} ({value - ref:+.4f})')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def zoo_parity_main(argv: Optional[List[str]] = None) -> dict:
    """``tools/deployment/zoo_parity.py``: the README's parity table."""
    import json
    import os
    from .zoo import zoo_models
    parser = argparse.ArgumentParser(
        description='AP / Ex-AP of the 2D zoo models in PyTorch and in ONNX '
        'Runtime (fp32, fp16) on SynthPose val and SynthPose-Crop val')
    parser.add_argument('--names', nargs='+', help='zoo models (default: '
                        'the SynthPose collection)')
    parser.add_argument('--out-dir', default='work_dirs/deploy')
    args = parser.parse_args(argv)
    names = args.names or [
        n for n, e in sorted(zoo_models().items())
        if e.get('In Collection') == 'SynthPose' and n == e['Name']]
    for split, (root, _) in PARITY_SPLITS.items():
        if not osp.isdir(root):
            parser.error(f'{split} is missing ({root}): `make demo` '
                         'generates it')
    results = zoo_parity(names, args.out_dir)
    table = parity_table(results)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'parity.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.out_dir, 'parity.json'), 'w') as f:
        json.dump(results, f, indent=1)
    print(table)
    return results

"""Evaluate one model on many variants of its test set in one process.

A robustness study evaluates each model hundreds of times (corruptions x
severities, 2D sources): starting MMEngine's ``Runner`` for each costs
more than the evaluation itself. :class:`InProcessTester` builds the model
once (MMPose's ``init_model``) and runs MMPose's own datasets, pipelines,
``test_step`` and metrics (MMEngine ``Evaluator``) over any test dataset
config, the same path as ``tools/test.py`` without the runner
(``tests/apis/test_inprocess.py`` checks the metrics against
``tools/test.py``).
"""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from torch.utils.data import DataLoader
from tqdm import tqdm

__all__ = ['InProcessTester', 'prediction_fields']

#: ``pred_instances`` fields kept by :func:`prediction_fields`.
KEPT_FIELDS = ('keypoints', 'keypoint_scores', 'keypoints_visible',
               'keypoints_cov', 'keypoints_cov_full', 'keypoint_presence')


def prediction_fields(sample) -> Dict:
    """A ``PoseDataSample`` as the dict MMEngine's ``DumpResults`` would
    write for it (``img_id``, ``target_img_path`` and NumPy
    ``pred_instances`` fields of :data:`KEPT_FIELDS`)."""
    pred = sample.pred_instances
    fields = {}
    for key in KEPT_FIELDS:
        if key in pred:
            value = pred.get(key)
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            fields[key] = np.asarray(value)
    out = dict(pred_instances=fields)
    for key in ('img_id', 'target_img_path'):
        if key in sample.metainfo:
            out[key] = sample.metainfo[key]
    return out


class InProcessTester:
    """One model, many test sets.

    Args:
        config (str | Config): The model's config (``test_cfg`` as it
            should run; e.g. turn ``flip_test`` off before).
        checkpoint (str): Weights, or an ``.onnx`` file of
            ``tools/deployment/pytorch2onnx.py`` (run in ONNX Runtime).
        device (str): Torch device. Defaults to ``'cpu'``.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu') -> None:
        import probpose_ext  # noqa: F401  (registers our modules)
        from mmpose.apis import init_model

        from ..deploy import init_onnx_model, is_onnx_file
        cfg = Config.fromfile(config) if isinstance(config, str) else \
            Config(config.to_dict(), filename=config.filename)
        self.cfg = cfg
        if is_onnx_file(checkpoint):  # ONNX Runtime network
            self.model = init_onnx_model(cfg, checkpoint, device=device)
        else:
            self.model = init_model(cfg, checkpoint, device=device)

    def dataset_config(self, **overrides) -> dict:
        """A copy of the config's test dataset with ``overrides`` (a
        ``pipeline`` key replaces the pipeline)."""
        dataset = copy.deepcopy(self.cfg.test_dataloader.dataset).to_dict()
        dataset.update(overrides)
        return dataset

    def run(self,
            dataset: dict,
            evaluator: Union[dict, Sequence[dict], None] = None,
            batch_size: int = 64,
            num_workers: int = 0,
            keep: bool = True,
            edit: Optional[Callable] = None,
            progress: Optional[str] = None) -> Tuple[Dict, List[Dict]]:
        """Evaluate on one dataset.

        Args:
            dataset (dict): Dataset config (see :meth:`dataset_config`).
            evaluator (dict | list[dict], optional): Metric configs;
                defaults to the config's ``test_evaluator``.
            batch_size (int): Batch size.
            num_workers (int): DataLoader workers.
            keep (bool): Return the predictions (:func:`prediction_fields`).
            edit (Callable, optional): Called with the built dataset before
                the run (e.g. to replace instance fields).
            progress (str, optional): tqdm label; None shows no bar.

        Returns:
            tuple[dict, list[dict]]: Metrics (floats) and the predictions
            in dataset order (empty unless ``keep``).
        """
        from mmengine.registry import init_default_scope
        from mmpose.registry import DATASETS
        init_default_scope('mmpose')
        dataset = DATASETS.build(dataset)
        if edit is not None:
            edit(dataset)
        metrics_cfg = evaluator if evaluator is not None else \
            self.cfg.test_evaluator
        if isinstance(metrics_cfg, dict):
            metrics_cfg = [metrics_cfg]
        evaluator = Evaluator([dict(m) for m in metrics_cfg])
        evaluator.dataset_meta = dataset.metainfo
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=pseudo_collate)
        kept: List[Dict] = []
        batches = loader if progress is None else tqdm(
            loader, desc=progress, leave=False)
        with torch.no_grad():
            for batch in batches:
                outputs = self.model.test_step(batch)
                evaluator.process(outputs, batch)
                if keep:
                    kept += [prediction_fields(s) for s in outputs]
        metrics = evaluator.evaluate(len(dataset))
        return {k: float(v) for k, v in metrics.items()}, kept

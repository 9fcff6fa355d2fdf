"""Zoo names in MMEngine's / MMPose's inferencers.

Problem: ``MMPoseInferencer(pose2d='NAME')`` resolves a model name through
``mmengine.infer.BaseInferencer._load_model_from_metafile``, which reads only
the model index of the scope's own package (``MODULE2PACKAGE``: mmpose,
mmdet, ...), so an extension package has no way to add names
(mmengine 0.10.7; the lookup has no registration hook upstream).

Workaround: wrap that method so that a name listed in this project's
metafiles (:mod:`probpose_ext.apis.zoo`) returns its config and weights;
any other name goes to MMEngine's lookup unchanged.
"""
from ._shim import Shim

_originals = {}


def needed() -> bool:
    return True


def _make_lookup(original):

    def _load_model_from_metafile(self, model: str):
        from mmengine.config import Config

        from ..apis.zoo import is_zoo_name, resolve
        if isinstance(model, str) and is_zoo_name(model):
            config, weights = resolve(model)
            return Config.fromfile(config), weights
        return original(self, model)

    _load_model_from_metafile.__doc__ = original.__doc__
    return _load_model_from_metafile


def _install() -> None:
    from mmengine.infer import BaseInferencer
    _originals['lookup'] = BaseInferencer._load_model_from_metafile
    BaseInferencer._load_model_from_metafile = _make_lookup(
        _originals['lookup'])


def _uninstall() -> None:
    from mmengine.infer import BaseInferencer
    BaseInferencer._load_model_from_metafile = _originals.pop('lookup')


_SHIM = Shim(needed, _install, _uninstall)
apply, remove, is_applied = _SHIM.apply, _SHIM.remove, _SHIM.is_applied

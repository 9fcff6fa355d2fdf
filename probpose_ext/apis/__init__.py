from .cli import (ConfigHookWarning, check_hooks, missing_hooks,
                  prepare_config, test_main, train_main)
from .infer import infer_main, predict_image
from .refit import (REFIT_BRANCHES, branch_refit_config, refit_main,
                    write_branch_refit_config)
from .serialize import (dump_pose_json, instances_to_list, load_pose_json,
                        samples_to_json, to_jsonable)
from .zoo import resolve, zoo_models, zoo_names

__all__ = [
    'prepare_config', 'check_hooks', 'missing_hooks', 'ConfigHookWarning',
    'train_main', 'test_main', 'infer_main',
    'predict_image', 'dump_pose_json', 'load_pose_json', 'instances_to_list',
    'samples_to_json', 'to_jsonable', 'resolve', 'zoo_models', 'zoo_names',
    'REFIT_BRANCHES', 'branch_refit_config', 'write_branch_refit_config',
    'refit_main'
]

from .cli import prepare_config, test_main, train_main

__all__ = ['prepare_config', 'train_main', 'test_main']

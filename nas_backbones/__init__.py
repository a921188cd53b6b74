"""nas_backbones: PC-DARTS / DARTS search of detection backbones for MMDetection.

Importing the package registers its modules into MMDetection's registries
(``default_scope='mmdet'``), which is what ``custom_imports`` in a config does.
Plotting tools are kept out of this import path on purpose.
"""
__version__ = '0.1.0'

from . import (  # noqa: F401,E402  register modules
    compat,  # noqa: F401,E402  fixes for mmdet 3.3 / mmengine 0.10.7 on torch 2.13
    core,
    datasets,
    engine,
    evaluation,
    spaces,
)
from .package import config_path, install_config_prefix  # noqa: E402,F401  config_path: public

install_config_prefix()  # configs may inherit ours as _base_ = 'nas_backbones::NAME' (package.py)

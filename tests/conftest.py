import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('NAS_SHARED', ROOT.parent / 'shared'))


def shared_data(rel: str) -> Path:
    """A path under ../shared/data; skip when absent, but fail under CI."""
    path = SHARED / 'data' / rel
    if not path.exists():
        msg = (f'real-data test needs {path} (the project\'s ../shared/data/{rel}); '
               'it is missing')
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(msg + ' and CI=true, so this is a failure, not a skip')
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Every test starts in the scope every config of this project sets (default_scope='mmdet')."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


@pytest.fixture
def coco128() -> Path:
    return shared_data('coco128')


@pytest.fixture
def tiny_imagenet() -> Path:
    return shared_data('tiny-imagenet-10')


def darts_search(supernet: dict, edge_norm: bool = True, cost=None, **kwargs):
    """A ``DifferentiableSearch`` over the DARTS classification space (what the search configs build)."""
    from nas_backbones.core import DifferentiableSearch
    return DifferentiableSearch(architecture=dict(type='DartsClassifierSpace', supernet=supernet,
                                                  edge_norm=edge_norm, cost=cost), **kwargs)

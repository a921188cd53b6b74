"""Every config under configs/ (and the benchmarks' detection configs, which users copy and rerun)
loads and builds its model; the search configs compose their bases by role; README.md names no missing
file."""
import ast
import glob
import re
import warnings
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import nas_backbones  # noqa: F401
from tests.conftest import ROOT

CONFIGS = sorted(Path(p).relative_to(ROOT).as_posix()
                 for pattern in ('configs/**/*.py', 'benchmarks/shapes/*.py', 'benchmarks/raccoon/*.py')
                 for p in glob.glob(str(ROOT / pattern), recursive=True))


def test_configs_found():
    assert 'configs/ssd_pcdarts_coco.py' in CONFIGS and 'configs/ssd_pcdarts_demo.py' in CONFIGS


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what a build writes (a latency table) stays out of the repo
    cfg = Config.fromfile(str(ROOT / path))
    if '_base_' in Path(path).parts:
        return  # a fragment (runtime, data, model, schedule) that the configs below inherit
    assert 'model' in cfg, f'{path} defines no model'
    assert cfg.get('default_scope') == 'mmdet', f'{path}: default_scope must be mmdet'
    assert 'nas_backbones' in cfg.get('custom_imports', {}).get('imports', []), \
        f'{path}: custom_imports must import nas_backbones'
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    deprecated = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    assert not deprecated, f'{path} uses a deprecated name: {deprecated}'
    if 'runner_type' in cfg:
        # mmdet's tools/train.py looks it up in mmengine's root RUNNERS, tools/test.py in
        # mmdet's, both before any default scope exists.
        from mmdet.registry import RUNNERS as MMDET_RUNNERS
        from mmengine.registry import RUNNERS
        for registry in (RUNNERS, MMDET_RUNNERS):
            assert registry.get(cfg.runner_type) is not None, \
                f'{path}: runner_type {cfg.runner_type!r} is not found in the {registry.scope} registry'


def base_files(path: Path) -> list[Path]:
    """The `_base_` files a config names (relative paths resolved; `mmdet::` ones left out)."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    value = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and getattr(n.targets[0], 'id', None) == '_base_'), [])
    return [(path.parent / b).resolve() for b in ([value] if isinstance(value, str) else value)
            if '::' not in b]


SEARCH_CONFIGS = [p for p in CONFIGS if p.startswith(('configs/search/', 'configs/network_search/'))]


@pytest.mark.parametrize('path', SEARCH_CONFIGS)
def test_search_config_composes_role_bases(path):
    """A search config's bases are `_base_/` role files, or one sibling config that itself names
    role files only: a variant of a variant would hide what it changes two files away."""
    for base in base_files(ROOT / path):
        assert base.is_file(), f'{path}: base {base} does not exist'
        if '_base_' in base.parts:
            continue
        nested = [b for b in base_files(base) if '_base_' not in b.parts]
        assert not nested, (f'{path} inherits {base.relative_to(ROOT)}, which inherits '
                            f'{[str(b.relative_to(ROOT)) for b in nested]}: compose _base_/ files instead')


def test_no_config_reads_its_bases_variables():
    """`{{_base_.x}}` ties a value to another file's variable; outside the copy-and-edit templates
    each config states the values it sets."""
    users = [p for p in CONFIGS if not p.startswith('configs/templates/')
             and '{{_base_.' in (ROOT / p).read_text(encoding='utf-8')]
    assert not users, f'configs reading base variables: {users}'


@pytest.mark.parametrize('path', [p for p in CONFIGS if p.startswith('configs/search/')
                                  or p.startswith('configs/templates/search_')])
def test_search_lr_schedule_ends_with_the_search(path):
    """The schedule bases state their own epochs (MMEngine resolves a base's variables in the base),
    so a config that sets train_cfg.max_epochs must rewrite its epoch-wise LR schedule with it."""
    cfg = Config.fromfile(str(ROOT / path))
    epochs = cfg.train_cfg.max_epochs
    for s in cfg.param_scheduler['weights']:
        if s.get('by_epoch', True) and 'Linear' not in s['type']:  # the warm-ups end earlier
            assert s['end'] == epochs and s.get('T_max', epochs) == epochs, \
                f'{path}: {s["type"]} ends at {s["end"]} (T_max {s.get("T_max")}), train_cfg.max_epochs={epochs}'


# `configs/...`, `tools/...`, `tests/...` and `nas_backbones/...` paths written in README.md.
_PATH = re.compile(r'(?<![\w./-])((?:configs|tools|tests|nas_backbones)/[\w./*-]*[\w*])')


def readme_paths(text: str) -> list[str]:
    return sorted({m.group(1) for m in _PATH.finditer(text)})


def test_readme_path_pattern():
    text = ('run `python tools/train.py configs/ssd_pcdarts_demo.py --work-dir work_dirs/x`, '
            'see configs/search/*.py and nas_backbones/compat.py. Not: work_dirs/tools/a.py')
    assert readme_paths(text) == ['configs/search/*.py', 'configs/ssd_pcdarts_demo.py',
                                  'nas_backbones/compat.py', 'tools/train.py']


def test_readme_paths_exist():
    readme = ROOT / 'README.md'
    if not readme.is_file():
        pytest.skip('README.md not written yet')
    missing = [p for p in readme_paths(readme.read_text(encoding='utf-8'))
               if not glob.glob(str(ROOT / p))]
    assert not missing, f'README.md names paths that do not exist: {missing}'

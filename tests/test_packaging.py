"""Installing as a package: the wheel ships configs, tools and console scripts, and a user's config
inherits ours by ``nas_backbones::NAME``, from an installed copy and from a clone."""
import argparse
import ast
import json
import os
import subprocess
import sys
import zipfile

import pytest
from mmengine.config import Config

from nas_backbones.engine.launch import load_config
from nas_backbones.package import config_path
from tests.conftest import ROOT

BUILD_FILES = ('setup.py', 'setup.cfg', 'README.md')
SHIPPED = ('nas_backbones', 'configs', 'tools')


def commands() -> dict:
    tree = ast.parse((ROOT / 'nas_backbones' / 'cli.py').read_text())
    return next(ast.literal_eval(n.value) for n in tree.body
                if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', None) == 'COMMANDS')


def tracked(folder: str) -> list[str]:
    """The repository's files under ``folder``, without Python's caches."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob('*')
                  if p.is_file() and '__pycache__' not in p.parts and p.suffix != '.pyc')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """A wheel built from a copy of the repository, and that wheel installed (no dependencies) into
    its own folder, which a subprocess puts first on its path."""
    tmp = tmp_path_factory.mktemp('pkg')
    src = tmp / 'src'
    for rel in list(BUILD_FILES) + [p for d in SHIPPED for p in tracked(d)]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes((ROOT / rel).read_bytes())
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    subprocess.run(pip + ['wheel', '--no-deps', '--no-build-isolation', '--no-index', '-w',
                          str(tmp / 'dist'), str(src)], check=True, cwd=tmp)
    wheel = next((tmp / 'dist').glob('nas_backbones-*.whl'))
    site = tmp / 'site'
    subprocess.run(pip + ['install', '--no-deps', '--no-index', '--target', str(site), str(wheel)],
                   check=True, cwd=tmp)
    env = dict(os.environ, PYTHONPATH=str(site))
    return argparse.Namespace(wheel=wheel, site=site, env=env, cwd=tmp)


@pytest.mark.slow  # builds and installs a wheel (about 25 s)
def test_wheel_holds_every_config_and_tool_and_the_console_scripts(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder in ('configs', 'tools'):
        missing = [p for p in tracked(folder) if f'nas_backbones/.mim/{p}' not in names]
        assert not missing, f'the wheel lacks {missing}'
    entry_points = next(n for n in names if n.endswith('.dist-info/entry_points.txt'))
    text = zipfile.ZipFile(installed.wheel).read(entry_points).decode()
    for command in commands():
        assert f'{command} = nas_backbones.cli:{command.replace("-", "_")}' in text


def run_installed(installed, *args, **kwargs):
    return subprocess.run(args, cwd=installed.cwd, env=installed.env, capture_output=True, text=True,
                          timeout=300, **kwargs)


@pytest.mark.slow  # builds and installs a wheel (about 25 s)
def test_installed_console_script_runs_the_shipped_tool(installed):
    """``nas-search --help`` is the search tool's own command line, run from the installed copy."""
    script = installed.site / 'bin' / 'nas-search'
    r = run_installed(installed, sys.executable, str(script), '--help')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage: nas-search [-h]') and '--work-dir' in r.stdout
    assert 'Search an architecture' in r.stdout  # tools/search.py's description
    r = run_installed(installed, sys.executable, str(script), 'nas_backbones::no/such.py')
    assert r.returncode != 0 and "nas_backbones has no config 'no/such.py'" in r.stderr
    # an analysis tool does its job from the installed copy: the same numbers as in the clone
    args = ['--genotype', 'DARTS_V2', '--C', '8', '--layers', '5', '--input-size', '32', '--json']
    r = run_installed(installed, sys.executable, str(installed.site / 'bin' / 'nas-complexity'), *args)
    assert r.returncode == 0, r.stderr
    clone = subprocess.run([sys.executable, 'tools/analysis/complexity.py', *args], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    got, want = (json.loads(out.strip().splitlines()[-1]) for out in (r.stdout, clone.stdout))
    assert got['params'] == want['params'] > 0 and got['flops'] == want['flops'] > 0


@pytest.mark.slow  # builds and installs a wheel (about 25 s)
def test_user_config_inherits_an_installed_config_by_package_path(installed):
    """A project that pip-installed this one inherits a detector and a search config (whose own
    ``_base_`` files are relative paths inside the package) and overrides a field of each."""
    user = installed.cwd / 'my_ssd.py'
    user.write_text("_base_ = 'nas_backbones::ssd_pcdarts_demo.py'\n"
                    "model = dict(backbone=dict(C=8))\n")
    search = installed.cwd / 'my_search.py'
    search.write_text("_base_ = ['nas_backbones::search/pcdarts_tiny_imagenet.py']\n"
                      "train_cfg = dict(max_epochs=1)\n")
    code = ('import nas_backbones, sys\n'
            'from mmengine.config import Config\n'
            'print(nas_backbones.__file__)\n'
            'ssd, search = Config.fromfile(sys.argv[1]), Config.fromfile(sys.argv[2])\n'
            'print(ssd.model.type, ssd.model.backbone.type, ssd.model.backbone.C, ssd.default_scope)\n'
            'print(search.train_cfg.max_epochs, search.model.type, search.default_scope)\n'
            'print(ssd.model.get("_scope_"), search.model.get("_scope_"))\n')
    r = run_installed(installed, sys.executable, '-c', code, str(user), str(search))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split('\n')
    assert lines[0].startswith(str(installed.site / 'nas_backbones'))  # the installed copy
    clone = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_demo.py'))
    assert lines[1] == 'SingleStageDetector DartsBackbone 8 mmdet'
    assert clone.model.backbone.C != 8
    searched = Config.fromfile(str(ROOT / 'configs' / 'search' / 'pcdarts_tiny_imagenet.py'))
    assert lines[2] == f'1 {searched.model.type} mmdet'
    # built in the scope the configs themselves set, as when loaded by their file path
    assert lines[3] == f'{clone.model.get("_scope_")} {searched.model.get("_scope_")}'
    assert 'nas_backbones' not in lines[3]


def test_prefix_resolves_in_a_clone(tmp_path):
    """In a clone (editable install) the prefix names the repository's own configs/."""
    assert config_path('nas_backbones::ssd_pcdarts_demo.py') == str(ROOT / 'configs' / 'ssd_pcdarts_demo.py')
    user = tmp_path / 'mine.py'
    user.write_text("_base_ = 'nas_backbones::ssd_pcdarts_demo.py'\nmodel = dict(backbone=dict(C=8))\n")
    cfg = Config.fromfile(str(user))
    assert cfg.model.backbone.type == 'DartsBackbone' and cfg.model.backbone.C == 8
    args = argparse.Namespace(config='nas_backbones::ssd_pcdarts_demo.py', launcher='none',
                              cfg_options=None, work_dir=str(tmp_path / 'wd'), local_rank=0)
    assert load_config(args).model.backbone.type == 'DartsBackbone'


def test_unknown_or_escaping_names_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config 'nope.py'"):
        config_path('nas_backbones::nope.py')
    with pytest.raises(FileNotFoundError, match='no config'):
        config_path('../setup.py')  # only files under configs/
    user = tmp_path / 'mine.py'
    user.write_text("_base_ = 'nas_backbones::nope.py'\n")
    with pytest.raises(FileNotFoundError, match=r"mine\.py: _base_ 'nas_backbones::nope.py'"):
        Config.fromfile(str(user))

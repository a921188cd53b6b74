"""The shape of the package: only spaces/ knows a search space family, and nothing cites notes outside the repo."""
import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PKG = ROOT / 'nas_backbones'
# Must work for every space family: a family plugs in through registries (models, candidates, report
# sections, latency tables, predictor tasks), so a new family is a new folder under spaces/ and nothing else.
AGNOSTIC = ('core', 'engine', 'network_search', 'evaluation', 'visualization', 'models', 'datasets', 'utils')


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    rel = path.relative_to(ROOT).with_suffix('')
    package = list(rel.parts[:-1]) if rel.name != '__init__' else list(rel.parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = '.'.join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f'{mod}.{a.name}' for a in node.names)
    return out


@pytest.mark.parametrize('folder', AGNOSTIC)
def test_space_agnostic_folders_import_no_space_family(folder):
    offenders = {}
    for path in (PKG / folder).rglob('*.py'):
        bad = sorted(m for m in imported_modules(path) if m.startswith('nas_backbones.spaces'))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, f'space-agnostic modules import a space family: {offenders}'


def test_every_folder_but_the_families_is_checked():
    """A new top-level folder of the package is a decision: family code (spaces/) or space-agnostic."""
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / '__init__.py').is_file()}
    assert folders == set(AGNOSTIC) | {'spaces'}


def test_algorithm_and_second_order_do_not_import_each_other():
    algo = imported_modules(PKG / 'core/algorithm.py')
    second = imported_modules(PKG / 'core/second_order.py')
    assert not any(m.startswith('nas_backbones.core.algorithm') for m in second)
    # the algorithm calls second order; second order takes a loss function, not the algorithm
    assert 'nas_backbones.core.second_order' in algo


def test_imports_are_resolved_as_the_interpreter_does():
    """Guards the checker above: a relative import from a space module names the family."""
    mods = imported_modules(PKG / 'spaces/darts/search_backbone.py')
    assert 'nas_backbones.core.detector_space' in mods and 'nas_backbones.spaces.darts.arch' in mods


# One file name per role in every family (docs/design.md, "Adding a family").
ROLE_FILES = ('ops.py', 'layout.py', 'relaxation.py', 'search_op.py', 'supernet.py', 'search_backbone.py',
              'arch.py', 'derive.py', 'cost.py', 'encoding.py', 'tracking.py', 'result.py', 'published.py',
              'sample.py', 'chance.py', 'backbone.py', 'classifier.py')


def test_every_family_names_its_files_by_role():
    families = sorted(p for p in (PKG / 'spaces').iterdir() if (p / '__init__.py').is_file())
    assert len(families) >= 2
    missing = {f.name: [r for r in ROLE_FILES if not (f / r).is_file()] for f in families}
    assert not any(missing.values()), f'a family lacks files of the shared roles: {missing}'


def test_no_file_cites_notes_outside_the_repository():
    """Someone who clones the repository has only its own docs/: code, configs and tests cite those."""
    needles = ('../shared/reference', 'pcdarts.md', 'singlepath.md')
    files = [p for d in ('nas_backbones', 'configs', 'tools', 'tests', 'benchmarks')
             for p in (ROOT / d).rglob('*') if p.suffix in ('.py', '.sh') and p != Path(__file__)]
    hits = [f'{p.relative_to(ROOT)}: {n}' for p in files for n in needles if n in p.read_text()]
    assert not hits, f'notes outside the repository are cited: {hits}'


def test_test_folders_are_packages_and_no_test_module_imports_another():
    """What the tests share is in tests/conftest.py; a test module imports that, never another test
    module (so that moving or deleting one breaks no other). Every test folder is a package, so that
    modules of the same name in two folders stay apart."""
    tests = ROOT / 'tests'
    folders = [d for d in [tests, *tests.rglob('*')] if d.is_dir() and d.name != '__pycache__']
    assert not [str(d.relative_to(ROOT)) for d in folders if not (d / '__init__.py').is_file()]
    offenders = {}
    for path in tests.rglob('*.py'):
        bad = sorted(m for m in imported_modules(path)
                     if m.startswith('tests.') and not m.startswith('tests.conftest'))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, f'test modules import other test modules (move the helper to tests/conftest.py): {offenders}'

"""A mistake the user made is one message naming it (the traceback on request); near misses get the nearest name."""
import os
import subprocess
import sys

import pytest

import nas_backbones  # noqa: F401
from nas_backbones.engine.launch import run_tool, user_error
from nas_backbones.spaces.darts import GenotypeError, load_genotype
from nas_backbones.spaces.singlepath import load_architecture
from nas_backbones.spaces.singlepath.result import ArchitectureError
from tests.conftest import ROOT, load_tool


# ------------------------------------------------------------------- near misses
@pytest.mark.parametrize('load,name,error,nearest', [
    (load_genotype, 'PC_DARTS_imagenet', GenotypeError, 'PC_DARTS_image'),
    (load_genotype, 'darts_v2', GenotypeError, 'DARTS_V2'),
    (load_architecture, 'SPNAS_pixel1', ArchitectureError, 'SPNAS_Pixel1')])
def test_a_near_miss_of_a_published_name_gets_the_nearest(load, name, error, nearest):
    with pytest.raises(error, match=rf"{name!r} is neither a published name .* nor an existing file\. "
                                    rf"Did you mean {nearest!r}\?"):
        load(name)


def test_a_missing_file_gets_no_published_name_suggested(tmp_path):
    with pytest.raises(GenotypeError) as error:
        load_genotype(str(tmp_path / 'genotype.jsn'))
    assert 'Did you mean' not in str(error.value)


# -------------------------------------------------------------------- tracebacks
def bad_genotype():
    load_genotype('PC_DARTS_imagenet')


def test_an_error_of_the_users_input_is_one_line(capsys, monkeypatch):
    monkeypatch.delenv('NAS_DEBUG', raising=False)
    assert run_tool(bad_genotype, ['tools/search.py', 'cfg.py']) == 2
    err = capsys.readouterr().err
    assert err.startswith("search.py: error: genotype 'PC_DARTS_imagenet' is neither a published name")
    assert "Did you mean 'PC_DARTS_image'?" in err and '(--debug or NAS_DEBUG=1 prints the traceback)' in err
    assert 'Traceback' not in err


def test_debug_flag_or_variable_gives_the_traceback(monkeypatch):
    # set (empty: off), so that monkeypatch restores it: --debug sets NAS_DEBUG=1 for the process
    monkeypatch.setenv('NAS_DEBUG', '')
    argv = ['tools/search.py', 'cfg.py', '--debug']
    with pytest.raises(GenotypeError):
        run_tool(bad_genotype, argv)
    assert argv == ['tools/search.py', 'cfg.py'] and os.environ['NAS_DEBUG'] == '1'  # main never sees it
    with pytest.raises(GenotypeError):
        run_tool(bad_genotype, ['tools/search.py'])  # NAS_DEBUG=1 now


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    import torch
    monkeypatch.delenv('NAS_DEBUG', raising=False)

    def torch_fails():
        torch.zeros(2).view(3)  # raised inside torch: not a check of ours

    def our_bug():
        return {}['key']  # a KeyError from a test, not from nas_backbones/ or tools/

    with pytest.raises(RuntimeError):
        run_tool(torch_fails, ['t'])
    with pytest.raises(KeyError):
        run_tool(our_bug, ['t'])


def test_mmengine_re_raised_errors_of_our_checks_count_as_ours():
    from mmdet.registry import MODELS
    with pytest.raises(GenotypeError) as error:
        MODELS.build(dict(type='DartsBackbone', genotype='PC_DARTS_imagenet'))
    assert user_error(error.value)


def test_complexity_tool_names_the_mistake_without_a_traceback():
    proc = subprocess.run([sys.executable, 'tools/analysis/complexity.py', '--genotype', 'PC_DARTS_imagenet'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, NAS_DEBUG=''))
    assert proc.returncode == 2
    assert proc.stderr.startswith("complexity.py: error: genotype 'PC_DARTS_imagenet'"), proc.stderr
    assert 'Traceback' not in proc.stderr


# ------------------------------------------------------------------ complexity
def test_complexity_names_a_backbone_the_neck_does_not_fit():
    """A width-0.5 Single-Path network under the SSDLite config: named as tools/train.py names it."""
    tool = load_tool('tools/analysis/complexity.py')
    with pytest.raises(ValueError, match=r'ssdlite_spnas_coco.py: model.neck.in_channels=\[.*\] does not match '
                                         r'the backbone: SinglePathBackbone'):
        tool.main([str(ROOT / 'configs/ssdlite_spnas_coco.py'), '--cfg-options',
                   'model.backbone.width_mult=0.5'])

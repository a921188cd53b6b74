"""Pictures of the Single-Path space: the network strip and the search-history section of the report."""
import re

import pytest
import torch

from nas_backbones.spaces.singlepath import PUBLISHED
from nas_backbones.spaces.singlepath.diagram import render_architecture
from nas_backbones.spaces.singlepath.report import singlepath_section
from tests.conftest import sp_space


def svg_texts(path):
    return re.findall(r'<text[^>]*>([^<]*)</text>', path.read_text())


def test_strip_draws_one_box_per_layer_with_its_op(tmp_path):
    render_architecture('SPNAS_Pixel1', tmp_path / 'strip.svg', title='SPNAS_Pixel1')
    texts = svg_texts(tmp_path / 'strip.svg')
    ops = PUBLISHED['SPNAS_Pixel1'].ops()
    legend = ['k3e3', 'k3e6', 'k5e3', 'k5e6', 'skip', 'fixed']
    for op in set(ops):
        assert texts.count(op) == ops.count(op) + (op in legend), op
    assert 'stem 32' in texts and 'head 1280' in texts and '24, s2' in texts
    render_architecture(PUBLISHED['SPNAS_Pixel1'], tmp_path / 'strip.png')
    assert (tmp_path / 'strip.png').read_bytes()[:4] == b'\x89PNG'
    with pytest.raises(ValueError, match='unknown image format'):
        render_architecture('SPNAS_Pixel1', tmp_path / 'strip.bmp')


def test_report_section_shows_the_search_epoch_by_epoch(tmp_path):
    s = sp_space()
    entries = []
    for epoch in (1, 2, 3):
        if epoch == 3:  # the search moved: layer 2 became k3e3
            with torch.no_grad():
                s.arch.thresholds[0] = torch.tensor([1e3, 1e3, -1e3])
        s.arch.warmup_override = epoch == 1
        entries.append(dict(s.snapshot(), epoch=epoch))
    lines = singlepath_section(entries, str(tmp_path))
    text = '\n'.join(lines)
    for name in ('architecture.png', 'ops.png', 'thresholds.png', 'runtime.png'):
        assert (tmp_path / name).is_file() and f']({name})' in text
    rows = [line for line in lines if re.match(r'\| \d', line)]
    assert [r.split(' | ')[1] for r in rows] == ['yes', 'no', 'no']  # warm-up column
    assert rows[2].split(' | ')[2].split()[0] == 'k3e3' and rows[1].split(' | ')[2].split()[0] == 'k5e6'
    assert f'`{s.derive().to_text()}`' in text
    assert float(rows[2].rstrip(' |').split(' | ')[-1]) < float(rows[1].rstrip(' |').split(' | ')[-1])


def test_command_line_draws_a_file_and_names_a_bad_one(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    out = tmp_path / 'pixel1.svg'
    proc = subprocess.run([sys.executable, 'tools/visualize_architecture.py', 'SPNAS_Pixel1', '--out',
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file()
    assert svg_texts(out).count('k5e6') == 1 + 7
    bad = tmp_path / 'architecture.json'
    bad.write_text('{"blocks": [{"channels": 16, "stride": 3, "layers": [{"kernel": 3, "expansion": 1}]}]}')
    proc = subprocess.run([sys.executable, 'tools/visualize_architecture.py', str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and 'blocks[0].stride: expected 1 or 2' in proc.stderr


def test_report_of_a_singlepath_history_is_its_family_and_names_a_broken_entry(tmp_path):
    import json

    from nas_backbones.visualization.report import write_report
    s = sp_space()
    entries = [dict(s.snapshot(), epoch=epoch, in_warmup=epoch == 1) for epoch in (1, 2)]
    (tmp_path / 'search_history.json').write_text(json.dumps({'history': entries}))
    readme = (tmp_path / 'report' / 'README.md')
    assert write_report(tmp_path, cost=dict(C=8)) == str(readme)  # DARTS cost options: not this family's
    text = readme.read_text()
    assert 'Single-Path NAS: 2 epoch(s)' in text and 'in 1 of them' in text and '## Final architecture' in text
    del entries[0]['thresholds']
    (tmp_path / 'search_history.json').write_text(json.dumps({'history': entries}))
    with pytest.raises(ValueError, match=r"search_history.json: history\[0\]: missing field\(s\) \['thresholds'\]"):
        write_report(tmp_path)

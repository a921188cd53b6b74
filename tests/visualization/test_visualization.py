"""Cell diagrams, the search history plots and the search report (tools/visualize_genotype.py,
tools/analysis/search_report.py, SearchReportHook), the slow ones from a real search."""
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import nas_backbones  # noqa: F401
from nas_backbones.engine.launch import build_runner
from nas_backbones.spaces.darts import Genotype
from nas_backbones.spaces.darts.classifier_cost import CostSpec
from nas_backbones.spaces.darts.diagram import cell_geometry, cells_figure
from nas_backbones.spaces.darts.published import PUBLISHED
from nas_backbones.visualization import report_hook  # noqa: F401  registers SearchReportHook
from tests.conftest import ROOT, load_tool

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def assert_image(path: Path, kind: str) -> None:
    data = Path(path).read_bytes()
    if kind == 'png':
        assert data.startswith(PNG_MAGIC), path
    elif kind == 'svg':
        assert ET.fromstring(data).tag == '{http://www.w3.org/2000/svg}svg', path
    else:
        assert data.startswith(b'%PDF-') and b'%%EOF' in data[-64:], path


# ------------------------------------------------------------------ fast: diagrams
@pytest.mark.parametrize('name', ['PC_DARTS_image', 'NASNet', 'AmoebaNet', 'DARTS_V2'])
def test_diagram_has_every_gene_and_concat_edge_and_nothing_else(name):
    g = PUBLISHED[name]
    for reduction in (False, True):
        geo = cell_geometry(g, reduction)
        steps = len(g.genes(reduction)) // 2
        assert set(geo.pos) == set(range(steps + 2)) | {-1}  # inputs, nodes, output
        labelled = sorted((e.src, e.dst, e.label) for e in geo.edges if e.label)
        assert labelled == sorted((idx, k // 2 + 2, op) for k, (op, idx) in
                                  enumerate(g.genes(reduction)))
        assert sorted(e.src for e in geo.edges if e.dst == -1) == sorted(g.concat(reduction))
        # Edges run left to right, from layer to later layer.
        assert all(geo.pos[e.src][0] < geo.pos[e.dst][0] for e in geo.edges)
        # Two genes from the same input (NASNet, AmoebaNet) are drawn apart.
        by_pair = {}
        for e in geo.edges:
            by_pair.setdefault((e.src, e.dst), []).append(e.bend)
        assert all(len(set(b)) == len(b) for b in by_pair.values())


@pytest.mark.parametrize('name', sorted(set(PUBLISHED) - {'DARTS', 'PCDARTS'}))
def test_diagram_labels_cover_no_node_and_no_other_label(name):
    _, scores = cells_figure(PUBLISHED[name], ('normal', 'reduce'))
    for kind, placed in scores.items():
        assert len(placed) == len(PUBLISHED[name].genes(kind == 'reduce'))
        assert all(score < 10 for _, score in placed), (kind, placed)


def drawn_label_boxes(fig) -> list[list[tuple[str, object]]]:
    """Per axes (cell), each op label's white box as drawn: a display-space polygon, rotation included."""
    renderer = fig.canvas.get_renderer()
    cells = []
    for ax in fig.axes:
        boxes = []
        for text in ax.texts:
            patch = text.get_bbox_patch()
            if patch is not None:  # node names and titles have no box
                text.update_bbox_position_size(renderer)
                boxes.append((text.get_text(), patch.get_path().transformed(patch.get_transform())))
        cells.append(boxes)
    return cells


# Random cells of the search space (two inputs per node, any op but none), seeded; the first
# one is a normal cell whose skip_connect and sep_conv_3x3 labels overlapped before the
# layout made room for them.
OPS7 = ['max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
        'dil_conv_3x3', 'dil_conv_5x5']
OVERLAPPED = [['avg_pool_3x3', 0], ['dil_conv_3x3', 1], ['sep_conv_5x5', 0], ['sep_conv_3x3', 2],
              ['max_pool_3x3', 0], ['avg_pool_3x3', 1], ['skip_connect', 0], ['sep_conv_3x3', 2]]


def random_genotypes(n: int, seed: int = 1) -> list:
    import random
    rng = random.Random(seed)

    def cell():
        return [(rng.choice(OPS7), j) for i in range(4) for j in rng.sample(range(i + 2), 2)]
    concat = [2, 3, 4, 5]
    return ([Genotype(normal=OVERLAPPED, normal_concat=concat, reduce=OVERLAPPED, reduce_concat=concat)]
            + [Genotype(normal=cell(), normal_concat=concat, reduce=cell(), reduce_concat=concat)
               for _ in range(n)])


@pytest.mark.parametrize('genotype', [PUBLISHED[n] for n in sorted(set(PUBLISHED) - {'DARTS', 'PCDARTS'})]
                         + random_genotypes(24),
                         ids=sorted(set(PUBLISHED) - {'DARTS', 'PCDARTS'}) + [f'random{i}' for i in range(25)])
def test_drawn_label_boxes_never_intersect(genotype):
    fig, _ = cells_figure(genotype, ('normal', 'reduce'))
    fig.canvas.draw()
    for kind, boxes in zip(('normal', 'reduce'), drawn_label_boxes(fig)):
        assert len(boxes) == len(genotype.genes(kind == 'reduce'))
        for i, (a, pa) in enumerate(boxes):
            for b, pb in boxes[i + 1:]:
                assert not pa.intersects_path(pb, filled=True), f'{kind} cell: {a!r} overlaps {b!r}'


def test_report_full_config_shows_what_ran_not_stale_base_variables(tmp_path):
    from nas_backbones.spaces.darts.report import SETTINGS
    from nas_backbones.visualization.report import load_settings
    (tmp_path / 'base.py').write_text(
        "arch_warmup_epochs = 35\narch_dataloader = dict(batch_size=128)\n"
        "train_cfg = dict(type='SearchLoop', max_epochs=50, arch_warmup_epochs=arch_warmup_epochs,\n"
        "                 arch_dataloader=arch_dataloader)\nmodel = dict(type='DifferentiableSearch')\n")
    (tmp_path / 'run.py').write_text(
        "_base_ = './base.py'\ntrain_cfg = dict(max_epochs=4, arch_warmup_epochs=1)\n")
    from mmengine.config import Config
    Config.fromfile(str(tmp_path / 'run.py')).dump(str(tmp_path / 'dumped.py'))  # as MMEngine does
    rows, text, left_out = load_settings(str(tmp_path / 'dumped.py'), SETTINGS)
    assert ('α/β warm-up epochs (frozen)', '1') in rows
    assert 'arch_warmup_epochs=1' in text.replace(' ', '') and '35' not in text
    assert left_out == ['arch_dataloader', 'arch_warmup_epochs']


# ------------------------------------------------------- fast: the family registry
def write_history(work: Path, entries: list) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    (work / 'search_history.json').write_text(json.dumps({'history': entries}))
    return work


def test_report_is_written_by_the_family_of_the_result_around_the_shared_parts(tmp_path, monkeypatch):
    """A family registered for its format tag writes its sections and pictures; the report's frame,
    the settings from its table and the cost options it takes come from the shared part."""
    from nas_backbones.visualization import families
    from nas_backbones.visualization.families import ReportFamily, ReportSections
    from nas_backbones.visualization.report import write_report
    seen = {}

    def sections(history, ctx):
        seen.update(history=history, cost=ctx.cost)
        (Path(ctx.out_dir) / 'toy.png').write_bytes(b'toy')
        return ReportSections(phases='frozen in none of them', result=['## Toy result', ''],
                              evolution=['## Toy evolution', ''], settings=(('toy seed', 'randomness.seed'),))

    toy = ReportFamily(format='tests.toy/1', field='toy', load=lambda entries, source: ('loaded', source),
                       sections=sections, label='Toy NAS', cost=lambda options: dict(options, checked=True))
    monkeypatch.setitem(families.REPORT_FAMILIES, toy.format, toy)
    work = write_history(tmp_path / 'work', [dict(epoch=1, iter=5, toy=dict(format='tests.toy/1'))])
    (work / 'run.py').write_text('randomness = dict(seed=7)\n')
    readme = Path(write_report(work, cost=dict(size=3))).read_text()
    assert seen == dict(history=('loaded', str(work / 'search_history.json')), cost=dict(size=3, checked=True))
    assert readme.startswith('# Search report: work\n\nToy NAS: 1 epoch(s) recorded in `search_history.json` '
                             '(last: epoch 1, iteration 5; frozen in none of them).')
    assert readme.index('## Toy result') < readme.index('## Search settings') < readme.index('## Toy evolution')
    assert '| toy seed | 7 |' in readme and (work / 'report' / 'toy.png').read_bytes() == b'toy'
    write_report(work, cost=False)
    assert seen['cost'] is None  # no cost network asked for: the family's builder is not called


def test_report_of_a_darts_history_is_written_by_the_darts_family(tmp_path):
    """A genotype history (two snapshots of a tiny space, the first frozen) gets the DARTS sections."""
    from nas_backbones.visualization.report import write_report
    from tests.conftest import darts_search
    torch.manual_seed(0)
    space = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=4, layers=3, stem='cifar',
                                       partial_k=2)).space
    entries = [dict(space.snapshot(), epoch=1, iter=2, arch_active=False)]
    with torch.no_grad():
        space.arch.alphas_normal.normal_(0, 1)
    entries.append(dict(space.snapshot(), epoch=2, iter=4, arch_active=True))
    work = write_history(tmp_path / 'work', entries)
    readme = Path(write_report(work, cost=False)).read_text()
    assert readme.startswith('# Search report: work\n\n2 epoch(s) recorded in `search_history.json` (last: '
                             'epoch 2, iteration 4; α/β frozen in 1 of them).')
    assert readme.index('## Final genotype') < readme.index('## Search settings') \
        < readme.index('## How the architecture evolved')
    assert Genotype.from_text(re.search(r'```json\n(.*?)```', readme, re.S).group(1)) == space.derive()
    assert sorted(p.name for p in (work / 'report').iterdir()) == [
        'README.md', 'alpha_normal.png', 'alpha_reduce.png', 'beta.png', 'cell_normal.png', 'cell_reduce.png',
        'parameter_free_ops.png']


def test_report_of_a_result_no_family_registered_names_the_file_and_the_known_ones(tmp_path):
    from nas_backbones.visualization.report import write_report
    work = write_history(tmp_path / 'work', [dict(epoch=1, result=dict(format='someone.else/1'))])
    with pytest.raises(ValueError) as e:
        write_report(work)
    assert str(work / 'search_history.json') in str(e.value) and "'genotype' (nas_backbones.genotype/1)" in str(e.value)
    assert "'architecture' (nas_backbones.singlepath/1)" in str(e.value)
    assert not (work / 'report').exists()


def test_darts_cost_options_are_checked_before_the_search_starts():
    from nas_backbones.spaces.darts.report import cost_network
    from nas_backbones.visualization.report_hook import SearchReportHook
    from tests.conftest import darts_search
    assert cost_network({}) == CostSpec() and cost_network(dict(C=8)) == CostSpec(C=8)
    algo = darts_search(supernet=dict(type='PCDartsSupernet', num_classes=4, C=4, layers=3, stem='cifar',
                                      partial_k=2))

    class Runner:
        model = algo
        visualizer = None

    SearchReportHook(cost=dict(C=8)).before_train(Runner())  # options the family takes
    with pytest.raises(ValueError, match=r"cost: \['channels'\] not known; a DARTS report .* \['C', 'layers'"):
        SearchReportHook(cost=dict(channels=8)).before_train(Runner())


def test_visualize_genotype_writes_png_svg_pdf(tmp_path):
    tool = load_tool('tools/visualize_genotype.py')
    for ext in ('png', 'svg', 'pdf'):
        out = tmp_path / f'nasnet.{ext}'
        assert tool.main(['NASNet', '--out', str(out)]) == str(out)
        assert_image(out, ext)
    # SVG text stays text: every op of both cells is there, 'none' never is.
    svg = (tmp_path / 'nasnet.svg').read_text()
    for op, _ in PUBLISHED['NASNet'].normal + PUBLISHED['NASNet'].reduce:
        assert f'>{op}<' in svg
    assert '>none<' not in svg
    one = tmp_path / 'reduce.svg'
    tool.main(['AmoebaNet', '--cell', 'reduce', '--out', str(one)])
    text = one.read_text()
    assert 'reduce cell' in text and 'normal cell' not in text
    assert '>conv_7x1_1x7<' in text  # an op only AmoebaNet's reduction cell has


def test_visualize_genotype_reads_a_genotype_file(tmp_path):
    path = tmp_path / 'g.json'
    PUBLISHED['PC_DARTS_image'].save(path)
    tool = load_tool('tools/visualize_genotype.py')
    assert tool.main([str(path)]) == str(tmp_path / 'g.png')
    assert_image(tmp_path / 'g.png', 'png')


@pytest.mark.parametrize('argv,message', [
    (['PC_DARTS_image', '--out', 'cells.jpg'], "cells.jpg: unknown image format ('.jpg')"),
    (['PC_DARTS_image', '--out', 'cells'], 'cells: unknown image format (no extension)'),
    (['NoSuchNet', '--out', 'x.png'], "genotype 'NoSuchNet' is neither a published name"),
])
def test_visualize_genotype_errors(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tool = load_tool('tools/visualize_genotype.py')
    with pytest.raises(SystemExit) as exc:
        tool.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_visualize_genotype_names_the_bad_field_of_a_file(tmp_path, capsys):
    bad = PUBLISHED['DARTS_V2'].to_dict()
    bad['normal'][3] = ['none', 0]
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(SystemExit):
        load_tool('tools/visualize_genotype.py').main([str(path), '--out', str(tmp_path / 'x.png')])
    err = capsys.readouterr().err
    assert str(path) in err and "normal[3]: op 'none' cannot be a gene" in err


def test_plotting_stays_out_of_the_import_path():
    # nor Optuna: only a network-level search loads it
    code = ('import sys, nas_backbones, nas_backbones.visualization.report_hook, nas_backbones.network_search; '
            'sys.exit("matplotlib" in sys.modules or "optuna" in sys.modules)')
    assert subprocess.run([sys.executable, '-c', code], cwd=ROOT).returncode == 0


def test_report_hook_failure_is_a_warning_not_a_lost_run(tmp_path):
    """A real runner without GenotypeHook: the hook finds no history, warns, and training ends."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode='loss'):
            return {'loss': self.w(torch.stack(inputs)).pow(2).mean()}

    runner = Runner(
        model=Toy(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 4, batch_size=2,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        custom_hooks=[dict(type='SearchReportHook')],
        default_hooks=dict(checkpoint=None), default_scope='mmdet')
    runner.train()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'SearchReportHook: no search report (FileNotFoundError' in log
    assert 'search_history.json not found' in log
    assert not (tmp_path / 'report').exists()


# ------------------------------------------------------- slow: from a real search
SMALL_COST = dict(C=8, layers=5, input_size=32, num_classes=10)
SMALL_COST_ARGS = ['--cost-C', '8', '--cost-layers', '5', '--cost-input-size', '32',
                   '--cost-num-classes', '10']


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    """A real 2-epoch PC-DARTS search (1 warm-up epoch) that ends with SearchReportHook."""
    from tests.conftest import shared_data
    data = shared_data('tiny-imagenet-10')
    tmp = tmp_path_factory.mktemp('vis_search')
    assert load_tool('tools/dataset/imagenet_subset.py').main(  # 5 + 5 images per class
        [str(data / 'train'), '--out', str(tmp / 'lists'), '--train-frac', '0.01',
         '--val-frac', '0.01', '--seed', '0']) == 0
    # The hook is wired the way a user does it: custom_imports in a config file.
    (tmp / 'search.py').write_text(
        f"_base_ = '{ROOT / 'configs/search/pcdarts_tiny_imagenet.py'}'\n"
        "custom_imports = dict(imports=['nas_backbones',"
        " 'nas_backbones.visualization.report_hook'],"
        " allow_failed_imports=False)\n")
    cfg = Config.fromfile(str(tmp / 'search.py'))
    for loader, split in ((cfg.train_dataloader, 'train'), (cfg.train_cfg.arch_dataloader, 'val')):
        loader.dataset.data_prefix = str(data / 'train')
        loader.dataset.ann_file = str(tmp / 'lists' / f'{split}.txt')
        loader.num_workers = 0
        loader.batch_size = 10
        loader.dataset.pipeline = [dict(type='LoadImageFromFile'),
                                   dict(type='RandomResizedCrop', size=32),
                                   dict(type='PackClsInputs')]
    cfg.model.space.model.num_classes = 10
    cfg.model.space.model.backbone.update(C=8, layers=5)
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.arch_warmup_epochs = 1
    cfg.custom_hooks.append(dict(type='SearchReportHook', cost=SMALL_COST))
    cfg.work_dir = str(tmp / 'work')
    build_runner(cfg).train()
    return tmp / 'work'


def report_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_search_ends_with_a_report(searched):
    report = searched / 'report'
    files = report_files(report)
    readme = files.pop('README.md').decode()
    assert set(files) == {'cell_normal.png', 'cell_reduce.png', 'alpha_normal.png',
                          'alpha_reduce.png', 'beta.png', 'parameter_free_ops.png', 'cost.png'}
    for name in files:
        assert_image(report / name, 'png')
        assert f']({name})' in readme  # every image is shown in the report
    # The final genotype, as GenotypeHook saved it.
    block = re.search(r'```json\n(.*?)```', readme, re.S).group(1)
    assert Genotype.from_text(block) == Genotype.load(searched / 'genotype.json')
    # Settings come from the dumped config: the overrides of this run, not the file's defaults.
    assert '| epochs | 2 |' in readme and '| α/β warm-up epochs (frozen) | 1 |' in readme
    assert '| channels per node C | 8 |' in readme and '| crop size | 32 |' in readme
    # One table row per epoch; the first is the warm-up.
    rows = re.findall(r'^\| (\d+) \| (yes|no \(warm-up\)) \|', readme, re.M)
    assert rows == [('1', 'no (warm-up)'), ('2', 'yes')]
    # One epoch of architecture steps: the report says the search learned nothing measurable.
    assert '## Did the search learn anything?' in readme
    assert '**Warning: the search learned nothing measurable: only ' in readme
    # The full config is what ran: no stale parse-time variables of the config files (the
    # file's `max_epochs = 4`, while this run's train_cfg has 2), which are named as left out.
    full = readme.split('<summary>Full config (what ran)</summary>')[1].split('</details>')[0]
    code = full.split('```python')[1]
    assert 'max_epochs=2' in code.replace(' ', '') and not re.search(r'^max_epochs\s*=', code, re.M)
    assert '`max_epochs`' in full.split('```python')[0]
    # The cost says which network it is of.
    assert 'not the supernet that was searched, and not your detector' in readme
    assert 'params (classifier C=8, 5 cells, 32 px)' in readme


@pytest.mark.slow
def test_report_cost_matches_the_complexity_tool(searched):
    readme = (searched / 'report' / 'README.md').read_text()
    complexity = load_tool('tools/analysis/complexity.py')
    ref = complexity.main(['--genotype', str(searched / 'genotype.json'), '--C', '8',
                           '--layers', '5', '--input-size', '32', '--num-classes', '10'])
    assert (f'**Cost**: {ref["params"] / 1e6:.3f} M parameters, {ref["flops"] / 1e6:.1f} M FLOPs'
            in readme)
    assert CostSpec(**SMALL_COST).describe() in readme


@pytest.mark.slow
def test_report_regenerates_from_the_history_alone(searched, tmp_path):
    work = tmp_path / 'work'
    shutil.copytree(searched, work)
    before = report_files(work / 'report')
    shutil.rmtree(work / 'report')
    # Checkpoints and logs are not needed: only the history (and the dumped config).
    for ckpt in work.glob('*.pth'):
        ckpt.unlink()
    tool = load_tool('tools/analysis/search_report.py')
    assert tool.main([str(work)] + SMALL_COST_ARGS) == str(work / 'report' / 'README.md')
    after = report_files(work / 'report')
    assert after.keys() == before.keys()
    assert after == before  # byte-identical README and images


@pytest.mark.slow
def test_report_without_cost_and_with_a_broken_history(searched, tmp_path, capsys):
    work = tmp_path / 'work'
    work.mkdir()
    history = json.loads((searched / 'search_history.json').read_text())
    (work / 'search_history.json').write_text(json.dumps(history))
    tool = load_tool('tools/analysis/search_report.py')
    readme = Path(tool.main([str(work), '--no-cost'])).read_text()
    assert 'FLOPs' not in readme and 'No dumped config found' in readme
    assert not (work / 'report' / 'cost.png').exists()
    history['history'][1]['alpha_reduce'] = history['history'][1]['alpha_reduce'][:13]
    (work / 'search_history.json').write_text(json.dumps(history))
    with pytest.raises(SystemExit):
        tool.main([str(work), '--no-cost'])
    assert 'epoch 2: alpha_reduce must be 14 edges x 8 ops' in capsys.readouterr().err


@pytest.mark.slow
def test_visualize_genotype_of_the_search_result(searched, tmp_path):
    tool = load_tool('tools/visualize_genotype.py')
    for ext in ('png', 'svg', 'pdf'):
        out = tmp_path / f'cells.{ext}'
        tool.main([str(searched / 'genotype.json'), '--out', str(out)])
        assert_image(out, ext)
    svg = (tmp_path / 'cells.svg').read_text()
    genotype = Genotype.load(searched / 'genotype.json')
    for op, _ in genotype.normal + genotype.reduce:
        assert f'>{op}<' in svg


def test_history_entry_checks_name_the_file_the_entry_and_the_missing_fields():
    """Both families check their histories with one helper: an error names where and what is missing."""
    from nas_backbones.visualization.families import check_entry_fields
    check_entry_fields([{'epoch': 1, 'genotype': {}}], 'h.json', ('epoch', 'genotype'))
    with pytest.raises(ValueError, match=r"h.json: history\[1\]: expected an object, got list"):
        check_entry_fields([{'epoch': 1}, []], 'h.json', ('epoch',))
    with pytest.raises(ValueError, match=r"h.json: history\[0\]: missing field\(s\) \['alpha_normal'\]"):
        check_entry_fields([{'epoch': 1, 'genotype': {}}], 'h.json', ('epoch', 'genotype', 'alpha_normal'))

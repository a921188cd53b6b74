"""Detection search: the cost of a step against an SSD training step, what recomputation saves, and SSD
with a detection-searched cell against a crop-searched one and the published PC_DARTS_image.

``--part step`` (default): random images at 300 px with 3 boxes each, 80 classes. One step of
``DifferentiableSearch.train_step`` of ``configs/search/pcdarts_ssd_coco.py`` (first order:
architecture step on one batch, weight step on another; with ``--second-order`` also
``unrolled=True``), its weight step alone (what a warm-up epoch runs), and one training step of
``configs/ssd_pcdarts_coco.py`` (SSD300 with PC_DARTS_image, C=48, 14 cells), all through the
configs' own preprocessing, optimizers and clipping. Activation memory: what autograd keeps for
backward during the weight step's forward (``torch.autograd.graph.saved_tensors_hooks``, each
storage once, parameters and buffers excluded), per image, for the search network plain, with
``recompute=True`` (stem + 1x1 preprocessing) and ``with_cp=True`` (whole cells).

``--part compare``: on the demo's generated shapes (data/synthetic_coco, made if absent), per
seed: the detection search (``configs/search/pcdarts_ssd_demo.py``), the search on object crops
of the same train images (``configs/search/pcdarts_demo.py``), then SSD
(``configs/ssd_pcdarts_demo.py``, 24 epochs, the same seed) with each found cell and with
PC_DARTS_image; bbox mAP on the val images and the backbone's MACs at 192 px.

    python benchmarks/detection_search.py --json benchmarks/results/detection_search_step.json
    python benchmarks/detection_search.py --part compare --seeds 0 1 \\
        --json benchmarks/results/detection_search_compare.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import MB, benchmark_parser, fmt_table, run_benchmark, setup

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ROOT / 'configs/search/pcdarts_ssd_coco.py'
SSD = ROOT / 'configs/ssd_pcdarts_coco.py'


# ------------------------------------------------------------------ step cost
def det_batch(n: int, size: int, seed: int) -> dict:
    """uint8 images and 3 random boxes each, as the data loader hands them to the preprocessor."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
        ds = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                         scale_factor=(1., 1.)))
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = size * (0.05 + 0.35 * torch.rand(3, 2, generator=g))
        ds.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                       labels=torch.randint(0, 80, (3,), generator=g))
        samples.append(ds)
    return {'inputs': inputs, 'data_samples': samples}


def build(config: Path, options: dict, seed: int = 0):
    """The config's model and its optimizer wrapper(s), at ``seed``."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(options)
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def activation_bytes(model, batch: dict) -> int:
    """Bytes saved for backward by the weight step's forward (its loss)."""
    skip = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        if st.data_ptr() not in skip:
            seen[st.data_ptr()] = st.nbytes()
        return t

    data = model.data_preprocessor(batch, True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        losses = model(**data, mode='loss')
    del losses
    return sum(seen.values())


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` after one warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def run_step(args: argparse.Namespace) -> dict:
    info = setup(args)
    b, size = args.batch, args.size
    weights, arch = det_batch(b, size, 1), det_batch(b, size, 2)
    rows = []

    def row(name, model, optim, step, memory=True):
        wall, cpu = timed(step, args.repeats)
        r = dict(run=name, batch=b, step_s=wall, cpu_s=cpu, img_s=b / wall)
        if memory:
            r['act_mb_per_image'] = activation_bytes(model, weights) / b / MB
        rows.append(r)
        print(f"{name}: {wall:.2f} s", file=sys.stderr, flush=True)

    variants = [('search', {}), ('search, recompute', {'recompute': True}),
                ('search, with_cp', {'with_cp': True})]
    for name, bb in variants:
        opts = {f'model.space.detector.backbone.{k}': v for k, v in bb.items()}
        algo, optim = build(SEARCH, opts)
        row(name, algo, optim, lambda: algo.train_step(dict(weights=weights, arch=arch), optim))
        if not bb:
            row('search, weight step only (warm-up)', algo, optim,
                lambda: algo.train_step(dict(weights=weights, arch=None), optim), memory=False)
    if args.second_order:
        algo, optim = build(SEARCH, {'model.unrolled': True})
        row('search, second order', algo, optim,
            lambda: algo.train_step(dict(weights=weights, arch=arch), optim), memory=False)
    for name, opts in (('SSD300 PC_DARTS_image', {}),
                       ('SSD300 PC_DARTS_image, with_cp', {'model.backbone.with_cp': True})):
        ssd, optim = build(SSD, opts)
        row(name, ssd, optim, lambda: ssd.train_step(weights, optim))
    add_ratios(rows)
    return dict(machine=info, part='step', size=size, batch=b, repeats=args.repeats, rows=rows)


def add_ratios(rows: list[dict]) -> None:
    """Wall and CPU time against the SSD300 step, memory against the plain search step."""
    ssd = next(x for x in rows if x['run'] == 'SSD300 PC_DARTS_image')
    for r in rows:
        r['time_vs_ssd_step'] = r['step_s'] / ssd['step_s']
        r['cpu_vs_ssd_step'] = r['cpu_s'] / ssd['cpu_s']
        if 'act_mb_per_image' in r and r['run'].startswith('search'):
            r['memory_vs_plain'] = r['act_mb_per_image'] / rows[0]['act_mb_per_image']


# -------------------------------------------------------------- cell compare
def tool(*args: str, log: Path) -> None:
    """A project tool, its output in ``log``; raise with the tail of it if it fails."""
    env = dict(os.environ, OMP_NUM_THREADS=str(os.environ.get('OMP_NUM_THREADS', '1')),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p))
    print('$ python ' + ' '.join(args), file=sys.stderr, flush=True)
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                              env=env)
    if proc.returncode:
        raise RuntimeError(f'{args[0]} failed ({proc.returncode}); see {log}:\n'
                           + log.read_text()[-3000:])


def coco_map(log: Path) -> list[float]:
    """The last CocoMetric summary: mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l."""
    lines = re.findall(r'bbox_mAP_copypaste: ([-\d. ]+)', log.read_text())
    if not lines:
        raise RuntimeError(f'no CocoMetric result in {log}')
    return [float(v) for v in lines[-1].split()]


def backbone_cost(genotype: str) -> dict:
    """Params and MACs of the demo SSD's backbone with ``genotype`` at 192 px (complexity.py's count)."""
    from tools.analysis.complexity import config_model, measure
    model = config_model(str(ROOT / 'configs/ssd_pcdarts_demo.py'),
                         {'model.backbone.genotype': genotype}, 'backbone')
    m = measure(model, 'backbone', (192, 192))
    return dict(params_m=m['params'] / 1e6, gmacs=m['flops'] / 1e9)


def run_compare(args: argparse.Namespace) -> dict:
    info = setup(args)
    os.environ['OMP_NUM_THREADS'] = str(args.threads)
    out = Path(args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    coco = 'data/synthetic_coco'
    if not (ROOT / coco / 'annotations/instances_val.json').is_file():
        tool('tools/dataset/make_synthetic_coco.py', coco, log=out / 'make_data.log')
    if not (ROOT / 'data/synthetic_crops').is_dir():
        from nas_backbones.datasets.crops import export_box_crops
        export_box_crops(str(ROOT / coco / 'annotations/instances_train.json'), str(ROOT / coco / 'train'),
                         str(ROOT / 'data/synthetic_crops'))
    # The demo's splits: a quarter of the train images (of each class's crops) for each level.
    tool('tools/dataset/coco_split.py', f'{coco}/annotations/instances_train.json', '--out',
         'data/synthetic_coco_search', '--train-frac', '0.25', '--val-frac', '0.25', '--seed', '0',
         log=out / 'coco_split.log')
    tool('tools/dataset/imagenet_subset.py', 'data/synthetic_crops', '--out', 'data/synthetic_crops_search',
         '--train-frac', '0.25', '--val-frac', '0.25', '--seed', '0', log=out / 'crop_split.log')
    rows = []
    for seed in args.seeds:
        cells = {'PC_DARTS_image': 'PC_DARTS_image'}
        for name, config in (('detection-searched', 'configs/search/pcdarts_ssd_demo.py'),
                             ('crop-searched', 'configs/search/pcdarts_demo.py')):
            wd = out / f'{name}_s{seed}'
            t0 = time.perf_counter()
            if not (args.reuse and (wd / 'genotype.json').is_file()):
                tool('tools/search.py', config, '--work-dir', str(wd), '--cfg-options',
                     f'randomness.seed={seed}', log=out / f'{name}_s{seed}.log')
            cells[name] = str(wd / 'genotype.json')
            rows.append(dict(seed=seed, run=f'search: {name}', minutes=(time.perf_counter() - t0) / 60))
        for name, genotype in cells.items():
            wd = out / f'ssd_{name}_s{seed}'
            t0 = time.perf_counter()
            log = out / f'ssd_{name}_s{seed}.log'
            if not (args.reuse and log.is_file() and 'bbox_mAP_copypaste' in log.read_text()):
                tool('tools/train.py', 'configs/ssd_pcdarts_demo.py', '--work-dir', str(wd),
                     '--cfg-options', f'model.backbone.genotype={genotype}', f'randomness.seed={seed}',
                     log=log)
            m = coco_map(log)
            rows.append(dict(seed=seed, run=f'SSD: {name}', minutes=(time.perf_counter() - t0) / 60,
                             bbox_mAP=m[0], mAP_50=m[1], mAP_75=m[2],
                             genotype=json.loads(Path(genotype).read_text()) if genotype.endswith('.json')
                             else genotype, **backbone_cost(genotype)))
            print(f'seed {seed} {name}: mAP {m[0]}', file=sys.stderr, flush=True)
    return dict(machine=info, part='compare', seeds=args.seeds, rows=rows)


def run(args: argparse.Namespace) -> dict:
    return run_step(args) if args.part == 'step' else run_compare(args)


def table(result: dict) -> str:
    if result['part'] == 'step':
        return fmt_table(result['rows'], [
            ('run', 'run'), ('batch', 'batch'), ('step_s', 'step s'), ('cpu_s', 'CPU s'),
            ('time_vs_ssd_step', 'time / SSD step'), ('cpu_vs_ssd_step', 'CPU time / SSD step'),
            ('act_mb_per_image', 'act. MB/img'),
            ('memory_vs_plain', 'memory vs plain search')])
    return fmt_table([r for r in result['rows'] if 'bbox_mAP' in r] + [r for r in result['rows']
                                                                       if 'bbox_mAP' not in r], [
        ('seed', 'seed'), ('run', 'run'), ('bbox_mAP', 'bbox mAP'), ('mAP_50', 'mAP 50'),
        ('mAP_75', 'mAP 75'), ('gmacs', 'backbone GMACs @192'), ('params_m', 'backbone params M'),
        ('minutes', 'minutes')])


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=3)
    p.add_argument('--part', choices=('step', 'compare'), default='step')
    p.add_argument('--batch', type=int, default=2, help='step: images per split (default 2)')
    p.add_argument('--size', type=int, default=300, help='step: input size (default 300)')
    p.add_argument('--second-order', action='store_true', help='step: also time unrolled=True')
    p.add_argument('--seeds', type=int, nargs='+', default=[0], help='compare: seeds (default 0)')
    p.add_argument('--work-dir', default='work_dirs/benchmark_detection_search',
                   help='compare: where the searches and trainings go')
    p.add_argument('--reuse', action='store_true',
                   help='compare: keep the searches and trainings already in --work-dir (their '
                        "'minutes' are then 0) and run only what is missing")
    return p


if __name__ == '__main__':
    run_benchmark(parser(), run, table)

"""Derived networks: latency, throughput, FLOPs and parameters, next to MMDetection's SSDs.

Models, each built from its config with random initialisation (nothing is
downloaded; ``init_weights`` is never called):

- ``pcdarts``: ``configs/ssd_pcdarts_coco.py`` (PC_DARTS_image, C=48, 14 cells);
- ``ssd300_vgg16``: ``mmdet::ssd/ssd300_coco.py``;
- ``ssdlite_mobilenetv2``: ``mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py``;
- ``ssdlite_spnas``: ``configs/ssdlite_spnas_coco.py`` (SSDLite with the SPNAS_Pixel1 backbone);
- ``ssdlite_pcdarts``: ``configs/ssdlite_pcdarts_coco.py`` (SSDLite with the PC-DARTS backbone).

Each is measured whole (backbone + neck + head convolutions: the detector's
``tensor`` mode, without anchor decoding and NMS, whose cost with random weights
says nothing) and as its backbone alone, at every input size, in eval mode
under ``torch.no_grad``. Latency is the median wall time of one forward at a
batch size; throughput is batch / latency at the largest batch. FLOPs are
multiply-adds counted by ``tools/analysis/complexity.py`` (mmengine's
FlopAnalyzer) at batch 1.

    python benchmarks/derived.py
    python benchmarks/derived.py --models pcdarts --sizes 320 --batches 1 8 --threads 2 --json out.json
    python benchmarks/derived.py --models pcdarts --sizes 300 --batches 1 8 --compile   # torch.compile
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import torch
import torch.nn as nn

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import benchmark_parser, fmt_table, run_benchmark, setup

MODELS = {
    'pcdarts': str(ROOT / 'configs' / 'ssd_pcdarts_coco.py'),
    'ssd300_vgg16': 'mmdet::ssd/ssd300_coco.py',
    'ssdlite_mobilenetv2': 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
    'ssdlite_spnas': str(ROOT / 'configs' / 'ssdlite_spnas_coco.py'),
    'ssdlite_pcdarts': str(ROOT / 'configs' / 'ssdlite_pcdarts_coco.py'),
}


def complexity_tool():
    """``tools/analysis/complexity.py`` as a module (its ``measure`` is the project's FLOP count)."""
    path = ROOT / 'tools' / 'analysis' / 'complexity.py'
    spec = importlib.util.spec_from_file_location('nas_complexity', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_detector(config: str) -> nn.Module:
    from mmdet.registry import MODELS as REGISTRY
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.registry import init_default_scope
    cfg = get_config(config) if '::' in config else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return REGISTRY.build(cfg.model).eval()


def latency(fn, x: torch.Tensor, repeats: int, sync=None) -> dict:
    """Wall and CPU time of one call after a warm-up (the CPU time of this process suffers less from a
    loaded machine); ``sync`` (e.g. ``torch.cuda.synchronize``) is called before each clock read."""
    sync = sync or (lambda: None)
    with torch.no_grad():
        fn(x)  # warm-up
        samples, cpu = [], []
        for _ in range(repeats):
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            fn(x)
            sync()
            samples.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return dict(median_s=statistics.median(samples), min_s=min(samples), cpu_s=statistics.median(cpu))


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    tool = complexity_tool()
    rows = []
    for name in args.models:
        det = build_detector(MODELS[name])
        parts = {'detector': det._forward, 'backbone': det.backbone}
        for size in args.sizes:
            for part, fn in parts.items():
                cx = tool.measure(det, 'model' if part == 'detector' else 'backbone', (size, size))
                row = dict(model=name, part=part, input=size, params_m=cx['params'] / 1e6,
                           gflops=cx['flops'] / 1e9)
                if args.compile:  # one compiled graph per part; its first call compiles
                    fn = torch.compile(fn)
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        fn(torch.randn(args.batches[0], 3, size, size))
                    row.update(compiled=True, compile_s=time.perf_counter() - t0)
                for b in args.batches:
                    reps = args.repeats if b <= 4 else args.repeats_large
                    t = latency(fn, torch.randn(b, 3, size, size), reps)
                    row[f'latency_b{b}_ms'] = 1e3 * t['median_s']
                    row[f'cpu_b{b}_ms'] = 1e3 * t['cpu_s']
                    row[f'images_per_s_b{b}'] = b / t['median_s']
                rows.append(row)
                print(f'{name} {part} {size}: ' + ', '.join(
                    f'b{b} {row[f"latency_b{b}_ms"]:.0f} ms' for b in args.batches),
                    file=sys.stderr, flush=True)
        del det
    return dict(benchmark='derived', machine=info, settings=dict(
        threads=args.threads, repeats=args.repeats, repeats_large=args.repeats_large,
        batches=args.batches, sizes=args.sizes, compile=args.compile,
        mode='eval, no_grad, tensor mode (no NMS)',
        flops='multiply-adds, batch 1 (tools/analysis/complexity.py)'), rows=rows)


def table(result: dict) -> str:
    b = result['settings']['batches']
    cols = [('model', 'model'), ('part', 'part'), ('input', 'input'), ('params_m', 'params M'),
            ('gflops', 'GMACs')]
    cols += [(f'latency_b{n}_ms', f'latency b{n} ms') for n in b]
    cols += [(f'images_per_s_b{max(b)}', f'img/s b{max(b)}')]
    if args_cpu(result):
        cols += [(f'cpu_b{n}_ms', f'CPU b{n} ms') for n in b]
    if any(r.get('compiled') for r in result['rows']):
        cols += [('compile_s', 'compile s')]
    return fmt_table(result['rows'], cols)


def args_cpu(result: dict) -> bool:
    """Older results have no CPU times."""
    return all(f'cpu_b{result["settings"]["batches"][0]}_ms' in r for r in result['rows'])


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=5)
    p.add_argument('--models', nargs='+', default=['pcdarts', 'ssd300_vgg16', 'ssdlite_mobilenetv2'],
                   choices=list(MODELS))
    p.add_argument('--sizes', nargs='+', type=int, default=[300, 320])
    p.add_argument('--batches', nargs='+', type=int, default=[1, 32])
    p.add_argument('--compile', action='store_true',
                   help='measure torch.compile(...) of each part (compile time reported apart)')
    p.add_argument('--repeats-large', type=int, default=1,
                   help='timed repeats at batches above 4 (default %(default)s)')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()

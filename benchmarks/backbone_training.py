"""Training the derived detection backbone: activation memory and time, with and without ``with_cp``.

``DartsBackbone`` (PC_DARTS_image, C=48, 14 cells, stages 1-3 as SSD reads them)
in training mode: one forward + backward of the sum of its outputs at each
input size. Activation memory is what autograd keeps for backward during the
forward (``torch.autograd.graph.saved_tensors_hooks``, each storage once,
parameters excluded), per image. ``with_cp=True`` keeps only each cell's
inputs and recomputes the cell in backward.

    python benchmarks/backbone_training.py
    python benchmarks/backbone_training.py --sizes 300 512 --batch 4 --json out.json
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import MB, benchmark_parser, fmt_table, run_benchmark, setup
from nas_backbones.spaces.darts import DartsBackbone


def saved_bytes(net: torch.nn.Module, x: torch.Tensor) -> int:
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        if st.data_ptr() not in params:
            seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x)
    return sum(seen.values())


def step_seconds(net: torch.nn.Module, x: torch.Tensor, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of forward + backward, after one warm-up."""
    wall, cpu = [], []
    for r in range(repeats + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        sum(o.sum() for o in net(x)).backward()
        if r:
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    rows = []
    for size in args.sizes:
        x = torch.randn(args.batch, 3, size, size)
        for with_cp in (False, True):
            torch.manual_seed(0)
            net = DartsBackbone(args.genotype, with_cp=with_cp).train()
            wall, cpu = step_seconds(net, x, args.repeats)
            rows.append(dict(genotype=args.genotype, size=size, batch=args.batch, with_cp=with_cp,
                             act_mb_per_image=saved_bytes(net, x) / args.batch / MB,
                             step_s=wall, cpu_s=cpu))
            print(f'{size} with_cp={with_cp}: {wall:.3f} s, {rows[-1]["act_mb_per_image"]:.1f} MB/img',
                  file=sys.stderr, flush=True)
        plain, cp = rows[-2], rows[-1]
        cp['mem_ratio'] = cp['act_mb_per_image'] / plain['act_mb_per_image']
        cp['time_ratio'] = cp['cpu_s'] / plain['cpu_s']
    return dict(benchmark='backbone_training', machine=info,
                settings=dict(threads=args.threads, repeats=args.repeats, batch=args.batch,
                              genotype=args.genotype), rows=rows)


def table(result: dict) -> str:
    return fmt_table(result['rows'], [
        ('size', 'input'), ('batch', 'batch'), ('with_cp', 'with_cp'), ('step_s', 'fwd+bwd s'),
        ('cpu_s', 'CPU s'), ('act_mb_per_image', 'act. MB/img'), ('mem_ratio', 'memory ratio'),
        ('time_ratio', 'CPU time ratio')])


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=3)
    p.add_argument('--genotype', default='PC_DARTS_image')
    p.add_argument('--sizes', nargs='+', type=int, default=[300, 320])
    p.add_argument('--batch', type=int, default=2)
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()

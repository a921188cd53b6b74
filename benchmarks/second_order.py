"""Second-order (DARTS eq. 7-8) search step against the first-order one, same supernet and data.

A first-order step is 2 forward/backward passes: the architecture pass (weights
frozen, so no weight gradients) and the weight pass. A second-order step is 5:
the virtual weight step (weight gradients), the validation pass at w' (alpha and
w' gradients), two passes at w +- R v for the finite-difference Hessian-vector
product (alpha gradients only), and the weight pass. The script also times the
two kinds of pass alone, which gives the ratio those pass counts imply:
(3 P_full + 2 P_alpha) / (P_full + P_alpha) >= 2.5.

    python benchmarks/second_order.py
    python benchmarks/second_order.py --configs darts_cifar --batch 16 --repeats 5 --json out.json
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


from benchmarks.common import benchmark_parser, fmt_table, run_benchmark, setup
from benchmarks.supernet_step import batches, build, time_steps

# name: (setting, K, edge normalization)
CONFIGS = {
    'darts_cifar': ('cifar', 1, False),      # the setting DARTS searched with second order
    'pcdarts_cifar': ('cifar', 4, True),
    'pcdarts_imagenet': ('imagenet', 2, True),
}


def pass_costs(algo, data: dict, repeats: int, sync=None) -> dict:
    """Seconds of one forward/backward pass with weight gradients, and of one with alpha gradients only.

    ``sync``: called before reading each clock (``torch.cuda.synchronize`` on a GPU).
    """
    sync = sync or (lambda: None)
    batch = algo.data_preprocessor(data['weights'], True)

    def full():
        algo.zero_all_grads()
        algo.loss_of(algo, batch)[0].backward()

    def alpha_only():
        algo.zero_all_grads()
        with algo.weights_frozen():
            algo.loss_of(algo, batch)[0].backward()

    out = {}
    for name, fn in (('full', full), ('alpha_only', alpha_only)):
        fn()
        samples = []
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            samples.append(time.perf_counter() - t0)
        out[name] = statistics.median(samples)
    algo.zero_all_grads()
    return out


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    rows = []
    for name in args.configs:
        setting, k, edge_norm = CONFIGS[name]
        batch = args.batch if args.batch else (2 if setting == 'imagenet' else 8)
        data = batches(setting, batch)
        runs = {order: build(setting, k, edge_norm, unrolled=order == 'second')
                for order in ('first', 'second')}
        t = time_steps(runs, data, args.repeats)
        p = pass_costs(runs['first'][0], data, args.repeats)
        bound = (3 * p['full'] + 2 * p['alpha_only']) / (p['full'] + p['alpha_only'])
        rows.append(dict(config=name, setting=setting, k=k, edge_norm=edge_norm, batch=batch,
                         first_order_s=t['first']['step_s'], second_order_s=t['second']['step_s'],
                         ratio=t['second']['step_s'] / t['first']['step_s'],
                         cpu_ratio=t['second']['cpu_s'] / t['first']['cpu_s'],
                         pass_full_s=p['full'], pass_alpha_only_s=p['alpha_only'],
                         pass_count_ratio=bound, timings=t))
        print(f'{name}: second/first = {rows[-1]["ratio"]:.2f} (pass-count ratio {bound:.2f})',
              file=sys.stderr, flush=True)
    return dict(benchmark='second_order', machine=info,
                settings=dict(threads=args.threads, repeats=args.repeats), rows=rows)


def table(result: dict) -> str:
    return fmt_table(result['rows'], [
        ('config', 'config'), ('k', 'K'), ('batch', 'batch'), ('first_order_s', '1st-order step s'),
        ('second_order_s', '2nd-order step s'), ('ratio', '2nd / 1st'), ('cpu_ratio', '2nd / 1st (CPU time)'),
        ('pass_full_s', 'pass with dW s'), ('pass_alpha_only_s', 'pass, dalpha only s'),
        ('pass_count_ratio', 'ratio implied by the pass counts')])


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=3)
    p.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument('--batch', type=int, default=0, help='default: 2 (ImageNet setting), 8 (CIFAR)')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()

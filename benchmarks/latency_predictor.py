"""6. Latency predictor against the lookup table: relative error on held-out sampled architectures.

Samples ``--n`` random genotypes of the DARTS space, builds each one's network
at a fixed macro-architecture (default: the tiny search's, C=8, 5 cells,
64x64, 10 classes) and times it (eval mode, batch 1, one thread: the median
of ``--repeats`` calls, the smallest of ``--rounds`` such medians; eager
PyTorch, and ONNX Runtime when it is installed). ``--clock cpu`` (the
default) times the process's CPU time, not the wall clock: on a machine
shared with other jobs the wall clock mostly measures them. Each network is timed a
second time at the end (``repeat``): the relative difference of the two
is the measurement's own noise, a floor under any estimate's error. A random ``--holdout``
of them is kept out of every fit. Compared on it, against the measured time:

- ``predictor``: the MLP on the encoding (``core/predictor.py``), fitted on the rest;
  ``predictor, per edge``: the same on the encoding with every edge's op too;
- ``table``: the lookup table's additive estimate, what ``ResourceCost(metric='latency')``
  optimises: the sum of the derived cells' op latencies, each op timed alone;
- ``table + affine``: the same sum through ``a * sum + b`` fitted (least squares)
  on the predictor's training architectures, i.e. with the stem, the
  preprocessing and the head as a constant and a global scale.

``--space singlepath``: random Single-Path architectures of the tiny search's
supernet (``--width-mult`` 0.5, the reference's blocks, 64x64, 10 classes), each
deployed classifier timed alike; ``table`` is then the runtime model's estimate
``const + sum_l R_l`` (what ``RuntimeModel(metric='latency')`` optimises: the
four variants of every searchable layer and the fixed parts, each timed alone),
and the predictor's features the Single-Path encoding (no per-edge variant).
"""
from __future__ import annotations

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import benchmark_parser, fmt_table, run_benchmark, setup  # noqa: E402


def compare(which, seconds, again, features, additive, args) -> list[dict]:
    """Per backend, each estimate's relative error on the held-out architectures."""
    from nas_backbones.core.predictor import fit_with_holdout, relative_errors
    rows = []
    for b in which:
        y = torch.tensor(seconds[b])
        estimates, extra = {}, {}
        for name, X in features.items():
            t2 = time.perf_counter()
            model, figures, test = fit_with_holdout(X, y, args.holdout, args.seed, hidden=args.hidden,
                                                    steps=args.steps)
            estimates[name] = model(X[test]).detach()
            extra[name] = dict(fit_s=time.perf_counter() - t2, features=X.size(1),
                               train_mean=figures['train']['mean'])
        train = torch.tensor([i for i in range(len(y)) if i not in set(test.tolist())])
        A = torch.stack([additive[train], torch.ones(len(train))], 1).double()
        a, c = torch.linalg.lstsq(A, y[train].double()[:, None]).solution.flatten().tolist()
        estimates.update({'table': additive[test], 'table + affine': a * additive[test] + c,
                          'repeat (noise)': torch.tensor(again[b])[test]})
        extra['table + affine'] = dict(affine=dict(a=a, b_ms=c * 1e3))
        extra['repeat (noise)'] = dict(measured_ms=dict(min=float(y.min()) * 1e3, median=float(y.median()) * 1e3,
                                                        max=float(y.max()) * 1e3))
        for name, est in estimates.items():
            e = relative_errors(est.float(), y[test])
            rows.append(dict(backend=b, estimate=name, **{k: e[k] for k in ('mean', 'median', 'p90', 'max')},
                             spearman=e.get('spearman'), n_holdout=e['n'], n_train=len(train),
                             **extra.get(name, {})))
    return rows


def run_singlepath(args, info) -> dict:
    """The same comparison for random Single-Path architectures (see the module's docstring)."""
    import random

    from nas_backbones.core.latency import time_module
    from nas_backbones.core.predictor import backends, measure_latency
    from nas_backbones.spaces.singlepath import SinglePathEncoding, expected_runtime, make_layout
    from nas_backbones.spaces.singlepath.cost import measure_costs
    from nas_backbones.spaces.singlepath.encoding import _network
    from nas_backbones.spaces.singlepath.sample import random_architecture
    layout = make_layout(None, args.width_mult)
    rng = random.Random(args.seed)
    archs = [random_architecture(layout, rng) for _ in range(args.n)]
    which = [b for b in args.backends if b in backends()]
    shape = (3, args.input_size, args.input_size)
    seconds, again = {b: [] for b in which}, {b: [] for b in which}
    t0 = time.perf_counter()
    for out in (seconds, again):
        for a in archs:
            net = _network(a, args.num_classes)
            for b in which:
                out[b].append(measure_latency(net, shape, 'cpu', 1, args.repeats, b, args.rounds, args.clock))
    measure_s = time.perf_counter() - t0
    timer = time.process_time if args.clock == 'cpu' else time.perf_counter
    t1 = time.perf_counter()
    costs, const = measure_costs(layout, (args.input_size, args.input_size),
                                 lambda key, build, shp: time_module(build(), shp, 'cpu', 1, 20, timer),
                                 args.num_classes)
    table_s = time.perf_counter() - t1
    enc = SinglePathEncoding(layout)
    features = {'predictor': torch.stack([enc.of_architecture(a) for a in archs])}
    decisions = [torch.tensor([[float(c.kernel == 5), float(c.expansion == 6), float(not c.skip)]
                               for spec, c in a.layers() if spec.searchable], dtype=torch.float64) for a in archs]
    additive = torch.tensor([float(expected_runtime(d, torch.tensor(costs, dtype=torch.float64), const))
                             for d in decisions])
    rows = compare(which, seconds, again, features, additive, args)
    return dict(machine=info, settings=dict(space='singlepath', n=args.n, holdout=args.holdout,
                                            width_mult=args.width_mult, input_size=args.input_size,
                                            num_classes=args.num_classes, repeats=args.repeats,
                                            rounds=args.rounds, clock=args.clock, hidden=args.hidden,
                                            steps=args.steps, seed=args.seed, backends=which),
                seconds=dict(measure=measure_s, table=table_s), table=dict(costs=costs, const=const),
                rows=rows, measured=seconds, measured_again=again)


def run(args) -> dict:
    info = setup(args)
    if args.space == 'singlepath':
        return run_singlepath(args, info)
    from mmengine.registry import init_default_scope

    import nas_backbones  # noqa: F401
    from nas_backbones.core.latency import time_module
    from nas_backbones.core.predictor import backends, measure_latency
    from nas_backbones.spaces.darts import PCDartsSupernet, build_op
    from nas_backbones.spaces.darts.cost import edge_cost_tables
    from nas_backbones.spaces.darts.encoding import DartsEncoding, network_of, sample_networks, stage_cells_of
    from nas_backbones.spaces.darts.layout import reduction_indices
    init_default_scope('mmdet')
    stage_cells = stage_cells_of(args.layers, reduction_indices(args.layers))
    samples = sample_networks(args.n, args.seed, [args.C], [args.input_size], [[n] for n in stage_cells])
    which = [b for b in args.backends if b in backends()]
    skipped = [b for b in args.backends if b not in which]
    shape = (3, args.input_size, args.input_size)
    seconds = {b: [] for b in which}
    again = {b: [] for b in which}
    t0 = time.perf_counter()
    if args.reuse:  # refit on the measurements of an earlier run (same --n, --seed, macro)
        with open(args.reuse) as f:
            old = json.load(f)
        for key in ('n', 'seed', 'C', 'layers', 'input_size', 'num_classes', 'clock'):
            if old['settings'][key] != getattr(args, key):
                raise SystemExit(f'--reuse {args.reuse}: measured with {key}={old["settings"][key]}')
        which = [b for b in old['measured'] if b in args.backends]
        seconds = {b: old['measured'][b] for b in which}
        again = {b: old['measured_again'][b] for b in which}
        info['reused'] = dict(file=args.reuse, machine=old['machine'])
    for rep, out in enumerate(() if args.reuse else (seconds, again)):
        for i, s in enumerate(samples):
            net = network_of(s, 'imagenet', args.num_classes)
            for b in which:
                out[b].append(measure_latency(net, shape, 'cpu', 1, args.repeats, b, args.rounds, args.clock))
            if (i + 1) % 25 == 0:
                print(f'pass {rep + 1}: measured {i + 1}/{len(samples)} ({time.perf_counter() - t0:.0f} s)',
                      file=sys.stderr)
    measure_s = time.perf_counter() - t0
    encodings = {'predictor': DartsEncoding(), 'predictor, per edge': DartsEncoding(per_edge=True)}
    features = {k: torch.stack([e.of_network(s['genotypes'], args.C, args.input_size, stage_cells)
                                for s in samples]) for k, e in encodings.items()}
    encoding = encodings['predictor']
    # The lookup table of the same network's ops (what a latency-aware cell search sums), timed
    # alone on the same clock as the networks.
    t1 = time.perf_counter()
    supernet = PCDartsSupernet(num_classes=args.num_classes, C=args.C, layers=args.layers)
    if args.reuse and 'table' in old:
        table_costs = old['table']
    else:
        timer = time.process_time if args.clock == 'cpu' else time.perf_counter

        def op_cost(name, C, stride, size):
            if name == 'none':
                return 0.
            return time_module(build_op(name, C, stride, True), (C, *size), 'cpu', 1, 20, timer)
        tables = edge_cost_tables(supernet, args.input_size, op_cost)
        table_costs = {k: torch.tensor(tables[r]).sum(0).tolist() for k, r in (('normal', False), ('reduce', True))}
    cost_normal, cost_reduce = torch.tensor(table_costs['normal']), torch.tensor(table_costs['reduce'])
    table_s = time.perf_counter() - t1
    additive = torch.tensor([float((encoding.hard_block(s['genotypes'][0], False) * cost_normal).sum()
                                   + (encoding.hard_block(s['genotypes'][0], True) * cost_reduce).sum())
                             for s in samples])
    rows = compare(which, seconds, again, features, additive, args)
    return dict(machine=info, settings=dict(n=args.n, holdout=args.holdout, C=args.C, layers=args.layers,
                                            input_size=args.input_size, num_classes=args.num_classes,
                                            repeats=args.repeats, rounds=args.rounds, clock=args.clock,
                                            hidden=args.hidden, steps=args.steps,
                                            seed=args.seed, backends=which, skipped_backends=skipped),
                seconds=dict(measure=measure_s, table=table_s), table=table_costs,
                rows=rows, measured=seconds, measured_again=again)


def table(result: dict) -> str:
    rows = [dict(r, **{k: r[k] * 100 for k in ('mean', 'median', 'p90', 'max')}) for r in result['rows']]
    return fmt_table(rows, [('backend', 'backend'), ('estimate', 'estimate'), ('mean', 'mean rel. err %'),
                            ('median', 'median %'), ('p90', 'p90 %'), ('max', 'max %'),
                            ('spearman', 'Spearman'), ('n_train', 'fit on'), ('n_holdout', 'held out')])


def main(argv=None) -> dict:
    p = benchmark_parser(__doc__, repeats=10)
    p.add_argument('--n', type=int, default=200, help='architectures measured (default %(default)s)')
    p.add_argument('--holdout', type=float, default=0.25)
    p.add_argument('--C', type=int, default=8)
    p.add_argument('--layers', type=int, default=5)
    p.add_argument('--input-size', type=int, default=64)
    p.add_argument('--num-classes', type=int, default=10)
    p.add_argument('--hidden', type=int, nargs='+', default=[64, 64])
    p.add_argument('--steps', type=int, default=1000)
    p.add_argument('--reuse', metavar='JSON', help='refit on the measurements of an earlier --json run')
    p.add_argument('--clock', choices=['cpu', 'wall'], default='cpu',
                   help='cpu: this process\'s CPU time (default; a shared machine\'s neighbours left out), '
                        'wall: the wall clock')
    p.add_argument('--rounds', type=int, default=3, help='timing rounds per network (the fastest round counts)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--backends', nargs='+', default=['torch', 'onnxruntime'])
    p.add_argument('--space', choices=['darts', 'singlepath'], default='darts')
    p.add_argument('--width-mult', type=float, default=0.5, help='singlepath: the supernet\'s width multiplier')
    return run_benchmark(p, run, table, argv)


if __name__ == '__main__':
    main()

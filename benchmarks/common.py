"""What every benchmark script shares: threads, load check, machine description, peak RSS, JSON and tables."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Optional

import torch

GB = 1024 ** 3
MB = 1024 ** 2


def add_common_args(parser: argparse.ArgumentParser, repeats: int) -> None:
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (default %(default)s)')
    parser.add_argument('--repeats', type=int, default=repeats,
                        help='timed repeats after one warm-up (default %(default)s); the table reports the median')
    parser.add_argument('--max-load', type=float, default=1.5,
                        help='wait (up to --wait-load seconds) until the 1-minute load average is below this')
    parser.add_argument('--wait-load', type=float, default=0,
                        help='seconds to wait for the load to drop before measuring (default 0: do not wait)')
    parser.add_argument('--json', nargs='?', const='-', metavar='PATH',
                        help='write the results as JSON to PATH (atomically), or print one JSON line to stdout')


def benchmark_parser(doc: str, repeats: int) -> argparse.ArgumentParser:
    """The parser every benchmark starts from: its docstring as help, and the common options."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, repeats)
    return parser


def run_benchmark(parser: argparse.ArgumentParser, run, table, argv: Optional[list] = None) -> dict:
    """Parse, measure, print the table and write the JSON: a benchmark's ``main``."""
    args = parser.parse_args(argv)
    return report(args, run(args), table)


def setup(args: argparse.Namespace) -> dict:
    """Fix threads, wait for a quiet machine if asked, and describe the machine and settings."""
    torch.set_num_threads(args.threads)
    load = wait_for_load(args.max_load, args.wait_load)
    return machine_info(load)


def wait_for_load(max_load: float, wait_s: float) -> float:
    deadline = time.time() + wait_s
    load = os.getloadavg()[0]
    while load > max_load and time.time() < deadline:
        time.sleep(min(30., max(1., deadline - time.time())))
        load = os.getloadavg()[0]
    if load > max_load:
        print(f'warning: 1-minute load average {load:.2f} > {max_load} (shared machine); '
              'timings are slowed by other processes', file=sys.stderr)
    return load


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(load: Optional[float] = None) -> dict:
    return dict(
        cpu=cpu_name(), logical_cpus=os.cpu_count(), torch_threads=torch.get_num_threads(),
        torch=torch.__version__, python=platform.python_version(),
        cuda=torch.cuda.is_available(),
        load_1min_at_start=round(os.getloadavg()[0] if load is None else load, 2),
        time=time.strftime('%Y-%m-%d %H:%M:%S'))


def rss_bytes(field: str = 'VmHWM') -> int:
    """``VmHWM`` (peak resident set) or ``VmRSS`` (current) of this process, from /proc (Linux).

    Not ``getrusage``: its ru_maxrss survives exec, so a child would report its parent's peak.
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_rss() -> bool:
    """Restart VmHWM from the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def emit(args: argparse.Namespace, result: dict) -> None:
    if not args.json:
        return
    text = json.dumps(result, indent=None if args.json == '-' else 1)
    if args.json == '-':
        sys.stdout.flush()
        print(text)
    else:
        from nas_backbones.utils.io import atomic_write_text
        atomic_write_text(args.json, text + '\n')
        print(f'wrote {args.json}', file=sys.stderr)


def report(args: argparse.Namespace, result: dict, table) -> dict:
    """Print the markdown table and write the JSON (``--json``): the end of every benchmark."""
    print(table(result))
    emit(args, result)
    return result


def fmt_table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    """A markdown table of ``rows`` with ``cols`` = [(key, header)]."""
    def cell(v):
        if isinstance(v, float):
            return f'{v:.3g}' if abs(v) < 100 else f'{v:.0f}'
        return '' if v is None else str(v)
    lines = ['| ' + ' | '.join(h for _, h in cols) + ' |',
             '|' + '---|' * len(cols)]
    for r in rows:
        lines.append('| ' + ' | '.join(cell(r.get(k)) for k, _ in cols) + ' |')
    return '\n'.join(lines)

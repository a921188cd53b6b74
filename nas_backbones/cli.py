"""The console scripts of an installed nas_backbones: each runs the shipped ``tools/*.py`` script.

``pip install .`` puts ``nas-train``, ``nas-search``, ``nas-test``,
``nas-network-search`` and the analysis and dataset tools on PATH (``setup.py``
lists them). Each is the same script as ``python tools/<name>.py`` in a clone,
run as ``__main__`` from the copy the wheel ships (``nas_backbones/.mim/tools``,
:mod:`nas_backbones.package`), so the two cannot drift apart: train, search and
test parse and launch through :mod:`nas_backbones.engine.launch` either way.
"""
from __future__ import annotations

import builtins
import sys
from typing import Callable

from .package import tool_path

# console script -> the tool it runs (relative to tools/); setup.py reads this table
COMMANDS = {
    'nas-train': 'train.py',
    'nas-search': 'search.py',
    'nas-test': 'test.py',
    'nas-network-search': 'network_search.py',
    'nas-complexity': 'analysis/complexity.py',
    'nas-latency-table': 'analysis/latency_table.py',
    'nas-latency-predictor': 'analysis/latency_predictor.py',
    'nas-search-report': 'analysis/search_report.py',
    'nas-visualize-genotype': 'visualize_genotype.py',
    'nas-visualize-architecture': 'visualize_architecture.py',
    'nas-sample-genotypes': 'sample_genotypes.py',
    'nas-coco-split': 'dataset/coco_split.py',
    'nas-imagenet-subset': 'dataset/imagenet_subset.py',
    'nas-export-crops': 'dataset/export_crops.py',
    'nas-voc-to-coco': 'dataset/voc_to_coco.py',
    'nas-export-onnx': 'deployment/export_onnx.py',
}


def run_tool(command: str) -> None:
    """Run the tool of ``command`` with this process's arguments, as ``python tools/<tool>`` would.

    Executed here rather than by ``runpy.run_path``, which would set ``sys.argv[0]`` to the file:
    argparse's usage line then names the command the user typed."""
    path = tool_path(COMMANDS[command])
    sys.argv[0] = command
    with open(path, encoding='utf-8') as f:
        code = compile(f.read(), path, 'exec')
    exec(code, {'__name__': '__main__', '__file__': path, '__builtins__': builtins})


def _entry(command: str) -> Callable[[], None]:
    def main() -> None:
        run_tool(command)
    main.__name__ = command.replace('-', '_')
    main.__doc__ = f'``{command}``: ``python tools/{COMMANDS[command]}``.'
    return main


for _command in COMMANDS:
    globals()[_command.replace('-', '_')] = _entry(_command)


"""Logs a user reads: no per-epoch JSON dump (progress bars: tests/datasets/test_imagenet_dataset.py,
tests/tools/test_own_data.py)."""
from pathlib import Path

import nas_backbones  # noqa: F401
from nas_backbones.engine.runner import NASRunner
from tests.conftest import tiny_search_cfg


def test_the_genotype_goes_to_its_files_and_one_line_to_the_log(tmp_path):
    cfg = tiny_search_cfg(tmp_path, num_classes=3)
    cfg.train_cfg.max_epochs = 2
    runner = NASRunner.from_cfg(cfg)
    runner.train()
    log = Path(runner.logger.handlers[-1].baseFilename).read_text()
    assert (tmp_path / 'work' / 'genotype.json').is_file()
    assert (tmp_path / 'work' / 'search_history.json').is_file()
    assert '"normal_concat"' not in log and '"primitives"' not in log  # no JSON dump in the log
    lines = [line for line in log.splitlines() if 'genotype.json' in line]
    assert len(lines) == 2 and all(len(line) < 250 for line in lines), lines

"""Data pipelines: images/s of the search loader and of the SSD training loader, against what the model consumes.

- search: the training dataloader of ``configs/search/pcdarts_imagenet.py``
  (``ImageNetDataset``, RandomResizedCrop 224, flip, pack) reading an
  ImageNet-format folder (default: ``../shared/data/tiny-imagenet-10``, whose
  64x64 JPEGs decode faster than ImageNet's ~400x350 ones). The model side is
  one search step of the ImageNet-setting supernet (K=2), which reads a weight
  batch and an architecture batch: 2 x batch images.
- ssd: the training dataloader of ``configs/ssd_pcdarts_coco.py`` (mmdet's SSD300
  pipeline: Expand, MinIoURandomCrop, Resize 300, flip, photometric distortion)
  on COCO-format data (default: ``../shared/data/coco128``). The model side is
  ``train_step`` of that detector (random init, SGD) on the loader's batches.

Loader rates are per configuration of ``--workers`` (0 = in the main process);
with W workers the rate grows about W-fold while there are free cores.

    python benchmarks/data.py
    python benchmarks/data.py --pipelines ssd --workers 0 2 --batch 8 --json out.json
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import torch

import nas_backbones  # noqa: F401  registers the modules
from benchmarks.common import benchmark_parser, fmt_table, run_benchmark, setup

SHARED = ROOT.parent / 'shared' / 'data'


def search_loader_cfg(root: Path, batch: int, workers: int):
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / 'configs' / 'search' / 'pcdarts_imagenet.py'))
    dl = cfg.train_dataloader
    dl.dataset.update(data_root=str(root), data_prefix=str(root), ann_file='meta/train.txt')
    dl.update(batch_size=batch, num_workers=workers, persistent_workers=False)
    return cfg, dl


def ssd_loader_cfg(root: Path, batch: int, workers: int):
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / 'configs' / 'ssd_pcdarts_coco.py'))
    dl = cfg.train_dataloader
    inner = dl.dataset.dataset if dl.dataset.get('type') == 'RepeatDataset' else dl.dataset
    inner.update(data_root=str(root) + '/', ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'))
    dl.update(batch_size=batch, num_workers=workers, persistent_workers=False)
    return cfg, dl


def loader_rate(dl_cfg, batches: int) -> dict:
    """Images/s over ``batches`` batches, after the first (workers starting, files opened)."""
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(dl_cfg, seed=0)
    it = iter(loader)
    first = next(it)
    n, t0 = 0, time.perf_counter()
    for _ in range(batches):
        try:
            data = next(it)
        except StopIteration:
            break
        n += len(data['inputs'])
    dt = time.perf_counter() - t0
    return dict(images=n, seconds=dt, images_per_s=n / dt if dt else float('nan'), sample=first)


def search_model_rate(batch: int, repeats: int) -> float:
    """Images/s one search step reads (weight + architecture batch) in the ImageNet setting, K=2."""
    from benchmarks.supernet_step import batches as random_batches
    from benchmarks.supernet_step import build, time_steps
    runs = {'project': build('imagenet', 2, True)}
    t = time_steps(runs, random_batches('imagenet', batch), repeats)['project']
    return 2 * batch / t['step_s']


def ssd_model_rate(cfg, data: dict, repeats: int) -> float:
    """Images/s of the detector's training step on a batch the loader produced."""
    from mmdet.registry import MODELS
    from mmengine.optim import OptimWrapper
    model = MODELS.build(cfg.model)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    model.train_step(data, optim)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.train_step(data, optim)
        samples.append(time.perf_counter() - t0)
    return len(data['inputs']) / statistics.median(samples)


def run(args: argparse.Namespace) -> dict:
    info = setup(args)
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    rows = []
    for name in args.pipelines:
        make = search_loader_cfg if name == 'search' else ssd_loader_cfg
        root = Path(args.imagenet_root if name == 'search' else args.coco_root)
        if not root.exists():
            raise SystemExit(f'{name}: data folder {root} not found (--imagenet-root / --coco-root)')
        rates, sample, cfg = {}, None, None
        for w in args.workers:
            cfg, dl = make(root, args.batch, w)
            r = loader_rate(dl, args.batches)
            rates[w], sample = r['images_per_s'], r['sample']
            print(f'{name} loader, {w} workers: {r["images_per_s"]:.1f} images/s', file=sys.stderr, flush=True)
        if name == 'search':
            model = search_model_rate(args.batch, args.repeats)
            what = 'search step, ImageNet setting K=2 (weight + arch batch)'
        else:
            model = ssd_model_rate(cfg, sample, args.repeats)
            what = 'SSD train_step (configs/ssd_pcdarts_coco.py)'
        for w, rate in rates.items():
            rows.append(dict(pipeline=name, data=str(root), workers=w, batch=args.batch,
                             loader_images_per_s=rate, model=what, model_images_per_s=model,
                             loader_over_model=rate / model))
    return dict(benchmark='data', machine=info, settings=dict(
        threads=args.threads, batch=args.batch, batches=args.batches, workers=args.workers),
        rows=rows)


def table(result: dict) -> str:
    return fmt_table(result['rows'], [
        ('pipeline', 'pipeline'), ('workers', 'workers'), ('batch', 'batch'),
        ('loader_images_per_s', 'loader img/s'), ('model', 'consumer'),
        ('model_images_per_s', 'consumer img/s'), ('loader_over_model', 'loader / consumer')])


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=2)
    p.add_argument('--pipelines', nargs='+', default=['search', 'ssd'], choices=['search', 'ssd'])
    p.add_argument('--imagenet-root', default=str(SHARED / 'tiny-imagenet-10'),
                   help='ImageNet-format data with meta/train.txt and meta/classes.txt')
    p.add_argument('--coco-root', default=str(SHARED / 'coco128'),
                   help='COCO-format data with annotations/instances_train2017.json and train2017/')
    p.add_argument('--workers', nargs='+', type=int, default=[0, 2])
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--batches', type=int, default=12, help='timed batches per loader (default %(default)s)')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()

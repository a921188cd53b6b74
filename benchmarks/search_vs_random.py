"""Search against chance: searched cells vs cells drawn at random from the same space.

Each task is a small classification set the CPU can handle; the search
configs a user copies for their own images are run on its training images
(their weight and architecture splits drawn from those only), and every
genotype (searched, random, and the published PC_DARTS_image for reference)
is trained with one short schedule and scored on held-out images:

- ``tiny``: tiny-imagenet-10 (10 classes, 64 px photos); the search uses the
  README's 10% / 5% per-class subsets of train, evaluation networks train on
  ``--train-per-class`` images a class and are tested on the 500 val images.
- ``crops``: object crops (64 px) of coco128 (``export_box_crops``), the
  classes with at least ``--min-crops`` crops, ``person`` capped at
  ``--cap-crops``; a seeded, per-class split into train (2/3) and test (1/3).
  The search splits the training crops in half (weights / architecture).
- ``shapes``: crops of the generated shapes set the demo searches on
  (3 classes told apart by hue: the task saturates at once). Train crops from
  its train images, test crops from its val images.

Evaluation: ``GenotypeClassifier`` (ImageNet stem, ``--eval-C``, ``--eval-layers``,
no auxiliary head), SGD momentum 0.9, lr 0.05 cosine, weight decay 3e-4,
``--eval-steps`` steps (whole epochs, the last one cut), batch 64, random 4-px-padded crop + flip, images
held in memory. Each genotype is trained with ``--train-seeds`` seeds.
MACs are multiply-adds of that network at 64 px, and of the SSD backbone
the detection configs build (C=48, 14 cells at 300 px).

    python benchmarks/search_vs_random.py --json benchmarks/results/search_vs_random.json
    python benchmarks/search_vs_random.py --tasks crops --variants default --random 4 --search-seeds 2
    python benchmarks/search_vs_random.py --reuse old.json --variants plain flops warm  # adds 'warm'

Variants (``VARIANTS``): ``default`` is the template as shipped (with P-DARTS' skip cap),
``plain`` plain PC-DARTS, ``flops`` the cap plus the FLOPs term of ``pcdarts_demo.py``;
``beta``, ``sdarts``, ``dartsminus``, ``fair``: plain with one stabiliser each
(``docs/search_quality.md``).

Run with one thread (``--threads 1``, the default): with 2 threads on shared
cores it is slower, not faster.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import os.path as osp
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F

from benchmarks.common import benchmark_parser, fmt_table, run_benchmark, setup

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('NAS_SHARED', ROOT.parent / 'shared')) / 'data'
Sample = tuple[str, int]  # (path relative to Task.root, label)

# What a user copies for their own data: (template config, task-independent overrides).
# Variants may add overrides (e.g. a stabiliser); 'default' is the template as it is.
TEMPLATES = {
    'tiny': 'configs/search/pcdarts_tiny_imagenet.py',
    'crops': 'configs/search/pcdarts_tiny_imagenet.py',
    'shapes': 'configs/search/pcdarts_demo.py',
}
VARIANTS: dict[str, dict] = {
    # the template as shipped (pcdarts_tiny_imagenet.py: plain PC-DARTS + P-DARTS' cap of 2 skips)
    'default': {},
    # without the cap: plain PC-DARTS, what the own-data configs did before
    'plain': {'model.space.cost': None, 'model.space.arch.max_skips': None},
    # + the FLOPs term that pcdarts_demo.py (a short crop search) adds
    'flops': {'model.space.cost': dict(weight=0.1, input_size=64), 'model.space.arch.max_skips': 2},
    # plain + one stabiliser each (docs/search_quality.md). beta: the paper's lambda(t) =
    # 50 * epoch / 100 over its 50 epochs, i.e. 25 * epoch / max_epochs; sdarts: the paper's
    # epsilon; dartsminus: the paper's aux-skip weight 1 -> 0, linearly
    'beta': {'model.space.cost': None, 'model.space.arch.max_skips': None,
             'model.space.arch.beta_decay': dict(weight=25.)},
    'sdarts': {'model.space.cost': None, 'model.space.arch.max_skips': None,
               'model.space.arch.perturb': dict(epsilon=0.03)},
    'dartsminus': {'model.space.cost': None, 'model.space.arch.max_skips': None,
                   'model.space.arch.aux_skip': dict(start=1., schedule='linear')},
    # Fair DARTS: sigmoid op weights and the paper's zero-one loss weight 10
    'fair': {'model.space.cost': None, 'model.space.arch.max_skips': None,
             'model.space.arch.fair_darts': dict(zero_one=10.)},
    # plain, with alpha frozen for half of a 3x longer search (not measured in the README)
    'warm': {'model.space.cost': None, 'model.space.arch.max_skips': None,
             'train_cfg.max_epochs': 12, 'train_cfg.arch_warmup_epochs': 6,
             'param_scheduler.weights.0.T_max': 12, 'param_scheduler.weights.0.end': 12},
}


# ------------------------------------------------------------------- tasks
@dataclass
class Task:
    name: str
    root: str                     # image root of every list
    classes: list[str]
    train: list[Sample]           # what evaluation networks train on (and the search splits)
    test: list[Sample]            # held out: only evaluation networks are scored on it
    search_fracs: tuple[float, float]  # per-class weight / architecture split of `train`
    notes: str = ''
    cache: dict = field(default_factory=dict, repr=False)

    def describe(self) -> dict:
        per_class = [sum(1 for _, y in self.train if y == c) for c in range(len(self.classes))]
        per_class_test = [sum(1 for _, y in self.test if y == c) for c in range(len(self.classes))]
        majority = max(per_class_test) / len(self.test)
        return dict(name=self.name, classes=self.classes, train=len(self.train), test=len(self.test),
                    train_per_class=per_class, test_per_class=per_class_test,
                    majority_test_acc=round(majority, 4), search_fracs=list(self.search_fracs),
                    notes=self.notes)


def stratified_split(samples: Sequence[Sample], frac_test: float, seed: int) -> tuple[list, list]:
    """Per class, a seeded ``frac_test`` share to test (at least one), the rest to train."""
    by_class: dict[int, list[Sample]] = {}
    for s in sorted(samples):
        by_class.setdefault(s[1], []).append(s)
    train, test = [], []
    for label, group in sorted(by_class.items()):
        random.Random(f'{seed}/split/{label}').shuffle(group)
        k = max(1, round(frac_test * len(group)))
        test += group[:k]
        train += group[k:]
    return sorted(train), sorted(test)


def per_class_subset(samples: Sequence[Sample], per_class: int, seed: int) -> list[Sample]:
    by_class: dict[int, list[Sample]] = {}
    for s in sorted(samples):
        by_class.setdefault(s[1], []).append(s)
    out = []
    for label, group in sorted(by_class.items()):
        random.Random(f'{seed}/subset/{label}').shuffle(group)
        out += group[:per_class]
    return sorted(out)


def read_list(path: Path) -> list[Sample]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            rel, label = line.rsplit(maxsplit=1)
            out.append((rel, int(label)))
    return out


def tiny_task(args: argparse.Namespace, work: Path) -> Task:
    root = SHARED / 'tiny-imagenet-10'
    if not root.is_dir():
        raise FileNotFoundError(f'tiny task needs {root}')
    classes = (root / 'meta/classes.txt').read_text().split()
    train = per_class_subset(read_list(root / 'meta/train.txt'), args.train_per_class, seed=0)
    return Task('tiny', str(root), classes, train, read_list(root / 'meta/val.txt'),
                search_fracs=(0.1 * 500 / args.train_per_class, 0.05 * 500 / args.train_per_class),
                notes=f'{args.train_per_class} train images a class for the evaluation networks; '
                      'the search gets 50 + 25 of them a class (10% / 5% of 500, as the README)')


def crop_folder_samples(folder: Path) -> tuple[list[str], list[Sample]]:
    from nas_backbones.datasets.imagenet import scan_image_folder
    classes, per_class = scan_image_folder(str(folder))
    return classes, [s for group in per_class for s in group]


def quiet(fn: Callable, *a, **kw):
    """Run ``fn`` with its stdout (progress bars) discarded."""
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*a, **kw)


def crops_task(args: argparse.Namespace, work: Path) -> Task:
    from nas_backbones.datasets.crops import export_box_crops
    coco = SHARED / 'coco128'
    if not coco.is_dir():
        raise FileNotFoundError(f'crops task needs {coco}')
    out = work / 'coco128_crops'
    if not out.is_dir():
        quiet(export_box_crops, str(coco / 'annotations/instances_train2017.json'),
              str(coco / 'train2017'), str(out), size=64)
    classes, samples = crop_folder_samples(out)
    by_class: dict[int, list[Sample]] = {}
    for s in samples:
        by_class.setdefault(s[1], []).append(s)
    keep = sorted(c for c, g in by_class.items() if len(g) >= args.min_crops)
    new_label = {c: i for i, c in enumerate(keep)}
    chosen = []
    for c in keep:
        group = sorted(by_class[c])
        random.Random(f'cap/{c}').shuffle(group)
        chosen += [(rel, new_label[c]) for rel, _ in group[:args.cap_crops]]
    train, test = stratified_split(chosen, 1 / 3, seed=0)
    return Task('crops', str(out), [classes[c] for c in keep], train, test, search_fracs=(0.5, 0.5),
                notes=f'coco128 box crops at 64 px, classes with >= {args.min_crops} crops, at most '
                      f'{args.cap_crops} a class; crops of one image may fall on both sides of the '
                      'split (coco128 has too few images a class to split by image)')


def shapes_task(args: argparse.Namespace, work: Path) -> Task:
    from nas_backbones.datasets.crops import export_box_crops
    from nas_backbones.datasets.synthetic_coco import make_synthetic_coco
    coco = work / 'synthetic_coco'
    if not (coco / 'annotations/instances_val.json').is_file():
        quiet(make_synthetic_coco, str(coco), 256, 64, 0)  # the demo's data
    folders = {}
    for split in ('train', 'val'):
        out = work / f'shapes_crops_{split}'
        if not out.is_dir():
            quiet(export_box_crops, str(coco / f'annotations/instances_{split}.json'),
                  str(coco / split), str(out), size=64)
        folders[split] = out
    classes, train = crop_folder_samples(folders['train'])
    classes_val, test = crop_folder_samples(folders['val'])
    assert classes == classes_val, (classes, classes_val)
    rel = lambda s, split: (f'shapes_crops_{split}/{s[0]}', s[1])  # noqa: E731
    return Task('shapes', str(work), classes, [rel(s, 'train') for s in train],
                [rel(s, 'val') for s in test], search_fracs=(0.25, 0.25),
                notes='the demo\'s generated shapes (3 classes, told apart by hue); '
                      'the search takes 25% / 25% of the train crops, as tools/demo.py')


TASK_BUILDERS = {'tiny': tiny_task, 'crops': crops_task, 'shapes': shapes_task}


# -------------------------------------------------------------- images in memory
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


def load_images(task: Task, samples: Sequence[Sample], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 RGB (N, 3, size, size) and labels; grayscale files become 3 channels."""
    import cv2
    key = (id(samples), size)
    if key in task.cache:
        return task.cache[key]
    xs = torch.empty(len(samples), 3, size, size, dtype=torch.uint8)
    for i, (rel, _) in enumerate(samples):
        img = cv2.imread(osp.join(task.root, rel), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'{task.name}: cannot read {osp.join(task.root, rel)}')
        if img.shape[:2] != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        xs[i] = torch.from_numpy(img[:, :, ::-1].copy()).permute(2, 0, 1)
    ys = torch.tensor([y for _, y in samples])
    task.cache[key] = (xs, ys)
    return xs, ys


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x.float() - MEAN) / STD


def augment(x: torch.Tensor, g: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop of the ``pad``-padded image and a horizontal flip, per image."""
    n, _, h, w = x.shape
    xp = F.pad(x, (pad,) * 4)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


# ------------------------------------------------------------ evaluation training
def train_eval(genotype, task: Task, seed: int, args: argparse.Namespace) -> dict:
    """Train a GenotypeClassifier on task.train with the fixed schedule; top-1 on task.test."""
    from nas_backbones.spaces.darts import GenotypeClassifier
    xtr, ytr = load_images(task, task.train, args.size)
    xte, yte = load_images(task, task.test, args.size)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = GenotypeClassifier(genotype=genotype, C=args.eval_C, layers=args.eval_layers,
                             num_classes=len(task.classes), auxiliary=False, label_smoothing=0.)
    opt = torch.optim.SGD(net.parameters(), lr=args.eval_lr, momentum=0.9, weight_decay=3e-4)
    bs = args.eval_batch
    total = args.eval_steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    t0 = time.perf_counter()
    net.train()
    step = epochs = 0
    while step < total:  # whole epochs, cut at `total` steps
        order = torch.randperm(len(ytr), generator=g)
        correct = seen = 0
        for i in range(0, len(ytr) - 1, bs):  # a last batch of 1 is dropped (BatchNorm)
            if step == total:
                break
            idx = order[i:i + bs]
            x = normalise(augment(xtr[idx], g))
            logits = net(x, mode='tensor')
            loss = F.cross_entropy(logits, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.)
            opt.step()
            sched.step()
            step += 1
            correct += int((logits.argmax(1) == ytr[idx]).sum())
            seen += len(idx)
        epochs += 1
    train_s = time.perf_counter() - t0
    net.eval()
    test_correct = 0
    with torch.no_grad():
        for i in range(0, len(yte), 256):
            test_correct += int((net(normalise(xte[i:i + 256]), mode='tensor').argmax(1)
                            == yte[i:i + 256]).sum())
    return dict(seed=seed, test_acc=test_correct / len(yte), last_epoch_train_acc=correct / max(seen, 1),
                epochs=epochs, train_s=round(train_s, 1))


def costs(genotype, args: argparse.Namespace, num_classes: int) -> dict:
    """Params and MACs of the evaluation network at ``size`` and of the detection backbone at 300."""
    from mmengine.analysis import FlopAnalyzer, parameter_count

    from nas_backbones.spaces.darts import DartsBackbone, GenotypeClassifier
    from nas_backbones.spaces.darts.pictures import parameter_free_counts
    net = GenotypeClassifier(genotype=genotype, C=args.eval_C, layers=args.eval_layers,
                             num_classes=num_classes, auxiliary=False).eval()

    def macs(module, x):
        a = FlopAnalyzer(module, (x,))
        a.unsupported_ops_warnings(False)
        a.uncalled_modules_warnings(False)
        with torch.no_grad():
            return int(a.total())

    class Tensor(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x, mode='tensor')

    backbone = DartsBackbone(genotype=genotype, C=48, layers=14).eval()
    return dict(eval_macs=macs(Tensor(net), torch.randn(1, 3, args.size, args.size)),
                eval_params=int(parameter_count(net)['']),
                ssd_backbone_macs_300=macs(backbone, torch.randn(1, 3, 300, 300)),
                ssd_backbone_params=int(parameter_count(backbone)['']),
                **parameter_free_counts(genotype))


# ----------------------------------------------------------------------- search
class IterRecorder:
    """A runner hook: the supernet's training accuracy per epoch and alpha after every step."""

    def __new__(cls):
        from mmengine.hooks import Hook

        class _Hook(Hook):
            priority = 'VERY_LOW'

            def __init__(self) -> None:
                self.acc: list[list[float]] = []
                self.alpha: list[dict] = []
                self.arch_steps = 0

            def before_train_epoch(self, runner) -> None:
                self.acc.append([])

            def before_train(self, runner) -> None:
                self.alpha.append(arch_state(runner.model))

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
                if outputs and 'acc' in outputs:
                    self.acc[-1].append(float(outputs['acc']))
                if outputs and 'arch_loss' in outputs:
                    self.arch_steps += 1

            def after_train_epoch(self, runner) -> None:
                self.alpha.append(arch_state(runner.model))

        return _Hook()


def arch_state(model) -> dict:
    arch = getattr(model, 'module', model).space.arch
    return {k: v.detach().clone() for k, v in arch.state_dict().items()}


def write_lists(task: Task, folder: Path, seed: int) -> tuple[Path, Path]:
    """The search's weight / architecture lists: disjoint per-class subsets of task.train."""
    from nas_backbones.datasets.subset import sample_per_class, write_classes, write_image_list
    per_class = [[s for s in task.train if s[1] == c] for c in range(len(task.classes))]
    w, a = sample_per_class(per_class, task.classes, list(task.search_fracs), seed,
                            names=('weights', 'arch'))
    folder.mkdir(parents=True, exist_ok=True)
    write_image_list(folder / 'train.txt', w)
    write_image_list(folder / 'val.txt', a)
    write_classes(folder / 'classes.txt', task.classes)
    return folder / 'train.txt', folder / 'val.txt'


def search_config(template: str, task: Task, lists: tuple[Path, Path], work_dir: Path, seed: int,
                  overrides: dict):
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / template))
    for loader, ann in ((cfg.train_dataloader, lists[0]), (cfg.train_cfg.arch_dataloader, lists[1])):
        loader.dataset.data_prefix = task.root
        loader.dataset.ann_file = str(ann)
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.model.space.model.num_classes = len(task.classes)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'SearchReportHook']
    cfg.merge_from_dict(overrides)
    return cfg


def run_search(task: Task, template: str, seed: int, overrides: dict, work: Path,
               alpha_seed: Optional[int] = None,
               after: Optional[Callable[[Any], dict]] = None) -> dict:
    """One search; its genotype, the alpha/beta path and the supernet's training accuracy.

    ``alpha_seed``: draw alpha/beta's initial values from their own generator
    (the rest of the search keeps ``seed``), to tell apart what the init and
    what the data decide. ``after(runner)`` measures the searched supernet;
    its dict is returned under ``after``.
    """
    import contextlib
    import io

    from mmengine.logging import MMLogger

    from nas_backbones.engine.launch import build_runner
    from nas_backbones.spaces.darts import Genotype
    digest = hashlib.sha1(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:8]
    tag = f'{task.name}_{digest}_s{seed}'
    if alpha_seed is not None:
        tag += f'_a{alpha_seed}'
    work_dir = work / 'search' / tag
    lists = write_lists(task, work / 'lists' / task.name, seed=0)
    cfg = search_config(template, task, lists, work_dir, seed, overrides)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        runner = build_runner(cfg)
        algo = getattr(runner.model, 'module', runner.model).space
        if alpha_seed is not None:
            g = torch.Generator().manual_seed(alpha_seed)
            with torch.no_grad():
                for p in algo.arch.parameters():
                    p.copy_(1e-3 * torch.randn(p.shape, generator=g))
        rec = IterRecorder()
        runner.register_hook(rec)
        runner.train()
        extra = after(runner) if after is not None else None
    MMLogger._instance_dict.clear()  # one logger per search otherwise piles up handlers
    seconds = time.perf_counter() - t0
    genotype = Genotype.load(work_dir / 'genotype.json')
    return dict(seed=seed, alpha_seed=alpha_seed, genotype=genotype, seconds=round(seconds, 1),
                supernet_train_acc=[round(statistics.fmean(a), 4) if a else None for a in rec.acc],
                arch_steps=rec.arch_steps, alpha_path=rec.alpha,
                primitives=list(algo.arch.primitives), steps=algo.arch.steps,
                multiplier=algo.arch.multiplier, after=extra)


# ------------------------------------------------------------------- statistics
def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    return (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.)


# Settings that must match for rows of an earlier run to be reused (--reuse).
EVAL_KEYS = ('size', 'eval_C', 'eval_layers', 'eval_steps', 'eval_batch', 'eval_lr', 'train_seeds',
             'train_per_class', 'min_crops', 'cap_crops', 'random_seed')


def load_previous(args: argparse.Namespace) -> dict:
    """Rows of an earlier result with the same evaluation settings, per task and group."""
    if not args.reuse:
        return {}
    with open(args.reuse, encoding='utf-8') as f:
        old = json.load(f)
    diff = {k: (old['settings'].get(k), getattr(args, k)) for k in EVAL_KEYS
            if old['settings'].get(k) != getattr(args, k)}
    if diff:
        raise SystemExit(f'--reuse {args.reuse}: evaluation settings differ (old, new): {diff}')
    out = {}
    for name, t in old['tasks'].items():
        rows = {g: r for g, r in t['rows'].items() if g not in args.recompute
                and (g in ('random', 'published') or len(r) == args.search_seeds)}
        if 'random' in rows:
            rows['random'] = rows['random'][:args.random]
        out[name] = rows
    return out


def beats_random(acc: float, random_rows: list[dict]) -> float:
    """Share of the random genotypes this accuracy beats (ties count half)."""
    if not random_rows:
        return float('nan')
    return statistics.fmean(1. if acc > r['test_acc_mean'] else .5 if acc == r['test_acc_mean'] else 0.
                            for r in random_rows)


def group_stats(rows: list[dict], random_rows: list[dict]) -> dict:
    accs = [r['test_acc_mean'] for r in rows]
    m, sd = mean_sd(accs)
    return dict(n=len(rows), test_acc_mean=m, test_acc_sd=sd, test_acc_min=min(accs),
                test_acc_max=max(accs),
                beats_random=statistics.fmean(beats_random(a, random_rows) for a in accs),
                normal_param_free_mean=statistics.fmean(r['normal_param_free'] for r in rows),
                reduce_param_free_mean=statistics.fmean(r['reduce_param_free'] for r in rows),
                eval_macs_mean=statistics.fmean(r['eval_macs'] for r in rows),
                ssd_backbone_macs_300_mean=statistics.fmean(r['ssd_backbone_macs_300'] for r in rows))


def evaluate(genotype, task: Task, args: argparse.Namespace) -> dict:
    runs = [train_eval(genotype, task, s, args) for s in range(args.train_seeds)]
    accs = [r['test_acc'] for r in runs]
    m, sd = mean_sd(accs)
    return dict(genotype=genotype.to_dict(), runs=runs, test_acc_mean=m, test_acc_sd=sd,
                **costs(genotype, args, len(task.classes)))


def run(args: argparse.Namespace) -> dict:
    from nas_backbones.spaces.darts import PUBLISHED
    from nas_backbones.spaces.darts.sample import random_genotypes
    result = dict(machine=setup(args), settings={k: v for k, v in vars(args).items()
                                                  if k not in ('json',)}, tasks={})
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix='search_vs_random_'))
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    randoms = random_genotypes(args.random_seed, args.random)
    previous = load_previous(args)
    for name in args.tasks:
        task = TASK_BUILDERS[name](args, work)
        print(f'[{name}] {len(task.train)} train / {len(task.test)} test images, '
              f'{len(task.classes)} classes', file=sys.stderr, flush=True)
        out: dict[str, Any] = dict(task=task.describe(), template=TEMPLATES[name], groups={})
        rows: dict[str, list[dict]] = dict(previous.get(name, {}))
        if rows:
            print(f'  reusing {sorted(rows)} from {args.reuse}', file=sys.stderr, flush=True)
        if 'random' not in rows:
            rows['random'] = []
        for i, g in enumerate(randoms[len(rows['random']):], start=len(rows['random'])):
            row = evaluate(g, task, args)
            row['name'] = f'random_s{args.random_seed}_{i:03d}'
            rows['random'].append(row)
            checkpoint(args, result, name, rows)
            print(f'  random {i}: {row["test_acc_mean"]:.3f}', file=sys.stderr, flush=True)
        if args.published and 'published' not in rows:
            row = evaluate(PUBLISHED['PC_DARTS_image'], task, args)
            row['name'] = 'PC_DARTS_image'
            rows['published'] = [row]
        for variant in args.variants:
            if variant in rows:
                continue
            rows[variant] = []
            for s in range(args.search_seeds):
                found = run_search(task, TEMPLATES[name], s, VARIANTS[variant], work)
                row = evaluate(found['genotype'], task, args)
                row.update(name=f'{variant}_s{s}', search_seconds=found['seconds'],
                           supernet_train_acc=found['supernet_train_acc'],
                           arch_steps=found['arch_steps'], **alpha_summary(found))
                rows[variant].append(row)
                checkpoint(args, result, name, rows)
                print(f'  {variant} seed {s}: {row["test_acc_mean"]:.3f} '
                      f'({found["seconds"]:.0f} s search)', file=sys.stderr, flush=True)
        out['rows'] = rows
        out['groups'] = {k: group_stats(v, rows['random']) for k, v in rows.items()}
        result['tasks'][name] = out
        checkpoint(args, result)
    result['total_seconds'] = round(time.perf_counter() - t_start, 1)
    return result


def checkpoint(args: argparse.Namespace, result: dict, name: Optional[str] = None,
               rows: Optional[dict] = None) -> None:
    """Write what is done so far to ``--json PATH`` (a long run killed midway keeps it; --reuse continues)."""
    if not args.json or args.json == '-':
        return
    from nas_backbones.utils.io import atomic_write_text
    partial = json.loads(json.dumps(result, default=str))
    if name is not None:
        partial['tasks'].setdefault(name, {})['rows'] = rows
    atomic_write_text(args.json, json.dumps(partial, indent=1, default=str) + '\n')


def alpha_summary(found: dict) -> dict:
    """How far alpha moved, how peaked softmax(alpha) is, and how much of the genotype the init fixed."""
    from nas_backbones.spaces.darts.derive import derive_genotype
    path = found['alpha_path']
    a0, aT = path[0], path[-1]
    out = {}
    moved = max(float((aT[k] - a0[k]).abs().max()) for k in aT if k.startswith('alphas'))
    out['alpha_max_move'] = moved
    ent = []
    for k in ('alphas_normal', 'alphas_reduce'):
        p = torch.softmax(aT[k], -1)
        ent.append(float((-(p * p.log()).sum(-1) / math.log(p.size(-1))).mean()))
    out['alpha_entropy_rel'] = statistics.fmean(ent)  # 1 = uniform

    def geno(state):
        return derive_genotype(state['alphas_normal'], state['alphas_reduce'],
                               state.get('betas_normal'), state.get('betas_reduce'),
                               found['primitives'], found['steps'], found['multiplier'])
    out['genes_same_as_init'] = gene_agreement(geno(a0), found['genotype'])
    return out


def gene_agreement(a, b) -> float:
    """Share of genes (op, input) that two genotypes have in common, node by node, both cells."""
    same = total = 0
    for ga, gb in ((a.normal, b.normal), (a.reduce, b.reduce)):
        for i in range(0, len(ga), 2):
            na, nb = sorted(ga[i:i + 2]), sorted(gb[i:i + 2])
            pool = list(nb)
            for gene in na:
                if gene in pool:
                    pool.remove(gene)
                    same += 1
            total += 2
    return same / total


# ------------------------------------------------------------------------ table
def table(result: dict) -> str:
    out = []
    for name, t in result['tasks'].items():
        d = t['task']
        out.append(f'### {name}: {d["train"]} train / {d["test"]} test images, {len(d["classes"])} '
                   f'classes (majority class {100 * d["majority_test_acc"]:.1f}% of test)\n')
        rows = []
        for group, g in t['groups'].items():
            rows.append(dict(group=group, n=g['n'],
                             acc=f'{100 * g["test_acc_mean"]:.1f} ± {100 * g["test_acc_sd"]:.1f}',
                             range=f'{100 * g["test_acc_min"]:.1f}-{100 * g["test_acc_max"]:.1f}',
                             beats='' if group == 'random' else f'{100 * g["beats_random"]:.0f}%',
                             pf=f'{g["normal_param_free_mean"]:.1f} / {g["reduce_param_free_mean"]:.1f}',
                             macs=f'{g["eval_macs_mean"] / 1e6:.2f}',
                             ssd=f'{g["ssd_backbone_macs_300_mean"] / 1e9:.2f}'))
        out.append(fmt_table(rows, [('group', 'genotypes'), ('n', 'n'), ('acc', 'test acc % (mean ± sd)'),
                                    ('range', 'min-max'), ('beats', 'beats random cells'),
                                    ('pf', 'param-free ops normal / reduce'),
                                    ('macs', 'eval MMACs'), ('ssd', 'SSD backbone GMACs @300')]))
        out.append('')
    return '\n'.join(out)


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser(__doc__, repeats=1)
    p.add_argument('--tasks', nargs='+', default=['tiny', 'crops'], choices=sorted(TASK_BUILDERS))
    p.add_argument('--variants', nargs='+', default=['plain', 'flops'], choices=sorted(VARIANTS))
    p.add_argument('--random', type=int, default=6, help='random genotypes (default 6)')
    p.add_argument('--random-seed', type=int, default=0)
    p.add_argument('--search-seeds', type=int, default=3, help='searches per variant (default 3)')
    p.add_argument('--train-seeds', type=int, default=2, help='trainings per genotype (default 2)')
    p.add_argument('--published', action='store_true', help='also train PC_DARTS_image')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--eval-C', type=int, default=8)
    p.add_argument('--eval-layers', type=int, default=5)
    p.add_argument('--eval-steps', type=int, default=100,
                   help='SGD steps of every evaluation training (default 100)')
    p.add_argument('--eval-batch', type=int, default=64)
    p.add_argument('--eval-lr', type=float, default=0.05)
    p.add_argument('--train-per-class', type=int, default=200, help='tiny: evaluation train images a class')
    p.add_argument('--min-crops', type=int, default=20, help='crops: classes with at least this many')
    p.add_argument('--cap-crops', type=int, default=60, help='crops: at most this many a class')
    p.add_argument('--reuse', metavar='JSON',
                   help='take the rows of an earlier --json result (same evaluation settings) '
                        'instead of recomputing them; new variants are added')
    p.add_argument('--recompute', nargs='*', default=[], metavar='GROUP',
                   help='with --reuse: groups to compute again (e.g. default)')
    p.add_argument('--work-dir', help='keep data, lists and searches here (default: a temp folder)')
    return p


def main(argv: Optional[list[str]] = None) -> dict:
    return run_benchmark(parser(), run, table, argv)


if __name__ == '__main__':
    main()

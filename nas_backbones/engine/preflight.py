"""Checks run before the first step, so that a config mistake is named instead of failing deep inside.

Space-agnostic: they read the config and what a built model or dataset
declares (``num_classes`` fields, a backbone's ``out_channels``/``strides``,
``metainfo['classes']``), never a particular search space.
"""
from __future__ import annotations

import difflib
import os
from typing import Any, Iterable, Iterator, Optional

from mmengine.config import Config
from mmengine.hooks import Hook
from torch import nn

# Top-level keys that mmengine's Runner, MMDetection's tools or ours read.
# Anything else at the top level is a parse-time variable (data_root,
# train_pipeline, ...), which only matters where the same file uses it.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
    'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'model_wrapper_cfg', 'find_unused_parameters', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type', 'custom_imports',
    'tta_model', 'tta_pipeline', 'gpu_ids',
})


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def misspelt_keys(keys: Iterable[str], known: Iterable[str] = RUNNER_KEYS) -> dict[str, str]:
    """``{key: nearest known key}`` for the keys that look like a typo of a known one.

    A typo is one or two keystrokes (at most a third of the key) away from a
    known key; other unknown keys are taken for parse-time variables, which
    configs are full of (``train_pipeline`` is not a misspelt ``tta_pipeline``).
    """
    known = sorted(set(known))
    found = {}
    for key in keys:
        if key in known or key.startswith('_'):
            continue
        for near in difflib.get_close_matches(key, known, n=3, cutoff=0.6):
            if _edit_distance(key, near) <= min(2, len(key) // 3):
                found[key] = near
                break
    return found


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``' Did you mean X?'`` for the known name nearest ``name`` (case aside), or ``''`` where none is near.

    Looser than :func:`misspelt_keys`: here ``name`` is certainly meant to be
    one of ``known`` (a published genotype, a class), so any close match helps.
    """
    known = sorted(set(known))
    lower = {k.lower(): k for k in known}
    near = ([lower[name.lower()]] if name.lower() in lower
            else [lower[m] for m in difflib.get_close_matches(name.lower(), lower, n=1, cutoff=0.6)])
    return f' Did you mean {near[0]!r}?' if near else ''


def top_level_key_warnings(cfg: Config) -> list[str]:
    return [f'config key {key!r} is not read by anything: did you mean {near!r}? '
            f'(as written, {key!r} is ignored and the {near!r} of the base config is used)'
            for key, near in misspelt_keys(cfg.keys()).items()]


# ------------------------------------------------------------------ the neck
def neck_problem(model_cfg: Any, model: nn.Module) -> Optional[str]:
    """What is wrong between a detector's backbone and its neck, as a message saying what to set.

    Checked when the backbone declares its stages (``out_channels`` and
    ``strides`` per stage, ``out_indices`` choosing the outputs, as
    DartsBackbone does) and the neck config has ``in_channels``. The anchor
    strides are compared for an SSD neck, whose first outputs are the
    backbone's own maps.
    """
    backbone, neck_cfg = getattr(model, 'backbone', None), _get(model_cfg, 'neck')
    if backbone is None or neck_cfg is None or _get(neck_cfg, 'in_channels') is None:
        return None
    stages = getattr(backbone, 'out_channels', None)
    indices = getattr(backbone, 'out_indices', None)
    if stages is None or indices is None or not all(0 <= i < len(stages) for i in indices):
        return None
    have = tuple(int(stages[i]) for i in indices)
    want = tuple(_get(neck_cfg, 'in_channels'))
    name = type(backbone).__name__
    if have != want:
        lines = [f'model.neck.in_channels={list(want)} does not match the backbone: {name} with '
                 f'out_indices={tuple(indices)} gives {list(have)} channels. '
                 f'Set model.neck.in_channels={list(have)}']
        out = _get(neck_cfg, 'out_channels')
        if str(_get(neck_cfg, 'type', '')).endswith('SSDNeck') and out is not None:
            fixed = list(have) + list(out)[len(want):]
            lines.append(f'and model.neck.out_channels={fixed} (SSDNeck passes the backbone maps '
                         f'through first), and model.bbox_head.in_channels={fixed}')
        return ', '.join(lines) + '.'
    strides = getattr(backbone, 'strides', None)
    anchors = _get(_get(model_cfg, 'bbox_head'), 'anchor_generator')
    anchor_strides = _get(anchors, 'strides')
    if (strides is not None and anchor_strides is not None
            and str(_get(neck_cfg, 'type', '')).endswith('SSDNeck')):
        have_s = [int(strides[i]) for i in indices]
        want_s = [int(s[0] if isinstance(s, (list, tuple)) else s)
                  for s in list(anchor_strides)[:len(have_s)]]
        if have_s != want_s:
            return (f'model.bbox_head.anchor_generator.strides starts with {want_s}, but the backbone '
                    f'{name} with out_indices={tuple(indices)} gives its maps at strides {have_s}: '
                    f'set the first {len(have_s)} anchor strides to {have_s}.')
    return None


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    return cfg.get(key, default) if hasattr(cfg, 'get') else default


# --------------------------------------------------------------- class counts
# A region-proposal head is class-agnostic (num_classes=1) whatever the data.
CLASS_AGNOSTIC = ('rpn_head',)


def num_classes_fields(model_cfg: Any, prefix: str = 'model') -> Iterator[tuple[str, int]]:
    """``(dotted config field, value)`` for every integer ``num_classes`` in the model config."""
    if isinstance(model_cfg, dict):
        for key, value in model_cfg.items():
            if key in CLASS_AGNOSTIC:
                continue
            path = f'{prefix}.{key}'
            if key == 'num_classes' and isinstance(value, int) and not isinstance(value, bool):
                yield path, value
            else:
                yield from num_classes_fields(value, path)
    elif isinstance(model_cfg, (list, tuple)):
        for i, value in enumerate(model_cfg):
            yield from num_classes_fields(value, f'{prefix}[{i}]')


def describe_dataset(dataset: Any) -> str:
    """A dataset named by what a user wrote: its annotation file, else its image folder."""
    inner = dataset
    while not getattr(inner, 'ann_file', None) and hasattr(inner, 'dataset'):
        inner = inner.dataset  # RepeatDataset, ClassBalancedDataset
    if getattr(inner, 'ann_file', None):
        return f'{type(inner).__name__} {inner.ann_file}'
    prefix = getattr(inner, 'data_prefix', None) or {}
    root = next(iter(prefix.values()), None) if isinstance(prefix, dict) else prefix
    return f'{type(inner).__name__} {root or getattr(inner, "data_root", "")}'.rstrip()


def class_count_problems(model_cfg: Any, datasets: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, warnings) comparing the model config's ``num_classes`` with each dataset's classes."""
    errors, warnings = [], []
    fields = list(num_classes_fields(model_cfg))
    for where, dataset in datasets.items():
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if not classes:
            continue
        n = len(classes)
        for field, value in fields:
            what = (f'{field}={value}, but {where} ({describe_dataset(dataset)}) has {n} classes')
            if value < n:
                errors.append(f'{what}: labels {value}..{n - 1} would be out of range. '
                              f'Set {field}={n}, or give the dataset only the classes to learn '
                              f'(metainfo=dict(classes=...) or its classes file).')
            elif value > n:
                warnings.append(f'{what}: {value - n} output(s) will never be trained. '
                                f'Set {field}={n} unless that is intended.')
    return errors, warnings


def image_paths(dataset: Any) -> Optional[set[str]]:
    """The normalised ``img_path`` of every sample of a dataset (through wrappers), or None if it has none."""
    inner = dataset
    while not hasattr(inner, 'get_data_info') and hasattr(inner, 'dataset'):
        inner = inner.dataset
    if not hasattr(inner, 'get_data_info'):
        return None
    paths = set()
    for i in range(len(inner)):
        path = inner.get_data_info(i).get('img_path')
        if path is None:
            return None
        paths.add(os.path.normpath(os.path.abspath(path)))
    return paths


def split_overlap_problem(weights: Any, arch: Any) -> Optional[str]:
    """A bilevel search whose two splits share images, as a message; None where they are disjoint.

    The architecture step must measure how the weights generalise, on images
    they were not fitted to; with the same (or overlapping) files it rewards
    what the weight step has memorised, and the search runs without a word.
    """
    a, b = image_paths(weights), image_paths(arch)
    if not a or not b:
        return None
    common = a & b
    if not common:
        return None
    same = 'are the same images' if a == b else f'share {len(common)} images'
    return (f'train_dataloader.dataset ({describe_dataset(weights)}, {len(a)} images) and '
            f'train_cfg.arch_dataloader.dataset ({describe_dataset(arch)}, {len(b)} images) {same} '
            f'(e.g. {sorted(common)[0]}): the architecture step would be tuned on the images the '
            'weights are fitted to. Give the search two disjoint splits (tools/dataset/imagenet_subset.py '
            'for image folders, tools/dataset/coco_split.py for COCO files).')


class PreflightHook(Hook):
    """Before the first training step: the model's class count against the training data.

    NASRunner registers it, so MMDetection's tools get it too. A search's
    architecture split (``train_cfg.arch_dataloader``) is checked as well, and
    must share no image with the weight split (:func:`split_overlap_problem`).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model_cfg = runner.cfg.get('model') if runner.cfg is not None else None
        if not isinstance(model_cfg, dict):
            return
        datasets = {'train_dataloader.dataset': runner.train_dataloader.dataset}
        arch = getattr(runner.train_loop, 'arch_dataloader', None)
        if arch is not None:
            datasets['train_cfg.arch_dataloader.dataset'] = arch.dataset
        errors, warnings = class_count_problems(model_cfg, datasets)
        for message in warnings:
            runner.logger.warning(message)
        if arch is not None:
            errors.extend(filter(None, [split_overlap_problem(runner.train_dataloader.dataset, arch.dataset)]))
        if errors:
            raise ValueError('\n'.join(errors))



# ------------------------------------------------------ premises of the whole run
def config_problems(cfg: Any) -> list[str]:
    """Mistakes a config holds as a whole, each a message naming the fields; checked when the runner is built."""
    return [p for p in (warmup_problem(cfg), *anchor_size_problems(cfg)) if p]


def warmup_problem(cfg: Any) -> Optional[str]:
    """An architecture warm-up as long as the whole search: no architecture step would ever count.

    A bilevel search (``train_cfg.arch_dataloader``) takes no architecture
    step before ``train_cfg.arch_warmup_epochs``, so the result would be
    derived from untrained architecture parameters. A one-level search whose
    architecture has its own ``model.space.arch.warmup_epochs`` / ``warmup_iters``
    (Single-Path NAS: the latency term) would never turn it on (the deprecated
    ``SinglePathSpace`` took them as ``model.space.warmup_epochs``).
    """
    train_cfg, model = _get(cfg, 'train_cfg') or {}, _get(cfg, 'model') or {}
    max_epochs, max_iters = _get(train_cfg, 'max_epochs'), _get(train_cfg, 'max_iters')
    warm = _get(train_cfg, 'arch_warmup_epochs')
    if _get(train_cfg, 'arch_dataloader') is not None and isinstance(warm, int) \
            and isinstance(max_epochs, int) and warm >= max_epochs:
        return (f'train_cfg.arch_warmup_epochs={warm} covers the whole search '
                f'(train_cfg.max_epochs={max_epochs}): no architecture step would run, and the result '
                f'would be derived from untrained architecture parameters. Set it below {max_epochs} '
                '(PC-DARTS: 15 of 50 epochs).')
    space = (_get(model, 'space') or _get(model, 'architecture') or {})  # the old key is warned of at build
    key_of = 'space' if _get(model, 'space') else 'architecture'
    for key, total, unit in (('warmup_epochs', max_epochs, 'max_epochs'),
                             ('warmup_iters', max_iters, 'max_iters')):
        for where, node in ((f'model.{key_of}.arch.{key}', _get(_get(space, 'arch') or {}, key)),
                            (f'model.{key_of}.{key}', _get(space, key))):
            if isinstance(node, int) and isinstance(total, int) and node >= total:
                return (f'{where}={node} covers the whole search (train_cfg.{unit}='
                        f'{total}): the architecture\'s cost term never turns on, so the search would '
                        f'ignore it. Set it below {total}.')
    return None


def _pipelines(node: Any, path: str) -> Iterator[tuple[str, list]]:
    """``(dotted path, pipeline list)`` of every ``pipeline`` under a dataloader's dataset config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'pipeline' and isinstance(value, (list, tuple)):
                yield f'{path}.pipeline', list(value)
            else:
                yield from _pipelines(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pipelines(value, f'{path}[{i}]')


def _anchor_generators(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'anchor_generator' and isinstance(value, dict):
                yield f'{path}.{key}', value
            else:
                yield from _anchor_generators(value, f'{path}.{key}')


def anchor_size_problems(cfg: Any) -> list[str]:
    """An SSD whose images are resized to another size than its anchor generator's ``input_size``.

    ``SSDAnchorGenerator`` places its anchors for images of ``input_size``
    pixels; images resized (``keep_ratio=False``) to another size get
    anchors of the wrong scale, and training runs without a word.
    """
    sizes = [(where, gen['input_size']) for where, gen in _anchor_generators(_get(cfg, 'model'), 'model')
             if str(gen.get('type', '')).endswith('SSDAnchorGenerator') and gen.get('input_size')]
    if not sizes:
        return []
    problems = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for where, pipeline in _pipelines(_get(_get(cfg, loader), 'dataset'), f'{loader}.dataset'):
            for i, step in enumerate(pipeline):
                if not isinstance(step, dict) or not str(step.get('type', '')).endswith('Resize') \
                        or step.get('keep_ratio', False) or step.get('scale') is None:
                    continue
                scale = step['scale']
                scale = tuple(scale) if isinstance(scale, (list, tuple)) else (scale, scale)
                for anchors, size in sizes:
                    want = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
                    if tuple(scale) != want:
                        problems.append(
                            f'{where}[{i}] resizes images to {scale}, but {anchors}.input_size={size}: '
                            f'its anchors are placed for {size} px images. Set both to the same size '
                            '(a top-level input_size variable that both read, as our configs do).')
    return problems

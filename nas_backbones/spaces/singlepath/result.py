"""The result of a Single-Path search: the macro layout and, per layer, kernel and expansion or skip.

The file (``architecture.json``) is small and meant to be read and edited::

    {
     "format": "nas_backbones.singlepath/1",
     "width_mult": 1.0, "stem_channels": 32, "head_channels": 1280,
     "blocks": [
      {"channels": 16, "stride": 1, "searchable": false, "residual": false, "layers": [
        {"kernel": 3, "expansion": 1}]},
      {"channels": 24, "stride": 2, "searchable": true, "layers": [
        {"kernel": 3, "expansion": 3},
        ...
        {"skip": true}]},
      ...]
    }

A block's stride is on its first layer; a block's repeats are its number of
layers. Searchable layers take a kernel in (3, 5) and an expansion in (3, 6),
or skip where the layer has an identity shortcut (stride 1, equal widths, a
block with ``residual`` true, the default); the layers of a fixed block share
one kernel and expansion. Errors name the block, layer and field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from ...utils.result_file import ResultFile
from .layout import DEFAULT_HEAD, DEFAULT_STEM, EXPANSIONS, KERNELS, BlockSpec, LayerSpec, Layout, LayoutError

FORMAT = 'nas_backbones.singlepath/1'


class ArchitectureError(ValueError):
    """An architecture is malformed; the message names the block, layer and field at fault."""


@dataclass(frozen=True)
class LayerChoice:
    """What one MBConv layer of the derived network is."""
    kernel: int = 0
    expansion: int = 0
    skip: bool = False

    @property
    def op(self) -> str:
        return 'skip' if self.skip else f'k{self.kernel}e{self.expansion}'

    def to_dict(self) -> dict:
        return {'skip': True} if self.skip else {'kernel': self.kernel, 'expansion': self.expansion}


def _positive_int(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and v > 0


@dataclass(frozen=True)
class Architecture(ResultFile):
    """A derived Single-Path network: block table + one :class:`LayerChoice` per layer."""
    FORMAT: ClassVar[str] = FORMAT
    ERROR: ClassVar[type] = ArchitectureError
    WHAT: ClassVar[str] = 'architecture'
    FORMAT_REQUIRED: ClassVar[bool] = False  # a hand-written file may leave the tag out
    blocks: tuple[BlockSpec, ...]
    choices: tuple[tuple[LayerChoice, ...], ...]
    width_mult: float = 1.0
    stem_channels: int = DEFAULT_STEM
    head_channels: int = DEFAULT_HEAD
    # Where it came from, for error messages only.
    source: str = field(default='architecture', compare=False, repr=False)

    filename: ClassVar[str] = 'architecture.json'

    def __post_init__(self) -> None:
        object.__setattr__(self, 'blocks', tuple(self.blocks))
        object.__setattr__(self, 'choices', tuple(tuple(c) for c in self.choices))
        self.validate(self.source)

    # ------------------------------------------------------------------ checks
    @property
    def layout(self) -> Layout:
        return Layout(self.blocks, self.width_mult, self.stem_channels, self.head_channels)

    def validate(self, source: str = 'architecture') -> None:
        if len(self.choices) != len(self.blocks):
            raise ArchitectureError(f'{source}: {len(self.blocks)} blocks but choices for '
                                    f'{len(self.choices)}')
        for b, (blk, layers) in enumerate(zip(self.blocks, self.choices)):
            if len(layers) != blk.repeats:
                raise ArchitectureError(f'{source}: blocks[{b}]: repeats {blk.repeats} but '
                                        f'{len(layers)} layer choices')
        try:
            layout = self.layout
        except LayoutError as e:
            raise ArchitectureError(f'{source}: {e}') from None
        for spec, choice in zip(layout.layers, self.flat_choices):
            where = f'{source}: blocks[{spec.block}].layers[{spec.position}] ({spec.name})'
            _check_choice(where, spec, self.blocks[spec.block], choice)

    @property
    def flat_choices(self) -> tuple[LayerChoice, ...]:
        return tuple(c for layers in self.choices for c in layers)

    def layers(self) -> Iterator[tuple[LayerSpec, LayerChoice]]:
        """Every layer of the resolved layout with its choice."""
        return zip(self.layout.layers, self.flat_choices)

    def ops(self) -> list[str]:
        return [c.op for c in self.flat_choices]

    def to_text(self) -> str:
        """One line: the ops of each block, blocks separated by ``|``."""
        return ' | '.join(' '.join(c.op for c in layers) for layers in self.choices)

    # ---------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict:
        blocks = []
        for blk, layers in zip(self.blocks, self.choices):
            d = dict(channels=blk.channels, stride=blk.stride, searchable=blk.searchable)
            if not blk.residual:
                d['residual'] = False
            d['layers'] = [c.to_dict() for c in layers]
            blocks.append(d)
        return dict(format=FORMAT, width_mult=self.width_mult, stem_channels=self.stem_channels,
                    head_channels=self.head_channels, blocks=blocks)

    def to_json(self) -> str:
        """Indented JSON with one line per layer."""
        d = self.to_dict()
        lines = ['{']
        for key in ('format', 'width_mult', 'stem_channels', 'head_channels'):
            lines.append(f' {json.dumps(key)}: {json.dumps(d[key])},')
        lines.append(' "blocks": [')
        for i, blk in enumerate(d['blocks']):
            head = json.dumps({k: v for k, v in blk.items() if k != 'layers'})[:-1]
            layers = ',\n'.join('   ' + json.dumps(c) for c in blk['layers'])
            lines.append(f'  {head}, "layers": [\n{layers}]}}' + (',' if i < len(d['blocks']) - 1 else ''))
        lines += [' ]', '}']
        return '\n'.join(lines) + '\n'

    # ------------------------------------------------------- agreement of searches
    def gene_groups(self) -> list[tuple[str]]:
        """One group per searchable layer: its op (``k3e3`` ... ``k5e6``, ``skip``)."""
        return [(c.op,) for spec, c in self.layers() if spec.searchable]

    def random_like(self, seed: str) -> 'Architecture':
        """A random architecture of this layout (every searchable layer's op uniform), drawn with ``seed``."""
        import random

        from .sample import random_architecture
        return random_architecture(self.layout, random.Random(f'nas_backbones.random_architecture:{seed}'))

    @classmethod
    def from_dict(cls, d: Any, source: str = 'architecture') -> 'Architecture':
        d = cls.check(dict(d) if isinstance(d, Mapping) else d, source)
        known = {'format', 'width_mult', 'stem_channels', 'head_channels', 'blocks'}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ArchitectureError(f'{source}: unknown field(s) {unknown}; known: {sorted(known)}')
        raw_blocks = d.get('blocks')
        if not isinstance(raw_blocks, Sequence) or isinstance(raw_blocks, (str, bytes)) or not raw_blocks:
            raise ArchitectureError(f'{source}: blocks: expected a non-empty list of blocks, '
                                    f'got {raw_blocks!r}')
        blocks, choices, index = [], [], 0
        for b, blk in enumerate(raw_blocks):
            blk_src = f'{source}: blocks[{b}]'
            blk_spec, layers = _block_from_dict(blk, blk_src, index)
            blocks.append(blk_spec)
            choices.append(layers)
            index += len(layers)
        kwargs = {k: d[k] for k in ('width_mult', 'stem_channels', 'head_channels') if k in d}
        for k, v in kwargs.items():
            ok = (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 if k == 'width_mult'
                  else _positive_int(v))
            if not ok:
                raise ArchitectureError(f'{source}: {k}: expected a positive '
                                        f'{"number" if k == "width_mult" else "integer"}, got {v!r}')
        return cls(tuple(blocks), tuple(choices), source=source, **kwargs)



def _choice_from_dict(c: Any, where: str) -> LayerChoice:
    if not isinstance(c, Mapping):
        raise ArchitectureError(f'{where}: expected {{"kernel": k, "expansion": e}} or '
                                f'{{"skip": true}}, got {c!r}')
    unknown = sorted(set(c) - {'kernel', 'expansion', 'skip'})
    if unknown:
        raise ArchitectureError(f'{where}: unknown field(s) {unknown}; a layer has kernel and '
                                'expansion, or skip')
    skip = c.get('skip', False)
    if not isinstance(skip, bool):
        raise ArchitectureError(f'{where}: skip: expected true or false, got {skip!r}')
    if skip:
        extra = sorted(set(c) & {'kernel', 'expansion'})
        if extra:
            raise ArchitectureError(f'{where}: a skipped layer has no {" or ".join(extra)}')
        return LayerChoice(skip=True)
    for name in ('kernel', 'expansion'):
        if name not in c:
            raise ArchitectureError(f'{where}: {name}: missing (give kernel and expansion, '
                                    'or "skip": true)')
        if not _positive_int(c[name]):
            raise ArchitectureError(f'{where}: {name}: expected a positive integer, got {c[name]!r}')
    return LayerChoice(c['kernel'], c['expansion'])


def _block_from_dict(blk: Any, where: str, first_index: int) -> tuple[BlockSpec, tuple]:
    if not isinstance(blk, Mapping):
        raise ArchitectureError(f'{where}: expected a block object, got {blk!r}')
    known = {'channels', 'stride', 'searchable', 'residual', 'layers'}
    unknown = sorted(set(blk) - known)
    if unknown:
        raise ArchitectureError(f'{where}: unknown field(s) {unknown}; known: {sorted(known)}')
    for name in ('channels', 'stride', 'layers'):
        if name not in blk:
            raise ArchitectureError(f'{where}: {name}: missing')
    raw = blk['layers']
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)) or not raw:
        raise ArchitectureError(f'{where}: layers: expected a non-empty list, got {raw!r}')
    layers = tuple(_choice_from_dict(c, f'{where}.layers[{j}] (layer {first_index + j})')
                   for j, c in enumerate(raw))
    searchable = blk.get('searchable', True)
    kwargs = dict(channels=blk['channels'], repeats=len(layers), stride=blk['stride'],
                  searchable=searchable, residual=blk.get('residual', True))
    if searchable is False:
        first = layers[0]
        if first.skip:
            raise ArchitectureError(f'{where}.layers[0] (layer {first_index}): skip: a fixed '
                                    'block\'s layers cannot be skipped')
        kwargs.update(kernel=first.kernel, expansion=first.expansion)
    try:
        return BlockSpec(**kwargs), layers
    except LayoutError as e:
        raise ArchitectureError(f'{where}.{e}') from None


def _check_choice(where: str, spec: LayerSpec, blk: BlockSpec, c: LayerChoice) -> None:
    if not isinstance(c, LayerChoice):
        raise ArchitectureError(f'{where}: expected a LayerChoice, got {c!r}')
    if c.skip:
        if not spec.searchable:
            raise ArchitectureError(f'{where}: skip: a fixed block\'s layers cannot be skipped')
        if not spec.residual:
            raise ArchitectureError(
                f'{where}: skip: this layer has no identity shortcut (stride {spec.stride}, '
                f'{spec.in_channels} -> {spec.out_channels} channels'
                f'{", block without residuals" if not blk.residual else ""}), so it cannot be skipped')
        return
    if spec.searchable:
        if c.kernel not in KERNELS:
            raise ArchitectureError(f'{where}: kernel: {c.kernel!r} is not one of {list(KERNELS)}')
        if c.expansion not in EXPANSIONS:
            raise ArchitectureError(f'{where}: expansion: {c.expansion!r} is not one of '
                                    f'{list(EXPANSIONS)}')
        return
    for name in ('kernel', 'expansion'):
        v, want = getattr(c, name), getattr(blk, name)
        if not _positive_int(v) or v != want:
            raise ArchitectureError(f'{where}: {name}: {v!r}, but the layers of a fixed block '
                                    f'share one {name} ({want} in this block)')
    if c.kernel % 2 == 0:
        raise ArchitectureError(f'{where}: kernel: expected an odd size, got {c.kernel}')

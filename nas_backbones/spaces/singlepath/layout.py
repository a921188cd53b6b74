"""The macro layout of the Single-Path NAS space: a MobileNetV2-style block table.

A block is ``repeats`` MBConv layers of one output width; its stride is on
its first layer. Searchable blocks start every layer as the 5x5, expansion-6
superkernel; fixed blocks keep the kernel and expansion of the table. A layer
has an identity shortcut (and so may become "skip") when its stride is 1, its
input and output widths are equal and its block allows residuals (the
reference's ``noskip`` blocks do not).

The default table is the reference's 22-layer layout: stem 32, blocks
16/24/40/80/96/192/320 (4 repeats in the five searchable blocks), head 1280.
The width multiplier rounds every width to a multiple of 8 as MnasNet's
``round_filters`` (and MMDetection's ``make_divisible``) does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

KERNELS = (3, 5)
EXPANSIONS = (3, 6)
# Column order of every per-layer cost table: the reference's runtime-model order.
VARIANTS = ('k3e3', 'k3e6', 'k5e3', 'k5e6')
SUPER_KERNEL, SUPER_EXPANSION = max(KERNELS), max(EXPANSIONS)


class LayoutError(ValueError):
    """A block table is malformed; the message names the block and field at fault."""


@dataclass(frozen=True)
class BlockSpec:
    """One row of the block table (widths before the width multiplier)."""
    channels: int
    repeats: int
    stride: int
    searchable: bool = True
    kernel: int = SUPER_KERNEL       # fixed blocks only: their kernel
    expansion: int = SUPER_EXPANSION  # fixed blocks only: their expansion
    residual: bool = True            # False: no identity shortcut (the reference's "noskip")

    def __post_init__(self) -> None:
        for name in ('channels', 'repeats', 'stride', 'kernel', 'expansion'):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise LayoutError(f'{name}: expected a positive integer, got {v!r}')
        if self.stride not in (1, 2):
            raise LayoutError(f'stride: expected 1 or 2, got {self.stride}')
        if self.kernel % 2 == 0:
            raise LayoutError(f'kernel: expected an odd size, got {self.kernel}')
        for name in ('searchable', 'residual'):
            if not isinstance(getattr(self, name), bool):
                raise LayoutError(f'{name}: expected true or false, got {getattr(self, name)!r}')

    def to_dict(self) -> dict:
        d = dict(channels=self.channels, repeats=self.repeats, stride=self.stride,
                 searchable=self.searchable)
        if not self.searchable:
            d.update(kernel=self.kernel, expansion=self.expansion)
        if not self.residual:
            d['residual'] = False
        return d


# The reference's block strings (r = repeats, k = kernel, s = stride, e = expansion, o = out).
DEFAULT_BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec(16, 1, 1, searchable=False, kernel=3, expansion=1, residual=False),  # r1_k3_s11_e1_o16_noskip
    BlockSpec(24, 4, 2),    # r4_k5_s22_e6_o24
    BlockSpec(40, 4, 2),    # r4_k5_s22_e6_o40
    BlockSpec(80, 4, 2),    # r4_k5_s22_e6_o80
    BlockSpec(96, 4, 1),    # r4_k5_s11_e6_o96
    BlockSpec(192, 4, 2),   # r4_k5_s22_e6_o192
    BlockSpec(320, 1, 1, searchable=False, kernel=3, expansion=6, residual=False),  # r1_k3_s11_e6_o320_noskip
)
DEFAULT_STEM, DEFAULT_HEAD = 32, 1280


def round_channels(channels: int, width_mult: float, divisor: int = 8) -> int:
    """``channels * width_mult`` rounded to a multiple of ``divisor``, never 10% below it.

    MnasNet's ``round_filters``; the same as ``mmdet.models.utils.make_divisible``
    (tested), written out because importing ``mmdet.models`` would pull
    matplotlib into ``import nas_backbones``.
    """
    value = channels * width_mult
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


@dataclass(frozen=True)
class LayerSpec:
    """One MBConv layer of the resolved layout (widths after the multiplier)."""
    index: int        # position among all MBConv layers
    block: int
    position: int     # position in its block
    in_channels: int
    out_channels: int
    stride: int
    searchable: bool
    residual: bool    # has an identity shortcut, i.e. may be skipped when searchable
    kernel: int       # fixed layers: the table's; searchable: the superkernel's
    expansion: int

    @property
    def name(self) -> str:
        return f'layer {self.index} (block {self.block}, layer {self.position})'


@dataclass(frozen=True)
class Layout:
    """A block table resolved to widths: what supernet, derived network and costs share."""
    blocks: tuple[BlockSpec, ...]
    width_mult: float = 1.0
    stem_channels: int = DEFAULT_STEM
    head_channels: int = DEFAULT_HEAD
    layers: tuple[LayerSpec, ...] = field(init=False)
    stem_out: int = field(init=False)
    head_out: int = field(init=False)
    block_out: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.width_mult, bool) or not isinstance(self.width_mult, (int, float)) \
                or not self.width_mult > 0:
            raise LayoutError(f'width_mult: expected a positive number, got {self.width_mult!r}')
        for name in ('stem_channels', 'head_channels'):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise LayoutError(f'{name}: expected a positive integer, got {v!r}')
        if not self.blocks:
            raise LayoutError('blocks: the table has no block')
        stem = round_channels(self.stem_channels, self.width_mult)
        layers, cin, outs = [], stem, []
        for b, blk in enumerate(self.blocks):
            cout = round_channels(blk.channels, self.width_mult)
            for j in range(blk.repeats):
                stride = blk.stride if j == 0 else 1
                residual = blk.residual and stride == 1 and cin == cout
                layers.append(LayerSpec(
                    index=len(layers), block=b, position=j, in_channels=cin, out_channels=cout,
                    stride=stride, searchable=blk.searchable, residual=residual,
                    kernel=SUPER_KERNEL if blk.searchable else blk.kernel,
                    expansion=SUPER_EXPANSION if blk.searchable else blk.expansion))
                cin = cout
            outs.append(cout)
        object.__setattr__(self, 'layers', tuple(layers))
        object.__setattr__(self, 'stem_out', stem)
        # MnasNet rounds the head too (MobileNetV2 keeps 1280 below width 1).
        object.__setattr__(self, 'head_out', round_channels(self.head_channels, self.width_mult))
        object.__setattr__(self, 'block_out', tuple(outs))

    @property
    def searchable(self) -> tuple[LayerSpec, ...]:
        """The layers with thresholds, in order (20 in the default table)."""
        return tuple(layer for layer in self.layers if layer.searchable)

    @property
    def num_stages(self) -> int:
        """Blocks plus the head conv: the stages a backbone can return."""
        return len(self.blocks) + 1

    @property
    def stage_strides(self) -> tuple[int, ...]:
        """Nominal output stride of every block and of the head (stem: 2)."""
        s, out = 2, []
        for blk in self.blocks:
            s *= blk.stride
            out.append(s)
        return tuple(out) + (s,)

    def macro_dict(self) -> dict:
        return dict(width_mult=self.width_mult, stem_channels=self.stem_channels,
                    head_channels=self.head_channels,
                    blocks=[b.to_dict() for b in self.blocks])


BlockLike = Union[BlockSpec, Mapping[str, Any]]


def block_from(spec: BlockLike, where: str) -> BlockSpec:
    """A BlockSpec from itself or from a dict (config / file), naming ``where`` on error."""
    if isinstance(spec, BlockSpec):
        return spec
    if not isinstance(spec, Mapping):
        raise LayoutError(f'{where}: expected a block dict, got {type(spec).__name__} {spec!r}')
    known = set(BlockSpec.__dataclass_fields__)
    unknown = sorted(set(spec) - known)
    if unknown:
        raise LayoutError(f'{where}: unknown field(s) {unknown}; known: {sorted(known)}')
    missing = [k for k in ('channels', 'repeats', 'stride') if k not in spec]
    if missing:
        raise LayoutError(f'{where}: missing field(s) {missing}')
    try:
        return BlockSpec(**dict(spec))
    except LayoutError as e:
        raise LayoutError(f'{where}.{e}') from None


def make_layout(blocks: Optional[Iterable[BlockLike]] = None, width_mult: float = 1.0,
                stem_channels: int = DEFAULT_STEM, head_channels: int = DEFAULT_HEAD,
                where: str = 'blocks') -> Layout:
    """The layout of a block table (default: the reference's) at a width multiplier."""
    table: Sequence[BlockLike] = DEFAULT_BLOCKS if blocks is None else list(blocks)
    specs = tuple(block_from(b, f'{where}[{i}]') for i, b in enumerate(table))
    return Layout(specs, width_mult, stem_channels, head_channels)

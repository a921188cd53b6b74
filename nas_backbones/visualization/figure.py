"""Saving matplotlib figures: the format comes from the file extension, the write is atomic."""
from __future__ import annotations

import os
from typing import Union

FORMATS = ('png', 'svg', 'pdf')


def image_format(path: Union[str, os.PathLike]) -> str:
    """The format named by ``path``'s extension; a clear error for any other."""
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip('.')
    if ext not in FORMATS:
        shown = f"'.{ext}'" if ext else 'no extension'
        raise ValueError(f'{os.fspath(path)}: unknown image format ({shown}); '
                         f'use one of {", ".join("." + f for f in FORMATS)}')
    return ext


def new_figure(width: float, height: float):
    """A figure that does not touch pyplot's global state (safe in hooks and threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: Union[str, os.PathLike], dpi: int = 150) -> str:
    """Write ``fig`` to ``path`` atomically, in the format its extension names."""
    from matplotlib import rc_context

    from ..utils.io import atomic_open
    fmt = image_format(path)
    # No dates and fixed ids keep files byte-identical when regenerated; SVG text stays
    # text (searchable, editable) instead of glyph outlines.
    metadata = {'png': {'Software': None}, 'svg': {'Date': None},
                'pdf': {'CreationDate': None, 'ModDate': None}}[fmt]
    with rc_context({'svg.fonttype': 'none', 'svg.hashsalt': 'nas_backbones'}), \
            atomic_open(path, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=dpi, metadata=metadata)
    return os.fspath(path)


def figure_rgb(fig, dpi: int = 100):
    """``fig`` drawn to an RGB uint8 array (height x width x 3), what an experiment tracker takes."""
    import numpy as np
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()

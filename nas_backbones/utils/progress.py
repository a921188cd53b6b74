"""Progress bars only where someone watches them: a bar redrawn into a log file is one line of
hundreds of updates, so it is shown on a terminal and left out otherwise."""
from __future__ import annotations

import sys
from typing import IO, Optional


class Progress:
    """``update()`` after each item; ``close()`` at the end. A no-op unless ``stream`` is a terminal."""

    def __init__(self, total: int, stream: Optional[IO] = None) -> None:
        stream = stream if stream is not None else sys.stdout
        isatty = getattr(stream, 'isatty', None)
        self._bar = None
        if total > 0 and callable(isatty) and isatty():
            from mmengine.utils import ProgressBar
            self._bar = ProgressBar(total, file=stream)
            self._stream = stream

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def update(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def close(self) -> None:
        if self._bar is not None:
            self._stream.write('\n')
            self._stream.flush()
            self._bar = None

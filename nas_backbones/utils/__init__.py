from .io import atomic_open, atomic_write_text
from .progress import Progress

__all__ = ['Progress', 'atomic_open', 'atomic_write_text']

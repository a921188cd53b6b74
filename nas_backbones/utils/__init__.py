from .io import atomic_open, atomic_write_text
from .progress import Progress
from .threads import available_cores, threads_per_process

__all__ = ['Progress', 'atomic_open', 'atomic_write_text', 'available_cores', 'threads_per_process']

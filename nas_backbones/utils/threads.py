"""How many threads a training process should run: one per core it can have, never more.

torch starts one OpenMP thread per core by default. When other jobs already
occupy some of the cores, those threads wait on each other at every barrier
while the scheduler runs someone else, and a step gets tens of times slower
instead of a few times (measured: 0.17 s per SSD iteration idle, 12-16 s with
two other single-thread jobs on two cores). A tool that starts N processes
gives each ``threads_per_process(N)`` threads: the cores this process may run
on (its CPU affinity, which also honours container limits set that way), less
the ones the recent load average says are busy, shared among the N.
"""
from __future__ import annotations

import os
from typing import Optional


def available_cores() -> int:
    """The cores this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def busy_cores() -> int:
    """Cores other work keeps busy now: the 1-minute load average, rounded down (0 where unknown)."""
    try:
        return int(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0


def threads_per_process(processes: int = 1, cores: Optional[int] = None,
                        busy: Optional[int] = None) -> int:
    """Threads for each of ``processes`` processes: the free cores shared among them, at least 1.

    ``cores`` and ``busy`` default to :func:`available_cores` and :func:`busy_cores`.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f'processes: expected an integer >= 1, got {processes!r}')
    cores = available_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    free = max(1, cores - max(0, busy))
    return max(1, free // processes)

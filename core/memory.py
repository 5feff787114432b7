"""Garbage collection tuned for processes that hold many live objects and make more by the million."""
from __future__ import annotations

import gc


def for_throughput() -> None:
    """Collect the young generation every 100,000 allocations, not 700: the write path's objects (events, cases,
    rows) are acyclic and freed by reference counting, and with the default a collection runs every few events,
    a full one over everything alive every few takes (a third of a backfill writer's time, measured)."""
    gc.freeze()  # what startup made lives as long as the process: never traversed again
    gc.set_threshold(100_000, 50, 100)

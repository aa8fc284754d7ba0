"""The garbage-collector policy of a run: fewer young-generation collections.

A run allocates millions of short-lived containers (transaction tuples, heap entries, lists
per stretch of inputs) and creates almost no reference cycles: a whole run leaves about the
same few thousand unreachable objects (from setup) whether it simulates 2 or 6 hours, so the
collections CPython's default young-generation threshold of 700 triggers find nothing to free
in simulated time. Each one still walks the young objects, and every tenth of a tenth walks
the whole long-lived heap (pools, histograms, series buffers). Raising the threshold for the
duration of a run removes most of those walks; cycles are still collected, only later, so
memory stays bounded (``benchmarks/README.md``, "Network model", has the measured effect).

Results do not depend on when the collector runs: nothing in the model reads the collector
or relies on a finalizer's timing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Net container allocations between young-generation collections during a run (CPython's
default is 700)."""


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Raise the young-generation threshold inside the block, restore it afterwards.

    The setting is the interpreter's (``gc.set_threshold``), so other threads see it too while
    the block runs; it is restored even when the block raises. A threshold already at or
    above ``young`` (or a disabled collector) is left as it is.

    Args:
        young: Threshold for generation 0 inside the block.

    Yields:
        Nothing; the block runs with the raised threshold.
    """
    saved = gc.get_threshold()
    if saved[0] == 0 or saved[0] >= young:
        yield
        return
    gc.set_threshold(young, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)

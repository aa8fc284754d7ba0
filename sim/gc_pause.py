"""Pausing Python's cyclic garbage collector while a chunk of inputs is drawn.

CPython starts a young-generation collection whenever the number of container objects
allocated minus those freed passes 700, and every tenth of those also collects the next older
generation (up to a full pass over every live container). Drawing a chunk of inputs
allocates a thousand or more ``Transaction`` tuples at once (they hold only numbers, so they
can never be part of a reference cycle), so without a pause the collector runs about twice per
60-s chunk. In the network model the transactions of
the chunk that was just used up are freed right after the next one is drawn, so allocations
and frees nearly cancel: with the collector paused from the start of the draw until the
used-up chunk is let go (:meth:`sim.inputs.InputFeeder.advance`), the net count stays under
the threshold and the collector runs about a tenth as often (2 simulated hours of the
benchmark scenario: 11 young-generation passes instead of 120, about 3 % of the run's time).

Pausing changes no result: collection timing only decides when unreachable cycles are freed,
and nothing in the model depends on that (no ``__del__`` or weak-reference callback affects a
value). Collections still happen, so memory stays flat.
"""

from __future__ import annotations

import gc
from types import TracebackType


class GcPause:
    """Context manager: the cyclic garbage collector is disabled inside, then restored.

    Nests: an inner pause inside an outer one (or under a caller that disabled the collector
    itself) leaves it disabled on exit. A class rather than a ``contextlib`` generator, whose
    exit allocates (a ``StopIteration``) and so could start a collection right at the end.
    """

    __slots__ = ("_enabled",)

    def __init__(self) -> None:
        self._enabled = False

    def __enter__(self) -> None:
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._enabled:
            gc.enable()

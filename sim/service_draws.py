"""Buffered outcomes of one service instance (sync serving, filter, subscription).

A :class:`~sim.control.GenericService` call needs one uniform (error?) and one log-normal
(latency). Drawn one call at a time from numpy that is two scalar calls, a few microseconds,
for every generic request: the largest stream of the model (2.8M a simulated day at the
canary's load). :class:`ServiceDraws` instead draws ``chunk`` calls at once with
:meth:`GenericService.sample` and hands them out in order. Each service instance owns its own
stream, so the values an instance sees depend only on the seed, the chunk length and how many
calls that instance served before, never on other modules' traffic or on the run mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, islice

import numpy as np

from sim.control import GenericService


class ServiceDraws:
    """Outcomes of one service's calls, drawn ``chunk`` at a time from its own stream.

    :attr:`next` is the ``__next__`` of a C-level :func:`itertools.chain` over the chunks (as
    in :class:`~sim.control.percent_draws.PercentDraws`): it pulls a chunk only when a value
    is asked for and the current one is used up, so the stream sees the same calls in the
    same order as a hand-written buffer, at a third of the cost per call.

    Args:
        service: The service model.
        rng: This instance's own stream (nothing else may draw from it).
        chunk: Calls drawn per refill (>= 1).

    Attributes:
        next: ``next() -> (ok, latency)``: the next call's outcome. ``ok`` is False for an
            ``error`` or a ``timeout`` (whose latency is the service's timeout), as
            :meth:`GenericService.call` would give.
    """

    __slots__ = ("_chunk", "_rng", "_stream", "next", "service")

    def __init__(self, service: GenericService, rng: np.random.Generator,
                 chunk: int = 1024) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1; got {chunk}")
        self.service = service
        self._rng = rng
        self._chunk = chunk
        # iter(callable, sentinel) calls _refill each time chain needs a chunk; a list
        # iterator never equals the None sentinel, so the stream never ends.
        self._stream: Iterator[tuple[bool, float]] = chain.from_iterable(
            iter(self._refill, None))
        self.next: Callable[[], tuple[bool, float]] = self._stream.__next__

    def _refill(self) -> Iterator[tuple[bool, float]]:
        kinds, latencies = self.service.sample(self._rng, self._chunk)
        # A lazy zip, not a list of pairs: a caller that unpacks each pair at once (``ok,
        # cost = next()``) hands the pair back to zip, which refills it in place for the next
        # call, so a chunk allocates no pairs (and feeds the garbage collector no young
        # objects). Like a list iterator, it is exhausted only when asked for one value
        # past its end, so chain asks for the next chunk at the same moment.
        return zip((kinds == 0).tolist(), latencies.tolist(), strict=True)

    def take(self, n: int) -> tuple[list[bool], list[float]]:
        """The next ``n`` calls' outcomes: the same values as ``n`` calls of :attr:`next`.

        Args:
            n: How many (>= 0).

        Returns:
            ``(oks, latencies)`` in call order.
        """
        # islice stops after n values without asking the stream for one more (no early
        # refill).
        calls = list(islice(self._stream, n))
        return [ok for ok, _ in calls], [latency for _, latency in calls]

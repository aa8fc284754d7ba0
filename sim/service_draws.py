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
from operator import length_hint

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

    __slots__ = ("_chunk", "_latencies", "_latencies_left", "_oks", "_oks_left", "_rng",
                 "_stream", "next", "service")

    def __init__(self, service: GenericService, rng: np.random.Generator,
                 chunk: int = 1024) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1; got {chunk}")
        self.service = service
        self._rng = rng
        self._chunk = chunk
        # The current chunk's two columns and the iterators over them that its zip reads
        # (see _refill and take); empty until the first refill.
        self._oks: list[bool] = []
        self._latencies: list[float] = []
        self._oks_left: Iterator[bool] = iter(self._oks)
        self._latencies_left: Iterator[float] = iter(self._latencies)
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
        # past its end, so chain asks for the next chunk at the same moment. It reads the
        # columns through iterators kept here: take slices the columns at their position.
        self._oks = oks = (kinds == 0).tolist()
        self._latencies = latencies_l = latencies.tolist()
        self._oks_left = oks_left = iter(oks)
        self._latencies_left = latencies_left = iter(latencies_l)
        return zip(oks_left, latencies_left, strict=True)

    def take(self, n: int) -> tuple[list[bool], list[float]]:
        """The next ``n`` calls' outcomes: the same values as ``n`` calls of :attr:`next`.

        Args:
            n: How many (>= 0).

        Returns:
            ``(oks, latencies)`` in call order.
        """
        left = length_hint(self._oks_left)
        if n <= left:
            # Within the current chunk: its columns sliced at the zip's position. The zip
            # reads both column iterators in step, so moving both on by n (the itertools
            # "consume" recipe) moves the stream on by exactly the n values taken.
            start = len(self._oks) - left
            oks = self._oks[start:start + n]
            latencies = self._latencies[start:start + n]
            next(islice(self._oks_left, n, n), None)
            next(islice(self._latencies_left, n, n), None)
            return oks, latencies
        # Across a chunk's end. islice stops after n values without asking the stream for
        # one more (no early refill).
        calls = list(islice(self._stream, n))
        return [ok for ok, _ in calls], [latency for _, latency in calls]

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

import numpy as np

from sim.control import GenericService


class ServiceDraws:
    """Outcomes of one service's calls, drawn ``chunk`` at a time from its own stream.

    Args:
        service: The service model.
        rng: This instance's own stream (nothing else may draw from it).
        chunk: Calls drawn per refill (>= 1).
    """

    __slots__ = ("_chunk", "_latencies", "_oks", "_rng", "service")

    def __init__(self, service: GenericService, rng: np.random.Generator,
                 chunk: int = 1024) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1; got {chunk}")
        self.service = service
        self._rng = rng
        self._chunk = chunk
        # Reversed, so next() pops from the end in O(1).
        self._oks: list[bool] = []
        self._latencies: list[float] = []

    def _refill(self) -> None:
        kinds, latencies = self.service.sample(self._rng, self._chunk)
        self._oks = (kinds[::-1] == 0).tolist()
        self._latencies = latencies[::-1].tolist()

    def next(self) -> tuple[bool, float]:
        """The next call's outcome.

        Returns:
            ``(ok, latency)``: ``ok`` is False for an ``error`` or a ``timeout`` (whose
            latency is the service's timeout), as :meth:`GenericService.call` would give.
        """
        if not self._latencies:
            self._refill()
        return self._oks.pop(), self._latencies.pop()

    def take(self, n: int) -> tuple[list[bool], list[float]]:
        """The next ``n`` calls' outcomes: the same values as ``n`` calls of :meth:`next`.

        Args:
            n: How many (>= 0).

        Returns:
            ``(oks, latencies)`` in call order.
        """
        oks: list[bool] = []
        latencies: list[float] = []
        while len(latencies) < n:
            if not self._latencies:
                self._refill()
            k = min(n - len(latencies), len(self._latencies))
            # The buffers are reversed: their last k values, read backwards, come next.
            oks.extend(self._oks[-1:-k - 1:-1])
            latencies.extend(self._latencies[-1:-k - 1:-1])
            del self._oks[-k:]
            del self._latencies[-k:]
        return oks, latencies

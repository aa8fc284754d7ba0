"""A buffered stream of uniform integer draws in 1..100 (the guide's ``:rand.uniform(100)``).

The router owns one ``numpy.random.Generator``. Drawing one scalar per request costs a
numpy call each (microseconds); this buffer draws ``chunk`` at a time and hands them out in
order. The sequence of values depends only on the generator's seed and ``chunk``, never on how
callers interleave single draws (:attr:`PercentDraws.next`) and batches
(:meth:`PercentDraws.take`), so a batched fast path and a request-by-request path that make
the same number of draws see the same values.

Single draws are the hottest call of the input loop (one per routed input), so
:attr:`PercentDraws.next` is the ``__next__`` of a C-level :func:`itertools.chain` over the
chunks, not a Python method: about a third of the cost per draw. The chain pulls a new chunk
(one :meth:`PercentDraws._refill`) only when a value is asked for and the current chunk is
used up, exactly when a hand-written buffer would refill, so the generator sees the same
calls in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, islice
from operator import length_hint

import numpy as np
import numpy.typing as npt


class PercentDraws:
    """Uniform integers in 1..100 from a generator, drawn in chunks.

    Attributes:
        next: ``next() -> int``: the next draw, an integer in 1..100.
    """

    __slots__ = ("_chunk", "_current", "_issued", "_rng", "_stream", "next")

    def __init__(self, rng: np.random.Generator, chunk: int = 4096) -> None:
        """Wrap a generator.

        Args:
            rng: The stream to draw from (owned by the caller; nothing else should use it).
            chunk: How many values to draw per refill (>= 1).

        Raises:
            ValueError: If ``chunk < 1``.
        """
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1; got {chunk}")
        self._rng = rng
        self._chunk = chunk
        # Values drawn from the generator so far, and the chunk being handed out.
        self._issued = 0
        self._current: Iterator[int] = iter(())
        # iter(callable, sentinel) calls _refill each time chain needs a chunk; a list
        # iterator never equals the None sentinel, so the stream never ends.
        self._stream: Iterator[int] = chain.from_iterable(iter(self._refill, None))
        self.next: Callable[[], int] = self._stream.__next__

    def _refill(self) -> Iterator[int]:
        self._current = iter(self._rng.integers(1, 101, size=self._chunk).tolist())
        self._issued += self._chunk
        return self._current

    @property
    def drawn(self) -> int:
        """Values handed out so far."""
        # A list iterator's length hint is exactly the values it has left.
        return self._issued - length_hint(self._current)

    def take(self, n: int) -> npt.NDArray[np.int64]:
        """Return the next ``n`` draws as an array (the same values ``n`` calls of next give).

        Args:
            n: How many (>= 0).

        Returns:
            An int64 array of length ``n``, values in 1..100.

        Raises:
            ValueError: If ``n < 0``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0; got {n}")
        # islice stops after n values without asking the stream for one more (no early
        # refill).
        return np.fromiter(islice(self._stream, n), dtype=np.int64, count=n)

"""A buffered stream of uniform integer draws in 1..100 (the guide's ``:rand.uniform(100)``).

The router owns one ``numpy.random.Generator``. Drawing one scalar per request costs a
numpy call each (microseconds); this buffer draws ``chunk`` at a time and hands them out in
order. The sequence of values depends only on the generator's seed and ``chunk``, never on how
callers interleave single draws (:meth:`PercentDraws.next`) and batches
(:meth:`PercentDraws.take`), so a batched fast path and a request-by-request path that make
the same number of draws see the same values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class PercentDraws:
    """Uniform integers in 1..100 from a generator, drawn in chunks."""

    __slots__ = ("_buf", "_chunk", "_pos", "_rng", "drawn")

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
        self._buf: list[int] = []
        self._pos = 0
        self.drawn = 0
        """Values handed out so far."""

    def _refill(self) -> None:
        self._buf = self._rng.integers(1, 101, size=self._chunk).tolist()
        self._pos = 0

    def next(self) -> int:
        """Return the next draw.

        Returns:
            An integer in 1..100.
        """
        if self._pos >= len(self._buf):
            self._refill()
        value = self._buf[self._pos]
        self._pos += 1
        self.drawn += 1
        return value

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
        out = np.empty(n, dtype=np.int64)
        filled = 0
        while filled < n:
            if self._pos >= len(self._buf):
                self._refill()
            k = min(n - filled, len(self._buf) - self._pos)
            out[filled : filled + k] = self._buf[self._pos : self._pos + k]
            self._pos += k
            filled += k
        self.drawn += n
        return out

"""A streaming log-bucket histogram for latency quantiles.

Quantiles (p95, p99) come from bucket counts, never from stored samples, so memory stays
constant however long a run is. Buckets are geometric with growth
``g = (1 + rel_error) / (1 - rel_error)``; a quantile is reported as the point ``2*a*g/(g+1)``
of its bucket ``[a, a*g)``, so its relative error is at most ``rel_error`` for values in range
(the DDSketch idea: Masson, Rim and Lee, "DDSketch", VLDB 2019). Values below ``lo``
land in an underflow bucket reported as ``lo``; values at or above ``hi`` in an overflow bucket
reported as ``hi``. Exact count, sum, min and max are kept beside the buckets.

Samples can be added one at a time or as a numpy array (one vectorised bucket computation per
chunk of a run).
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Sequence
from functools import reduce

import numpy as np
import numpy.typing as npt

_VECTOR_MIN = 24
"""Batches at least this long are bucketed with numpy arithmetic (fewer: per value is faster)."""


class LogHistogram:
    """Geometric-bucket histogram with bounded relative quantile error.

    Args:
        lo: Smallest value resolved (values below count as ``lo``); must be > 0.
        hi: Largest value resolved (values at or above count as ``hi``).
        rel_error: Relative error bound of reported quantiles, in (0, 0.5).
    """

    __slots__ = ("_counts", "_gamma", "_log_gamma", "_log_lo", "count", "hi", "lo",
                 "max", "min", "n_buckets", "rel_error", "total")

    def __init__(self, lo: float = 1e-7, hi: float = 1e5, rel_error: float = 0.01) -> None:
        if not 0 < lo < hi:
            raise ValueError(f"need 0 < lo < hi, got lo={lo}, hi={hi}")
        if not 0 < rel_error < 0.5:
            raise ValueError(f"rel_error must be in (0, 0.5), got {rel_error}")
        self.lo = lo
        self.hi = hi
        self.rel_error = rel_error
        self._gamma = (1 + rel_error) / (1 - rel_error)
        self._log_gamma = math.log(self._gamma)
        self._log_lo = math.log(lo)
        # +2: one underflow bucket (index 0) and one overflow bucket (last index).
        self.n_buckets = math.ceil((math.log(hi) - self._log_lo) / self._log_gamma) + 2
        self._counts = np.zeros(self.n_buckets, dtype=np.int64)
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def _index(self, value: float) -> int:
        if value < self.lo:
            return 0
        if value >= self.hi:
            return self.n_buckets - 1
        return 1 + int((math.log(value) - self._log_lo) / self._log_gamma)

    def add(self, value: float) -> None:
        """Record one sample.

        Args:
            value: The sample (e.g. a latency in seconds); negative values count as 0.
        """
        self._counts[self._index(value)] += 1
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def extend(self, values: Sequence[float]) -> None:
        """Record samples in order, with exactly the result of calling :meth:`add` on each.

        Same buckets (``math.log`` per value, as :meth:`add`) and the same left-to-right sum,
        so buffering samples and recording them later changes nothing; it only saves the
        per-sample call (the model buffers a sampling interval's latencies).

        Args:
            values: The samples, in the order they were taken.
        """
        if not values:
            return
        lo, hi, last = self.lo, self.hi, self.n_buckets - 1
        log, log_lo, log_gamma = math.log, self._log_lo, self._log_gamma
        # Left to right, one addition at a time, like `add` (sum() compensates from 3.12 on).
        total = reduce(operator.add, values, self.total)
        low, high = min(values), max(values)
        if len(values) >= _VECTOR_MIN and total == total and lo <= low and high < hi:
            # No NaN (the total would be NaN) and every value in range: each takes the
            # `1 + int((log(v) - log_lo) / log_gamma)` branch below. The logs are still
            # math.log's; the subtraction and division are the same IEEE operations done by
            # numpy, and astype(int64) truncates toward zero like int().
            logs = np.fromiter(map(log, values), dtype=np.float64, count=len(values))
            self._counts += np.bincount(1 + ((logs - log_lo) / log_gamma).astype(np.int64),
                                        minlength=self.n_buckets)
        else:
            idx = [0 if v < lo else last if v >= hi
                   else 1 + int((log(v) - log_lo) / log_gamma) for v in values]
            self._counts += np.bincount(idx, minlength=self.n_buckets)
        self.total = total
        self.count += len(values)
        self.min = min(self.min, low)
        self.max = max(self.max, high)

    def add_many(self, values: npt.NDArray[np.float64]) -> None:
        """Record many samples at once (vectorised).

        Args:
            values: One-dimensional array of samples.
        """
        if values.size == 0:
            return
        clipped = np.clip(values, self.lo, None)
        idx = 1 + ((np.log(clipped) - self._log_lo) / self._log_gamma).astype(np.int64)
        idx[values < self.lo] = 0
        idx[values >= self.hi] = self.n_buckets - 1
        self._counts += np.bincount(idx, minlength=self.n_buckets)
        self.count += int(values.size)
        self.total += float(values.sum())
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))

    def merge(self, other: LogHistogram) -> None:
        """Add another histogram's samples into this one.

        Args:
            other: A histogram with the same ``lo``, ``hi`` and ``rel_error``.

        Raises:
            ValueError: If the bucket layouts differ.
        """
        if (other.lo, other.hi, other.rel_error) != (self.lo, self.hi, self.rel_error):
            raise ValueError("cannot merge histograms with different bucket layouts")
        self._counts += other._counts
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def _bucket_value(self, index: int) -> float:
        if index == 0:
            return self.lo
        if index == self.n_buckets - 1:
            return self.hi
        # For [a, a*g) the value 2*a*g/(g+1) is within rel_error of every point (DDSketch).
        return 2.0 * math.exp(self._log_lo + index * self._log_gamma) / (self._gamma + 1.0)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the recorded samples (nearest rank on buckets).

        Args:
            q: Quantile in [0, 1].

        Returns:
            The estimate, clamped to the exact min and max; NaN when there are no samples.
        """
        return self.quantiles(q)[0]

    def quantiles(self, *qs: float) -> tuple[float, ...]:
        """Several quantiles at once: ``quantile(q)`` for each, one cumulative count for all.

        Args:
            qs: Quantiles in [0, 1].

        Returns:
            The estimates, in the order asked.

        Raises:
            ValueError: If a ``q`` is outside [0, 1].
        """
        for q in qs:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"q must be in [0, 1], got {q}")
        if self.count == 0:
            return tuple(math.nan for _ in qs)
        # Only the buckets that can hold a sample: those of the exact min and max, widened by
        # one each way (a value bucketed by add_many's np.log may sit one bucket off the
        # math.log of _index). Every bucket outside is empty, so the cumulative counts of the
        # slice are those of the whole array there, the whole array's are 0 before it and
        # `count` after it, and the first bucket reaching a rank in 1..count is the same:
        # the same quantiles from the occupied range instead of all ~1,400 (a test checks it).
        first = max(0, self._index(self.min) - 1)
        last = min(self.n_buckets - 1, self._index(self.max) + 1)
        # As Python ints: bisect_left finds the first cumulative count >= rank, exactly as
        # np.searchsorted (side 'left') does, without a numpy call per quantile.
        cum = np.cumsum(self._counts[first:last + 1]).tolist()
        out = []
        for q in qs:
            rank = max(1, math.ceil(q * self.count))
            index = first + bisect_left(cum, rank)
            out.append(min(max(self._bucket_value(index), self.min), self.max))
        return tuple(out)

    @property
    def mean(self) -> float:
        """Exact mean of the samples (NaN when empty)."""
        return self.total / self.count if self.count else math.nan

    def reset(self) -> None:
        """Forget every sample (used for per-interval windows)."""
        if self.count:  # an empty histogram's buckets are all zero already
            self._counts[:] = 0
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

"""A priority queue split into gas-price bands: the guide's "segmented priority queue".

Each band is a sorted sequence of integer keys: a plain ``list`` kept sorted with ``bisect``
while the band is small (C-speed inserts, cheaper than a ``SortedList`` below a few thousand
keys), a :class:`sortedcontainers.SortedList` once it outgrows ``_GROW`` (O(log n) inserts).
Both hold the same keys in the same ascending order, so the form never changes an outcome.
A key packs the priority as ``(-gas_price << 40) + seq``: smaller is better, so a band's
ascending order is gas price descending and, among equal prices, insertion (FIFO) order. Bands
are contiguous price ranges, so reading the bands from the most expensive down yields exactly
the global order: the number of bands changes how large each sorted list is (speed), never the
order. The guide names ``priority_queue_segments`` (guide L651-663) but no code implements
it (``reference/mana-source-facts.md`` §3.3); banding by price follows reth's and Erigon's
subpools in spirit (``reference/client-anchors.md`` §1.2, §1.4).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, pairwise

from sortedcontainers import SortedList

_GROW = 4096
"""A band holding more keys than this becomes a ``SortedList``."""
_SHRINK = 1024
"""A ``SortedList`` band holding fewer keys than this becomes a plain list again."""

SEQ_BITS = 40
"""Bits reserved for the FIFO sequence number in a key (10^12 insertions)."""


def priority_key(gas_price: int, seq: int) -> int:
    """Pack a priority key: smaller means popped earlier.

    Args:
        gas_price: Gas price in wei.
        seq: Insertion sequence number, ``0 <= seq < 2**40``.

    Returns:
        The key.
    """
    return (-gas_price << SEQ_BITS) + seq


class SegmentedQueue:
    """Keys in gas-price bands, iterable best-first and worst-first."""

    __slots__ = ("_bounds", "_segments")

    def __init__(self, bounds: Sequence[int] = ()) -> None:
        """Create an empty queue.

        Args:
            bounds: Ascending lower gas-price bounds of bands 1..k-1 (``k = len + 1`` bands).

        Raises:
            ValueError: If ``bounds`` is not strictly increasing.
        """
        if any(b >= c for b, c in pairwise(bounds)):
            raise ValueError("segment bounds must be strictly increasing")
        self._bounds = list(bounds)
        self._segments: list[list[int] | SortedList[int]] = [
            [] for _ in range(len(bounds) + 1)]

    @property
    def segment_count(self) -> int:
        """Number of bands."""
        return len(self._segments)

    def segment_sizes(self) -> list[int]:
        """Entries per band, cheapest band first."""
        return [len(s) for s in self._segments]

    def add(self, key: int, gas_price: int) -> None:
        """Insert a key in its price band. O(log(n/k)).

        Args:
            key: From :func:`priority_key`.
            gas_price: The price the key was built from.
        """
        bounds = self._bounds
        band = bisect_right(bounds, gas_price) if bounds else 0
        segment = self._segments[band]
        if isinstance(segment, list):
            insort(segment, key)
            if len(segment) > _GROW:
                self._segments[band] = SortedList(segment)
        else:
            segment.add(key)

    def remove(self, key: int, gas_price: int) -> None:
        """Remove a key. O(log(n/k)).

        Args:
            key: A key present in the queue.
            gas_price: The price the key was built from.

        Raises:
            ValueError: If the key is absent.
        """
        bounds = self._bounds
        band = bisect_right(bounds, gas_price) if bounds else 0
        segment = self._segments[band]
        if isinstance(segment, list):
            i = bisect_left(segment, key)
            if i == len(segment) or segment[i] != key:
                raise ValueError(f"{key} not in queue")
            del segment[i]
        else:
            segment.remove(key)
            if len(segment) < _SHRINK:
                self._segments[band] = list(segment)

    def remove_many(self, keys: Iterable[int]) -> None:
        """:meth:`remove` of each key, in bulk (the same end state, order of keys free).

        Each key must be present and built by :func:`priority_key`, whose packing gives the
        band without the price: keys ascending are prices descending, and a price is at
        least ``b`` exactly when its key is below ``(1 - b) << SEQ_BITS``, so the sorted keys
        split into one run per band at those cut points.

        Args:
            keys: Distinct keys present in the queue.

        Raises:
            ValueError: If a key is absent.
        """
        run = sorted(keys)
        if not run:
            return
        start = 0
        band = len(self._bounds)
        # Runs from the most expensive band down (band k holds prices from bounds[k - 1] up):
        # the keys below a bound's cut are priced at least that bound.
        for bound in reversed(self._bounds):
            stop = bisect_left(run, (1 - bound) << SEQ_BITS, start)
            if start < stop:
                self._remove_run(band, run[start:stop])
            start = stop
            band -= 1
        if start < len(run):
            self._remove_run(0, run[start:])

    def _remove_run(self, band: int, run: list[int]) -> None:
        """Remove ``run`` (ascending keys, all in this band) from band ``band``.

        A block takes the best-paying keys, so most of a run is usually the band's own head:
        that head goes in one slice deletion, the rest key by key as :meth:`remove` does. The
        band ends in the form :meth:`remove` leaves it in (a plain list stays one; a
        ``SortedList`` becomes a plain list below ``_SHRINK``).
        """
        segment = self._segments[band]
        # run[:p] == segment[:p] holds for p up to some length and fails beyond it (the run
        # is a subset of the ascending band), so bisect on it.
        lo, hi = 0, min(len(run), len(segment))
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if run[mid - 1] == segment[mid - 1]:
                lo = mid
            else:
                hi = mid - 1
        head = lo
        if head and segment[:head] != run[:head]:
            head = 0  # an absent key broke the subset premise: key by key (which raises)
        if head:
            del segment[:head]
        if isinstance(segment, list):
            for key in run[head:]:
                i = bisect_left(segment, key)
                if i == len(segment) or segment[i] != key:
                    raise ValueError(f"{key} not in queue")
                del segment[i]
        else:
            for key in run[head:]:
                segment.remove(key)
            if len(segment) < _SHRINK:
                self._segments[band] = list(segment)

    def clear(self) -> None:
        """Remove every key (each band becomes an empty list)."""
        self._segments = [[] for _ in self._segments]

    def __len__(self) -> int:
        # Summed on demand (no pool hot path asks) rather than counted on every add/remove.
        return sum(map(len, self._segments))

    def __iter__(self) -> Iterator[int]:
        """Keys best-first: highest band first, each band in ascending key order."""
        # chain, not a generator: a block walk reads thousands of keys (C-level iteration).
        return chain.from_iterable(reversed(self._segments))

    def worst_first(self) -> Iterator[int]:
        """Keys worst-first: lowest price, and newest among equal prices, first."""
        return chain.from_iterable(map(reversed, self._segments))

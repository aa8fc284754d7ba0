"""A sliding-window sum over simulated time, for per-second rates in engine metrics."""

from __future__ import annotations

from collections import deque


class WindowSum:
    """Sum of amounts recorded within the last ``span_s`` seconds.

    Args:
        span_s: Window length in seconds.
    """

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._items: deque[tuple[float, float]] = deque()
        self._total = 0.0

    def add(self, now: float, amount: float) -> None:
        """Record ``amount`` at time ``now`` (times must not decrease).

        Args:
            now: Simulated time in seconds.
            amount: Amount to add.
        """
        self._items.append((now, amount))
        self._total += amount
        self._expire(now)

    def _expire(self, now: float) -> None:
        cutoff = now - self.span_s
        items = self._items
        while items and items[0][0] <= cutoff:
            self._total -= items.popleft()[1]

    def rate(self, now: float, since: float = 0.0) -> float:
        """Average amount per second over the window ending at ``now``.

        Args:
            now: Simulated time in seconds.
            since: Start of observation; a window that began less than ``span_s`` ago is
                averaged over its real length so early rates are not understated.

        Returns:
            Amount per second (0 when no time has elapsed).
        """
        self._expire(now)
        length = min(self.span_s, now - since)
        return self._total / length if length > 0 else 0.0

    def clear(self) -> None:
        """Forget everything recorded."""
        self._items.clear()
        self._total = 0.0

"""The real JSON-RPC token bucket (``JSONRPC2.RateLimiter``), exact or as written.

Source: ``Hydepwns/mana apps/jsonrpc2/lib/jsonrpc2/rate_limiter.ex``
(``reference/mana-source-facts.md`` §2.4): one bucket per key (``{client_id, endpoint}``),
rate 100 tokens/s, burst 200, a new bucket starts full; a request is allowed iff at least one
token is available, and consumes it.

* ``as_written=True`` reproduces the code: times are integer milliseconds (the ms clock is
  read as ``floor(now * 1000)``), ``tokens = min(tokens + div(elapsed_ms * rate, 1000), burst)``
  with integer division, and ``last_refill`` is reset **only on an allowed request** (a
  refusal updates nothing). Because the timestamp moves on every allowed request, the
  truncated fraction of a token is lost each time: a client sending every 5 ms gets
  ``div(5 * 100, 1000) = 0`` tokens back per request and drains the burst.
* ``as_written=False`` (default): exact continuous refill, ``tokens`` a float, the timestamp
  moved on every check. Admissions in any window of length t are then at most
  ``burst + rate * t`` (``reference/control-plane-anchors.md`` §2.3). The lossy refill only
  admits fewer, so the bound holds as written too, but on the millisecond clock the code
  reads: in continuous time, ``t`` can be overstated by up to 1 ms (``rate`` x 1 ms = 0.1
  token at the defaults), enough to admit one more request in a short window.

Memory is bounded like :class:`~sim.control.rate_limiter.PeerRateLimiter`: a bucket idle for
``burst / rate`` seconds (2 s) is full again, identical to a new bucket, so it is dropped
(exactly so in both modes: ``div(2000 * 100, 1000) = 200``); beyond ``max_tracked_keys`` the
least recently seen bucket is dropped (it then restarts full: fails open).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable


class TokenBucketLimiter:
    """Per-key token bucket (semantics in the module docstring).

    Attributes:
        rate: Refill rate in tokens per second.
        burst: Bucket capacity in tokens.
        as_written: Use the real code's integer-millisecond lossy refill.
        max_tracked_keys: Most buckets kept in memory.
        allowed: Requests allowed so far.
        refused: Requests refused so far.
        evicted: Buckets dropped because the table was full.
    """

    __slots__ = (
        "_idle_full",
        "_table",
        "allowed",
        "as_written",
        "burst",
        "evicted",
        "max_tracked_keys",
        "rate",
        "refused",
    )

    def __init__(
        self,
        rate: int = 100,
        burst: int = 200,
        *,
        as_written: bool = False,
        max_tracked_keys: int = 100_000,
    ) -> None:
        """Create an empty limiter.

        Args:
            rate: Tokens per second (>= 1; an integer, as in the real code).
            burst: Capacity (>= 1).
            as_written: Integer-ms lossy refill of the real code.
            max_tracked_keys: Table bound (>= 1).

        Raises:
            ValueError: On an out-of-range argument.
        """
        if rate < 1 or burst < 1 or max_tracked_keys < 1:
            raise ValueError(
                f"rate, burst and max_tracked_keys must be >= 1; got {rate}, {burst}, "
                f"{max_tracked_keys}"
            )
        self.rate = int(rate)
        self.burst = int(burst)
        self.as_written = as_written
        self.max_tracked_keys = int(max_tracked_keys)
        # key -> [tokens, last_refill]; last_refill is ms (int) as written, else seconds.
        self._table: OrderedDict[Hashable, list[float]] = OrderedDict()
        self._idle_full = math.ceil(self.burst * 1000 / self.rate)  # ms until a bucket refills
        self.allowed = 0
        self.refused = 0
        self.evicted = 0

    def __len__(self) -> int:
        """Number of buckets currently tracked."""
        return len(self._table)

    @staticmethod
    def _ms(now: float) -> int:
        # The real code reads an integer ms clock; the epsilon absorbs float noise (1.005 s).
        return math.floor(now * 1000.0 + 1e-6)

    def _last_seen_ms(self, row: list[float]) -> float:
        return row[1] if self.as_written else row[1] * 1000.0

    def allow(self, key: Hashable, now: float) -> bool:
        """Admit or refuse one request.

        Args:
            key: Bucket key (the real code uses ``(client_id, endpoint)``).
            now: Request time in seconds.

        Returns:
            True if a token was available (and consumed).
        """
        table = self._table
        now_ms = self._ms(now) if self.as_written else now * 1000.0
        while table:
            head = next(iter(table.values()))
            if now_ms - self._last_seen_ms(head) < self._idle_full:
                break
            table.popitem(last=False)
        row = table.get(key)
        if row is None:
            last: float = now_ms if self.as_written else now
            row = [float(self.burst), last]
            table[key] = row
            if len(table) > self.max_tracked_keys:
                table.popitem(last=False)
                self.evicted += 1
        else:
            table.move_to_end(key)
        if self.as_written:
            elapsed_ms = int(now_ms - row[1])
            tokens = min(int(row[0]) + (elapsed_ms * self.rate) // 1000, self.burst)
            if tokens >= 1:
                row[0] = tokens - 1
                row[1] = now_ms
                self.allowed += 1
                return True
            self.refused += 1
            return False
        tokens_f = min(row[0] + max(now - row[1], 0.0) * self.rate, float(self.burst))
        row[1] = max(row[1], now)
        if tokens_f >= 1.0:
            row[0] = tokens_f - 1.0
            self.allowed += 1
            return True
        row[0] = tokens_f
        self.refused += 1
        return False

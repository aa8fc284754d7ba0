"""The guide's per-peer fixed-window rate limiter, with the bounded memory it lacks.

Source: ``Mana.Security.V2Hardening.check_sync_rate_limit/1`` (guide L716-737; docs only,
``reference/mana-source-facts.md`` §2.4). Per peer it keeps ``{count, window_start}``:

* no row, or the window has expired -> new row ``{1, now}``, allow: the window is **anchored
  at the peer's first request after the previous window expired** (like ``limits`` 5.x
  ``FixedWindowRateLimiter``, not clock-aligned minutes, which would allow a 2x burst across a
  boundary; ``reference/control-plane-anchors.md`` §2.1-§2.2);
* ``count < max_requests_per_minute`` -> ``count + 1``, allow: exactly the limit per window;
* otherwise refuse **without touching the row** (the guide's code; ``limits`` would count the
  denied hit, §5 item 10).

Choices where the guide is silent (its ``should_reset_limit?/1`` and
``max_requests_per_minute/0`` are undefined, §7 item 10):

* **Boundary**: the window is ``[start, start + window)``; a request at exactly
  ``start + window`` opens a new window (``limits``: ``expiry <= now``, §5 item 11).
* **Window length** ``window`` defaults to 60 s (the name "per minute"); the limit is a
  required argument.
* **Bounded memory** (§5 item 12): an entry whose window has expired is equivalent to no
  entry, so dropping it changes nothing. Entries are kept least-recently-seen first; each call
  pops expired entries from that end (amortised O(1)), and when more than
  ``max_tracked_peers`` remain, the least recently seen is dropped even if its window is live.
  Such an **evicted** peer restarts with a fresh window on its next request, i.e. it may get
  up to the limit again early: eviction fails open for that peer (counted in
  :attr:`PeerRateLimiter.evicted`). A refused request counts as "seen".
* A refused request means the peer's request is not served (the caller counts it with reason
  ``rate_limited``); it does not extend or reset the window.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable


class PeerRateLimiter:
    """Fixed-window request limiter keyed by peer id (semantics in the module docstring).

    Attributes:
        max_requests_per_minute: Requests allowed per peer per window.
        window: Window length in seconds.
        max_tracked_peers: Most peers kept in memory.
        allowed: Requests allowed so far.
        refused: Requests refused so far.
        evicted: Live entries dropped because the table was full.
        expired: Expired entries dropped.
    """

    __slots__ = (
        "_head_due",
        "_head_key",
        "_table",
        "allowed",
        "evicted",
        "expired",
        "max_requests_per_minute",
        "max_tracked_peers",
        "refused",
        "window",
    )

    def __init__(
        self,
        max_requests_per_minute: int,
        window: float = 60.0,
        max_tracked_peers: int = 100_000,
    ) -> None:
        """Create an empty limiter.

        Args:
            max_requests_per_minute: Requests allowed per window (>= 1).
            window: Window length in seconds (> 0).
            max_tracked_peers: Table bound (>= 1).

        Raises:
            ValueError: On an out-of-range argument.
        """
        if isinstance(max_requests_per_minute, bool) or max_requests_per_minute < 1:
            raise ValueError(
                f"max_requests_per_minute must be an integer >= 1; got {max_requests_per_minute!r}"
            )
        if not window > 0:
            raise ValueError(f"window must be > 0 s; got {window!r}")
        if max_tracked_peers < 1:
            raise ValueError(f"max_tracked_peers must be >= 1; got {max_tracked_peers!r}")
        self.max_requests_per_minute = int(max_requests_per_minute)
        self.window = float(window)
        self.max_tracked_peers = int(max_tracked_peers)
        # peer -> [count, window_start + window], least recently seen first. The window's
        # end is stored, not its start: every test is ``now >= start + window``, and the sum
        # computed once when the window opens is the same float each later call would compute.
        self._table: OrderedDict[Hashable, list[float]] = OrderedDict()
        # The head row's key and expiry (start + window), read by the expiry loop; -inf when
        # unknown. Only a pop from the head, a move_to_end of the head or a first insert
        # changes the head, and a row's end changes only with its move_to_end, so the cache
        # holds between those: `now < _head_due` is exactly the loop's first test.
        self._head_key: Hashable = None
        self._head_due = -math.inf
        self.allowed = 0
        self.refused = 0
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        """Number of peers currently tracked."""
        return len(self._table)

    def allow(self, peer_id: Hashable, now: float) -> bool:
        """Admit or refuse one request from a peer.

        Args:
            peer_id: The peer's id (any hashable).
            now: Request time in seconds.

        Returns:
            True if allowed; False if rate limited.
        """
        table = self._table
        if now >= self._head_due:
            # Amortised expiry from the least-recently-seen end; an expired row equals no row.
            self._head_due = -math.inf
            while table:
                head_key, head_row = next(iter(table.items()))
                due = head_row[1]
                if now < due:
                    self._head_key = head_key
                    self._head_due = due
                    break
                table.popitem(last=False)
                self.expired += 1
        row = table.get(peer_id)
        if row is not None and now < row[1]:
            # A live window (the common case) first: seen now, then counted or refused.
            table.move_to_end(peer_id)
            if peer_id == self._head_key:
                self._head_due = -math.inf
            if row[0] < self.max_requests_per_minute:
                row[0] += 1
                self.allowed += 1
                return True
            self.refused += 1
            return False
        # No row, or an expired one: a new window from now.
        if row is None:
            table[peer_id] = [1, now + self.window]
            if len(table) > self.max_tracked_peers:
                table.popitem(last=False)
                self.evicted += 1
                self._head_due = -math.inf
        else:
            row[0] = 1
            row[1] = now + self.window
            table.move_to_end(peer_id)
            if peer_id == self._head_key:
                self._head_due = -math.inf
        self.allowed += 1
        return True

    def remaining(self, peer_id: Hashable, now: float) -> int:
        """Requests the peer may still make in its current window, without changing anything.

        Args:
            peer_id: The peer's id.
            now: Current time in seconds.

        Returns:
            The remaining count (the full limit if the peer has no live window).
        """
        row = self._table.get(peer_id)
        if row is None or now >= row[1]:
            return self.max_requests_per_minute
        return self.max_requests_per_minute - int(row[0])

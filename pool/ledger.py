"""Transaction accounting: every transaction that enters a pool ends in exactly one state.

The ledger keeps O(1) memory (counters only) because a 15-day run offers ~26M transactions.
``Ledger(track=True)`` also keeps each admitted hash's state so that tests can assert that no
hash is settled twice, settled without being pending, or admitted while already pending.

Conventions:

* *Entered* counts every submission, including duplicates and invalid ones.
* A submission that is refused is closed at once as ``rejected`` with a reason. A duplicate
  submission is a rejection with reason ``duplicate`` (V1) or ``already_known`` (V2), even though
  V1 answers success to its caller as the real code does (``AddStatus.DUPLICATE``).
* An admitted transaction stays ``pending`` until it is included, evicted, expired, replaced
  or lost in a node restart (``lost_in_restart``: both pools keep their transactions in process
  memory, the V1 GenServer's state map and V2's ``SimplePool`` struct, so a restart loses them;
  ``reference/mana-source-facts.md`` §3.1 "State (L111-125)", §3.2 "State (struct)"). A
  restart is no eviction: nothing pushed those transactions out, the process died with them.

So ``entered == pending + included + evicted + expired + rejected + replaced +
lost_in_restart`` at all times, and ``pending`` equals the pool's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class TxState(StrEnum):
    """The state of one transaction in a pool's ledger."""

    PENDING = "pending"
    INCLUDED = "included"
    EVICTED = "evicted"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"
    LOST_IN_RESTART = "lost_in_restart"


class LedgerImbalanceError(AssertionError):
    """The ledger's totals or tracked states disagree with the pool."""


class Ledger:
    """Counters of a pool's transaction outcomes, with optional per-hash tracking.

    Attributes:
        entered: Submissions seen (every ``add``).
        included: Transactions removed because a block included them.
        evicted: Transactions pushed out by better-paying newcomers.
        expired: Transactions removed by the age cleanup.
        rejected: Submissions refused (including duplicates).
        replaced: Transactions superseded by a same-sender, same-nonce replacement.
        lost_in_restart: Transactions resident when the node restarted (lost with the
            process's memory).
        rejected_by_reason: Rejections per reason string.
        track: Whether per-hash states are kept.
    """

    __slots__ = (
        "_states", "entered", "evicted", "expired", "included", "lost_in_restart", "rejected",
        "rejected_by_reason", "replaced", "track",
    )

    def __init__(self, track: bool = False) -> None:
        """Create an empty ledger.

        Args:
            track: Keep every admitted hash's state (tests only: memory grows with traffic).
        """
        self.entered = 0
        self.included = 0
        self.evicted = 0
        self.expired = 0
        self.rejected = 0
        self.replaced = 0
        self.lost_in_restart = 0
        self.rejected_by_reason: dict[str, int] = {}
        self.track = track
        self._states: dict[int, TxState] = {}

    @property
    def pending(self) -> int:
        """Transactions admitted and not yet settled."""
        return self.entered - (self.included + self.evicted + self.expired + self.rejected
                               + self.replaced + self.lost_in_restart)

    def admit(self, tx_hash: int) -> None:
        """Record a submission that became pending.

        Args:
            tx_hash: The admitted transaction's hash.

        Raises:
            LedgerImbalanceError: If tracking and the hash is already pending.
        """
        self.entered += 1
        if self.track:
            if self._states.get(tx_hash) is TxState.PENDING:
                raise LedgerImbalanceError(f"tx {tx_hash:#x} admitted while already pending")
            self._states[tx_hash] = TxState.PENDING

    def reject(self, reason: str) -> None:
        """Record a submission refused with ``reason`` (it never became pending).

        Args:
            reason: The rejection reason string.
        """
        self.entered += 1
        self.rejected += 1
        by_reason = self.rejected_by_reason
        by_reason[reason] = by_reason.get(reason, 0) + 1

    def settle(self, tx_hash: int, state: TxState) -> None:
        """Move a pending transaction to a final state.

        Args:
            tx_hash: The transaction's hash.
            state: One of included, evicted, expired, replaced, lost_in_restart.

        Raises:
            LedgerImbalanceError: If tracking and the hash is not pending.
            ValueError: If ``state`` is not a final state reachable from pending.
        """
        if state is TxState.INCLUDED:
            self.included += 1
        elif state is TxState.EVICTED:
            self.evicted += 1
        elif state is TxState.EXPIRED:
            self.expired += 1
        elif state is TxState.REPLACED:
            self.replaced += 1
        elif state is TxState.LOST_IN_RESTART:
            self.lost_in_restart += 1
        else:
            raise ValueError(f"cannot settle a pending transaction as {state}")
        if self.track:
            if self._states.get(tx_hash) is not TxState.PENDING:
                raise LedgerImbalanceError(f"tx {tx_hash:#x} settled as {state} but not pending")
            self._states[tx_hash] = state

    def settle_many(self, tx_hashes: Sequence[int], state: TxState) -> None:
        """:meth:`settle` for many transactions moving to the same state (same counters).

        Args:
            tx_hashes: The transactions' hashes.
            state: One of included, evicted, expired, replaced, lost_in_restart.

        Raises:
            LedgerImbalanceError: If tracking and a hash is not pending.
            ValueError: If ``state`` is not a final state reachable from pending.
        """
        if not self.track:
            n = len(tx_hashes)
            if state is TxState.INCLUDED:
                self.included += n
            elif state is TxState.EVICTED:
                self.evicted += n
            elif state is TxState.EXPIRED:
                self.expired += n
            elif state is TxState.REPLACED:
                self.replaced += n
            elif state is TxState.LOST_IN_RESTART:
                self.lost_in_restart += n
            else:
                raise ValueError(f"cannot settle a pending transaction as {state}")
            return
        settle = self.settle
        for h in tx_hashes:
            settle(h, state)

    def state_of(self, tx_hash: int) -> TxState | None:
        """The last state of an admitted hash (tracking only).

        Args:
            tx_hash: The transaction's hash.

        Returns:
            Its state, or ``None`` if never admitted or not tracking.
        """
        return self._states.get(tx_hash)

    def tracked_pending(self) -> list[int]:
        """Hashes currently pending, sorted (tracking only; empty otherwise)."""
        return sorted(h for h, s in self._states.items() if s is TxState.PENDING)

    def check(self, pending: int) -> None:
        """Assert that the books balance against the pool's size.

        Args:
            pending: The pool's current number of transactions.

        Raises:
            LedgerImbalanceError: With the numbers, if
                ``entered != pending + included + evicted + expired + rejected + replaced
                + lost_in_restart``, or if tracking disagrees with ``pending``.
        """
        settled = (self.included + self.evicted + self.expired + self.rejected + self.replaced
                   + self.lost_in_restart)
        if self.entered != pending + settled:
            raise LedgerImbalanceError(
                f"entered={self.entered} != pending={pending} + included={self.included} "
                f"+ evicted={self.evicted} + expired={self.expired} + rejected={self.rejected} "
                f"+ replaced={self.replaced} + lost_in_restart={self.lost_in_restart}"
            )
        if sum(self.rejected_by_reason.values()) != self.rejected:
            raise LedgerImbalanceError(
                f"rejected={self.rejected} != sum by reason {self.rejected_by_reason}"
            )
        if self.track:
            tracked = sum(1 for s in self._states.values() if s is TxState.PENDING)
            if tracked != pending:
                raise LedgerImbalanceError(f"tracked pending={tracked} != pool size={pending}")

    def as_dict(self) -> dict[str, int]:
        """The counters as a flat mapping (for summaries)."""
        return {
            "entered": self.entered, "pending": self.pending, "included": self.included,
            "evicted": self.evicted, "expired": self.expired, "rejected": self.rejected,
            "replaced": self.replaced, "lost_in_restart": self.lost_in_restart,
        }

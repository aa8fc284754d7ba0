"""``TxPool``: the one interface the SimPy model uses for both pools.

:class:`pool.tx_pool_v1.TxPoolV1` and :class:`pool.tx_pool_v2.TxPoolV2` conform structurally.
Time is always an argument in simulated seconds; nothing here knows about SimPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from pool.config import PoolV1Config, PoolV2Config
from pool.cost_model import CostModel
from pool.ledger import Ledger, TxState
from pool.result import AddResult
from pool.transaction import Transaction

PoolStats = dict[str, int | dict[str, int]]
"""``stats()`` result: metric name to a count, or (``rejected_by_reason``) a mapping."""


@runtime_checkable
class TxPool(Protocol):
    """What a transaction pool offers the simulator.

    Attributes:
        ledger: Outcome counters; ``ledger.check(len(pool))`` must always pass.
        cost: Service-time model for the pool's GenServer queue.
        cleanup_interval: Seconds between the caller's :meth:`expire` calls.
    """

    ledger: Ledger
    cost: CostModel
    cleanup_interval: float

    @property
    def config(self) -> PoolV1Config | PoolV2Config:
        """The pool's configuration."""

    def add(self, tx: Transaction, now: float) -> AddResult:
        """Offer one transaction at time ``now`` (s)."""

    def add_batch(self, txs: Sequence[Transaction], now: float) -> list[AddResult]:
        """Offer several transactions; one result each, in order."""

    def best(self, gas_limit: int) -> list[Transaction]:
        """Greedy block fill in priority order, without removing anything."""

    def take_for_block(self, gas_limit: int, now: float) -> list[Transaction]:
        """:meth:`best`, then remove those transactions as included."""

    def remove_included(self, tx_hashes: Iterable[int], now: float) -> int:
        """Remove the resident ones among ``tx_hashes`` as included; return how many."""

    def expire(self, now: float) -> list[Transaction]:
        """One age-cleanup pass at ``now``; return what expired."""

    def evict_all(self, now: float, state: TxState = TxState.EVICTED) -> list[Transaction]:
        """Remove every resident, settled as ``state`` (hand-over; restart); return them."""

    def get(self, tx_hash: int) -> Transaction | None:
        """The resident transaction with this hash, if any."""

    def __contains__(self, tx_hash: object) -> bool:
        """Whether a transaction with this hash is resident."""

    def __len__(self) -> int:
        """The number of resident transactions."""

    @property
    def memory_bytes(self) -> int:
        """Resident bytes under the per-entry model."""

    def stats(self) -> PoolStats:
        """The guide's pool metrics (see each pool's ``stats``)."""

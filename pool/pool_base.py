"""Mechanics both pools share: indexes, block selection, removal, age expiry, accounting.

A resident transaction is stored once, under an integer priority key
(:func:`pool.segmented_queue.priority_key`), with a hash index beside it. Expiry uses a heap
of ``(added_at, key)`` with lazy deletion: entries of transactions that already left are
skipped when popped, and the heap is compacted when stale entries outnumber live ones, so its
size stays proportional to the pool (flat memory over long runs) and a cleanup touches only
what expires.

*Age* is measured from the time the pool admitted the transaction (the ``now`` of ``add``),
as V1 stamps ``timestamp: System.system_time(:second)`` when it decodes
(``Hydepwns/mana`` ``apps/blockchain/lib/blockchain/transaction_pool.ex`` L282-408).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, KeysView
from operator import attrgetter, itemgetter

from pool.ledger import Ledger, TxState
from pool.protocol import PoolStats
from pool.segmented_queue import SegmentedQueue
from pool.transaction import Transaction

_COMPACT_SLACK = 1024
_GAS_LIMIT = attrgetter("gas_limit")
_KEY_OF = itemgetter(1)


class PoolBase:
    """Indexes, block selection, removal, expiry and stats common to V1 and V2.

    Subclasses implement ``add``/``offer`` (each indexes an admitted transaction inline: a
    priority key from ``_seq``, ``_by_key``, ``_by_hash``, ``_queue``, ``_age_heap``, ``_mem``
    and the ledger, the entries :meth:`_remove` undoes, then its side indexes) and
    :meth:`_index_remove`.

    Attributes:
        ledger: Outcome counters (see :class:`pool.ledger.Ledger`).
        cleanup_interval: Seconds between the caller's :meth:`expire` calls.
        max_transaction_age: Seconds; older transactions are removed by :meth:`expire`.
    """

    def __init__(self, bounds: list[int], cleanup_interval: float, max_age: float,
                 entry_overhead: int, min_gas_limit: int, track: bool) -> None:
        """Create empty indexes.

        Args:
            bounds: Price-band bounds for the :class:`SegmentedQueue` (empty: one band).
            cleanup_interval: Seconds between cleanups (informational for the caller).
            max_age: Maximum age in seconds.
            entry_overhead: Per-entry bytes of the memory model.
            min_gas_limit: Smallest gas limit any admitted tx has (stops block fill early).
            track: Per-hash ledger tracking (tests).
        """
        self.ledger = Ledger(track=track)
        self.cleanup_interval = float(cleanup_interval)
        self.max_transaction_age = float(max_age)
        self._queue = SegmentedQueue(bounds)
        self._by_key: dict[int, Transaction] = {}
        self._by_hash: dict[int, int] = {}
        self._age_heap: list[tuple[float, int]] = []
        self._seq = 0
        self._mem = 0
        self._overhead = entry_overhead
        self._min_gas_limit = min_gas_limit

    # --- lookups ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def size_of(self) -> Callable[[], int]:
        """A zero-argument callable that returns ``len(pool)``, for hot loops.

        It is the index dict's own ``__len__`` (a C call, cheaper than the Python-level
        :meth:`__len__`); the dict lives as long as the pool, so the callable stays valid.
        """
        return self._by_key.__len__

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: int) -> Transaction | None:
        """The resident transaction with this hash, if any.

        Args:
            tx_hash: A :attr:`Transaction.tx_hash`.

        Returns:
            The transaction or ``None``.
        """
        key = self._by_hash.get(tx_hash)
        return None if key is None else self._by_key[key]

    @property
    def memory_bytes(self) -> int:
        """Bytes resident under the per-entry model (:mod:`pool.memory_model`)."""
        return self._mem

    def entry_bytes(self, tx: Transaction) -> int:
        """Bytes one transaction costs under the per-entry model.

        Args:
            tx: The transaction.

        Returns:
            ``entry_overhead_bytes + tx.size``.
        """
        return self._overhead + tx.size

    def transactions(self) -> list[Transaction]:
        """All resident transactions in priority order (gas price desc, FIFO)."""
        by_key = self._by_key
        return [by_key[k] for k in self._queue]

    # --- index maintenance ------------------------------------------------------------
    def _remove(self, key: int, tx: Transaction, state: TxState) -> None:
        del self._by_key[key]
        del self._by_hash[tx.tx_hash]
        self._queue.remove(key, tx.gas_price)
        self._mem -= self._overhead + tx.size
        self._index_remove(tx, key)
        self.ledger.settle(tx.tx_hash, state)
        heap = self._age_heap
        if len(heap) > 2 * len(self._by_key) + _COMPACT_SLACK:
            live = self._by_key
            self._age_heap = [e for e in heap if e[1] in live]
            heapq.heapify(self._age_heap)

    def _index_remove(self, tx: Transaction, key: int) -> None:
        """Hook: a subclass's side indexes learn of a removal."""

    def _index_remove_many(self, gone: list[tuple[Transaction, int]]) -> None:
        """Hook: :meth:`_index_remove` for each ``(tx, key)`` (a subclass may inline it)."""
        index_remove = self._index_remove
        for tx, key in gone:
            index_remove(tx, key)

    # --- block building ---------------------------------------------------------------
    def best(self, gas_limit: int) -> list[Transaction]:
        """The transactions a block of ``gas_limit`` would take, without removing them.

        Walks the priority order (gas price descending, FIFO among equal prices) and takes
        each transaction that still fits the remaining gas, skipping those that do not
        (greedy fill). The walk stops once less gas remains than any admissible tx needs.

        Args:
            gas_limit: Block gas limit.

        Returns:
            The chosen transactions in priority order.
        """
        return self.best_whole(gas_limit)[0]

    def best_whole(self, gas_limit: int) -> tuple[list[Transaction], int]:
        """:meth:`best`, and whether it is the whole pool.

        Args:
            gas_limit: Block gas limit.

        Returns:
            ``(best(gas_limit), total)``: ``total`` is the chosen transactions' gas when
            they are every resident (0 for an empty pool), else -1. A total >= 0 also
            means every resident's gas limit is at least :attr:`min_gas_limit`.
        """
        by_key = self._by_key
        if not by_key:
            return [], 0
        floor = self._min_gas_limit
        txs: Iterator[Transaction] = map(by_key.__getitem__, self._queue)
        if floor > 0 and len(by_key) * floor <= gas_limit:
            # The whole pool may fit (the common case below block capacity): if it does, the
            # walk below takes every transaction. With every gas >= floor > 0, the room left
            # before a transaction is at least the gas of it and of all after it, so never
            # below the floor, and the transaction fits. (A larger pool cannot fit, as every
            # resident needs at least floor gas, so it skips this check.)
            listed = list(txs)
            gas = list(map(_GAS_LIMIT, listed))
            total = sum(gas)  # integers: exact in any order
            if total <= gas_limit and min(gas) >= floor:
                return listed, total
            txs = iter(listed)
        out: list[Transaction] = []
        room = gas_limit
        for tx in txs:
            if room < floor:
                break
            gas_i = tx.gas_limit
            if gas_i <= room:
                out.append(tx)
                room -= gas_i
        # The walk may still have taken every resident; -1 only says "not known whole", so
        # a caller falls back to its general path (never a different result).
        return out, -1

    @property
    def min_gas_limit(self) -> int:
        """The smallest gas limit any admitted transaction has (the pool's lower bound)."""
        return self._min_gas_limit

    @property
    def hashes(self) -> KeysView[int]:
        """The resident transactions' hashes (a live view: no changes while iterating)."""
        return self._by_hash.keys()

    def take_for_block(self, gas_limit: int, now: float) -> list[Transaction]:
        """:meth:`best`, then remove the chosen transactions as included.

        Args:
            gas_limit: Block gas limit.
            now: Simulated time in seconds (kept for interface symmetry).

        Returns:
            The included transactions in priority order.
        """
        chosen = self.best(gas_limit)
        by_hash = self._by_hash
        for tx in chosen:
            self._remove(by_hash[tx.tx_hash], tx, TxState.INCLUDED)
        return chosen

    def remove_included(self, tx_hashes: Iterable[int], now: float) -> int:
        """Remove transactions a block included (hashes not resident are ignored).

        Args:
            tx_hashes: :attr:`Transaction.tx_hash` values of the block's transactions.
            now: Simulated time in seconds (kept for interface symmetry).

        Returns:
            How many were resident and removed.
        """
        # _remove, unrolled: a block removes hundreds of transactions (hot path). The side
        # indexes learn of all removals in one call and the ledger is settled once for all
        # of them (the indexes are independent, so the order of updates changes nothing),
        # and the age heap compacted (if due) once at the end: its stale entries are skipped
        # when popped, so when it is compacted never changes what expires.
        by_hash = self._by_hash
        by_key = self._by_key
        if not isinstance(tx_hashes, list):
            tx_hashes = list(tx_hashes)
        resident = len(by_key)
        if resident and resident <= len(tx_hashes) and len(by_hash.keys() & tx_hashes) == resident:
            # The block includes every resident (the common case below block capacity).
            self._remove_all(TxState.INCLUDED)
            return resident
        removed: list[int] = []
        gone: list[tuple[Transaction, int]] = []
        overhead = self._overhead
        mem = self._mem
        for h in tx_hashes:
            key = by_hash.pop(h, None)
            if key is None:
                continue
            tx = by_key.pop(key)
            mem -= overhead + tx.size
            gone.append((tx, key))
            removed.append(h)
        self._mem = mem
        if by_key:
            # In bulk: a block's keys are mostly the head of the queue (SegmentedQueue.remove_many).
            self._queue.remove_many(map(_KEY_OF, gone))
        else:
            # The queue holds exactly the resident keys, so a block that takes every
            # resident (the common case below block capacity) empties it: no key-by-key
            # removal. Every age-heap entry is stale then too (skipped when popped).
            self._queue.clear()
            self._age_heap = []
        self._index_remove_many(gone)
        self.ledger.settle_many(removed, TxState.INCLUDED)
        if len(self._age_heap) > 2 * len(by_key) + _COMPACT_SLACK:
            self._age_heap = [e for e in self._age_heap if e[1] in by_key]
            heapq.heapify(self._age_heap)
        return len(removed)

    def _remove_all(self, state: TxState) -> None:
        """Remove every resident, settled as ``state``: the removal loop's end state at once.

        Equal to removing the residents one by one in any order: the indexes end empty, the
        memory count at 0 (it is the sum of the residents' entry bytes), the queue and the age
        heap empty (every heap entry is then stale: skipped when popped), the side indexes as
        :meth:`_index_remove_all` leaves them, and the ledger moves every resident to
        ``state``.
        """
        self._index_remove_all()
        self.ledger.settle_many(list(self._by_hash), state)
        self._by_key.clear()
        self._by_hash.clear()
        self._queue.clear()
        self._age_heap = []
        self._mem = 0

    def remove_all_included(self, now: float) -> int:
        """Remove every resident as included, without the block's hashes.

        Equal to :meth:`remove_included` of a block that holds every resident's hash (and
        maybe hashes not resident here): that call's check finds every resident among the
        block's hashes and takes :meth:`_remove_all`; an empty pool takes its general path,
        which removes nothing and whose state changes do not depend on the hashes (none is
        resident).

        Args:
            now: Simulated time in seconds (kept for interface symmetry).

        Returns:
            How many were resident and removed.
        """
        resident = len(self._by_key)
        if not resident:
            return self.remove_included([], now)
        self._remove_all(TxState.INCLUDED)
        return resident

    def _index_remove_all(self) -> None:
        """Hook: the side indexes learn that every resident leaves (called before they do).

        This default is :meth:`_index_remove_many` of every resident; a subclass may reset its
        indexes at once instead.
        """
        by_key = self._by_key
        self._index_remove_many(list(zip(by_key.values(), by_key, strict=True)))

    def expire(self, now: float) -> list[Transaction]:
        """One cleanup pass: remove transactions admitted before ``now - max_age``.

        The comparison is strict, as V1's ``timestamp < now_s - 3600`` (``transaction_pool.ex``
        L244-278): a transaction exactly ``max_age`` old stays.

        Args:
            now: Simulated time in seconds.

        Returns:
            The expired transactions, oldest first (equal admission times in priority
            order).
        """
        cutoff = now - self.max_transaction_age
        heap = self._age_heap
        by_key = self._by_key
        out: list[Transaction] = []
        while heap and heap[0][0] < cutoff:
            _, key = heapq.heappop(heap)
            tx = by_key.get(key)
            if tx is not None:
                out.append(tx)
                self._remove(key, tx, TxState.EXPIRED)
                heap = self._age_heap  # compaction may have rebuilt it
        return out

    def evict_all(self, now: float, state: TxState = TxState.EVICTED) -> list[Transaction]:
        """Remove every resident transaction, settled as ``state`` (evicted by default).

        For handing a pool's contents to another pool (V1 deprecation: evicted; the caller
        accounts for what the transactions become) and for a node restart (an Elixir
        GenServer's state dies with it: ``TxState.LOST_IN_RESTART``).

        Args:
            now: Simulated time in seconds.
            state: The ledger state the removed transactions end in.

        Returns:
            The removed transactions in priority order.
        """
        out = self.transactions()
        by_hash = self._by_hash
        for tx in out:
            self._remove(by_hash[tx.tx_hash], tx, state)
        return out

    def _base_stats(self) -> PoolStats:
        ledger = self.ledger
        return {
            "pool_size": len(self._by_key),
            "pending_transactions": len(self._by_key),
            "processed_transactions": ledger.entered,
            "rejected_transactions": ledger.rejected,
            "rejected_by_reason": dict(sorted(ledger.rejected_by_reason.items())),
            "memory_bytes": self._mem,
            "included_transactions": ledger.included,
            "evicted_transactions": ledger.evicted,
            "expired_transactions": ledger.expired,
            "replaced_transactions": ledger.replaced,
        }

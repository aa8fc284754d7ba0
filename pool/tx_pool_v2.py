"""``TxPoolV2``: the guide's SimplePoolV2 tuning made into a working pool (our design).

No V2 pool exists in any Mana commit: ``Blockchain.SimplePool`` stores every transaction at a
constant price with no limits, and ``priority_queue_segments`` occurs in no code
(``reference/mana-source-facts.md`` §3.2-3.3). This pool gives the guide's keys (guide
L651-663) the meaning real clients give them (``reference/client-anchors.md`` §1):

* **Validation**: V1's pipeline in V1's order (``Hydepwns/mana``
  ``apps/blockchain/lib/blockchain/transaction_pool.ex`` L282-408), with snake_case reasons,
  plus a real signature check (``signature_valid``) at the signature step and EIP-2681's
  nonce bound (``nonce < 2**64``) at the nonce step.
* **Admission order** after validation: known hash → ``already_known`` (geth
  ``ErrAlreadyKnown``); same sender and nonce → replacement; else the per-sender cap; then
  capacity.
* **Replacement** (geth ``legacypool/list.go`` ``list.Add``, reth ``DEFAULT_PRICE_BUMP``,
  Nethermind ``PartOfFeeRequiredToIncrease``): the new price must be at least
  ``price_bump_percent`` (10 %) above the old, i.e. ``new * 100 >= old * 110`` in integers, so
  exactly +10 % replaces and anything less is ``replacement_underpriced``.
* **Per-sender cap** ``max_per_sender`` 16 (geth ``AccountSlots``, reth
  ``TXPOOL_MAX_ACCOUNT_SLOTS_PER_SENDER``): a 17th pending transaction of one sender is
  ``sender_limit``. There is no account state here, so unlike reth no next-nonce exemption.
* **Capacity**: ``max_pool_size`` transactions **and** ``memory_limit_mb`` MiB under the
  per-entry byte model, both enforced, as reth limits each subpool by count and bytes. When
  admitting would break either, the cheapest residents are evicted, worst first (lowest gas
  price; among equal prices the newest, i.e. the last the block builder would take), but only
  while each victim pays **strictly less** than the newcomer. Tie rule: a newcomer paying the
  same as the cheapest resident does not evict it and is ``underpriced`` (geth's
  ``Underpriced``: a tx priced <= the worst is refused), which keeps FIFO fairness among equal
  prices. If strictly cheaper victims cannot free enough room nothing is evicted and the
  newcomer is ``underpriced``.
* **Order**: a :class:`pool.segmented_queue.SegmentedQueue` of ``priority_queue_segments``
  log-spaced gas-price bands; pop order is strict priority (gas price descending, FIFO among
  equal prices) whatever the segment count.
* **Age**: a cleanup every ``cleanup_interval`` (30,000 ms) removes transactions admitted more
  than ``max_transaction_age`` (1,800 s) ago; exactly 1,800 s stays (same strict comparison
  as V1).
* **Batches**: ``add_batch`` admits in chunks of ``batch_processing_size`` (100). Outcomes are
  those of sequential adds; the cost model charges one call overhead per chunk.

Nonce sequencing inside a block (geth ``TransactionsByPriceAndNonce``) is not modelled: the
pool has no account state, so nonces only identify replacements and count toward the cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappush

from pool.config import PoolV2Config
from pool.cost_model import CostModel
from pool.ledger import TxState
from pool.pool_base import PoolBase
from pool.protocol import PoolStats
from pool.result import (
    V2_ALREADY_KNOWN,
    V2_GAS_LIMIT_TOO_HIGH,
    V2_GAS_LIMIT_TOO_LOW,
    V2_GAS_PRICE_TOO_LOW,
    V2_INSUFFICIENT_GAS,
    V2_INVALID_NONCE,
    V2_INVALID_RLP,
    V2_INVALID_SIGNATURE,
    V2_REPLACEMENT_UNDERPRICED,
    V2_SENDER_LIMIT,
    V2_TOO_LARGE,
    V2_UNDERPRICED,
    AddResult,
    AddStatus,
)
from pool.segmented_queue import SEQ_BITS
from pool.transaction import Transaction
from pool.validation import LEGACY_RLP_FIELDS, first_violation

_V2_PIPELINE = (
    V2_INVALID_RLP, V2_GAS_PRICE_TOO_LOW, V2_GAS_LIMIT_TOO_LOW, V2_GAS_LIMIT_TOO_HIGH,
    V2_INVALID_NONCE, V2_INVALID_SIGNATURE, V2_INSUFFICIENT_GAS, V2_TOO_LARGE,
)
_NONCE_BITS = 64
MAX_NONCE = (1 << _NONCE_BITS) - 1
"""EIP-2681's nonce bound; it also keeps the ``sender << 64 | nonce`` slot key unique."""


class TxPoolV2(PoolBase):
    """The V2 pool: segmented priority queue, count and memory limits, replacement, caps.

    Attributes:
        config: The guide's settings (guide key names and units).
        cost: Service-time model (logarithmic index cost, batched admission).
        ledger: Outcome counters.
        cleanup_interval: Seconds between cleanups (``config.cleanup_interval`` / 1000).
        batch_calls: Batch chunks processed by :meth:`add_batch`.
    """

    def __init__(self, config: PoolV2Config | None = None, cost: CostModel | None = None,
                 *, track: bool = False) -> None:
        """Create an empty pool.

        Args:
            config: Settings; defaults to the guide's values.
            cost: Service-time model; defaults to :meth:`CostModel.v2` with the config's
                ``batch_processing_size``.
            track: Per-hash ledger tracking (tests only).
        """
        self.config = config if config is not None else PoolV2Config()
        cfg = self.config
        self.cost = cost if cost is not None else CostModel.v2(cfg.batch_processing_size)
        super().__init__(cfg.segment_bounds(), cfg.cleanup_interval_s,
                         cfg.max_transaction_age_s, cfg.entry_overhead_bytes,
                         cfg.min_gas_limit, track)
        self._max_size = cfg.max_pool_size
        self._max_mem = cfg.memory_limit_bytes
        self._bump = 100 + cfg.price_bump_percent
        self._max_per_sender = cfg.max_per_sender
        self._by_slot: dict[int, int] = {}  # (sender << 64 | nonce) -> key
        self._senders: dict[int, int] = {}  # sender -> pending count
        self.batch_calls = 0
        self._limits = (cfg.min_gas_price, cfg.min_gas_limit, cfg.max_gas_limit,
                        cfg.max_transaction_size, True, MAX_NONCE)

    @property
    def segment_count(self) -> int:
        """Number of gas-price bands in the priority queue."""
        return self._queue.segment_count

    def segment_sizes(self) -> list[int]:
        """Resident transactions per band, cheapest band first."""
        return self._queue.segment_sizes()

    def add(self, tx: Transaction, now: float) -> AddResult:
        """Offer one transaction.

        Args:
            tx: The transaction.
            now: Simulated time in seconds; the entry's age counts from it.

        Returns:
            Added (with any evicted), replaced (with the old one and any evicted), or
            rejected with a V2 reason.
        """
        # The resident :meth:`offer` would replace: it holds the slot until offer runs, and
        # offer replaces exactly it when it accepts a tx whose slot is taken.
        old_key = self._by_slot.get((tx.sender << _NONCE_BITS) | tx.nonce)
        old = None if old_key is None else self._by_key[old_key]
        evicted: list[Transaction] = []
        reason = self.offer(tx, now, evicted)
        if reason is not None:
            return AddResult(AddStatus.REJECTED, reason, tx)
        if old is not None:
            return AddResult(AddStatus.REPLACED, None, tx, tuple(evicted), old)
        return AddResult(AddStatus.ADDED, None, tx, tuple(evicted))

    def offer(self, tx: Transaction, now: float,
              evicted: list[Transaction] | None = None) -> str | None:
        """:meth:`add` without building its result (the simulator's hot path).

        Same checks, same state changes and ledger entries as :meth:`add` (which calls it).

        Args:
            tx: The transaction.
            now: Simulated time in seconds; the entry's age counts from it.
            evicted: If given, the transactions evicted to make room are appended to it,
                cheapest first.

        Returns:
            ``None`` if the transaction is now pending (added or replacing), else the V2
            rejection reason.
        """
        ledger = self.ledger
        min_price, min_gas, max_gas, max_size, _, max_nonce = self._limits
        gas_limit = tx.gas_limit
        price = tx.gas_price
        size = tx.size
        # The common case first: the conjunction of every rule's passing condition in
        # first_violation's V2 pipeline, so a valid transaction skips the call; a failure
        # asks first_violation for the first failing rule (tests/test_v2_fast_checks.py pins it).
        if not (tx.rlp_fields == LEGACY_RLP_FIELDS and price >= min_price
                and min_gas <= gas_limit <= max_gas and 0 <= tx.nonce <= max_nonce
                and tx.v > 0 and tx.r > 0 and tx.s > 0 and tx.signature_valid
                and gas_limit >= 21_000 + 16 * tx.data_len and size <= max_size):
            reason = first_violation(tx, _V2_PIPELINE, *self._limits)
            if reason is not None:
                ledger.reject(reason)
                return reason
        return self.admit(tx, now, evicted)

    @property
    def limits(self) -> tuple[int, int, int, int, int]:
        """The validity bounds of :meth:`offer`.

        Returns:
            ``(min_gas_price, min_gas_limit, max_gas_limit, max_transaction_size,
            max_nonce)``: a transaction is valid here iff it has the legacy RLP field count,
            ``gas_price >= min_gas_price``, ``min_gas_limit <= gas_limit <= max_gas_limit``,
            ``0 <= nonce <= max_nonce``, ``v``, ``r``, ``s`` > 0, a valid signature,
            ``gas_limit >= 21_000 + 16 * data_len`` and ``size <= max_transaction_size``.
        """
        min_price, min_gas, max_gas, max_size, _, max_nonce = self._limits
        return min_price, min_gas, max_gas, max_size, max_nonce

    def admit(self, tx: Transaction, now: float,
              evicted: list[Transaction] | None = None) -> str | None:
        """:meth:`offer` of a transaction already known to be valid (see :attr:`limits`).

        :meth:`offer`'s steps after its validity checks, which such a transaction passes
        without any effect: a caller that has checked the bounds itself calls this directly
        (the node's V2 fast path, ``tests/test_v2_fast_checks.py``).

        Args:
            tx: A transaction that passes every check of :attr:`limits`.
            now: Simulated time in seconds; the entry's age counts from it.
            evicted: As for :meth:`offer`.

        Returns:
            As :meth:`offer`.
        """
        ledger = self.ledger
        size = tx.size
        price = tx.gas_price
        tx_hash = tx.tx_hash
        by_hash = self._by_hash
        if tx_hash in by_hash:
            ledger.reject(V2_ALREADY_KNOWN)
            return V2_ALREADY_KNOWN
        by_key = self._by_key
        sender = tx.sender
        slot = (sender << _NONCE_BITS) | tx.nonce
        by_slot = self._by_slot
        old_key = by_slot.get(slot)
        overhead = self._overhead
        mem_after = self._mem + overhead + size
        senders = self._senders
        if old_key is None:
            count = senders.get(sender, 0)
            if count >= self._max_per_sender:
                ledger.reject(V2_SENDER_LIMIT)
                return V2_SENDER_LIMIT
            size_after = len(by_key) + 1
            if size_after > self._max_size or mem_after > self._max_mem:
                victims = self._victims(price, size_after, mem_after, None)
                if victims is None:
                    ledger.reject(V2_UNDERPRICED)
                    return V2_UNDERPRICED
                self._evict(victims, evicted)
                count = senders.get(sender, 0)  # a victim may have been this sender's
        else:
            old = by_key[old_key]
            if price * 100 < old.gas_price * self._bump:
                ledger.reject(V2_REPLACEMENT_UNDERPRICED)
                return V2_REPLACEMENT_UNDERPRICED
            mem_after -= overhead + old.size
            size_after = len(by_key)
            # Victims are chosen with the old tx skipped (it is leaving anyway) and removed
            # after it.
            victims = None
            if size_after > self._max_size or mem_after > self._max_mem:
                victims = self._victims(price, size_after, mem_after, old_key)
                if victims is None:
                    ledger.reject(V2_UNDERPRICED)
                    return V2_UNDERPRICED
            self._remove(old_key, old, TxState.REPLACED)
            if victims is not None:
                self._evict(victims, evicted)
            count = senders.get(sender, 0)
        # Index as pending (the PoolBase entries _remove undoes; hot path, inline), then this
        # pool's side indexes.
        seq = self._seq
        self._seq = seq + 1
        key = (-price << SEQ_BITS) + seq
        by_key[key] = tx
        by_hash[tx_hash] = key
        self._queue.add(key, price)
        heappush(self._age_heap, (now, key))
        self._mem += overhead + size
        if ledger.track:
            ledger.admit(tx_hash)
        else:
            ledger.entered += 1  # Ledger.admit without tracking, inlined (hot path)
        by_slot[slot] = key
        senders[sender] = count + 1
        return None

    def _evict(self, victims: list[tuple[int, Transaction]],
               evicted: list[Transaction] | None) -> None:
        remove = self._remove
        for key, victim in victims:
            remove(key, victim, TxState.EVICTED)
        if evicted is not None:
            evicted.extend(v for _, v in victims)

    def _victims(self, price: int, size_after: int, mem_after: int,
                 exclude: int | None) -> list[tuple[int, Transaction]] | None:
        """Cheapest residents whose removal makes room, or ``None`` if impossible.

        Walks worst-first and stops at the first resident not strictly cheaper than
        ``price`` (everything after it pays at least as much).
        """
        by_key = self._by_key
        overhead = self._overhead
        max_size, max_mem = self._max_size, self._max_mem
        out: list[tuple[int, Transaction]] = []
        for key in self._queue.worst_first():
            if key == exclude:
                continue
            victim = by_key[key]
            if victim.gas_price >= price:
                return None
            out.append((key, victim))
            size_after -= 1
            mem_after -= overhead + victim.size
            if size_after <= max_size and mem_after <= max_mem:
                return out
        return None

    def add_batch(self, txs: Sequence[Transaction], now: float) -> list[AddResult]:
        """Admit transactions in chunks of ``batch_processing_size``.

        Each chunk is one call for the cost model (:meth:`CostModel.batch`); outcomes equal
        those of adding the transactions one by one in order.

        Args:
            txs: The transactions, in order.
            now: Simulated time in seconds.

        Returns:
            One result per transaction.
        """
        size = self.config.batch_processing_size
        add = self.add
        out: list[AddResult] = []
        for start in range(0, len(txs), size):
            self.batch_calls += 1
            out.extend([add(tx, now) for tx in txs[start:start + size]])
        return out

    def _index_remove(self, tx: Transaction, key: int) -> None:
        del self._by_slot[(tx.sender << _NONCE_BITS) | tx.nonce]
        senders = self._senders
        left = senders[tx.sender] - 1
        if left:
            senders[tx.sender] = left
        else:
            del senders[tx.sender]

    def _index_remove_many(self, gone: list[tuple[Transaction, int]]) -> None:
        # _index_remove, inlined: a block removes hundreds of transactions (hot path).
        by_slot = self._by_slot
        senders = self._senders
        for tx, _ in gone:
            sender = tx.sender
            del by_slot[(sender << _NONCE_BITS) | tx.nonce]
            left = senders[sender] - 1
            if left:
                senders[sender] = left
            else:
                del senders[sender]

    def _index_remove_all(self) -> None:
        # Every resident leaves: each holds exactly one slot entry (admit indexes it, a
        # replacement removes the old one's first) and counts once for its sender, and a
        # count reaching 0 is deleted, so removing them one by one leaves both maps empty.
        self._by_slot.clear()
        self._senders.clear()

    def sender_count(self, sender: int) -> int:
        """Pending transactions of ``sender``.

        Args:
            sender: Sender address as an integer.

        Returns:
            The count.
        """
        return self._senders.get(sender, 0)

    def stats(self) -> PoolStats:
        """The guide's pool metrics that belong to a pool, plus the ledger totals.

        ``processed_transactions`` counts every submission the pool handled (accepted or
        rejected); ``rejected_transactions`` counts refusals; ``pool_size`` and
        ``pending_transactions`` are both the resident count. ``batch_calls`` counts
        :meth:`add_batch` chunks.

        Returns:
            Metric name to value.
        """
        out = self._base_stats()
        out["batch_calls"] = self.batch_calls
        out["unique_addresses"] = len(self._senders)
        return out

"""``TxPoolV1``: the fork's ``Blockchain.TransactionPool`` as written.

Source: ``Hydepwns/mana`` ``apps/blockchain/lib/blockchain/transaction_pool.ex``
(``reference/mana-source-facts.md`` §3.1). Rules reproduced:

* Validation pipeline in the real order with the real reason strings (L282-408): exactly 9
  RLP fields; gas price >= 1 gwei; gas limit 21,000..8,000,000; nonce >= 0; ``v, r, s > 0``
  (no ECDSA check); gas limit >= 21,000 + 16 per data byte; raw size <= 128 KiB; then the
  capacity step: at 5,000 resident the add is refused with "Transaction pool is full". The
  capacity step is part of the pipeline, so it runs **before** the duplicate test: at a full
  pool even a duplicate is refused as full.
* A duplicate hash is a no-op that answers success (``{:ok, hash}``); we return
  :attr:`AddStatus.DUPLICATE` and the ledger closes the submission as rejected "duplicate".
* No eviction on insert, no same-sender/nonce replacement (both are kept).
* Order: gas price descending, FIFO among equal prices (``insert_by_gas_price`` inserts before
  the first strictly lower price, L462-484).
* Cleanup every 300 s removes entries with ``timestamp < now - 3600``, so an entry exactly
  3,600 s old stays and the effective maximum age is 3,600-3,900 s (L244-278). The
  over-capacity eviction in cleanup is unreachable (adds stop at 5,000) and is not modelled.

Quirk switches (:class:`pool.config.PoolV1Config`, both default to the code as written):
``hash_ignores_signature`` keys duplicates by the fields that
:func:`pool.transaction.unsigned_hash` covers, so two senders' otherwise identical
transactions collide; ``constant_zero_sender`` makes every transaction's sender the zero
address for :meth:`TxPoolV1.next_nonce` and ``unique_addresses``.

The data structure is a sorted list with O(log n) inserts (the simulator must be fast); the
real O(n) list walk is charged by :meth:`pool.cost_model.CostModel.v1`.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Sequence
from heapq import heappush

from pool.config import PoolV1Config
from pool.cost_model import CostModel
from pool.pool_base import PoolBase
from pool.protocol import PoolStats
from pool.result import (
    V1_DUPLICATE,
    V1_GAS_LIMIT_TOO_HIGH,
    V1_GAS_LIMIT_TOO_LOW,
    V1_GAS_PRICE_TOO_LOW,
    V1_INSUFFICIENT_GAS,
    V1_INVALID_NONCE,
    V1_INVALID_RLP,
    V1_INVALID_SIGNATURE,
    V1_POOL_FULL,
    V1_TOO_LARGE,
    AddResult,
    AddStatus,
)
from pool.segmented_queue import _GROW, SEQ_BITS
from pool.transaction import Transaction
from pool.validation import LEGACY_RLP_FIELDS, first_violation

_V1_PIPELINE = (
    V1_INVALID_RLP, V1_GAS_PRICE_TOO_LOW, V1_GAS_LIMIT_TOO_LOW, V1_GAS_LIMIT_TOO_HIGH,
    V1_INVALID_NONCE, V1_INVALID_SIGNATURE, V1_INSUFFICIENT_GAS, V1_TOO_LARGE,
)
_ZERO_SENDER = 0

UnsignedFields = tuple[int, int, int, int, int, int, int]
"""The fields :func:`pool.transaction.unsigned_hash` covers, as a dict key: ``(nonce,
gas_price, gas_limit, to, value, data_len, data_tag)``.

Equal tuples are exactly equal unsigned hashes' inputs, so keying by the tuple reproduces the
real hash's collisions (and none of a 64-bit hash's accidental ones) at a fraction of the cost
of computing the hash in Python. Built inline where used (the add and removal hot paths).
"""


class TxPoolV1(PoolBase):
    """The fork's V1 transaction pool.

    Attributes:
        config: The constants and quirk switches.
        cost: Service-time model (linear index cost, no batching).
        ledger: Outcome counters.
        cleanup_interval: Seconds between cleanups (300).
    """

    def __init__(self, config: PoolV1Config | None = None, cost: CostModel | None = None,
                 *, track: bool = False) -> None:
        """Create an empty pool.

        Args:
            config: Constants and switches; defaults to the code as written.
            cost: Service-time model; defaults to :meth:`CostModel.v1`.
            track: Per-hash ledger tracking (tests only).
        """
        self.config = config if config is not None else PoolV1Config()
        self.cost = cost if cost is not None else CostModel.v1()
        cfg = self.config
        super().__init__([], cfg.cleanup_interval_s, cfg.max_transaction_age_s,
                         cfg.entry_overhead_bytes, cfg.min_gas_limit, track)
        # Unsigned fields -> tx_hash of the resident holding them (quirk on only).
        self._unsigned: dict[UnsignedFields, int] = {}
        # Pending count per effective sender.
        self._senders: dict[int, int] = {}
        # The config fields offer reads, unpacked once per call (the config is frozen).
        self._offer_consts = (cfg.min_gas_price, cfg.min_gas_limit, cfg.max_gas_limit,
                              cfg.max_transaction_size, cfg.max_pool_size,
                              cfg.hash_ignores_signature, cfg.constant_zero_sender)

    def add(self, tx: Transaction, now: float) -> AddResult:
        """Offer one transaction, as ``handle_call({:add_transaction, raw}, …)``.

        Args:
            tx: The transaction.
            now: Simulated time in seconds; becomes the entry's timestamp.

        Returns:
            Added, duplicate (success, no change) or rejected with the real reason.
        """
        reason = self.offer(tx, now)
        if reason is None:
            return AddResult(AddStatus.ADDED, None, tx)
        if reason == V1_DUPLICATE:
            return AddResult(AddStatus.DUPLICATE, V1_DUPLICATE, tx)
        return AddResult(AddStatus.REJECTED, reason, tx)

    def offer(self, tx: Transaction, now: float) -> str | None:
        """:meth:`add` without building its result (the simulator's hot path).

        Args:
            tx: The transaction.
            now: Simulated time in seconds; becomes the entry's timestamp.

        Returns:
            ``None`` if added, :data:`~pool.result.V1_DUPLICATE` for a duplicate, else the
            rejection reason.
        """
        (min_price, min_gas, max_gas, max_size, max_pool, by_fields,
         zero_sender) = self._offer_consts
        ledger = self.ledger
        # Two slices unpacked instead of a dozen attribute reads (hot path); the field order
        # is Transaction's (tests/test_pool_fast_paths.py pins it).
        tx_hash, sender, nonce, price, gas_limit, size = tx[:6]
        to, value, data_len, data_tag, rlp_fields, v, r, s = tx[7:15]
        # The negation of every rule of first_violation(tx, _V1_PIPELINE, min_price, min_gas,
        # max_gas, max_size, False) (no nonce bound, no real signature check): a
        # transaction that breaks none of them passes at the cost of one expression; one
        # that breaks any asks the pipeline itself which rule fails first.
        if (rlp_fields != LEGACY_RLP_FIELDS or price < min_price or gas_limit < min_gas
                or gas_limit > max_gas or nonce < 0 or v <= 0 or r <= 0 or s <= 0
                or gas_limit < 21_000 + 16 * data_len or size > max_size):
            reason = first_violation(tx, _V1_PIPELINE, min_price, min_gas, max_gas, max_size,
                                     False)
            if reason is not None:
                ledger.reject(reason)
                return reason
        by_key = self._by_key
        if len(by_key) >= max_pool:
            ledger.reject(V1_POOL_FULL)
            return V1_POOL_FULL
        by_hash = self._by_hash
        if by_fields:
            # The tuple is built once for the lookup and the index (hot path).
            fields = (nonce, price, gas_limit, to, value, data_len, data_tag)  # UnsignedFields
            unsigned = self._unsigned
            if fields in unsigned:
                ledger.reject(V1_DUPLICATE)
                return V1_DUPLICATE
        elif tx_hash in by_hash:
            ledger.reject(V1_DUPLICATE)
            return V1_DUPLICATE
        # Index as pending (the PoolBase entries _remove undoes; hot path, inline).
        seq = self._seq
        self._seq = seq + 1
        key = (-price << SEQ_BITS) + seq
        by_key[key] = tx
        by_hash[tx_hash] = key
        # SegmentedQueue.add, inlined for V1's single band while it is a list that stays
        # one (below the size at which add turns it into a SortedList).
        queue = self._queue
        segment = queue._segments[0]
        if type(segment) is list and len(segment) < _GROW:
            insort(segment, key)
        else:
            queue.add(key, price)
        heappush(self._age_heap, (now, key))
        self._mem += self._overhead + size
        if ledger.track:
            ledger.admit(tx_hash)
        else:
            ledger.entered += 1  # Ledger.admit without tracking
        if by_fields:
            unsigned[fields] = tx_hash
        if zero_sender:
            sender = _ZERO_SENDER
        senders = self._senders
        senders[sender] = senders.get(sender, 0) + 1
        return None

    def offer_many(self, txs: Sequence[Transaction],
                   stamp: Callable[[list[int]], Sequence[float]]) -> dict[int, str]:
        """:meth:`offer` on each transaction in order, with identical results, in bulk.

        The time each transaction is offered at (its entry timestamp) may depend on the
        resident count just before its offer (the V1 mailbox's service time grows with the
        pool), so it is asked for once the outcomes are known: ``stamp(residents)`` receives,
        per transaction, ``len(self)`` just before its :meth:`offer` and returns the times.

        Why it equals the sequential offers: an offer's outcome and every index it writes
        depend on the transaction and the pool's state, never on the time, except the
        age-heap entry. So one loop runs offer's body in offer order with the pool's state in
        locals (no call, no attribute reads per transaction), then the age-heap entries are
        pushed in the same order with their times, and the band's keys, all of which offer
        would insort into the same plain list, are sorted in at once (distinct keys: the one
        sorted list). ``tests/test_v1_bulk.py`` checks it against :meth:`offer`.

        Args:
            txs: The transactions, in offer order.
            stamp: Resident counts before each offer -> offer times, seconds.

        Returns:
            Position -> reason of every refused transaction (as :meth:`offer` returns it).
        """
        if not txs:
            return {}
        (min_price, min_gas, max_gas, max_size, max_pool, by_fields,
         zero_sender) = self._offer_consts
        ledger = self.ledger
        reject = ledger.reject
        by_key, by_hash, unsigned = self._by_key, self._by_hash, self._unsigned
        senders = self._senders
        get_sender = senders.get
        overhead = self._overhead
        count = len(by_key)
        seq = self._seq
        mem = self._mem
        reasons: dict[int, str] = {}
        residents: list[int] = []
        note_resident = residents.append
        keys: list[int] = []
        note_key = keys.append
        admitted: list[int] = []  # positions
        note_admitted = admitted.append
        # offer's body, one pass in offer order, with the pool's state in locals; only the
        # entries that need the offer time (the age heap) wait until the times are known.
        for i, tx in enumerate(txs):
            note_resident(count)
            tx_hash, sender, nonce, price, gas_limit, size = tx[:6]
            to, value, data_len, data_tag, rlp_fields, v, r, s = tx[7:15]
            if (rlp_fields != LEGACY_RLP_FIELDS or price < min_price or gas_limit < min_gas
                    or gas_limit > max_gas or nonce < 0 or v <= 0 or r <= 0 or s <= 0
                    or gas_limit < 21_000 + 16 * data_len or size > max_size):
                reason = first_violation(tx, _V1_PIPELINE, min_price, min_gas, max_gas,
                                         max_size, False)
                if reason is not None:
                    reject(reason)
                    reasons[i] = reason
                    continue
            if count >= max_pool:
                reject(V1_POOL_FULL)
                reasons[i] = V1_POOL_FULL
                continue
            if by_fields:
                fields = (nonce, price, gas_limit, to, value, data_len, data_tag)
                if fields in unsigned:
                    reject(V1_DUPLICATE)
                    reasons[i] = V1_DUPLICATE
                    continue
                unsigned[fields] = tx_hash
            elif tx_hash in by_hash:
                reject(V1_DUPLICATE)
                reasons[i] = V1_DUPLICATE
                continue
            key = (-price << SEQ_BITS) + seq
            seq += 1
            by_key[key] = tx
            by_hash[tx_hash] = key
            note_key(key)
            note_admitted(i)
            mem += overhead + size
            if zero_sender:
                sender = _ZERO_SENDER
            senders[sender] = get_sender(sender, 0) + 1
            count += 1
        self._seq = seq
        self._mem = mem
        m = len(keys)
        if ledger.track:
            for i in admitted:
                ledger.admit(txs[i].tx_hash)
        else:
            ledger.entered += m  # Ledger.admit without tracking
        times = stamp(residents)
        if not m:
            return reasons
        queue = self._queue
        segment = queue._segments[0]
        if type(segment) is list and len(segment) + m <= _GROW:
            # Every one of offer's inserts would be an insort into this list (it stays at or
            # below _GROW): the keys are distinct, so the result is the one sorted list.
            segment.extend(keys)
            segment.sort()
        else:
            for key in keys:
                segment = queue._segments[0]
                if type(segment) is list and len(segment) < _GROW:
                    insort(segment, key)
                else:
                    queue.add(key, by_key[key].gas_price)
        heap = self._age_heap
        for entry in zip(map(times.__getitem__, admitted), keys, strict=True):
            heappush(heap, entry)
        return reasons

    def add_batch(self, txs: Sequence[Transaction], now: float) -> list[AddResult]:
        """Offer transactions one call each (V1 has no batch API).

        Args:
            txs: The transactions, in order.
            now: Simulated time in seconds.

        Returns:
            One result per transaction.
        """
        add = self.add
        return [add(tx, now) for tx in txs]

    def _index_remove(self, tx: Transaction, key: int) -> None:
        cfg = self.config
        if cfg.hash_ignores_signature:
            del self._unsigned[(tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value,
                                tx.data_len, tx.data_tag)]  # UnsignedFields
        zero = cfg.constant_zero_sender
        sender = _ZERO_SENDER if zero else tx.sender
        senders = self._senders
        left = senders[sender] - 1
        if left or zero:
            # As written, an emptied by_address list stays ([]), so the zero address is kept.
            senders[sender] = left
        else:
            del senders[sender]

    def _index_remove_many(self, gone: list[tuple[Transaction, int]]) -> None:
        # _index_remove, inlined: a block removes hundreds of transactions (hot path).
        cfg = self.config
        if cfg.hash_ignores_signature:
            unsigned = self._unsigned
            for tx, _ in gone:
                del unsigned[(tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value,
                              tx.data_len, tx.data_tag)]  # UnsignedFields
        senders = self._senders
        if cfg.constant_zero_sender:
            if gone:
                # As written, an emptied by_address list stays ([]), so the zero address is
                # kept.
                senders[_ZERO_SENDER] -= len(gone)
            return
        for tx, _ in gone:
            sender = tx.sender
            left = senders[sender] - 1
            if left:
                senders[sender] = left
            else:
                del senders[sender]

    def _index_remove_all(self) -> None:
        # Every resident leaves: no unsigned fields stay indexed and no real sender keeps a
        # count (a count reaching 0 is deleted), but the zero address stays at 0 (see
        # _index_remove).
        self._unsigned.clear()
        senders = self._senders
        if self.config.constant_zero_sender:
            if self._by_key:
                senders[_ZERO_SENDER] = 0
        else:
            senders.clear()

    def next_nonce(self, address: int) -> int:
        """``get_next_nonce/1``: highest pending nonce of ``address`` plus one, else 0.

        With ``constant_zero_sender`` every transaction belongs to address 0, so address 0
        gets the pool-wide maximum + 1 and every real address gets 0 (L180-205). O(n), as the
        real code.

        Args:
            address: Sender address as an integer.

        Returns:
            The next nonce.
        """
        zero = self.config.constant_zero_sender
        nonces = [tx.nonce for tx in self._by_key.values()
                  if (_ZERO_SENDER if zero else tx.sender) == address]
        return max(nonces) + 1 if nonces else 0

    def stats(self) -> PoolStats:
        """The guide's pool metrics that belong to a pool, plus the ledger totals.

        ``processed_transactions`` counts every submission the pool handled (accepted,
        duplicate or rejected); ``rejected_transactions`` counts refusals including
        duplicates; ``pool_size`` and ``pending_transactions`` are both the resident count
        (this pool has no queued/pending split). ``unique_addresses`` is the real
        ``get_stats`` field.

        Returns:
            Metric name to value.
        """
        out = self._base_stats()
        out["unique_addresses"] = len(self._senders)
        return out

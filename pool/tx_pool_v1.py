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
from itertools import accumulate, compress, repeat
from operator import add, lshift, mul, neg, sub
from typing import TypeVar

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
_T = TypeVar("_T")

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

        Why it equals the sequential offers: an outcome depends only on the transaction's
        own fields (validity), the resident count (capacity, checked before duplicates) and
        the keys already indexed (duplicates, including earlier ones of the batch), never on
        the time; so the outcomes are decided first, exactly, by the same rules in the same
        order (with running counts when capacity or a duplicate may bind), then refusals are
        counted in order and the admitted are indexed with the same keys, entries and
        counters as one offer each. ``tests/test_v1_bulk.py`` checks it against :meth:`offer`.

        Args:
            txs: The transactions, in offer order.
            stamp: Resident counts before each offer -> offer times, seconds.

        Returns:
            Position -> reason of every refused transaction (as :meth:`offer` returns it).
        """
        n = len(txs)
        if not n:
            return {}
        (min_price, min_gas, max_gas, max_size, max_pool, by_fields,
         zero_sender) = self._offer_consts
        # The columns, in Transaction's field order (tests/test_pool_fast_paths.py pins it).
        (hashes, senders_c, nonces, prices, gases, sizes, _, tos, values, data_lens, tags,
         rlps, vs, rs, ss) = tuple(zip(*txs, strict=True))[:15]
        # Validity: each rule of offer's one expression checked over a whole column at C
        # speed; only positions that break some rule are suspects, and each suspect gets
        # offer's own verdict (first_violation), so a suspect that passes is valid as there.
        suspects: set[int] = set()
        if rlps.count(LEGACY_RLP_FIELDS) != n:
            suspects.update(i for i, x in enumerate(rlps) if x != LEGACY_RLP_FIELDS)
        if min(prices) < min_price:
            suspects.update(i for i, x in enumerate(prices) if x < min_price)
        if min(gases) < min_gas or max(gases) > max_gas:
            suspects.update(i for i, x in enumerate(gases) if x < min_gas or x > max_gas)
        if min(nonces) < 0:
            suspects.update(i for i, x in enumerate(nonces) if x < 0)
        for col in (vs, rs, ss):
            if min(col) <= 0:
                suspects.update(i for i, x in enumerate(col) if x <= 0)
        # gas_limit < 21_000 + 16 * data_len, on integers: gas_limit - 16 * data_len < 21_000.
        room = list(map(sub, gases, map(mul, data_lens, repeat(16))))
        if min(room) < 21_000:
            suspects.update(i for i, x in enumerate(room) if x < 21_000)
        if max(sizes) > max_size:
            suspects.update(i for i, x in enumerate(sizes) if x > max_size)
        reasons: dict[int, str] = {}
        for i in sorted(suspects):
            reason = first_violation(txs[i], _V1_PIPELINE, min_price, min_gas, max_gas,
                                     max_size, False)
            if reason is not None:
                reasons[i] = reason
        # Capacity, then duplicates (offer's order), against the running resident count and
        # the keys indexed so far (the pool's, and the batch's own earlier admissions).
        resident = len(self._by_key)
        index: dict[UnsignedFields, int] | dict[int, int]
        keys_of: Sequence[UnsignedFields] | Sequence[int]
        if by_fields:
            keys_of = list(zip(nonces, prices, gases, tos, values, data_lens, tags, strict=True))
            index = self._unsigned
        else:
            keys_of = hashes
            index = self._by_hash
        valid: Sequence[int] = [i for i in range(n) if i not in reasons] if reasons else range(n)
        # Each valid key with its hash (one hashing of each key; reused for the index below).
        firsts: dict[object, int] = dict(zip(map(keys_of.__getitem__, valid),
                                             map(hashes.__getitem__, valid), strict=True))
        if not (resident + len(valid) <= max_pool and len(firsts) == len(valid)
                and index.keys().isdisjoint(firsts)):
            count = resident
            seen: set[object] = set()
            for i in valid:
                k = keys_of[i]
                if count >= max_pool:
                    reasons[i] = V1_POOL_FULL
                elif k in index or k in seen:
                    reasons[i] = V1_DUPLICATE
                else:
                    seen.add(k)
                    count += 1
            firsts = {}
        ledger = self.ledger
        for i in sorted(reasons):
            ledger.reject(reasons[i])
        flags = [1] * n
        for i in reasons:
            flags[i] = 0
        residents = list(accumulate(flags, initial=resident))
        residents.pop()
        times = stamp(residents)
        m = n - len(reasons)
        if not m:
            return reasons

        def keep(col: Sequence[_T]) -> list[_T]:
            return list(compress(col, flags))

        a_txs, a_hashes, a_prices = keep(txs), keep(hashes), keep(prices)
        # Index as pending: offer's entries, in offer order.
        seq = self._seq
        self._seq = seq + m
        keys = list(map(add, map(lshift, map(neg, a_prices), repeat(SEQ_BITS)),
                        range(seq, seq + m)))
        self._by_key.update(zip(keys, a_txs, strict=True))
        self._by_hash.update(zip(a_hashes, keys, strict=True))
        queue = self._queue
        segment = queue._segments[0]
        if type(segment) is list and len(segment) + m <= _GROW:
            # Every one of offer's inserts would be an insort into this list (it stays at or
            # below _GROW): the keys are distinct, so the result is the one sorted list.
            segment.extend(keys)
            segment.sort()
        else:
            for key, price in zip(keys, a_prices, strict=True):
                segment = queue._segments[0]
                if type(segment) is list and len(segment) < _GROW:
                    insort(segment, key)
                else:
                    queue.add(key, price)
        heap = self._age_heap
        for entry in zip(keep(times), keys, strict=True):
            heappush(heap, entry)
        self._mem += self._overhead * m + sum(keep(sizes))
        if ledger.track:
            for h in a_hashes:
                ledger.admit(h)
        else:
            ledger.entered += m  # Ledger.admit without tracking
        if by_fields:
            unsigned = self._unsigned
            if firsts:
                # The fast path above admitted exactly the valid ones: firsts is their index.
                unsigned.update(firsts)  # type: ignore[arg-type]
            else:
                unsigned.update(zip(keep(keys_of), a_hashes, strict=True))
        senders = self._senders
        if zero_sender:
            senders[_ZERO_SENDER] = senders.get(_ZERO_SENDER, 0) + m
        else:
            get = senders.get
            for sender in keep(senders_c):
                senders[sender] = get(sender, 0) + 1
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

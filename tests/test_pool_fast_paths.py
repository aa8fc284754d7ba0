"""The V1 pool's and the block builder's fast paths give exactly what their general paths give.

Each test runs a fast path against a plain restatement of the general rule (the pipeline of
``first_violation``, the greedy walk, the merge-and-fill loop, removal one transaction at a
time) on inputs that reach both the fast and the general branches.
"""

import heapq
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pool import GWEI, PoolV1Config, PoolV2Config, Transaction, TxPoolV1, TxPoolV2, TxState
from pool import result as r
from pool.validation import first_violation
from sim.blocks import MIN_TX_GAS, _key, merge_candidates

V1_REASONS = (
    r.V1_INVALID_RLP, r.V1_GAS_PRICE_TOO_LOW, r.V1_GAS_LIMIT_TOO_LOW, r.V1_GAS_LIMIT_TOO_HIGH,
    r.V1_INVALID_NONCE, r.V1_INVALID_SIGNATURE, r.V1_INSUFFICIENT_GAS, r.V1_TOO_LARGE,
)

# Field values on both sides of every V1 rule's boundary, and a few senders and prices so
# that duplicates (signed and unsigned) occur.
tx_fields = st.fixed_dictionaries({
    "sender": st.integers(1, 3),
    "nonce": st.sampled_from([-1, 0, 1, 2]),
    "gas_price": st.sampled_from([GWEI - 1, GWEI, 2 * GWEI, 3 * GWEI]),
    "gas_limit": st.sampled_from([20_999, 21_000, 21_015, 21_016, 60_000, 8_000_000,
                                  8_000_001]),
    "size": st.sampled_from([100, 131_072, 131_073]),
    "data_len": st.sampled_from([0, 1, 3_000]),
    "rlp_fields": st.sampled_from([8, 9, 9, 9, 10]),
    "v": st.sampled_from([0, 27, 27]),
    "r": st.sampled_from([-1, 1, 1, 2**200]),
    "s": st.sampled_from([0, 1, 1]),
})


def reference_offer(pool: TxPoolV1, known: set[object], tx: Transaction) -> str | None:
    """The V1 add as its docstring states it: pipeline, then capacity, then duplicate."""
    cfg = pool.config
    reason = first_violation(tx, V1_REASONS, cfg.min_gas_price, cfg.min_gas_limit,
                             cfg.max_gas_limit, cfg.max_transaction_size, False)
    if reason is not None:
        return reason
    if len(known) >= cfg.max_pool_size:
        return r.V1_POOL_FULL
    ident: object = ((tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data_len,
                      tx.data_tag) if cfg.hash_ignores_signature else tx.tx_hash)
    if ident in known:
        return r.V1_DUPLICATE
    known.add(ident)
    return None


@pytest.mark.property
@given(st.lists(tx_fields, max_size=40), st.booleans(), st.booleans(), st.integers(1, 12))
def test_v1_offer_equals_the_pipeline_capacity_and_duplicate_rules(
        fields: list[dict[str, int]], by_fields: bool, zero: bool, cap: int) -> None:
    pool = TxPoolV1(PoolV1Config(max_pool_size=cap, hash_ignores_signature=by_fields,
                                 constant_zero_sender=zero), track=True)
    known: set[object] = set()
    accepted: list[Transaction] = []
    for f in fields:
        t = Transaction.create(**f)  # type: ignore[arg-type]
        want = reference_offer(pool, known, t)
        assert pool.offer(t, 1.0) == want
        if want is None:
            accepted.append(t)
    # Priority order: gas price descending, FIFO among equal prices (a stable sort).
    assert pool.transactions() == sorted(accepted, key=lambda t: -t.gas_price)
    assert pool.ledger.entered == len(fields)
    assert pool.ledger.rejected == len(fields) - len(accepted)
    senders = {0} if zero else {t.sender for t in accepted}
    assert pool.stats()["unique_addresses"] == (len(senders) if accepted else 0)
    pool.ledger.check(len(pool))


def reference_best(txs: Sequence[Transaction], gas_limit: int, floor: int) -> list[Transaction]:
    """The greedy fill of ``PoolBase.best`` as a plain walk."""
    out: list[Transaction] = []
    room = gas_limit
    for t in txs:
        if room < floor:
            break
        if t.gas_limit <= room:
            out.append(t)
            room -= t.gas_limit
    return out


def make_txs(specs: list[tuple[int, int]]) -> list[Transaction]:
    return [Transaction.create(sender=1 + i % 4, nonce=i, gas_price=price * GWEI,
                               gas_limit=gas, arrival=float(i % 3))
            for i, (price, gas) in enumerate(specs)]


tx_specs = st.lists(st.tuples(st.integers(1, 4), st.sampled_from([21_000, 30_000, 100_000])),
                    max_size=30)
block_gas = st.sampled_from([0, 20_000, 21_000, 63_000, 100_000, 300_000, 3_000_000])


@pytest.mark.property
@given(tx_specs, block_gas, st.sampled_from([0, 21_000]), st.booleans())
def test_best_equals_the_greedy_walk(specs: list[tuple[int, int]], gas_limit: int,
                                     min_gas: int, v2: bool) -> None:
    pool: TxPoolV1 | TxPoolV2
    if v2:
        pool = TxPoolV2(PoolV2Config(min_gas_limit=min_gas, max_pool_size=1_000))
    else:
        pool = TxPoolV1(PoolV1Config(min_gas_limit=min_gas))
    for t in make_txs(specs):
        pool.offer(t, 1.0)
    want = reference_best(pool.transactions(), gas_limit, min_gas)
    assert pool.best(gas_limit) == want


def reference_merge(candidates: Sequence[Sequence[Transaction]],
                    gas_limit: int) -> list[Transaction]:
    """``merge_candidates`` as first written: heapq.merge, then the fill loop."""
    block: list[Transaction] = []
    seen: set[int] = set()
    used = 0
    for t in heapq.merge(*candidates, key=_key):
        if gas_limit - used < MIN_TX_GAS:
            break
        if t.tx_hash in seen or used + t.gas_limit > gas_limit:
            continue
        seen.add(t.tx_hash)
        used += t.gas_limit
        block.append(t)
    return block


@pytest.mark.property
@given(tx_specs, tx_specs, st.integers(0, 3), block_gas, st.booleans())
def test_merge_candidates_equals_merge_then_fill(a_specs: list[tuple[int, int]],
                                                 b_specs: list[tuple[int, int]], shared: int,
                                                 gas_limit: int, third: bool) -> None:
    a = sorted(make_txs(a_specs), key=lambda t: -t.gas_price)  # pool order: price, FIFO
    b = sorted(make_txs([(p, g + 1) for p, g in b_specs]), key=lambda t: -t.gas_price)
    # Transactions in both pools, in place in each (a V2 call that timed out, retried on V1).
    for t in a[:shared]:
        b.append(t)
    b.sort(key=lambda t: -t.gas_price)
    candidates = [a, b, a[::2]] if third else [a, b]
    assert merge_candidates(candidates, gas_limit) == reference_merge(candidates, gas_limit)


def v1_pool(by_fields: bool, zero: bool) -> TxPoolV1:
    return TxPoolV1(PoolV1Config(hash_ignores_signature=by_fields, constant_zero_sender=zero,
                                 max_transaction_age_s=100.0), track=True)


def batch(first: int, n: int) -> list[Transaction]:
    return [Transaction.create(sender=1 + i % 5, nonce=i, gas_price=(2 + i % 7) * GWEI)
            for i in range(first, first + n)]


def remove_one_by_one(pool: TxPoolV1, hashes: Sequence[int]) -> None:
    """The general removal: PoolBase._remove per transaction (through _index_remove)."""
    for h in hashes:
        key = pool._by_hash.get(h)
        if key is not None:
            pool._remove(key, pool._by_key[key], TxState.INCLUDED)


def assert_same_v1(a: TxPoolV1, b: TxPoolV1) -> None:
    assert a.transactions() == b.transactions()
    assert list(a._senders.items()) == list(b._senders.items())
    assert list(a._unsigned.items()) == list(b._unsigned.items())
    assert a.stats() == b.stats()
    assert a.ledger.as_dict() == b.ledger.as_dict()
    assert a.memory_bytes == b.memory_bytes
    assert a.next_nonce(0) == b.next_nonce(0)
    assert a.next_nonce(1) == b.next_nonce(1)
    a.ledger.check(len(a))


@pytest.mark.parametrize("by_fields", [True, False])
@pytest.mark.parametrize("zero", [True, False])
def test_v1_remove_included_equals_removal_one_by_one(by_fields: bool, zero: bool) -> None:
    fast, general = v1_pool(by_fields, zero), v1_pool(by_fields, zero)
    for pool in (fast, general):
        for t in batch(0, 25):
            pool.offer(t, 1.0)
    hashes = [t.tx_hash for t in batch(0, 25)]
    # A partial block (the bulk index update), then one that takes every resident (the
    # reset of every index at once), then later traffic, removals and expiry on both.
    part = [*hashes[3:11], 12345, hashes[4]]
    assert fast.remove_included(part, 2.0) == 8
    remove_one_by_one(general, part)
    assert_same_v1(fast, general)
    rest = iter([99, *hashes])  # any iterable
    assert fast.remove_included(rest, 3.0) == 17
    remove_one_by_one(general, hashes)
    assert len(fast) == 0
    assert_same_v1(fast, general)
    for pool in (fast, general):
        for i, t in enumerate(batch(100, 12)):
            pool.offer(t, 50.0 + i)
        for t in batch(0, 3):
            pool.offer(t, 55.0)  # removed earlier: admitted again
    late = [t.tx_hash for t in batch(100, 4)]
    fast.remove_included(late, 60.0)
    remove_one_by_one(general, late)
    assert_same_v1(fast, general)
    assert fast.expire(155.5) == general.expire(155.5) != []
    assert_same_v1(fast, general)


def test_transaction_field_order_that_v1_offer_unpacks() -> None:
    # TxPoolV1.offer unpacks tx[:6] and tx[7:15] by position.
    assert Transaction._fields[:15] == (
        "tx_hash", "sender", "nonce", "gas_price", "gas_limit", "size", "arrival", "to",
        "value", "data_len", "data_tag", "rlp_fields", "v", "r", "s")


def test_v1_insert_keeps_the_queue_order_across_its_list_and_sortedlist_forms() -> None:
    # offer inserts into V1's one band directly while it is a short list and leaves the
    # change of form to SegmentedQueue.add; the order must not notice either.
    from sortedcontainers import SortedList

    from pool.segmented_queue import _GROW

    pool = TxPoolV1(PoolV1Config(hash_ignores_signature=False))
    txs = [Transaction.create(sender=i, nonce=0, gas_price=(1 + (i * 7919) % 13) * GWEI)
           for i in range(_GROW + 300)]
    for t in txs[:_GROW]:
        pool.offer(t, 1.0)
    assert type(pool._queue._segments[0]) is list
    for t in txs[_GROW:]:
        pool.offer(t, 1.0)
    assert isinstance(pool._queue._segments[0], SortedList)
    assert pool.transactions() == sorted(txs, key=lambda t: -t.gas_price)
    gone = [t.tx_hash for t in txs[::2]]
    assert pool.remove_included(gone, 2.0) == len(gone)
    assert isinstance(pool._queue._segments[0], SortedList)  # above _SHRINK: stays one
    more = [Transaction.create(sender=i, nonce=1, gas_price=(1 + i % 5) * GWEI)
            for i in range(50)]
    for t in more:
        pool.offer(t, 3.0)
    assert pool.transactions() == sorted([*txs[1::2], *more], key=lambda t: -t.gas_price)

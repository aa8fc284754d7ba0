import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool import GWEI, AddStatus, PoolV2Config, Transaction, TxPoolV2, TxState
from pool import result as r
from pool.memory_model import MIB


def tx(**kw: object) -> Transaction:
    base: dict[str, object] = {"sender": 1, "nonce": 0, "gas_price": 2 * GWEI}
    base.update(kw)
    return Transaction.create(**base)  # type: ignore[arg-type]


def fresh(**cfg: object) -> TxPoolV2:
    return TxPoolV2(PoolV2Config(**cfg), track=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"rlp_fields": 8}, r.V2_INVALID_RLP),
        ({"gas_price": GWEI - 1}, r.V2_GAS_PRICE_TOO_LOW),
        ({"gas_limit": 20_999}, r.V2_GAS_LIMIT_TOO_LOW),
        ({"gas_limit": 8_000_001}, r.V2_GAS_LIMIT_TOO_HIGH),
        ({"nonce": -1}, r.V2_INVALID_NONCE),
        ({"nonce": 2**64}, r.V2_INVALID_NONCE),
        ({"v": 0}, r.V2_INVALID_SIGNATURE),
        ({"signature_valid": False}, r.V2_INVALID_SIGNATURE),
        ({"data_len": 1, "gas_limit": 21_015}, r.V2_INSUFFICIENT_GAS),
        ({"size": 131_073}, r.V2_TOO_LARGE),
    ],
)
def test_each_validation_reason(fields: dict[str, object], reason: str) -> None:
    pool = fresh()
    res = pool.add(tx(**fields), 0.0)
    assert (res.status, res.reason) == (AddStatus.REJECTED, reason)
    assert pool.ledger.rejected_by_reason == {reason: 1}
    pool.ledger.check(len(pool))


def test_largest_valid_nonce_is_accepted() -> None:
    assert fresh().add(tx(nonce=2**64 - 1), 0.0).status is AddStatus.ADDED


def test_defaults_and_unit_conversion() -> None:
    cfg = PoolV2Config()
    assert (cfg.max_pool_size, cfg.cleanup_interval, cfg.max_transaction_age) == (
        50_000, 30_000, 1_800)
    assert cfg.cleanup_interval_s == 30.0
    assert cfg.memory_limit_bytes == 256 * MIB
    assert (cfg.priority_queue_segments, cfg.batch_processing_size) == (8, 100)
    assert (cfg.max_per_sender, cfg.price_bump_percent) == (16, 10)
    pool = TxPoolV2()
    assert pool.cleanup_interval == 30.0
    assert pool.segment_count == 8
    with pytest.raises(ValueError, match="priority_queue_segments"):
        PoolV2Config(priority_queue_segments=0)


def test_duplicate_is_rejected_already_known() -> None:
    pool = fresh()
    a = tx()
    pool.add(a, 0.0)
    res = pool.add(a, 1.0)
    assert (res.status, res.reason, res.accepted) == (AddStatus.REJECTED, r.V2_ALREADY_KNOWN,
                                                      False)
    assert len(pool) == 1
    pool.ledger.check(1)


def test_replacement_exactly_10_percent_replaces() -> None:
    pool = fresh()
    old = tx(gas_price=10 * GWEI)
    pool.add(old, 0.0)
    new = tx(gas_price=11 * GWEI)
    res = pool.add(new, 1.0)
    assert res.status is AddStatus.REPLACED
    assert res.replaced == old
    assert res.accepted
    assert pool.transactions() == [new]
    assert pool.ledger.state_of(old.tx_hash) is TxState.REPLACED
    assert pool.ledger.replaced == 1
    pool.ledger.check(len(pool))


def test_replacement_just_under_10_percent_rejected() -> None:
    pool = fresh()
    old = tx(gas_price=10 * GWEI)
    pool.add(old, 0.0)
    res = pool.add(tx(gas_price=11 * GWEI - 1), 1.0)
    assert (res.status, res.reason) == (AddStatus.REJECTED, r.V2_REPLACEMENT_UNDERPRICED)
    assert pool.transactions() == [old]


def test_per_sender_cap_16() -> None:
    pool = fresh()
    for n in range(16):
        assert pool.add(tx(nonce=n), 0.0).status is AddStatus.ADDED
    res = pool.add(tx(nonce=16), 0.0)
    assert (res.status, res.reason) == (AddStatus.REJECTED, r.V2_SENDER_LIMIT)
    assert pool.sender_count(1) == 16
    # Replacing one of the 16 is still allowed; other senders are unaffected.
    assert pool.add(tx(nonce=3, gas_price=4 * GWEI), 0.0).status is AddStatus.REPLACED
    assert pool.add(tx(sender=2, nonce=16), 0.0).status is AddStatus.ADDED
    # Once one leaves, the sender may add again.
    pool.take_for_block(21_000, 1.0)  # takes the replaced, best-paying one
    assert pool.add(tx(nonce=16), 1.0).status is AddStatus.ADDED
    pool.ledger.check(len(pool))


def test_eviction_when_full_strictly_higher_price_only() -> None:
    pool = fresh(max_pool_size=3)
    a = tx(sender=1, gas_price=2 * GWEI)
    b1 = tx(sender=2, gas_price=3 * GWEI)
    b2 = tx(sender=3, gas_price=3 * GWEI)
    for t in (a, b1, b2):
        pool.add(t, 0.0)
    # Same price as the cheapest: no eviction, underpriced (tie rule).
    res = pool.add(tx(sender=4, gas_price=2 * GWEI), 0.0)
    assert (res.status, res.reason) == (AddStatus.REJECTED, r.V2_UNDERPRICED)
    # Pays more than the cheapest: evicts it.
    c = tx(sender=5, gas_price=3 * GWEI)
    res = pool.add(c, 0.0)
    assert res.status is AddStatus.ADDED
    assert res.evicted == (a,)
    assert pool.ledger.state_of(a.tx_hash) is TxState.EVICTED
    # Now the cheapest are three at 3 gwei; among equals the newest (c) goes first.
    d = tx(sender=6, gas_price=4 * GWEI)
    assert pool.add(d, 0.0).evicted == (c,)
    assert pool.transactions() == [d, b1, b2]
    assert len(pool) == 3
    pool.ledger.check(len(pool))


def test_eviction_over_memory_limit_and_atomic_refusal() -> None:
    entry = 512 + 1_000
    pool = fresh(memory_limit_mb=3 * entry / MIB)
    cheap = [tx(sender=i, size=1_000, gas_price=(2 + i) * GWEI) for i in range(3)]
    for t in cheap:
        pool.add(t, 0.0)
    assert pool.memory_bytes == 3 * entry
    # A newcomer twice as large needs two victims, both strictly cheaper.
    big = tx(sender=9, size=2_512, gas_price=3 * GWEI + 1)
    res = pool.add(big, 0.0)
    assert res.status is AddStatus.ADDED
    assert res.evicted == (cheap[0], cheap[1])
    assert pool.memory_bytes == entry + 512 + 2_512 <= pool.config.memory_limit_bytes
    # Needs two victims but only one is strictly cheaper: refused, nothing evicted.
    huge = tx(sender=10, size=3_500, gas_price=4 * GWEI)
    before = pool.transactions()
    res = pool.add(huge, 0.0)
    assert (res.status, res.reason, res.evicted) == (AddStatus.REJECTED, r.V2_UNDERPRICED, ())
    assert pool.transactions() == before
    pool.ledger.check(len(pool))


def test_replacement_does_not_evict_itself_under_memory_pressure() -> None:
    entry = 512 + 1_000
    pool = fresh(memory_limit_mb=2 * entry / MIB)
    other = tx(sender=2, size=1_000, gas_price=5 * GWEI)
    old = tx(sender=1, size=1_000, gas_price=2 * GWEI)
    pool.add(other, 0.0)
    pool.add(old, 0.0)
    res = pool.add(tx(sender=1, size=1_500, gas_price=3 * GWEI), 0.0)
    # Larger replacement must evict someone strictly cheaper than 3 gwei other than `old`.
    assert (res.status, res.reason) == (AddStatus.REJECTED, r.V2_UNDERPRICED)
    res = pool.add(tx(sender=1, size=1_000, gas_price=3 * GWEI), 0.0)
    assert res.status is AddStatus.REPLACED
    assert res.evicted == ()


def test_age_exactly_1800_stays() -> None:
    pool = fresh()
    a = tx()
    pool.add(a, 10.0)
    assert pool.expire(1_810.0) == []
    assert pool.expire(1_810.001) == [a]
    assert pool.ledger.state_of(a.tx_hash) is TxState.EXPIRED
    pool.ledger.check(0)


@pytest.mark.parametrize("segments", [1, 2, 8, 64])
def test_segment_count_changes_speed_never_order(segments: int) -> None:
    rng = random.Random(7)
    txs = [tx(sender=i, gas_price=rng.choice([1, 2, 3, 50, 999, 5000, 10**6]) * GWEI // 2 + GWEI)
           for i in range(300)]
    ref = sorted(range(300), key=lambda i: (-txs[i].gas_price, i))
    pool = fresh(priority_queue_segments=segments)
    for t in txs:
        pool.add(t, 0.0)
    assert pool.transactions() == [txs[i] for i in ref]
    assert pool.segment_count == segments
    assert sum(pool.segment_sizes()) == 300
    if segments > 1:
        assert max(pool.segment_sizes()) < 300  # really spread over bands
    taken = pool.take_for_block(21_000 * 50, 1.0)
    assert taken == [txs[i] for i in ref[:50]]


def test_add_batch_equals_sequential_and_counts_chunks() -> None:
    txs = [tx(sender=i % 7, nonce=i // 7, gas_price=(1 + i % 5) * GWEI) for i in range(250)]
    txs += txs[:3]
    a = fresh(max_pool_size=100)
    b = fresh(max_pool_size=100)
    res_a = a.add_batch(txs, 0.0)
    res_b = [b.add(t, 0.0) for t in txs]
    assert res_a == res_b
    assert a.transactions() == b.transactions()
    assert a.batch_calls == 3
    assert a.stats()["batch_calls"] == 3


def test_stats_and_protocol_fields() -> None:
    pool = fresh()
    pool.add(tx(), 0.0)
    pool.add(tx(signature_valid=False, nonce=1), 0.0)
    s = pool.stats()
    assert s["pool_size"] == s["pending_transactions"] == 1
    assert s["processed_transactions"] == 2
    assert s["rejected_transactions"] == 1
    assert s["rejected_by_reason"] == {r.V2_INVALID_SIGNATURE: 1}
    assert s["memory_bytes"] == 512 + 110


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(8, 40),
                          st.sampled_from([100, 900, 5_000]), st.integers(0, 4)),
                max_size=60))
def test_offer_equals_add(specs: list[tuple[int, int, int, int, int]]) -> None:
    # Tight count, memory and sender limits so that every branch (replacement, sender cap,
    # eviction by count and by memory, underpriced) is taken; a block now and then.
    cfg = {"max_pool_size": 6, "memory_limit_mb": 6 * 2_000 / MIB, "max_per_sender": 3,
           "priority_queue_segments": 3, "segment_top_gas_price": 4 * GWEI}
    by_add, by_offer, quiet = fresh(**cfg), fresh(**cfg), fresh(**cfg)
    for i, (sender, nonce, price, size, block_now) in enumerate(specs):
        t = tx(sender=sender, nonce=nonce, gas_price=price * GWEI // 10, size=size)
        res = by_add.add(t, float(i))
        out: list[Transaction] = []
        reason = by_offer.offer(t, float(i), out)
        assert quiet.offer(t, float(i)) == reason
        assert reason == res.reason
        assert (reason is None) == (res.status is not AddStatus.REJECTED)
        assert tuple(out) == res.evicted
        if block_now == 0:
            block = [x.tx_hash for x in by_add.best(60_000)]
            for pool in (by_add, by_offer, quiet):
                pool.remove_included(block, float(i))
        for pool in (by_offer, quiet):
            assert pool.transactions() == by_add.transactions()
            assert pool.stats() == by_add.stats()
            assert pool.memory_bytes == by_add.memory_bytes
            assert pool.segment_sizes() == by_add.segment_sizes()
            assert pool.ledger.as_dict() == by_add.ledger.as_dict()
            assert all(pool.sender_count(s) == by_add.sender_count(s) for s in range(3))
    by_add.ledger.check(len(by_add))


def test_remove_included_updates_side_indexes_as_one_by_one_removal() -> None:
    # remove_included inlines _index_remove (one hook call per block); take_for_block removes
    # one by one through _index_remove. Same block, same indexes afterwards.
    rng = random.Random(3)
    txs = [tx(sender=n % 6, nonce=n, gas_price=rng.randrange(10, 40) * GWEI // 10)
           for n in range(30)]
    inlined, general = fresh(), fresh()
    for pool in (inlined, general):
        for t in txs:
            pool.offer(t, 0.0)
    taken = general.take_for_block(21_000 * 25, 1.0)
    assert inlined.remove_included([t.tx_hash for t in taken] + [12345], 1.0) == 25
    assert inlined.stats() == general.stats()
    assert [inlined.sender_count(s) for s in range(6)] == [
        general.sender_count(s) for s in range(6)]
    assert 0 in [inlined.sender_count(s) for s in range(6)]  # 5 left: a sender emptied
    for t in txs:  # the slot index: every freed slot is free again, every kept one held
        again = t._replace(tx_hash=t.tx_hash ^ 1, gas_price=t.gas_price * 2)
        assert inlined.add(again, 2.0).status is general.add(again, 2.0).status
    assert inlined.transactions() == general.transactions()

import pytest

from pool import GWEI, AddStatus, PoolV1Config, Transaction, TxPoolV1, TxState
from pool import result as r


def tx(**kw: object) -> Transaction:
    base: dict[str, object] = {"sender": 1, "nonce": 0, "gas_price": 2 * GWEI}
    base.update(kw)
    return Transaction.create(**base)  # type: ignore[arg-type]


def fresh(**cfg: object) -> TxPoolV1:
    return TxPoolV1(PoolV1Config(**cfg), track=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"rlp_fields": 8}, r.V1_INVALID_RLP),
        ({"rlp_fields": 10}, r.V1_INVALID_RLP),
        ({"gas_price": GWEI - 1}, r.V1_GAS_PRICE_TOO_LOW),
        ({"gas_limit": 20_999}, r.V1_GAS_LIMIT_TOO_LOW),
        ({"gas_limit": 8_000_001}, r.V1_GAS_LIMIT_TOO_HIGH),
        ({"nonce": -1}, r.V1_INVALID_NONCE),
        ({"v": 0}, r.V1_INVALID_SIGNATURE),
        ({"r": 0}, r.V1_INVALID_SIGNATURE),
        ({"s": 0}, r.V1_INVALID_SIGNATURE),
        ({"data_len": 1, "gas_limit": 21_015}, r.V1_INSUFFICIENT_GAS),
        ({"size": 131_073}, r.V1_TOO_LARGE),
    ],
)
def test_each_rejection_reason(fields: dict[str, object], reason: str) -> None:
    pool = fresh()
    res = pool.add(tx(**fields), 0.0)
    assert res.status is AddStatus.REJECTED
    assert res.reason == reason
    assert not res.accepted
    assert len(pool) == 0
    assert pool.ledger.rejected_by_reason == {reason: 1}
    pool.ledger.check(len(pool))


@pytest.mark.parametrize(
    "fields",
    [
        {"gas_price": GWEI},
        {"gas_limit": 21_000},
        {"gas_limit": 8_000_000},
        {"data_len": 1, "gas_limit": 21_016},
        {"size": 131_072},
        {"signature_valid": False},  # V1 never recovers the signature
        {"nonce": 2**70},  # V1 has no upper nonce bound
    ],
)
def test_boundaries_that_pass(fields: dict[str, object]) -> None:
    pool = fresh()
    assert pool.add(tx(**fields), 0.0).status is AddStatus.ADDED


def test_pipeline_order_first_failure_wins() -> None:
    pool = fresh()
    # price too low AND bad signature AND too large: the price check comes first.
    bad = tx(gas_price=1, v=0, size=200_000)
    assert pool.add(bad, 0.0).reason == r.V1_GAS_PRICE_TOO_LOW
    # signature before intrinsic gas before size.
    assert pool.add(tx(v=0, data_len=10, size=200_000), 0.0).reason == r.V1_INVALID_SIGNATURE
    assert pool.add(tx(data_len=10, size=200_000), 0.0).reason == r.V1_INSUFFICIENT_GAS


def test_cap_exactly_5000_then_5001_is_full() -> None:
    pool = TxPoolV1()
    for i in range(5_000):
        assert pool.add(tx(sender=i, nonce=i), 0.0).status is AddStatus.ADDED
    assert len(pool) == 5_000
    res = pool.add(tx(sender=9_999_999, gas_price=500 * GWEI), 0.0)
    assert res.status is AddStatus.REJECTED
    assert res.reason == r.V1_POOL_FULL
    assert res.evicted == ()
    assert len(pool) == 5_000
    pool.ledger.check(len(pool))


def test_full_check_runs_before_duplicate_check() -> None:
    pool = fresh(max_pool_size=2)
    a = tx(nonce=1)
    pool.add(a, 0.0)
    assert pool.add(a, 0.0).status is AddStatus.DUPLICATE
    pool.add(tx(nonce=2), 0.0)
    # At capacity even a known tx is refused as full, as the real pipeline does.
    res = pool.add(a, 0.0)
    assert res.reason == r.V1_POOL_FULL


def test_duplicate_is_noop_success_and_ledgered_as_rejected() -> None:
    pool = fresh()
    a = tx()
    pool.add(a, 0.0)
    res = pool.add(a, 5.0)
    assert res.status is AddStatus.DUPLICATE
    assert res.accepted
    assert len(pool) == 1
    assert pool.ledger.rejected_by_reason == {r.V1_DUPLICATE: 1}
    assert pool.ledger.state_of(a.tx_hash) is TxState.PENDING
    pool.ledger.check(len(pool))


def test_hash_ignores_signature_switch() -> None:
    a, b = tx(sender=1, r=5), tx(sender=2, r=6)
    assert a.tx_hash != b.tx_hash
    quirky = fresh()
    quirky.add(a, 0.0)
    assert quirky.add(b, 0.0).status is AddStatus.DUPLICATE
    assert b.tx_hash not in quirky
    fixed = fresh(hash_ignores_signature=False)
    fixed.add(a, 0.0)
    assert fixed.add(b, 0.0).status is AddStatus.ADDED
    assert len(fixed) == 2
    # Removing the first frees its unsigned hash again.
    quirky.remove_included([a.tx_hash], 1.0)
    assert quirky.add(b, 1.0).status is AddStatus.ADDED


def test_no_replacement_same_sender_nonce_both_kept() -> None:
    pool = fresh()
    a = tx(gas_price=2 * GWEI)
    b = tx(gas_price=50 * GWEI)
    assert pool.add(a, 0.0).status is AddStatus.ADDED
    assert pool.add(b, 0.0).status is AddStatus.ADDED
    assert pool.transactions() == [b, a]


def test_order_price_desc_fifo_among_equal_and_greedy_fill() -> None:
    pool = fresh()
    low = tx(nonce=1, gas_price=2 * GWEI)
    eq1 = tx(nonce=2, gas_price=5 * GWEI)
    big = tx(nonce=3, gas_price=5 * GWEI, gas_limit=100_000)
    eq2 = tx(nonce=4, gas_price=5 * GWEI)
    top = tx(nonce=5, gas_price=9 * GWEI)
    for t in (low, eq1, big, eq2, top):
        pool.add(t, 0.0)
    assert pool.transactions() == [top, eq1, big, eq2, low]
    # 80k gas: top, eq1, (big does not fit: skipped), eq2 -> 63k; low no longer fits.
    assert pool.best(80_000) == [top, eq1, eq2]
    assert len(pool) == 5  # best is non-destructive
    taken = pool.take_for_block(80_000, 12.0)
    assert taken == [top, eq1, eq2]
    assert pool.transactions() == [big, low]
    assert pool.ledger.included == 3
    pool.ledger.check(len(pool))


def test_cleanup_boundary_age_exactly_3600_stays() -> None:
    pool = fresh()
    assert pool.cleanup_interval == 300.0
    a = tx(nonce=1)
    b = tx(nonce=2)
    pool.add(a, 100.0)
    pool.add(b, 101.0)
    assert pool.expire(3_700.0) == []  # a is exactly 3,600 s old: `<` keeps it
    assert pool.expire(3_700.5) == [a]
    assert pool.ledger.state_of(a.tx_hash) is TxState.EXPIRED
    assert pool.expire(3_701.0) == []  # b exactly 3,600 s
    assert pool.expire(3_702.0) == [b]
    assert len(pool) == 0
    assert pool.ledger.expired == 2
    pool.ledger.check(0)


def test_remove_included_ignores_unknown_and_counts() -> None:
    pool = fresh()
    a, b = tx(nonce=1), tx(nonce=2)
    pool.add(a, 0.0)
    pool.add(b, 0.0)
    assert pool.remove_included([a.tx_hash, 12345, a.tx_hash], 1.0) == 1
    assert a.tx_hash not in pool
    assert pool.get(b.tx_hash) == b
    assert pool.get(a.tx_hash) is None


def test_constant_zero_sender_next_nonce_and_unique_addresses() -> None:
    pool = fresh()
    pool.add(tx(sender=7, nonce=4), 0.0)
    pool.add(tx(sender=8, nonce=9), 0.0)
    assert pool.next_nonce(0) == 10  # every tx belongs to the zero address
    assert pool.next_nonce(7) == 0
    assert pool.stats()["unique_addresses"] == 1
    real = fresh(constant_zero_sender=False, hash_ignores_signature=False)
    first = tx(sender=7, nonce=4)
    real.add(first, 0.0)
    real.add(tx(sender=8, nonce=9), 0.0)
    assert real.next_nonce(7) == 5
    assert real.next_nonce(0) == 0
    assert real.stats()["unique_addresses"] == 2
    real.remove_included([first.tx_hash], 1.0)
    assert real.stats()["unique_addresses"] == 1
    # As written, an emptied by_address list stays: the zero address is still counted.
    pool.take_for_block(30_000_000, 1.0)
    assert pool.stats()["unique_addresses"] == 1


def test_stats_names_and_memory() -> None:
    pool = fresh()
    pool.add(tx(size=1000), 0.0)
    pool.add(tx(gas_price=1), 0.0)
    s = pool.stats()
    assert s["pool_size"] == 1
    assert s["pending_transactions"] == 1
    assert s["processed_transactions"] == 2
    assert s["rejected_transactions"] == 1
    assert s["rejected_by_reason"] == {r.V1_GAS_PRICE_TOO_LOW: 1}
    assert s["memory_bytes"] == pool.memory_bytes == 512 + 1000


def test_add_batch_is_sequential() -> None:
    pool = fresh()
    a = tx(nonce=1)
    res = pool.add_batch([a, a, tx(gas_price=0)], 0.0)
    assert [x.status for x in res] == [AddStatus.ADDED, AddStatus.DUPLICATE, AddStatus.REJECTED]

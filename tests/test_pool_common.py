import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pool import (
    GWEI,
    CostModel,
    IndexScaling,
    Ledger,
    LedgerImbalanceError,
    PoolV1Config,
    PoolV2Config,
    SegmentedQueue,
    Transaction,
    TxPool,
    TxPoolV1,
    TxPoolV2,
    TxState,
)
from pool.result import AddResult, AddStatus
from pool.segmented_queue import priority_key


def test_both_pools_conform_to_protocol() -> None:
    pools: list[TxPool] = [TxPoolV1(), TxPoolV2()]
    for p in pools:
        assert isinstance(p, TxPool)
        assert isinstance(p.ledger, Ledger)
        assert isinstance(p.cost, CostModel)
    assert pools[0].cost.scaling is IndexScaling.LINEAR
    assert pools[1].cost.scaling is IndexScaling.LOGARITHMIC


def test_ledger_balances_and_reports_numbers() -> None:
    led = Ledger(track=True)
    led.admit(1)
    led.admit(2)
    led.reject("x")
    led.settle(1, TxState.INCLUDED)
    assert led.pending == 1
    led.check(1)
    with pytest.raises(LedgerImbalanceError, match=r"entered=3 != pending=2"):
        led.check(2)
    assert led.as_dict()["included"] == 1


def test_tracked_ledger_catches_double_settle_and_double_admit() -> None:
    led = Ledger(track=True)
    led.admit(5)
    with pytest.raises(LedgerImbalanceError):
        led.admit(5)
    led.settle(5, TxState.EXPIRED)
    with pytest.raises(LedgerImbalanceError):
        led.settle(5, TxState.EVICTED)
    with pytest.raises(ValueError, match="cannot settle"):
        led.settle(5, TxState.REJECTED)
    # Re-admission after a final state is a new life of the same hash.
    led.admit(5)
    assert led.tracked_pending() == [5]


def test_untracked_ledger_keeps_no_per_hash_state() -> None:
    led = Ledger()
    for h in range(1000):
        led.admit(h)
        led.settle(h, TxState.INCLUDED)
    assert led.state_of(3) is None
    assert led.tracked_pending() == []
    led.check(0)


def test_add_result_accepted() -> None:
    t = Transaction.create(sender=1, nonce=0, gas_price=GWEI)
    assert AddResult(AddStatus.ADDED, None, t).accepted
    assert AddResult(AddStatus.REPLACED, None, t).accepted
    assert AddResult(AddStatus.DUPLICATE, "duplicate", t).accepted
    assert not AddResult(AddStatus.REJECTED, "underpriced", t).accepted
    with pytest.raises(dataclasses.FrozenInstanceError):
        AddResult(AddStatus.ADDED, None, t).status = AddStatus.REJECTED  # type: ignore[misc]


def test_cost_model_v1_linear_v2_logarithmic() -> None:
    v1, v2 = CostModel.v1(), CostModel.v2()
    # V1's index cost grows ~linearly: 10x resident -> ~10x index cost.
    assert v1.insert(50_000) / v1.insert(5_000) == pytest.approx(10.0)
    # V2's grows with log2: 1k -> 50k is well under 2x in total add cost.
    assert v2.add(50_000) / v2.add(1_000) < 1.05
    assert v2.insert(50_000) / v2.insert(1_000) == pytest.approx(15.6 / 10.0, rel=0.02)
    assert v1.add(5_000) > v1.add(10)


def test_cost_model_batch_amortises_call_overhead() -> None:
    v2 = CostModel.v2(batch_size=100)
    one_by_one = 250 * v2.add(1_000)
    batched = v2.batch(250, 1_000)
    assert one_by_one - batched == pytest.approx(247 * v2.call_overhead_s)
    assert v2.batch(0, 1_000) == 0.0
    v1 = CostModel.v1()
    assert v1.batch(10, 100) == pytest.approx(10 * v1.add(100))


def test_cost_model_take_and_cleanup() -> None:
    v1, v2 = CostModel.v1(), CostModel.v2()
    # V1 lists the whole pool for a block and walks both lists per removal.
    assert v1.take(300, 5_000) == pytest.approx(
        v1.call_overhead_s + 5_000 * v1.select_per_tx_s + 300 * 5_000 * v1.remove_unit_s)
    assert v1.cleanup(5_000, 0) > v1.call_overhead_s  # full scan even if nothing expires
    assert v2.cleanup(50_000, 0) == v2.call_overhead_s
    custom = dataclasses.replace(v2, call_overhead_s=1.0)
    assert custom.add(0) > 1.0
    with pytest.raises(ValueError, match="validate_s"):
        dataclasses.replace(v2, validate_s=-1.0)


def test_segmented_queue_orders_across_bands() -> None:
    q = SegmentedQueue([10, 100])
    items = [(5, 0), (50, 1), (500, 2), (50, 3), (5, 4), (100, 5), (10, 6)]
    for price, seq in items:
        q.add(priority_key(price, seq), price)
    order = [(-(k >> 40), k & ((1 << 40) - 1)) for k in q]
    assert order == [(500, 2), (100, 5), (50, 1), (50, 3), (10, 6), (5, 0), (5, 4)]
    worst = [(-(k >> 40), k & ((1 << 40) - 1)) for k in q.worst_first()]
    assert worst == list(reversed(order))
    assert q.segment_sizes() == [2, 3, 2]
    q.remove(priority_key(50, 1), 50)
    assert len(q) == 6
    with pytest.raises(ValueError, match="increasing"):
        SegmentedQueue([5, 5])


def test_segment_bounds_log_spaced() -> None:
    cfg = PoolV2Config(priority_queue_segments=4, segment_top_gas_price=1000 * GWEI)
    assert cfg.segment_bounds() == [10 * GWEI, 100 * GWEI, 1000 * GWEI]
    assert PoolV2Config(priority_queue_segments=1).segment_bounds() == []
    assert len(PoolV2Config(priority_queue_segments=64).segment_bounds()) == 63


def test_v1_config_defaults_are_the_real_constants() -> None:
    c = PoolV1Config()
    assert (c.max_pool_size, c.max_transaction_size, c.min_gas_price) == (5000, 131_072, GWEI)
    assert (c.cleanup_interval_s, c.max_transaction_age_s) == (300.0, 3600.0)
    assert c.constant_zero_sender
    assert c.hash_ignores_signature


def test_age_heap_stays_bounded_under_churn() -> None:
    pool = TxPoolV2()
    for i in range(20_000):
        t = Transaction.create(sender=i, nonce=0, gas_price=GWEI)
        pool.add(t, float(i))
        pool.remove_included([t.tx_hash], float(i))
    assert len(pool) == 0
    assert len(pool._age_heap) <= 1024 + 1  # compacted, not 20k stale entries
    pool.ledger.check(0)


def test_segmented_queue_keeps_order_across_list_and_sortedlist_forms() -> None:
    # A band grows past the list -> SortedList threshold and shrinks back; the keys, their
    # order and the refusal of an absent key never depend on the form.
    import random

    from pool.segmented_queue import _GROW, _SHRINK

    rng = random.Random(7)
    q = SegmentedQueue([100])
    ref: list[tuple[int, int]] = []
    seq = 0
    forms = []
    for phase_adds, phase_removes in ((2 * _GROW + 500, 0),
                                      (0, 2 * _GROW + 500 - _SHRINK // 2), (300, 200)):
        for _ in range(phase_adds):
            price = rng.choice([5, 50, 500, 5000])
            q.add(priority_key(price, seq), price)
            ref.append((priority_key(price, seq), price))
            seq += 1
        for _ in range(phase_removes):
            key, price = ref.pop(rng.randrange(len(ref)))
            q.remove(key, price)
        assert list(q) == sorted(k for k, p in ref if p >= 100) + sorted(
            k for k, p in ref if p < 100)
        assert list(q.worst_first()) == list(reversed(list(q)))
        assert len(q) == len(ref)
        forms.append([type(segment).__name__ for segment in q._segments])
    assert "SortedList" in forms[0]
    assert forms[1] == ["list", "list"]
    with pytest.raises(ValueError, match="not in queue"):
        q.remove(priority_key(5, seq + 1), 5)


@given(st.integers(0, 200_000), st.floats(0.0, 1e-3), st.floats(0.0, 1e-3),
       st.floats(0.0, 1e-6), st.integers(1, 500))
def test_cost_single_is_batch_of_one_bit_for_bit(resident: int, overhead: float,
                                                 validate: float, unit: float,
                                                 batch_size: int) -> None:
    for base in (CostModel.v1(), CostModel.v2()):
        model = dataclasses.replace(base, call_overhead_s=overhead, validate_s=validate,
                                    index_unit_s=unit, batch_size=batch_size)
        assert model.single(resident) == model.batch(1, resident)
        assert base.single(resident) == base.batch(1, resident)


@given(st.integers(0, 1_000), st.integers(0, 200_000), st.floats(0.0, 1e-6),
       st.integers(1, 500))
def test_cost_batch_equals_its_formula_bit_for_bit(n: int, resident: int, unit: float,
                                                   batch_size: int) -> None:
    # batch() inlines insert(); the formula as written with the call, for comparison.
    for base in (CostModel.v1(), CostModel.v2()):
        model = dataclasses.replace(base, index_unit_s=unit, batch_size=batch_size)
        for m in (base, model):
            expected = 0.0 if n <= 0 else (
                -(-n // m.batch_size) * m.call_overhead_s
                + n * (m.validate_s + m.signature_check_s + m.insert(resident)))
            assert m.batch(n, resident) == expected


def test_size_of_tracks_len_through_adds_removals_and_eviction() -> None:
    for pool in (TxPoolV1(), TxPoolV2()):
        size = pool.size_of
        txs = [Transaction.create(sender=i, nonce=0, gas_price=(2 + i) * GWEI)
               for i in range(20)]
        for tx in txs:
            pool.add(tx, 1.0)
            assert size() == len(pool)
        pool.remove_included([tx.tx_hash for tx in txs[:5]], 2.0)
        assert size() == len(pool) == 15
        pool.evict_all(3.0)
        assert size() == len(pool) == 0


@pytest.mark.parametrize("track", [False, True])
def test_settle_many_equals_settle_one_by_one(track: bool) -> None:
    states = (TxState.INCLUDED, TxState.EVICTED, TxState.EXPIRED, TxState.REPLACED)
    one, many = Ledger(track=track), Ledger(track=track)
    for ledger in (one, many):
        for h in range(40):
            ledger.admit(h)
    for i, state in enumerate(states):
        hashes = list(range(10 * i, 10 * i + 10))
        for h in hashes:
            one.settle(h, state)
        many.settle_many(hashes, state)
    assert one.as_dict() == many.as_dict()
    with pytest.raises(ValueError, match="cannot settle"):
        many.settle_many([1], TxState.PENDING)
    if track:
        with pytest.raises(LedgerImbalanceError):
            many.settle_many([3], TxState.INCLUDED)  # already settled


def test_segmented_queue_clear_empties_every_band_and_form() -> None:
    from pool.segmented_queue import _GROW

    q, fresh = SegmentedQueue([100, 1_000]), SegmentedQueue([100, 1_000])
    for seq in range(_GROW + 10):  # one band becomes a SortedList
        q.add(priority_key(50, seq), 50)
    q.add(priority_key(500, 0), 500)
    q.clear()
    assert len(q) == 0
    assert list(q) == []
    assert q.segment_sizes() == [0, 0, 0]
    assert [type(s).__name__ for s in q._segments] == ["list"] * 3
    for seq, price in enumerate([5, 5_000, 50, 500, 50]):
        for queue in (q, fresh):
            queue.add(priority_key(price, seq), price)
    assert list(q) == list(fresh)
    assert list(q.worst_first()) == list(fresh.worst_first())


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_remove_included_of_every_resident_equals_removal_one_by_one(kind: str) -> None:
    # A block that takes every resident empties the queue and the age heap at once; a pool
    # that removed them one by one (take_for_block) must behave the same from then on.
    def make() -> TxPoolV1 | TxPoolV2:
        if kind == "v1":
            return TxPoolV1(PoolV1Config(max_transaction_age_s=100.0), track=True)
        return TxPoolV2(PoolV2Config(max_transaction_age=100.0, priority_queue_segments=4,
                                     max_pool_size=30), track=True)

    def txs(first: int) -> list[Transaction]:
        return [Transaction.create(sender=i % 5, nonce=i, gas_price=(2 + i % 7) * GWEI)
                for i in range(first, first + 20)]

    cleared, general = make(), make()
    for pool in (cleared, general):
        for t in txs(0):
            pool.add(t, 1.0)
    hashes = [t.tx_hash for t in txs(0)]
    assert cleared.remove_included([*hashes, 99], 2.0) == 20
    assert len(general.take_for_block(21_000 * 20, 2.0)) == 20
    assert len(cleared._age_heap) == 0
    for pool in (cleared, general):
        for i, t in enumerate(txs(100)):
            pool.add(t, 50.0 + i)
        pool.remove_included([*hashes[:3], txs(100)[4].tx_hash], 60.0)  # stale and live
    assert cleared.transactions() == general.transactions()
    assert cleared.stats() == general.stats()
    assert cleared.best(21_000 * 7) == general.best(21_000 * 7)
    assert cleared.expire(160.0) == general.expire(160.0) != []
    assert cleared.transactions() == general.transactions()
    assert cleared.ledger.as_dict() == general.ledger.as_dict()
    cleared.ledger.check(len(cleared))
    if isinstance(cleared, TxPoolV2) and isinstance(general, TxPoolV2):
        assert cleared.segment_sizes() == general.segment_sizes()

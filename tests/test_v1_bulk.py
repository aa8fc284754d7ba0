"""The deferred V1 path (Node.flush_v1 and its bulk calls) gives exactly the per-item results.

``TxPoolV1.offer_many`` against one ``offer`` each (every validity rule, capacity reached
inside a batch, duplicates inside a batch and against the pool, the unsigned-hash quirk, the
list-to-SortedList growth, tracking), ``Mailbox.serve_many_starts`` against ``start_time`` +
``serve_one`` on a server busy across arrivals, ``CostModel.single_many`` against ``single``,
and whole models whose stretches must flush mid-stretch against the one-by-one general path.
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool import GWEI, PoolV1Config, Transaction, TxPoolV1
from pool.cost_model import CostModel, IndexScaling
from pool.segmented_queue import _GROW
from sim.mailbox import Mailbox
from sim.runner import Model
from sim.scenario import load_scenario
from tests.model_compare import assert_same_results, feed_one_by_one

# Values on both sides of every V1 rule's boundary; few senders, prices and tags, so that
# duplicates (signed, and unsigned under the quirk) occur inside one batch.
from tests.test_pool_fast_paths import tx_fields


def _state(pool: TxPoolV1) -> tuple[object, ...]:
    """Everything an offer writes, in a form where order and container type count."""
    segments = pool._queue._segments
    return (
        list(pool._by_key.items()), list(pool._by_hash.items()),
        [(type(s).__name__, list(s)) for s in segments], list(pool._age_heap),
        pool._mem, pool._seq, pool.ledger.as_dict(), list(pool.ledger.rejected_by_reason.items()),
        list(pool._senders.items()), list(pool._unsigned.items()),
        pool.ledger.tracked_pending(),
    )


def _offer_both(config: PoolV1Config, prefill: list[Transaction], batches: list[list[Transaction]],
                track: bool = False) -> None:
    """Offer ``batches`` one by one to one pool and in bulk to another; compare everything."""
    seq, bulk = TxPoolV1(config, track=track), TxPoolV1(config, track=track)
    for i, tx in enumerate(prefill):
        seq.offer(tx, float(i))
        bulk.offer(tx, float(i))
    clock = float(len(prefill))
    for batch in batches:
        times = [clock + 0.5 * k for k in range(len(batch))]
        clock += 0.5 * len(batch) + 1.0
        want: dict[int, str] = {}
        residents: list[int] = []
        for k, (tx, t) in enumerate(zip(batch, times, strict=True)):
            residents.append(len(seq))
            reason = seq.offer(tx, t)
            if reason is not None:
                want[k] = reason
        asked: list[list[int]] = []

        def stamp(counts: list[int], times: list[float] = times,
                  asked: list[list[int]] = asked) -> list[float]:
            asked.append(counts)
            return times

        got = bulk.offer_many(batch, stamp)
        assert got == want
        assert asked == ([residents] if batch else [])
        assert _state(bulk) == _state(seq)


@pytest.mark.property
@settings(max_examples=150)
@given(st.lists(st.lists(tx_fields, max_size=30), max_size=4), st.booleans(), st.booleans(),
       st.integers(1, 40), st.booleans())
def test_offer_many_equals_offer_each(batches: list[list[dict[str, int]]], quirk: bool,
                                      zero: bool, capacity: int, track: bool) -> None:
    config = PoolV1Config(hash_ignores_signature=quirk, constant_zero_sender=zero,
                          max_pool_size=capacity)
    txs = [[Transaction.create(**f) for f in batch] for batch in batches]
    _offer_both(config, [], txs, track)


def _valid(n: int, seed: int, tags: int = 2**40) -> list[Transaction]:
    rng = np.random.default_rng(seed)
    return [Transaction.create(sender=int(rng.integers(1, 50)), nonce=int(rng.integers(0, 9)),
                               gas_price=GWEI * int(rng.integers(1, 30)),
                               data_tag=int(rng.integers(0, tags)), to=int(rng.integers(1, 9)))
            for _ in range(n)]


def test_offer_many_fills_the_pool_to_5000_inside_one_batch() -> None:
    # 4,950 resident, then 200 valid transactions (a few invalid and duplicate among them):
    # the pool reaches 5,000 part-way and refuses the rest as full (even the duplicates).
    prefill = _valid(4_950, 1)
    batch = _valid(200, 2)
    batch[3] = batch[3]._replace(rlp_fields=8)
    batch[10] = prefill[7]
    batch[150] = prefill[8]
    batch[151] = batch[20]
    _offer_both(PoolV1Config(), prefill, [batch])
    pool = TxPoolV1()
    for tx in prefill:
        pool.offer(tx, 0.0)
    pool.offer_many(batch, lambda counts: [1.0] * len(counts))
    assert len(pool) == 5_000
    assert pool.ledger.rejected_by_reason["Transaction pool is full"] > 100


def test_offer_many_crosses_the_sorted_list_growth() -> None:
    # The band is a plain list up to _GROW keys and a SortedList beyond: a batch that
    # crosses the bound must leave the same form and keys as offers one by one.
    prefill = _valid(_GROW - 30, 3)
    _offer_both(PoolV1Config(), prefill, [_valid(100, 4), _valid(50, 5)])


def test_offer_many_duplicates_within_a_batch_and_the_unsigned_quirk() -> None:
    # Two senders' otherwise identical transactions collide under the quirk only.
    a = Transaction.create(sender=1, nonce=0, gas_price=2 * GWEI)
    b = Transaction.create(sender=2, nonce=0, gas_price=2 * GWEI)
    batch = [a, b, a, *_valid(20, 6, tags=3), b]
    for quirk in (True, False):
        _offer_both(PoolV1Config(hash_ignores_signature=quirk), [b], [batch, batch])


def test_serve_many_starts_equals_start_time_then_serve_one() -> None:
    # A server busy across arrivals (services longer than the gaps), then idle ones.
    rng = np.random.default_rng(8)
    arrivals = np.cumsum(rng.exponential(1.0, 300)).tolist()
    services = rng.exponential(0.9, 300).tolist()
    one, many = Mailbox(lambda s, i: 0.0, 1), Mailbox(lambda s, i: 0.0, 1)
    one.serve_one(0.0, 2.5)
    many.serve_one(0.0, 2.5)
    starts, finishes = [], []
    for a, s in zip(arrivals, services, strict=True):
        starts.append(one.start_time(a))
        finishes.append(one.serve_one(a, s))
    assert many.serve_many_starts(arrivals, services) == (starts, finishes)
    assert any(s > a for s, a in zip(starts, arrivals, strict=True))
    assert (many.busy_until, many.busy_time, many.served, many.batches) == (
        one.busy_until, one.busy_time, one.served, one.batches)
    assert [many.in_system(t) for t in arrivals] == [one.in_system(t) for t in arrivals]


@pytest.mark.parametrize("scaling", list(IndexScaling))
def test_single_many_equals_single(scaling: IndexScaling) -> None:
    cost = replace(CostModel.v1(), scaling=scaling, index_unit_s=3.3e-7)
    residents = [0, 1, 2, 7, 100, 4_999, 5_000, 123_456]
    assert cost.single_many(residents) == [cost.single(r) for r in residents]


def test_a_v1_batch_run_refuses_deferred_work() -> None:
    # A V1 mailbox's batch runner that found V1 work still noted would serve out of order.
    model = Model(load_scenario("canary").model_copy(update={"duration": 10.0}), 1)
    node = model.node
    node._v1_tx_times.append(1.0)
    node._v1_txs.append(_valid(1, 9)[0])
    with pytest.raises(RuntimeError, match="flush_v1"):
        node.pool_v1._run_batch(1.0, [])
    node.flush_v1()
    assert not node._v1_txs
    assert not node._v1_tx_times
    assert len(node.pool_v1.pool) == 1


def _busy_small_v1(seconds: float, seed: int) -> Model:
    """canary with a V2 pool and sync regression (errors and timeouts: V1 retries while V1
    work is noted), a V1 pool that fills (capacity 40, below a slot's arrivals) and V1
    servers busy across arrivals (slow V1 pool calls)."""
    base = load_scenario("canary")
    faults = load_scenario("regression-rollback").faults
    pool_faults = tuple(f.model_copy(update={"start": 60.0}) for f in faults)
    faults = pool_faults + tuple(
        f.model_copy(update={"module": "sync_service"}) for f in pool_faults)
    pool = base.pool.model_copy(update={
        "v1": PoolV1Config(max_pool_size=40),
        "cost_v1": base.pool.cost_v1.model_copy(update={"call_overhead_s": 0.03}),
    })
    sc = base.model_copy(update={"duration": seconds, "faults": faults, "pool": pool})
    return Model(sc, seed)


def test_deferred_v1_equals_one_by_one_with_mid_stretch_flushes() -> None:
    fast_model = _busy_small_v1(600.0, 5)
    slow_model = _busy_small_v1(600.0, 5)
    feed_one_by_one(slow_model)
    fast, slow = fast_model.execute(), slow_model.execute()
    assert_same_results(fast, slow)
    # The run met what it is for: V1 retries after V2 failures, a full V1 pool, a V1 pool
    # server and a V1 sync server each busy at some arrivals.
    assert fast.summary["routing"]["v2_fallbacks"] > 0
    assert fast_model.node.pool_v1.pool.ledger.rejected_by_reason["Transaction pool is full"] > 0
    assert fast.summary["transaction_pool"]["v1"]["p50_latency_ms"] > 31.0  # waited

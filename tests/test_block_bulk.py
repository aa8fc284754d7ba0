"""The per-slot bulk paths (whole-pool blocks) give exactly what the general paths give.

``sim.blocks.pools_block`` + ``PoolBase.remove_all_included`` (the node's block when every
resident of both pools fits) against ``merge_candidates`` of both pools' ``best`` +
``remove_included`` of the block's hashes (the general path), on pool pairs that reach both
branches: shared transactions, floors below ``MIN_TX_GAS``, blocks that do not fit, empty
pools, stale age-heap entries. Then the same through whole model runs. Also: the merge into
a pool-ordered list against ``heapq.merge``, ``SegmentedQueue.remove_many`` against
``remove`` key by key, and ``TxPoolV2._index_remove_all`` against removal one by one.
"""

import heapq
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim.node
from pool import GWEI, PoolV1Config, PoolV2Config, Transaction, TxPoolV1, TxPoolV2
from pool.segmented_queue import SegmentedQueue, priority_key
from sim.blocks import _key, _merge_two, merge_candidates, pools_block
from sim.runner import Model
from sim.scenario import load_scenario
from tests.model_compare import assert_same_results


def general_merge(candidates: Sequence[Sequence[Transaction]], gas_limit: int
                  ) -> list[Transaction]:
    """``merge_candidates`` under another identity: ``pools_block`` takes its general path."""
    return merge_candidates(candidates, gas_limit)


def pool_state(pool: TxPoolV1 | TxPoolV2) -> tuple[object, ...]:
    """Everything a removal may change, side indexes included."""
    side: tuple[object, ...]
    if isinstance(pool, TxPoolV2):
        side = (dict(pool._by_slot), dict(pool._senders))
    else:
        side = (dict(pool._unsigned), dict(pool._senders))
    return (pool.transactions(), pool.stats(), pool.ledger.as_dict(), dict(pool._by_key),
            dict(pool._by_hash), sorted(pool._age_heap), list(pool._queue), pool.memory_bytes,
            *side)


def take(p1: TxPoolV1 | TxPoolV2, p2: TxPoolV1 | TxPoolV2, gas_limit: int, now: float,
         bulk: bool) -> tuple[list[Transaction], bool, list[int]]:
    """The pool side of ``Node.build_block``, with the bulk path allowed or not."""
    block, whole = pools_block(p1, p2, gas_limit, merge_candidates if bulk else general_merge)
    hashes = [] if whole else [t.tx_hash for t in block]
    taken = [p.remove_all_included(now) if whole else p.remove_included(hashes, now)
             for p in (p1, p2)]
    return block, whole, taken


def make_pools(floor1: int, floor2: int, zero: bool, by_fields: bool
               ) -> tuple[TxPoolV1, TxPoolV2]:
    p1 = TxPoolV1(PoolV1Config(min_gas_limit=floor1, constant_zero_sender=zero,
                               hash_ignores_signature=by_fields, max_transaction_age_s=20.0),
                  track=True)
    p2 = TxPoolV2(PoolV2Config(min_gas_limit=floor2, max_pool_size=1_000,
                               priority_queue_segments=3, max_transaction_age=20.0),
                  track=True)
    return p1, p2


# (price in gwei, gas, sender, pool: 0 = V1, 1 = V2). Gas below 21,000 reaches only V2,
# through admit (which skips the validity checks), so a floor below MIN_TX_GAS matters.
tx_spec = st.tuples(st.integers(1, 4),
                    st.sampled_from([15_000, 21_000, 30_000, 100_000, 1_000_000]),
                    st.integers(1, 4), st.integers(0, 1))
# A block gas limit: absolute, or relative to the residents' total gas (at the boundary).
block_gas = st.one_of(st.sampled_from([30_000_000, 30_000_000, 2_000_000, 300_000, 63_000, 20_000,
                                      0]),
                      st.tuples(st.just("total"),
                                st.sampled_from([-22_000, -21_000, -1, 0, 1, 21_000])))
# Each round: its transactions, whether its first one goes to both pools, the block's gas.
rounds = st.lists(st.tuples(st.lists(tx_spec, max_size=25),
                            st.sampled_from([False, False, False, True]), block_gas),
                  min_size=1, max_size=5)


@pytest.mark.property
@given(rounds, st.sampled_from([21_000, 21_000, 21_000, 0]),
       st.sampled_from([21_000, 21_000, 21_000, 10_000, 0]),
       st.booleans(), st.booleans())
def test_pools_block_and_removal_equal_the_general_path(
        slots: list[tuple[list[tuple[int, int, int, int]], bool, int | tuple[str, int]]],
        floor1: int, floor2: int, zero: bool, by_fields: bool) -> None:
    bulk, general = make_pools(floor1, floor2, zero, by_fields), make_pools(floor1, floor2,
                                                                            zero, by_fields)
    nonce = 0
    for k, (specs, shared, gas_spec) in enumerate(slots):
        now = 12.0 * (k + 1)
        for i, (price, gas, sender, where) in enumerate(specs):
            both = shared and i == 0
            nonce += 1
            t = Transaction.create(sender=sender, nonce=nonce, gas_price=price * GWEI,
                                   gas_limit=gas, arrival=now - 12.0 + float(i % 3))
            for p1, p2 in (bulk, general):
                if where == 0 or both:
                    p1.offer(t, now - 12.0 + i)
                if (where == 1 or both) and gas >= floor2:
                    p2.admit(t, now - 12.0 + i)
        # An age cleanup between slots leaves the heaps as the model does.
        for pools in (bulk, general):
            for p in pools:
                p.expire(now)
        if isinstance(gas_spec, int):
            gas_limit = gas_spec
        else:
            resident = {t.tx_hash: t.gas_limit for p in bulk for t in p.transactions()}
            gas_limit = max(0, sum(resident.values()) + gas_spec[1])
        fast_block, _, fast_taken = take(*bulk, gas_limit, now, True)
        slow_block, slow_whole, slow_taken = take(*general, gas_limit, now, False)
        assert not slow_whole
        assert fast_block == slow_block
        assert fast_taken == slow_taken
        for a, b in zip(bulk, general, strict=True):
            assert pool_state(a) == pool_state(b)
            a.ledger.check(len(a))


@pytest.mark.property
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 2)), max_size=40),
       st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2)), max_size=15), st.integers(0, 3))
def test_merge_into_a_pool_ordered_list_equals_heapq_merge(
        a_specs: list[tuple[int, int]], b_specs: list[tuple[int, int]], shared: int) -> None:
    # Equal prices and equal arrivals, so whole keys (and the hash) decide ties; prices in
    # b above, between and below a's.
    def txs(specs: list[tuple[int, int]], first: int) -> list[Transaction]:
        return sorted((Transaction.create(sender=1, nonce=first + i, gas_price=p * GWEI,
                                          arrival=float(t))
                       for i, (p, t) in enumerate(specs)), key=lambda t: -t.gas_price)

    a = txs(a_specs, 0)
    b = sorted([*txs(b_specs, 1_000), *a[:shared]], key=lambda t: -t.gas_price)
    want = list(heapq.merge(a, b, key=_key))
    assert _merge_two(a, b, a_ordered=True) == want
    assert _merge_two(a, b) == want


def test_pools_block_takes_the_bulk_path_only_when_it_may() -> None:
    def fill(txs_v1: list[Transaction], txs_v2: list[Transaction], floor: int = 21_000
             ) -> tuple[TxPoolV1, TxPoolV2]:
        p1, p2 = make_pools(floor, floor, False, False)
        for t in txs_v1:
            p1.offer(t, 1.0)
        for t in txs_v2:
            p2.offer(t, 1.0)
        return p1, p2

    txs = [Transaction.create(sender=i % 3, nonce=i, gas_price=(1 + i % 4) * GWEI,
                              gas_limit=21_000 + 1_000 * i) for i in range(30)]
    room = sum(t.gas_limit for t in txs)
    block, whole = pools_block(*fill(txs[:20], txs[20:]), room, merge_candidates)
    assert whole
    assert len(block) == 30
    assert pools_block(*fill(txs[:20], txs[20:]), room - 1, merge_candidates)[1] is False
    assert pools_block(*fill(txs[:20], txs[20:]), room, general_merge)[1] is False
    assert pools_block(*fill(txs[:21], txs[20:]), room, merge_candidates)[1] is False  # shared
    assert pools_block(*fill(txs[:20], txs[20:], floor=0), room, merge_candidates)[1] is False
    assert pools_block(*fill([], txs), room, merge_candidates)[1] is True
    assert pools_block(*fill([], []), 0, merge_candidates) == ([], True)
    # A floor below MIN_TX_GAS: a 15,000-gas resident (admitted without the validity
    # checks) after a 29,000-gas one; merge_candidates stops at 15,000 gas left.
    p1, p2 = make_pools(21_000, 10_000, False, False)
    for i, gas in enumerate([29_000, 15_000]):
        p2.admit(Transaction.create(sender=1, nonce=i, gas_price=(2 - i) * GWEI,
                                    gas_limit=gas), 1.0)
    assert p2.best_whole(44_000)[1] == 44_000
    assert pools_block(p1, p2, 44_000, merge_candidates) == (p2.best(44_000)[:1], False)


def test_remove_all_included_of_an_empty_pool_is_the_general_path() -> None:
    # An empty pool can still hold stale age-heap entries (B included, then A expired);
    # remove_included of any block resets the heap then, and so must the bulk removal.
    def make() -> TxPoolV1:
        pool = TxPoolV1(PoolV1Config(max_transaction_age_s=20.0), track=True)
        a = Transaction.create(sender=1, nonce=0, gas_price=GWEI)
        b = Transaction.create(sender=2, nonce=0, gas_price=4 * GWEI)
        pool.offer(a, 0.0)
        pool.offer(b, 11.0)
        assert pool.remove_included([b.tx_hash], 12.0) == 1
        assert pool.expire(30.0) == [a]
        assert len(pool) == 0
        assert len(pool._age_heap) == 1
        return pool

    bulk, general = make(), make()
    assert bulk.remove_all_included(36.0) == general.remove_included([5, 6], 36.0) == 0
    assert pool_state(bulk) == pool_state(general)
    assert bulk._age_heap == []


@pytest.mark.property
@given(st.sampled_from([0, 1, 40, 300, 4_200, 5_000]), st.integers(1, 97),
       st.sampled_from([(), (20,), (5, 30, 45)]), st.sampled_from([0.0, 0.05, 0.5, 0.9, 1.0]),
       st.lists(st.integers(0, 10**6), max_size=20))
def test_queue_remove_many_equals_remove_one_by_one(
        n: int, stride: int, bounds: tuple[int, ...], share: float, picks: list[int]) -> None:
    # Bands as plain lists and as SortedLists (more than _GROW keys, shrinking below
    # _SHRINK or not); the removed keys a head of the order plus a few others, as a block's.
    one, bulk = SegmentedQueue(list(bounds)), SegmentedQueue(list(bounds))
    keys = [(priority_key(p, seq), p) for seq, p in
            enumerate(1 + (i * stride) % 60 for i in range(n))]
    for q in (one, bulk):
        for k, p in keys:
            q.add(k, p)
    order = sorted(keys)
    head = int(share * n)
    chosen = dict.fromkeys([*order[:head], *(order[i % n] for i in picks if n)])
    for k, p in chosen:
        one.remove(k, p)
    bulk.remove_many(k for k, _ in reversed(chosen))
    assert list(bulk) == list(one)
    assert [type(s) for s in bulk._segments] == [type(s) for s in one._segments]
    assert bulk.segment_sizes() == one.segment_sizes()


def test_queue_remove_many_refuses_an_absent_key() -> None:
    q = SegmentedQueue([10])
    for seq, p in enumerate([5, 15, 15, 30]):
        q.add(priority_key(p, seq), p)
    with pytest.raises(ValueError, match="not in queue"):
        q.remove_many([priority_key(15, 1), priority_key(15, 9)])
    with pytest.raises(ValueError, match="not in queue"):
        q.remove_many([priority_key(30, 7)])
    # An absent key below the band's second key, the rest of the head present: the head
    # must not be taken for the run's (it would remove the first key, absent from the run).
    q = SegmentedQueue()
    for seq, p in enumerate([30, 15, 15]):
        q.add(priority_key(p, seq), p)
    with pytest.raises(ValueError, match="not in queue"):
        q.remove_many([priority_key(20, 5), priority_key(15, 1), priority_key(15, 2)])


def test_v2_index_reset_equals_removal_one_by_one() -> None:
    # TxPoolV2._index_remove_all (every resident leaves at once) against _index_remove of
    # each, with replacements and several transactions per sender.
    reset, one = (TxPoolV2(PoolV2Config(max_pool_size=100)) for _ in range(2))
    for p in (reset, one):
        for i in range(40):
            p.offer(Transaction.create(sender=i % 5, nonce=i % 8, gas_price=(2 + i) * GWEI), 1.0)
    assert len(reset._by_slot) == len(reset)
    assert len(reset._senders) == 5
    reset._index_remove_all()
    one._index_remove_many(list(zip(one._by_key.values(), one._by_key, strict=True)))
    assert reset._by_slot == one._by_slot == {}
    assert reset._senders == one._senders == {}


def _run(name: str, seconds: float, bulk: bool, **update):  # type: ignore[no-untyped-def]
    sc = load_scenario(name)
    sc = sc.model_copy(update={"duration": seconds, **update})
    model = Model(sc, 5)
    counts = {True: 0, False: 0}

    def counted(p1, p2, gas_limit, merge):  # type: ignore[no-untyped-def]
        out = pools_block(p1, p2, gas_limit, merge if bulk else general_merge)
        counts[out[1]] += 1
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(sim.node, "pools_block", counted)
    try:
        return model.execute(), counts
    finally:
        mp.undo()


# canary: 5 % on V2, blocks below capacity; tx-spam: V1 and V2 at 50 %, a flood from 600 s
# that fills blocks.
@pytest.mark.parametrize(("name", "seconds"), [("canary", 600.0), ("tx-spam", 720.0)])
def test_model_runs_equal_with_and_without_the_bulk_block(name: str, seconds: float) -> None:
    fast, counts = _run(name, seconds, True)
    slow, slow_counts = _run(name, seconds, False)
    assert_same_results(fast, slow)
    assert slow_counts[True] == 0
    assert counts[True] > 0  # the bulk path is really taken
    if name == "tx-spam":
        assert counts[False] >= 10  # and blocks at capacity take the general one

from pool import GWEI, Transaction
from sim.blocks import merge_candidates


def tx(price: int, gas: int = 21_000, arrival: float = 0.0, sender: int = 1) -> Transaction:
    return Transaction.create(
        sender=sender, nonce=price * 1000 + int(arrival), gas_price=price * GWEI,
        gas_limit=gas, arrival=arrival,
    )


def test_merges_by_price_then_arrival() -> None:
    a = [tx(9), tx(5, arrival=1.0)]
    b = [tx(7), tx(5, arrival=0.5, sender=2)]
    block = merge_candidates([a, b], 10**9)
    assert [(t.gas_price // GWEI, t.arrival) for t in block] == [(9, 0), (7, 0), (5, 0.5), (5, 1.0)]


def test_skips_what_does_not_fit_and_stops_when_full() -> None:
    big = tx(9, gas=70_000)
    small = tx(8, gas=21_000)
    after = tx(7, gas=21_000, sender=3)
    block = merge_candidates([[big, small, after]], 100_000)
    # 70k + 21k = 91k; 9k left < 21k: full.
    assert block == [big, small]
    block = merge_candidates([[tx(9, gas=90_000), tx(8, gas=30_000), tx(7, gas=21_000)]], 120_000)
    assert [t.gas_limit for t in block] == [90_000, 30_000]


def test_a_transaction_in_both_pools_is_included_once() -> None:
    t = tx(5)
    assert merge_candidates([[t], [t]], 10**9) == [t]


def test_two_way_merge_equals_heapq_merge_element_for_element() -> None:
    import heapq

    import numpy as np

    from sim.blocks import _key, _merge_two

    rng = np.random.default_rng(3)
    for _ in range(300):
        lists = []
        for _side in range(2):
            n = int(rng.integers(0, 8))
            # Few prices and arrivals, so equal keys (and a shared tx) occur; not always sorted.
            lst = [tx(int(rng.integers(1, 4)), arrival=float(rng.integers(0, 3)),
                      sender=int(rng.integers(1, 4))) for _ in range(n)]
            if rng.random() < 0.7:
                lst.sort(key=_key)
            lists.append(lst)
        if lists[0] and rng.random() < 0.3:
            lists[1].insert(0, lists[0][0])
        want = list(heapq.merge(*lists, key=_key))
        assert list(_merge_two(*lists)) == want
        assert [t.tx_hash for t in merge_candidates(lists, 10**9)] == [
            t.tx_hash for t in merge_candidates([*lists, []], 10**9)]

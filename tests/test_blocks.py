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

from collections import defaultdict

import numpy as np
import pytest
from pydantic import ValidationError

from pool import Transaction
from sim.workload import (
    BurstRate,
    ConstantRate,
    DiurnalRate,
    FloodRate,
    InvalidKind,
    StepRate,
    TxStream,
    TxWorkload,
    arrival_times,
)


def gen(streams: tuple[TxStream, ...], seed: int = 1) -> TxWorkload:
    return TxWorkload(streams, np.random.default_rng(seed))


def test_same_seed_same_transactions() -> None:
    a = [c.txs for c in gen((TxStream(),)).iter_chunks(0, 60, 12)]
    b = [c.txs for c in gen((TxStream(),)).iter_chunks(0, 60, 12)]
    assert a == b
    c = [c.txs for c in gen((TxStream(),), seed=2).iter_chunks(0, 60, 12)]
    assert a != c


def test_hash_equals_transaction_create() -> None:
    txs = gen((TxStream(),)).chunk(0, 10).txs
    assert txs
    for tx in txs[:50]:
        fields = tx._asdict()
        fields.pop("tx_hash")
        fields.pop("size")
        assert Transaction.create(size=tx.size, **fields).tx_hash == tx.tx_hash


def test_arrivals_sorted_and_in_range() -> None:
    arr = gen((TxStream(), TxStream(name="b", sender_offset=10**6))).chunk(5.0, 17.0)
    times = [tx.arrival for tx in arr.txs]
    assert times == sorted(times)
    assert all(5.0 <= t < 17.0 for t in times)
    assert set(arr.stream.tolist()) == {0, 1}
    # The times array is exactly the transactions' arrivals (one stream, two, none).
    assert arr.times.dtype == np.float64
    assert arr.times.tolist() == times
    one = gen((TxStream(),)).chunk(5.0, 17.0)
    assert one.times.tolist() == [tx.arrival for tx in one.txs]
    assert gen((TxStream(rate=ConstantRate(rate=0.0)),)).chunk(0.0, 5.0).times.size == 0


def test_constant_rate_count_matches_poisson_mean() -> None:
    rng = np.random.default_rng(4)
    n = arrival_times(ConstantRate(rate=20.0), 0.0, 10_000.0, rng).size
    # Poisson(200,000): sd ~ 447; 4 sd band.
    assert abs(n - 200_000) < 4 * 447


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (StepRate(before=10, after=30, at=500), 10 * 500 + 30 * 500),
        (FloodRate(rate=50, start=200, end=400), 50 * 200),
        (BurstRate(base=10, factor=5, every=500, length=100, first=0), 10 * 800 + 50 * 200),
        (DiurnalRate(mean=20, amplitude=0.5, period=1000, peak=0), 20 * 1000),
    ],
)
def test_profiles_integrate_to_expected_counts(profile: object, expected: float) -> None:
    rng = np.random.default_rng(5)
    counts = [arrival_times(profile, 0.0, 1000.0, rng).size for _ in range(20)]  # type: ignore[arg-type]
    mean = float(np.mean(counts))
    assert abs(mean - expected) < 4 * np.sqrt(expected / 20)


def test_fresh_nonces_are_consecutive_per_sender() -> None:
    w = gen((TxStream(replacement_share=0.0, invalid_share=0.0, senders=50),))
    per_sender: dict[int, list[int]] = defaultdict(list)
    for chunk in w.iter_chunks(0, 600, 12):
        for tx in chunk.txs:
            per_sender[tx.sender].append(tx.nonce)
    for nonces in per_sender.values():
        assert nonces == list(range(len(nonces)))


def test_replacements_reuse_the_latest_nonce_with_a_higher_price() -> None:
    w = gen((TxStream(replacement_share=0.2, invalid_share=0.0, senders=20),))
    seen: dict[tuple[int, int], int] = {}
    replaced = 0
    for chunk in w.iter_chunks(0, 600, 12):
        for tx in chunk.txs:
            key = (tx.sender, tx.nonce)
            if key in seen:
                replaced += 1
                assert tx.gas_price >= seen[key]  # at least the original's price
            else:
                seen[key] = tx.gas_price
    assert replaced > 50
    # No gaps: every sender's nonces form 0..k.
    by_sender: dict[int, set[int]] = defaultdict(set)
    for s, nonce in seen:
        by_sender[s].add(nonce)
    for nonces in by_sender.values():
        assert nonces == set(range(len(nonces)))


def test_valid_transactions_pass_v1_style_checks() -> None:
    txs = gen((TxStream(invalid_share=0.0),)).chunk(0, 100).txs
    for tx in txs:
        assert tx.rlp_fields == 9
        assert tx.gas_price >= 10**9
        assert 21_000 <= tx.gas_limit <= 8_000_000
        assert tx.intrinsic_gas <= tx.gas_limit
        assert tx.size <= 131_072
        assert tx.r > 0
        assert tx.signature_valid


def test_invalid_kinds_each_break_their_check() -> None:
    for kind in InvalidKind:
        txs = gen((TxStream(invalid_share=1.0, invalid_kinds=(kind,)),)).chunk(0, 5).txs
        assert txs
        for tx in txs:
            broken = {
                InvalidKind.BAD_RLP: tx.rlp_fields != 9,
                InvalidKind.LOW_GAS_PRICE: tx.gas_price < 10**9,
                InvalidKind.LOW_GAS_LIMIT: tx.gas_limit < 21_000,
                InvalidKind.HIGH_GAS_LIMIT: tx.gas_limit > 8_000_000,
                InvalidKind.ZERO_SIGNATURE: tx.r == 0,
                InvalidKind.BAD_ECDSA: not tx.signature_valid and tx.r > 0,
                InvalidKind.INTRINSIC_GAS: tx.intrinsic_gas > tx.gas_limit,
                InvalidKind.TOO_LARGE: tx.size > 131_072,
            }[kind]
            assert broken, kind


def test_zipf_concentrates_senders() -> None:
    txs = gen((TxStream(senders=10_000, zipf_s=1.1),)).chunk(0, 500).txs
    top = sum(1 for tx in txs if tx.sender == 1)
    assert top > len(txs) * 0.05  # rank 1 of Zipf(1.1) over 10k carries ~9 %


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValidationError):
        TxStream(unknown_key=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FloodRate(start=10, end=5)
    with pytest.raises(ValidationError):
        ConstantRate(rate=-1)


@pytest.mark.parametrize(("written", "seconds"), [
    ({"kind": "flood", "start": "10m", "end": "1h"}, {"kind": "flood", "start": 600, "end": 3600}),
    ({"kind": "step", "at": "30m"}, {"kind": "step", "at": 1800}),
    ({"kind": "diurnal", "period": "1d", "peak": "15h"},
     {"kind": "diurnal", "period": 86400, "peak": 54000}),
    ({"kind": "burst", "every": "1h", "length": "2m", "first": "1e1"},
     {"kind": "burst", "every": 3600, "length": 120, "first": 10}),
])
def test_rate_profile_times_accept_duration_strings(
        written: dict[str, object], seconds: dict[str, object]) -> None:
    # The README says any time may be written as "10m"; the rate profiles refused strings.
    assert TxStream.model_validate({"rate": written}) == TxStream.model_validate(
        {"rate": seconds})

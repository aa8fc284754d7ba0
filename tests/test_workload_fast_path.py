"""TxWorkload's batched construction against a plain per-column reference.

``TxWorkload._make`` merges consecutive draws of one kind, builds the nonce bookkeeping with
few numpy calls, spoils invalid transactions one by one (or per kind when there are many) and
builds the tuples with ``map``. The reference below is the straightforward version: one draw per
column, in the documented order, a masked edit per invalid kind, ``add.at`` for the nonces and
``Transaction(...)`` field by field. Both must give the same transactions, the same sender state
and leave the random stream in the same state.
"""

import numpy as np
import pytest

from pool import Transaction
from pool.transaction import GWEI
from sim.workload import (
    BurstRate,
    ConstantRate,
    DiurnalRate,
    FloodRate,
    InvalidKind,
    StepRate,
    TxStream,
    TxWorkload,
    _StreamState,
    arrival_times,
)


def reference_make(state: _StreamState, times: np.ndarray, rng: np.random.Generator
                   ) -> list[Transaction]:
    spec = state.spec
    n = times.size
    sender_idx = np.searchsorted(state.cdf, rng.random(n), side="right")
    sender_idx = np.minimum(sender_idx, spec.senders - 1).astype(np.int64)
    noise = rng.standard_normal(n)
    price_gwei = spec.median_gas_price_gwei * np.exp(spec.gas_price_sigma * noise)
    gas_price = (np.maximum(price_gwei, spec.min_gas_price_gwei) * GWEI).astype(np.int64)
    is_call = rng.random(n) >= spec.transfer_share
    data_noise = rng.standard_normal(n)
    data_len = np.where(
        is_call, np.floor(spec.median_data_bytes * np.exp(spec.data_sigma * data_noise)), 0.0
    ).astype(np.int64)
    data_len = np.minimum(data_len, 100_000)
    gas_noise = rng.standard_normal(n)
    call_gas = np.floor(spec.median_call_gas * np.exp(spec.call_gas_sigma * gas_noise))
    gas_limit = np.where(is_call, call_gas, 21_000.0).astype(np.int64)
    gas_limit = np.clip(np.maximum(gas_limit, 21_000 + 16 * data_len), 21_000,
                        spec.max_call_gas)
    size = spec.base_size_bytes + data_len
    repl_draw = rng.random(n)
    bump_draw = rng.random(n)
    invalid_draw = rng.random(n)

    # Nonces and replacements, one transaction at a time in arrival order.
    start_nonce = state.next_nonce.copy()
    start_price = state.last_price.copy()
    used: dict[int, int] = {}
    nonce = np.empty(n, dtype=np.int64)
    is_repl = np.zeros(n, dtype=bool)
    for i in range(n):
        s = int(sender_idx[i])
        if repl_draw[i] < spec.replacement_share and start_nonce[s] > 0:
            is_repl[i] = True
            nonce[i] = start_nonce[s] - 1
            price = int(start_price[s] * (1.0 + bump_draw[i] * spec.replacement_bump_max))
            gas_price[i] = max(price, 1)
        else:
            nonce[i] = start_nonce[s] + used.get(s, 0)
            used[s] = used.get(s, 0) + 1
    for s, count in used.items():
        state.next_nonce[s] += count
    newest: dict[int, int] = {}
    for i in range(n):
        s = int(sender_idx[i])
        if not is_repl[i] or s not in used:
            newest[s] = int(gas_price[i])
    for s, price in newest.items():
        state.last_price[s] = price

    rlp = np.full(n, 9, dtype=np.int64)
    r = np.ones(n, dtype=np.int64)
    sig_ok = np.ones(n, dtype=bool)
    invalid = invalid_draw < spec.invalid_share
    kinds = spec.invalid_kinds
    if invalid.any() and kinds:
        which = rng.integers(0, len(kinds), size=n)
        for k, kind in enumerate(kinds):
            m = invalid & (which == k)
            if kind is InvalidKind.BAD_RLP:
                rlp[m] = 8
            elif kind is InvalidKind.LOW_GAS_PRICE:
                gas_price[m] = GWEI // 2
            elif kind is InvalidKind.LOW_GAS_LIMIT:
                gas_limit[m] = 20_000
                data_len[m] = 0
            elif kind is InvalidKind.HIGH_GAS_LIMIT:
                gas_limit[m] = 9_000_000
            elif kind is InvalidKind.ZERO_SIGNATURE:
                r[m] = 0
            elif kind is InvalidKind.BAD_ECDSA:
                sig_ok[m] = False
            elif kind is InvalidKind.INTRINSIC_GAS:
                data_len[m] = np.maximum(data_len[m], 1_000)
                gas_limit[m] = 21_000 + 16 * data_len[m] - 1
            elif kind is InvalidKind.TOO_LARGE:
                size[m] = 131_073
                data_len[m] = 0
    to = rng.integers(1, 2**40, size=n, dtype=np.int64)
    value = rng.integers(0, 10**15, size=n, dtype=np.int64)
    data_tag = rng.integers(0, 2**62, size=n, dtype=np.int64)
    # Transaction.create hashes field by field with the scalar combine_hash.
    return [
        Transaction.create(
            sender=int(sender_idx[i]) + spec.sender_offset, nonce=int(nonce[i]),
            gas_price=int(gas_price[i]), gas_limit=int(gas_limit[i]), size=int(size[i]),
            arrival=float(times[i]), to=int(to[i]), value=int(value[i]),
            data_len=int(data_len[i]), data_tag=int(data_tag[i]), rlp_fields=int(rlp[i]),
            r=int(r[i]), signature_valid=bool(sig_ok[i]),
        )
        for i in range(n)
    ]


def reference_chunks(streams: tuple[TxStream, ...], seed: int, step: float, end: float
                     ) -> list[list[Transaction]]:
    rng = np.random.default_rng(seed)
    states = [_StreamState(s) for s in streams]
    chunks = []
    t = 0.0
    while t < end:
        txs: list[Transaction] = []
        for state in states:
            times = arrival_times(state.spec.rate, t, min(end, t + step), rng)
            if times.size:
                txs += reference_make(state, times, rng)
        chunks.append(sorted(txs, key=lambda tx: tx.arrival))
        t += step
    return chunks


CASES = {
    "default": ((TxStream(),), 12.0, 600.0),
    "crowded": ((TxStream(senders=4, replacement_share=0.4, invalid_share=0.3),), 12.0, 300.0),
    "all_invalid": ((TxStream(rate=StepRate(before=0.0, after=30.0, at=20.0),
                              invalid_share=1.0, transfer_share=0.0),), 5.0, 60.0),
    "no_kinds": ((TxStream(invalid_share=1.0, invalid_kinds=()),), 5.0, 30.0),
    "one_sender": ((TxStream(rate=ConstantRate(rate=0.5), senders=1, replacement_share=0.9),),
                   3.0, 300.0),
    "merged": ((TxStream(rate=DiurnalRate(mean=30.0, period=500.0)),
                TxStream(name="b", rate=BurstRate(base=5.0, every=100.0, length=20.0, first=10.0),
                         senders=3, sender_offset=10**6, invalid_share=0.5,
                         replacement_share=0.5),
                TxStream(name="c", rate=FloodRate(rate=50.0, start=100.0, end=200.0),
                         zipf_s=0.0, invalid_kinds=(InvalidKind.TOO_LARGE,
                                                    InvalidKind.INTRINSIC_GAS))), 7.0, 300.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_make_equals_field_by_field_reference(name: str) -> None:
    streams, step, end = CASES[name]
    expected = reference_chunks(streams, 5, step, end)
    workload = TxWorkload(streams, np.random.default_rng(5))
    got = [a.txs for a in workload.iter_chunks(0.0, end, step)]
    assert sum(map(len, got)) > 20
    assert got == expected
    for chunk in got:
        for tx in chunk:
            assert type(tx) is Transaction
            assert type(tx.signature_valid) is bool
            assert type(tx.arrival) is float
            assert all(type(getattr(tx, f)) is int for f in Transaction._fields
                       if f not in ("arrival", "signature_valid"))
    # Same draws consumed: the streams continue identically.
    ref_rng = np.random.default_rng(5)
    reference_states = [_StreamState(s) for s in streams]
    t = 0.0
    while t < end:
        for state in reference_states:
            times = arrival_times(state.spec.rate, t, min(end, t + step), ref_rng)
            if times.size:
                reference_make(state, times, ref_rng)
        t += step
    assert workload._rng.random() == ref_rng.random()
    for mine, ref in zip(workload._states, reference_states, strict=True):
        assert np.array_equal(mine.next_nonce, ref.next_nonce)
        assert np.array_equal(mine.last_price, ref.last_price)

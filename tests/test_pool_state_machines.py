"""Hypothesis state machines: each pool against a brute-force model (a plain sorted list)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pool import (
    GWEI,
    AddStatus,
    PoolV1Config,
    PoolV2Config,
    Transaction,
    TxPoolV1,
    TxPoolV2,
    TxState,
    unsigned_hash,
)
from pool.memory_model import MIB
from pool.result import V1_DUPLICATE

OVERHEAD = 512
MAX_AGE = 60.0


@dataclass
class Entry:
    tx: Transaction
    seq: int
    added: float


def txs() -> st.SearchStrategy[Transaction]:
    # A small field space so duplicates, same-nonce replacements and price ties are common.
    return st.builds(
        lambda sender, nonce, price, gas, size, bad_sig, cheap: Transaction.create(
            sender=sender, nonce=nonce, gas_price=(0 if cheap else price * GWEI // 10),
            gas_limit=gas, size=size, signature_valid=not bad_sig, r=1 + sender % 2),
        sender=st.integers(0, 3),
        nonce=st.integers(0, 3),
        price=st.sampled_from([10, 11, 12, 20, 22, 30, 33, 50]),
        gas=st.sampled_from([21_000, 40_000, 90_000]),
        size=st.sampled_from([100, 400, 900]),
        bad_sig=st.sampled_from([False] * 9 + [True]),
        cheap=st.sampled_from([False] * 19 + [True]),
    )


class ModelPool:
    """Brute force: a list of entries; every query sorts or scans it."""

    def __init__(self, v2: bool, max_size: int, max_mem: int) -> None:
        self.v2 = v2
        self.max_size = max_size
        self.max_mem = max_mem
        self.entries: list[Entry] = []
        self.seq = 0
        self.gone: set[int] = set()

    def ordered(self) -> list[Entry]:
        return sorted(self.entries, key=lambda e: (-e.tx.gas_price, e.seq))

    def mem(self) -> int:
        return sum(OVERHEAD + e.tx.size for e in self.entries)

    def _drop(self, e: Entry) -> None:
        self.entries.remove(e)
        self.gone.add(e.tx.tx_hash)

    def _put(self, tx: Transaction, now: float) -> None:
        self.entries.append(Entry(tx, self.seq, now))
        self.seq += 1
        self.gone.discard(tx.tx_hash)

    def add(self, tx: Transaction, now: float) -> tuple[AddStatus, list[Transaction],
                                                      Transaction | None]:
        if tx.gas_price < GWEI or (self.v2 and not tx.signature_valid):
            return AddStatus.REJECTED, [], None
        if not self.v2:
            if len(self.entries) >= self.max_size:
                return AddStatus.REJECTED, [], None
            if any(unsigned_hash(e.tx) == unsigned_hash(tx) for e in self.entries):
                return AddStatus.DUPLICATE, [], None
            self._put(tx, now)
            return AddStatus.ADDED, [], None
        if any(e.tx.tx_hash == tx.tx_hash for e in self.entries):
            return AddStatus.REJECTED, [], None
        same = [e for e in self.entries if (e.tx.sender, e.tx.nonce) == (tx.sender, tx.nonce)]
        size, mem = len(self.entries), self.mem() + OVERHEAD + tx.size
        old = same[0] if same else None
        if old is not None:
            if tx.gas_price * 100 < old.tx.gas_price * 110:
                return AddStatus.REJECTED, [], None
            mem -= OVERHEAD + old.tx.size
        else:
            if sum(e.tx.sender == tx.sender for e in self.entries) >= 2:
                return AddStatus.REJECTED, [], None
            size += 1
        victims: list[Entry] = []
        worst_first = sorted(self.entries, key=lambda e: (e.tx.gas_price, -e.seq))
        for e in worst_first:
            if size <= self.max_size and mem <= self.max_mem:
                break
            if e is old:
                continue
            if e.tx.gas_price >= tx.gas_price:
                return AddStatus.REJECTED, [], None
            victims.append(e)
            size -= 1
            mem -= OVERHEAD + e.tx.size
        if size > self.max_size or mem > self.max_mem:
            return AddStatus.REJECTED, [], None
        if old is not None:
            self._drop(old)
        for e in victims:
            self._drop(e)
        self._put(tx, now)
        return (AddStatus.REPLACED if old else AddStatus.ADDED), [v.tx for v in victims], (
            old.tx if old else None)

    def best(self, gas_limit: int) -> list[Transaction]:
        out, room = [], gas_limit
        for e in self.ordered():
            if e.tx.gas_limit <= room:
                out.append(e.tx)
                room -= e.tx.gas_limit
        return out

    def remove(self, hashes: list[int]) -> int:
        hit = [e for e in self.entries if e.tx.tx_hash in hashes]
        for e in hit:
            self._drop(e)
        return len(hit)

    def expire(self, now: float) -> list[Transaction]:
        old = sorted((e for e in self.entries if e.added < now - MAX_AGE),
                     key=lambda e: (e.added, -e.tx.gas_price, e.seq))
        for e in old:
            self._drop(e)
        return [e.tx for e in old]


class PoolMachine(RuleBasedStateMachine):
    v2 = False

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        if self.v2:
            self.max_size, self.max_mem = 5, 4 * (OVERHEAD + 400)
            self.pool: TxPoolV1 | TxPoolV2 = TxPoolV2(
                PoolV2Config(max_pool_size=self.max_size, memory_limit_mb=self.max_mem / MIB,
                             max_transaction_age=MAX_AGE, priority_queue_segments=3,
                             max_per_sender=2, batch_processing_size=2,
                             segment_top_gas_price=4 * GWEI), track=True)
        else:
            self.max_size, self.max_mem = 5, 10**12
            self.pool = TxPoolV1(PoolV1Config(max_pool_size=self.max_size,
                                              max_transaction_age_s=MAX_AGE), track=True)
        self.model = ModelPool(self.v2, self.max_size, self.max_mem)

    def _check_add(self, tx: Transaction) -> None:
        res = self.pool.add(tx, self.now)
        status, evicted, replaced = self.model.add(tx, self.now)
        assert res.status is status, (res, status)
        assert list(res.evicted) == evicted
        assert res.replaced == replaced
        assert (res.reason is None) == (status in (AddStatus.ADDED, AddStatus.REPLACED))

    @rule(tx=txs())
    def add(self, tx: Transaction) -> None:
        self._check_add(tx)

    @rule(tx=txs())
    def offer(self, tx: Transaction) -> None:
        # The hot path without a result object: its reason and evictions against the model.
        status, evicted, _ = self.model.add(tx, self.now)
        if isinstance(self.pool, TxPoolV2):
            out: list[Transaction] = []
            reason = self.pool.offer(tx, self.now, out)
            assert out == evicted
        else:
            reason = self.pool.offer(tx, self.now)
        assert (reason is None) == (status in (AddStatus.ADDED, AddStatus.REPLACED)), (
            reason, status)
        assert (reason == V1_DUPLICATE) == (status is AddStatus.DUPLICATE)

    @rule(batch=st.lists(txs(), max_size=5))
    def add_batch(self, batch: list[Transaction]) -> None:
        results = self.pool.add_batch(batch, self.now)
        for tx, res in zip(batch, results, strict=True):
            status, evicted, replaced = self.model.add(tx, self.now)
            assert (res.status, list(res.evicted), res.replaced) == (status, evicted, replaced)

    @rule(gas=st.sampled_from([21_000, 60_000, 100_000, 200_000]))
    def best_is_non_destructive(self, gas: int) -> None:
        assert self.pool.best(gas) == self.model.best(gas)

    @rule(gas=st.sampled_from([21_000, 60_000, 100_000, 200_000]))
    def take(self, gas: int) -> None:
        expected = self.model.best(gas)
        self.model.remove([t.tx_hash for t in expected])
        assert self.pool.take_for_block(gas, self.now) == expected
        for t in expected:
            assert self.pool.ledger.state_of(t.tx_hash) is TxState.INCLUDED

    @precondition(lambda self: len(self.model.entries) > 0)
    @rule(data=st.data())
    def remove_some(self, data: st.DataObject) -> None:
        hashes = [e.tx.tx_hash for e in self.model.entries]
        chosen = [*data.draw(st.lists(st.sampled_from(hashes), max_size=3)), 7]
        assert self.pool.remove_included(chosen, self.now) == self.model.remove(chosen)

    @rule(dt=st.sampled_from([0.0, 1.0, 29.0, 30.0, 59.0, 60.0, 61.0]))
    def tick_and_expire(self, dt: float) -> None:
        self.now += dt
        assert self.pool.expire(self.now) == self.model.expire(self.now)

    @invariant()
    def same_contents_and_order(self) -> None:
        assert self.pool.transactions() == [e.tx for e in self.model.ordered()]

    @invariant()
    def limits_hold(self) -> None:
        assert len(self.pool) <= self.max_size
        assert self.pool.memory_bytes == self.model.mem() <= self.max_mem

    @invariant()
    def ledger_balances(self) -> None:
        ledger = self.pool.ledger
        ledger.check(len(self.pool))
        assert ledger.tracked_pending() == sorted(e.tx.tx_hash for e in self.model.entries)

    @invariant()
    def nothing_both_pending_and_gone(self) -> None:
        for h in self.model.gone:
            if h not in {e.tx.tx_hash for e in self.model.entries}:
                assert h not in self.pool
                assert self.pool.ledger.state_of(h) is not TxState.PENDING


class V2Machine(PoolMachine):
    v2 = True


SETTINGS = settings(max_examples=500, stateful_step_count=25)

TestPoolV1StateMachine = PoolMachine.TestCase
TestPoolV1StateMachine.settings = SETTINGS
TestPoolV1StateMachine = pytest.mark.property(TestPoolV1StateMachine)

TestPoolV2StateMachine = V2Machine.TestCase
TestPoolV2StateMachine.settings = SETTINGS
TestPoolV2StateMachine = pytest.mark.property(TestPoolV2StateMachine)

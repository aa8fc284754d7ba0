"""Pool data-structure speed: add, pop (take_for_block) and cleanup at several resident sizes.

Run:  python3 -m pytest benchmarks/bench_pool.py --benchmark-json=/tmp/bench_pool.json
Then: python3 benchmarks/bench_pool.py /tmp/bench_pool.json   (prints the ratios table)

Each round works on K = 1,000 transactions against a pool holding N residents; the untimed
setup restores the pool to N before every round, so every round measures the same state.
Per-operation cost = round time / K. Speed claims are ratios from one run.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable

import numpy as np
import pytest

from pool import GWEI, PoolV1Config, PoolV2Config, Transaction, TxPoolV1, TxPoolV2

K = 1_000
ROUNDS = 40
WARMUP = 3
BLOCK_GAS = 21_000 * K  # a "block" that takes exactly K plain transfers
FAR_FUTURE = 1e9


@functools.cache
def make_txs(n: int, offset: int) -> tuple[Transaction, ...]:
    rng = np.random.default_rng(n * 7 + offset)
    prices = rng.integers(1, 200, size=n) * (GWEI // 10) + GWEI
    # Distinct nonces too: V1 as written dedupes by unsigned fields, which ignore the sender.
    return tuple(Transaction.create(sender=offset + i, nonce=offset + i, gas_price=int(p))
                 for i, p in enumerate(prices))


def make_pool(kind: str, resident: int, segments: int = 8) -> TxPoolV1 | TxPoolV2:
    if kind == "v1":
        pool: TxPoolV1 | TxPoolV2 = TxPoolV1(PoolV1Config())  # as written: quirks on
    else:
        pool = TxPoolV2(PoolV2Config(max_pool_size=max(50_000, resident + 2 * K),
                                     memory_limit_mb=max(256.0, resident * 0.002),
                                     priority_queue_segments=segments))
    for tx in make_txs(resident, 0):
        pool.add(tx, FAR_FUTURE)
    return pool


V1_SIZES = [1_000, 4_000]  # + K adds reaches V1's 5,000 cap
V2_SIZES = [1_000, 4_000, 10_000, 50_000, 500_000]
CASES = [("v1", n, 8) for n in V1_SIZES] + [("v2", n, 8) for n in V2_SIZES] + [
    ("v2", 50_000, 1), ("v2", 50_000, 64)]
IDS = [f"{k}-n{n}-seg{s}" for k, n, s in CASES]


@pytest.mark.parametrize(("kind", "resident", "segments"), CASES, ids=IDS)
def test_add(benchmark: pytest.FixtureRequest, kind: str, resident: int, segments: int) -> None:
    pool = make_pool(kind, resident, segments)
    fresh = make_txs(K, 10**7)

    def setup() -> None:
        pool.remove_included([t.tx_hash for t in fresh], FAR_FUTURE)

    def run() -> None:
        add = pool.add
        for tx in fresh:
            add(tx, FAR_FUTURE)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP)  # type: ignore[attr-defined]
    assert len(pool) == resident + K


@pytest.mark.parametrize(("kind", "resident", "segments"), CASES, ids=IDS)
def test_offer(benchmark: pytest.FixtureRequest, kind: str, resident: int,
               segments: int) -> None:
    # test_add through the simulator's hot path (no AddResult); compare with test_add.
    pool = make_pool(kind, resident, segments)
    fresh = make_txs(K, 10**7)

    def setup() -> None:
        pool.remove_included([t.tx_hash for t in fresh], FAR_FUTURE)

    def run() -> None:
        offer = pool.offer
        for tx in fresh:
            offer(tx, FAR_FUTURE)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP)  # type: ignore[attr-defined]
    assert len(pool) == resident + K


@pytest.mark.parametrize(("kind", "resident", "segments"), CASES, ids=IDS)
def test_pop(benchmark: pytest.FixtureRequest, kind: str, resident: int, segments: int) -> None:
    pool = make_pool(kind, resident, segments)
    taken: list[Transaction] = []

    def setup() -> None:
        for tx in taken:
            pool.add(tx, FAR_FUTURE)
        taken.clear()

    def run() -> None:
        taken.extend(pool.take_for_block(BLOCK_GAS, FAR_FUTURE))

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP)  # type: ignore[attr-defined]
    assert len(taken) == K


@pytest.mark.parametrize(("kind", "resident", "segments"), CASES, ids=IDS)
def test_cleanup(benchmark: pytest.FixtureRequest, kind: str, resident: int,
                 segments: int) -> None:
    pool = make_pool(kind, resident, segments)
    old = make_txs(K, 2 * 10**7)
    age = pool.max_transaction_age
    removed: list[Transaction] = []

    def setup() -> None:
        for tx in old:
            pool.add(tx, 0.0)  # admitted long before the residents

    def run() -> None:
        removed[:] = pool.expire(age + 1.0)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP)  # type: ignore[attr-defined]
    assert len(removed) == K
    assert len(pool) == resident


def summarize(path: str) -> str:
    """Per-op medians (µs) and the ratios the README reports, from a --benchmark-json file."""
    with open(path) as fh:
        data = json.load(fh)
    us: dict[tuple[str, str], float] = {}
    for b in data["benchmarks"]:
        op = b["name"].split("[")[0].removeprefix("test_")
        us[(op, b["param"])] = b["stats"]["median"] / K * 1e6
    lines = ["| op | case | µs/op |", "|---|---|---|"]
    lines += [f"| {op} | {case} | {v:.2f} |" for (op, case), v in sorted(us.items())]
    get: Callable[[str, str], float] = lambda op, case: us[(op, case)]  # noqa: E731
    lines.append("")
    for op in ("add", "pop", "cleanup"):
        for n in V1_SIZES:
            r = get(op, f"v2-n{n}-seg8") / get(op, f"v1-n{n}-seg8")
            lines.append(f"- {op}: V2/V1 time ratio at {n:,} resident = {r:.2f}")
        g = get(op, "v2-n50000-seg8") / get(op, "v2-n1000-seg8")
        lines.append(f"- {op}: V2 per-op growth 1k -> 50k = {g:.2f}x")
        g5 = get(op, "v2-n500000-seg8") / get(op, "v2-n1000-seg8")
        lines.append(f"- {op}: V2 per-op growth 1k -> 500k = {g5:.2f}x")
        seg = ", ".join(f"{s} seg {get(op, f'v2-n50000-seg{s}'):.2f} µs" for s in (1, 8, 64))
        lines.append(f"- {op}: V2 at 50k by segments: {seg}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(sys.argv[1]))

"""Hypothesis properties of both sync engines over seeds and peer mixes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import (
    PROFILES,
    Chain,
    DriverConfig,
    Peer,
    RunResult,
    SyncV1,
    SyncV1Config,
    SyncV2,
    build_peers,
    run_sync,
)
from sync.peers import with_lag

pytestmark = pytest.mark.property

HOSTILE = ("silent", "flaky", "liar", "slow", "churning")

mixes = st.fixed_dictionaries({name: st.integers(0, 4) for name in HOSTILE})
seeds = st.integers(0, 2**32 - 1)


def population(seed: int, counts: dict[str, int], *, lagging: int = 0,
               ) -> tuple[Chain, list[Peer], np.random.Generator]:
    a, b, c = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    chain = Chain(a, length=400)
    items = [(PROFILES[n], k) for n, k in counts.items() if k]
    if lagging:
        items.append((with_lag(PROFILES["honest"], 150), lagging))
    return chain, build_peers(items, b), c


def run(engine: str, seed: int, counts: dict[str, int], lagging: int = 0,
        **kw: object) -> RunResult:
    chain, peers, c = population(seed, counts, lagging=lagging)
    if engine == "v1":
        eng: SyncV1 | SyncV2 = SyncV1(chain.rules, c, SyncV1Config(**kw))  # type: ignore[arg-type]
    else:
        eng = SyncV2(chain.rules, c)
    return run_sync(eng, chain, peers, DriverConfig(time_limit_s=3_600.0, stall_limit_s=300.0))


@settings(max_examples=60)
@given(seed=seeds, mix=mixes)
def test_v2_finishes_whenever_one_honest_peer_stays(seed: int, mix: dict[str, int]) -> None:
    r = run("v2", seed, {"honest": 1, **mix})
    assert r.synced, (r.reason, r.synced_to, r.metrics)
    assert r.imported_ok


@settings(max_examples=40)
@given(seed=seeds, mix=mixes, lagging=st.integers(0, 3),
       engine=st.sampled_from(["v1", "v2"]))
def test_no_engine_asks_beyond_the_best_head_it_knows(seed: int, mix: dict[str, int],
                                                     lagging: int, engine: str) -> None:
    r = run(engine, seed, {"honest": 1, **mix}, lagging=lagging)
    assert r.requests > 0
    assert r.beyond_known_head == 0
    if engine == "v2":
        # V2 also never asks a peer past the head that peer announced.
        assert r.beyond_peer_head == 0


@settings(max_examples=40)
@given(seed=seeds, mix=mixes, honest=st.integers(0, 2),
       engine=st.sampled_from(["v1", "v1t", "v2"]))
def test_imported_chain_is_always_canonical(seed: int, mix: dict[str, int], honest: int,
                                            engine: str) -> None:
    if engine == "v1t":
        r = run("v1", seed, {"honest": honest, **mix}, request_timeout_ms=5_000)
    else:
        r = run(engine, seed, {"honest": honest, **mix})
    assert r.imported_ok
    assert int(r.metrics["synced_to"]) <= 400


@settings(max_examples=20)
@given(seed=seeds)
def test_v1_stalls_on_a_silent_peer_where_v2_with_one_honest_peer_completes(seed: int) -> None:
    r1 = run("v1", seed, {"silent": 1})
    assert not r1.synced
    assert r1.reason == "stalled"
    assert r1.synced_to == 0
    assert r1.metrics["stalled"] is True
    assert r1.metrics["sync_speed_bps"] == 0.0
    assert r1.metrics["blocks_behind"] == 400
    r2 = run("v2", seed, {"silent": 1, "honest": 1})
    assert r2.synced
    assert r2.imported_ok
    assert r2.metrics["stalled"] is False


@settings(max_examples=5)
@given(seed=seeds, mix=mixes)
def test_same_seed_same_result(seed: int, mix: dict[str, int]) -> None:
    a = run("v2", seed, {"honest": 1, **mix})
    b = run("v2", seed, {"honest": 1, **mix})
    assert (a.sim_time, a.requests, a.metrics) == (b.sim_time, b.requests, b.metrics)


@settings(max_examples=15)
@given(seed=seeds, when=st.floats(1.0, 60.0), engine=st.sampled_from(["v1", "v2"]))
def test_restart_at_any_time_still_ends_canonical_and_synced(seed: int, when: float,
                                                             engine: str) -> None:
    chain, peers, c = population(seed, {"honest": 3})
    eng: SyncV1 | SyncV2 = (SyncV1(chain.rules, c) if engine == "v1"
                            else SyncV2(chain.rules, c))
    r = run_sync(eng, chain, peers, DriverConfig(restart_at=(when,), time_limit_s=3_600.0))
    assert r.synced
    assert r.imported_ok
    interval = 100 if engine == "v1" else 1_000
    assert all(cp % interval == 0 for cp in r.checkpoints)

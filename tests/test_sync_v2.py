"""SyncV2: one rule per test (batch, parallelism, timeout, re-assignment, bans, cache,
checkpoint/restart, peer limits, scoring)."""

import math

import numpy as np
import pytest

from sync import (
    BanPeer,
    Chain,
    DriverConfig,
    DropPeer,
    ProcessBlocks,
    Response,
    ScoringConfig,
    SendRequest,
    SyncV1Config,
    SyncV2,
    SyncV2Config,
    WriteCheckpoint,
    build_peers,
    run_sync,
)
from sync.chain import ChainConfig, corrupt_body, corrupt_header
from sync.scoring import PeerScore


def rngs(seed: int, n: int = 3) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def v2_setup(length: int = 3_000, seed: int = 1, **kw: object) -> tuple[Chain, SyncV2]:
    a, _, c = rngs(seed)
    chain = Chain(a, length=length)
    return chain, SyncV2(chain.rules, c, SyncV2Config(**kw))  # type: ignore[arg-type]


def sends(actions: list[object]) -> list[SendRequest]:
    return [a for a in actions if isinstance(a, SendRequest)]


def headers(chain: Chain, start: int, count: int) -> Response:
    return Response(headers=tuple(chain.block(n) for n in range(start, start + count)))


def bodies_for(chain: Chain, req: SendRequest) -> Response:
    return Response(bodies=tuple(chain.body(n) for n in range(req.start, req.start + req.count)))


def test_config_keeps_guide_names_and_units() -> None:
    cfg = SyncV2Config()
    assert (cfg.max_peer_connections, cfg.block_request_batch_size, cfg.peer_scoring_enabled,
            cfg.sync_checkpoint_interval, cfg.peer_timeout_ms, cfg.block_processing_concurrency,
            cfg.block_cache_size, cfg.peer_cache_size, cfg.parallel_requests,
            cfg.blacklist_duration) == (50, 128, True, 1_000, 30_000, 4, 2_048, 1_000, 10, 3_600)
    sc = cfg.scoring
    assert (sc.latency_weight, sc.reliability_weight, sc.throughput_weight,
            sc.min_score, sc.max_score, sc.half_life_s) == (0.3, 0.4, 0.3, 0.1, 1.0, 600.0)
    with pytest.raises(ValueError, match="peer_cache_size"):
        SyncV2Config(peer_cache_size=10)


def test_batches_of_128_up_to_10_in_flight_one_per_fresh_peer() -> None:
    chain, eng = v2_setup()
    for i in range(12):
        eng.peer_connected(f"p{i:02d}", chain.height, 0.0)
    reqs = sends(eng.start(0.0))
    assert len(reqs) == 10
    assert [r.start for r in reqs] == [1 + 128 * i for i in range(10)]
    assert {r.count for r in reqs} == {128}
    assert len({r.peer_id for r in reqs}) == 10  # unmeasured peers take one each
    assert all(r.deadline == 30.0 for r in reqs)  # unmeasured: peer_timeout_ms
    (breq,) = sends(eng.on_response(reqs[0].request_id, headers(chain, 1, 128), 0.2))
    assert breq.kind == "bodies"
    assert breq.start == 1
    assert breq.hashes == tuple(chain.block(n).hash for n in range(1, 129))


def test_extra_slots_only_when_measured_capacity_allows() -> None:
    chain, eng = v2_setup()
    eng.peer_connected("fast", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    # 128 headers in 10 ms: capacity ceil(1 + 1.01 * 12800 * 5 s) >> 4 batches.
    more = sends(eng.on_response(req.request_id, headers(chain, 1, 128), 0.01))
    assert eng.in_flight == 4 == len(more)  # max_requests_per_peer
    assert {r.peer_id for r in more} == {"fast"}
    # Headers now have a measured rate: 3 x 128 / rate, floored at 2 s; bodies unmeasured.
    assert [r.kind for r in more] == ["bodies", "headers", "headers", "headers"]
    assert more[0].deadline == pytest.approx(0.01 + 30.0)
    assert all(r.deadline == pytest.approx(0.01 + 2.0) for r in more[1:])


def test_timeout_requeues_the_batch_to_another_peer() -> None:
    chain, eng = v2_setup(parallel_requests=1)
    eng.peer_connected("a", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    assert req.peer_id == "a"
    assert req.deadline == 30.0
    assert sends(eng.peer_connected("b", chain.height, 1.0)) == []  # parallel limit
    assert eng.next_timer() == 30.0
    (again,) = sends(eng.on_timer(30.0))
    assert (again.peer_id, again.kind, again.start, again.count) == ("b", "headers", 1, 128)
    assert eng.metrics(30.0)["requests_timed_out"] == 1
    assert eng.peer_score("a", 30.0) < 0.5 < eng.peer_score("b", 30.0) + 0.01
    # a's late answer is ignored (counted), b's is used.
    assert eng.on_response(req.request_id, headers(chain, 1, 128), 31.0) == []
    assert eng.metrics(31.0)["late_responses"] == 1
    (breq,) = sends(eng.on_response(again.request_id, headers(chain, 1, 128), 31.0))
    assert breq.kind == "bodies"


def test_failure_answer_requeues_to_another_peer() -> None:
    chain, eng = v2_setup(parallel_requests=1)
    eng.peer_connected("a", chain.height, 0.0)
    eng.peer_connected("b", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    (again,) = sends(eng.on_response(req.request_id, Response(failure="error"), 0.5))
    assert again.peer_id != req.peer_id
    assert again.start == req.start
    assert eng.metrics(0.5)["requests_failed"] == 1


@pytest.mark.parametrize("what", ["header", "body"])
def test_bad_data_bans_for_blacklist_duration_and_requeues(what: str) -> None:
    chain, eng = v2_setup(parallel_requests=1)
    eng.peer_connected("liar", chain.height, 0.0)
    eng.peer_connected("good", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    liar = req.peer_id
    if what == "header":
        hs = list(headers(chain, 1, 128).headers)
        hs[5] = corrupt_header(hs[5], 1)
        acts = eng.on_response(req.request_id, Response(headers=tuple(hs)), 1.0)
    else:
        (breq,) = sends(eng.on_response(req.request_id, headers(chain, 1, 128), 0.5))
        assert breq.peer_id == liar  # still the best idle peer
        bs = list(bodies_for(chain, breq).bodies)
        bs[7] = corrupt_body(bs[7], 1)
        acts = eng.on_response(breq.request_id, Response(bodies=tuple(bs)), 1.0)
    bans = [a for a in acts if isinstance(a, BanPeer)]
    assert bans == [BanPeer(liar, 1.0 + 3_600.0, f"bad_{what}")]
    (again,) = sends(acts)
    assert again.peer_id != liar
    assert again.start == 1
    assert not any(isinstance(a, ProcessBlocks) for a in acts)  # nothing bad is kept
    assert eng.is_banned(liar, 3_600.0)
    assert not eng.is_banned(liar, 3_601.0)
    assert eng.peer_connected(liar, chain.height, 100.0) == [DropPeer(liar, "banned")]
    assert liar not in eng.connected_peers
    eng.peer_connected(liar, chain.height, 3_601.5)
    assert liar in eng.connected_peers  # ban over: accepted again


def test_repeated_timeouts_drive_score_to_minimum_and_ban() -> None:
    chain, eng = v2_setup(parallel_requests=1, adaptive_timeout=False)
    eng.peer_connected("mute", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    t = 0.0
    bans: list[BanPeer] = []
    for _ in range(20):
        t = eng.next_timer() or t
        acts = eng.on_timer(t)
        bans += [a for a in acts if isinstance(a, BanPeer)]
        if bans:
            break
    assert bans
    assert bans[0].reason == "min_score"
    assert bans[0].until == t + 3_600.0
    assert 5 <= eng.metrics(t)["requests_timed_out"] <= 12
    del req


def test_cache_bounds_downloaded_unprocessed_blocks_and_asks_for_less() -> None:
    chain, eng = v2_setup(block_cache_size=300)
    for i in range(5):
        eng.peer_connected(f"p{i}", chain.height, 0.0)
    reqs = sends(eng.start(0.0))
    assert [(r.start, r.count) for r in reqs] == [(1, 128), (129, 128), (257, 44)]
    # Whole run with slow processing: the bound holds throughout.
    a, b, c = rngs(9)
    slow = Chain(a, ChainConfig(cost_median_s=0.5), length=1_500)
    eng2 = SyncV2(slow.rules, c, SyncV2Config(block_cache_size=300))
    r = run_sync(eng2, slow, build_peers({"honest": 10}, b))
    assert r.synced
    assert r.imported_ok
    assert 250 <= r.max_cached_blocks <= 300


def test_checkpoint_every_1000_and_restart_resumes_from_it() -> None:
    a, b, c = rngs(10)
    chain = Chain(a, length=3_000)
    eng = SyncV2(chain.rules, c)
    r = run_sync(eng, chain, build_peers({"honest": 10}, b))
    assert r.synced
    assert r.checkpoints == [1_000, 2_000, 3_000]
    # Hand-driven: restart drops everything above the checkpoint and refetches from it.
    chain2, eng2 = v2_setup(length=1_500, sync_checkpoint_interval=100,
                            parallel_requests=1)
    eng2.peer_connected("p", chain2.height, 0.0)
    (req,) = sends(eng2.start(0.0))
    (breq,) = sends(eng2.on_response(req.request_id, headers(chain2, 1, 128), 0.1))
    acts = eng2.on_response(breq.request_id, bodies_for(chain2, breq), 0.2)
    (proc,) = [x for x in acts if isinstance(x, ProcessBlocks)]
    out = eng2.blocks_processed(list(proc.blocks[:120]), 1.0)
    assert [x.number for x in out if isinstance(x, WriteCheckpoint)] == [100]
    assert eng2.synced_to == 120
    reqs = sends(eng2.restart(2.0))
    assert eng2.synced_to == 100
    assert reqs[0].start == 101
    eng2.blocks_processed(list(proc.blocks[120:]), 2.5)  # stale work is ignored
    assert eng2.synced_to == 100


def test_driver_restart_mid_sync_completes_canonically() -> None:
    a, b, c = rngs(11)
    chain = Chain(a, length=2_500)
    eng = SyncV2(chain.rules, c)
    r = run_sync(eng, chain, build_peers({"honest": 8}, b), DriverConfig(restart_at=(15.0,)))
    assert r.synced
    assert r.imported_ok
    assert int(r.metrics["blocks_imported"]) > 2_500  # blocks past 1,000 imported twice


def test_max_50_connections_and_bounded_peer_table() -> None:
    _chain, eng = v2_setup(peer_cache_size=60)
    for i in range(50):
        eng.peer_connected(f"p{i:03d}", 10, 0.0)
    assert eng.peer_connected("extra", 10, 0.0) == [DropPeer("extra", "too_many_peers")]
    for i in range(200):
        eng.peer_disconnected(f"p{i % 50:03d}" if i < 50 else f"q{i - 1:03d}", float(i))
        eng.peer_connected(f"q{i:03d}", 10, float(i) + 0.5)
        assert eng.known_peers <= 60
    assert len(eng.connected_peers) <= 50


def test_scoring_off_picks_random_peers() -> None:
    picks = set()
    for seed in range(6):
        chain, eng = v2_setup(seed=seed, peer_scoring_enabled=False, parallel_requests=1)
        for i in range(5):
            eng.peer_connected(f"p{i}", chain.height, 0.0)
        (req,) = sends(eng.start(0.0))
        picks.add(req.peer_id)
    assert len(picks) >= 3


def test_score_bounds_updates_and_half_life_decay() -> None:
    s = PeerScore(ScoringConfig(), 0.0)
    assert s.value(0.0) == pytest.approx(0.5)
    for i in range(50):
        s.on_success(float(i), "bodies", 0.05, 128, 10_000_000)
    assert 0.9 < s.value(50.0) <= 1.0
    high = s.value(50.0) - 0.5
    assert s.value(650.0) - 0.5 == pytest.approx(high / 2, rel=1e-6)  # 600 s half-life
    bad = PeerScore(ScoringConfig(), 0.0)
    for i in range(40):
        bad.on_timeout(float(i), "headers", 30.0)
    assert bad.value(40.0) == 0.1  # clipped at min_score
    assert bad.capacity("headers", 5.0) == 1
    assert math.isclose(PeerScore(ScoringConfig(), 0).capacity("x", 1.0), 1)


def test_growing_chain_and_churn_both_engines_catch_up() -> None:
    from sync import SyncV1

    for kind in ("v1", "v2"):
        a, b, c = rngs(12)
        chain = Chain(a, length=2_000)
        peers = build_peers({"honest": 3, "churning": 3}, b)
        eng = SyncV1(chain.rules, c) if kind == "v1" else SyncV2(chain.rules, c)
        r = run_sync(eng, chain, peers, DriverConfig(grow_chain=True, time_limit_s=3_600.0))
        assert r.synced
        assert r.imported_ok
        assert r.target == chain.height > 2_000  # the head moved while syncing


def test_short_and_empty_answers_requeue_the_rest_elsewhere() -> None:
    chain, eng = v2_setup(parallel_requests=1)
    eng.peer_connected("a", chain.height, 0.0)
    eng.peer_connected("b", chain.height, 0.0)
    (req,) = sends(eng.start(0.0))
    first = req.peer_id
    other = "b" if first == "a" else "a"
    acts = eng.on_response(req.request_id, headers(chain, 1, 100), 0.5)  # 100 of 128
    (nxt,) = sends(acts)
    assert (nxt.kind, nxt.start) == ("bodies", 1)  # bodies for what arrived go first
    assert eng.metrics(0.5)["requests_failed"] == 0
    (rest,) = sends(eng.on_response(nxt.request_id, Response(), 1.0))  # empty: a failure
    assert eng.metrics(1.0)["requests_failed"] == 1
    assert rest.peer_id == other
    assert (rest.kind, rest.start, rest.count) == ("bodies", 1, 100)


@pytest.mark.parametrize(("config", "kw", "field"), [
    (SyncV1Config, {"retry_delay_ms": 0}, "retry_delay_ms"),
    (SyncV1Config, {"blocks_per_request": 0}, "blocks_per_request"),
    (SyncV1Config, {"request_timeout_ms": 0}, "request_timeout_ms"),
    (SyncV1Config, {"commitment_count": 11}, "commitment_count"),
    (SyncV2Config, {"peer_timeout_ms": -1}, "peer_timeout_ms"),
    (SyncV2Config, {"block_processing_concurrency": 0}, "block_processing_concurrency"),
    (SyncV2Config, {"min_timeout_ms": 0}, "min_timeout_ms"),
    (SyncV2Config, {"stall_after_s": float("inf")}, "stall_after_s"),
    (ScoringConfig, {"score_ema_weight": 0.0}, "score_ema_weight"),
    (ScoringConfig, {"max_score": 0.1}, "max_score"),
])
def test_sync_configs_refuse_out_of_range_values(
        config: type, kw: dict[str, object], field: str) -> None:
    # The message starts with the field so the scenario layer can name it, and shows the value.
    with pytest.raises(ValueError, match=rf"^{field} must be .*; got "):
        config(**kw)
    config()  # every default is valid

"""SyncV1 = ExWire.Sync as written: one rule per test."""

import numpy as np

from sync import (
    Chain,
    DriverConfig,
    DropPeer,
    ProcessBlocks,
    Response,
    SendRequest,
    SyncV1,
    SyncV1Config,
    WriteCheckpoint,
    build_peers,
    run_sync,
)


def rngs(seed: int, n: int = 3) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def v1_setup(length: int = 500, seed: int = 1, **kw: object) -> tuple[Chain, SyncV1]:
    a, _, c = rngs(seed)
    chain = Chain(a, length=length)
    return chain, SyncV1(chain.rules, c, SyncV1Config(**kw))  # type: ignore[arg-type]


def sends(actions: list[object]) -> list[SendRequest]:
    return [a for a in actions if isinstance(a, SendRequest)]


def headers(chain: Chain, start: int, count: int) -> Response:
    return Response(headers=tuple(chain.block(n) for n in range(start, start + count)))


def bodies(chain: Chain, numbers: range | list[int]) -> Response:
    return Response(bodies=tuple(chain.body(n) for n in numbers))


def test_first_request_is_100_headers_after_startup_delay() -> None:
    chain, eng = v1_setup()
    eng.peer_connected("p", chain.height, 0.0)
    assert eng.start(0.0) == []
    assert eng.next_timer() == 10.0  # @startup_delay 10_000 ms
    (req,) = sends(eng.on_timer(10.0))
    assert (req.kind, req.start, req.count, req.deadline) == ("headers", 1, 100, None)


def test_bodies_for_all_headers_in_one_request() -> None:
    chain, eng = v1_setup()
    eng.peer_connected("p", chain.height, 0.0)
    eng.start(0.0)
    (req,) = sends(eng.on_timer(10.0))
    (breq,) = sends(eng.on_response(req.request_id, headers(chain, 1, 100), 10.5))
    assert breq.kind == "bodies"
    assert breq.hashes == tuple(chain.block(n).hash for n in range(1, 101))


def test_single_batch_in_flight_next_request_waits_for_the_queue_to_drain() -> None:
    chain, eng = v1_setup()
    for i in range(3):
        eng.peer_connected(f"p{i}", chain.height, 0.0)
    eng.start(0.0)
    (req,) = sends(eng.on_timer(10.0))
    assert eng.next_timer() is None  # no timeout, no second request
    (breq,) = sends(eng.on_response(req.request_id, headers(chain, 1, 100), 11.0))
    acts = eng.on_response(breq.request_id, bodies(chain, range(1, 101)), 12.0)
    assert sends(acts) == []  # processing not finished yet
    (proc,) = [a for a in acts if isinstance(a, ProcessBlocks)]
    assert [b.number for b in proc.blocks] == list(range(1, 101))
    out = eng.blocks_processed(list(proc.blocks[:99]), 13.0)
    assert sends(out) == []
    out = eng.blocks_processed([proc.blocks[99]], 14.0)
    (nxt,) = sends(out)
    assert (nxt.kind, nxt.start) == ("headers", 101)
    assert any(isinstance(a, WriteCheckpoint) and a.number == 100 for a in out)


def test_driver_run_has_one_batch_in_flight_and_checkpoints_every_100() -> None:
    a, b, c = rngs(3)
    chain = Chain(a, length=1_000)
    eng = SyncV1(chain.rules, c)
    r = run_sync(eng, chain, build_peers({"honest": 5}, b))
    assert r.synced
    assert r.imported_ok
    assert r.max_in_flight == 1
    assert r.requests == 2 * 10  # 10 header batches of 100, each with one bodies request
    assert r.checkpoints == list(range(100, 1_001, 100))


def test_silent_peer_stalls_v1_forever_and_metrics_say_so() -> None:
    a, b, c = rngs(4)
    chain = Chain(a, length=500)
    eng = SyncV1(chain.rules, c)
    r = run_sync(eng, chain, build_peers({"silent": 1}, b))
    assert not r.synced
    assert r.reason == "stalled"
    assert r.synced_to == 0
    m = r.metrics
    assert m["stalled"] is True
    assert m["sync_speed_bps"] == 0.0
    assert m["blocks_behind"] == 500
    assert m["requests_sent"] == 1
    assert m["requests_timed_out"] == 0
    assert eng.next_timer() is None


def test_optional_request_timeout_recovers_from_a_silent_peer() -> None:
    a, b, c = rngs(5)
    chain = Chain(a, length=500)
    peers = build_peers({"silent": 1, "honest": 1}, b)
    eng = SyncV1(chain.rules, c, SyncV1Config(request_timeout_ms=5_000))
    r = run_sync(eng, chain, peers)
    assert r.synced
    assert r.imported_ok
    assert r.metrics["requests_timed_out"] > 0


def test_at_most_10_peers() -> None:
    _chain, eng = v1_setup()
    for i in range(10):
        assert eng.peer_connected(f"p{i}", 5, 0.0) == []
    assert eng.peer_connected("p10", 5, 0.0) == [DropPeer("p10", "too_many_peers")]
    assert len(eng.connected_peers) == 10
    assert eng.metrics(0.0)["peer_connection_success_rate"] == 10 / 11


def test_retry_after_5s_when_no_peer() -> None:
    chain, eng = v1_setup()
    eng.start(0.0)
    assert sends(eng.on_timer(10.0)) == []
    assert eng.next_timer() == 15.0
    eng.peer_connected("p", chain.height, 12.0)
    (req,) = sends(eng.on_timer(15.0))
    assert req.start == 1


def test_missing_parent_waits_in_backlog_until_the_parent_arrives() -> None:
    chain, eng = v1_setup()
    eng.peer_connected("p", chain.height, 0.0)
    eng.start(0.0)
    (req,) = sends(eng.on_timer(10.0))
    (breq,) = sends(eng.on_response(req.request_id, headers(chain, 1, 3), 11.0))
    # Bodies of 2 and 3 only: they are processed first and wait for block 1.
    (proc,) = [a for a in eng.on_response(breq.request_id, bodies(chain, [2, 3]), 12.0)
               if isinstance(a, ProcessBlocks)]
    eng.blocks_processed(list(proc.blocks), 13.0)
    assert eng.synced_to == 0
    assert eng.cached_blocks == 3
    (proc1,) = [a for a in eng.on_response(99, bodies(chain, [1]), 14.0)
                if isinstance(a, ProcessBlocks)]
    eng.blocks_processed(list(proc1.blocks), 15.0)
    assert eng.synced_to == 3
    assert eng.cached_blocks == 0
    assert eng.imported_matches(chain)


def test_restart_resumes_from_the_last_checkpoint() -> None:
    chain, eng = v1_setup()
    eng.peer_connected("p", chain.height, 0.0)
    eng.start(0.0)
    t = 10.0
    last = eng.on_timer(t)
    for start in (1, 101):
        (req,) = sends(last)
        (breq,) = sends(eng.on_response(req.request_id, headers(chain, start, 100), t + 1))
        (proc,) = [a for a in eng.on_response(breq.request_id,
                                              bodies(chain, range(start, start + 100)), t + 2)
                   if isinstance(a, ProcessBlocks)]
        last = eng.blocks_processed(list(proc.blocks[:50]), t + 3)
        if start == 1:
            last = eng.blocks_processed(list(proc.blocks[50:]), t + 4)
        t += 5
    assert eng.synced_to == 150
    assert eng.restart(t) == []
    assert eng.synced_to == 100  # the last checkpoint
    (req,) = sends(eng.on_timer(t + 10.0))
    assert req.start == 101
    # Blocks handed out before the restart are ignored when they finish.
    eng.blocks_processed([chain.block(151)], t + 11)
    assert eng.synced_to == 100


def test_driver_restart_mid_batch_reimports_and_stays_canonical() -> None:
    a, b, c = rngs(6)
    chain = Chain(a, length=1_000)
    reimported = []
    for when in (47.0, 60.0, 75.0):
        eng = SyncV1(chain.rules, np.random.default_rng(7))
        r = run_sync(eng, chain, build_peers({"honest": 2}, np.random.default_rng(8)),
                     DriverConfig(restart_at=(when,)))
        assert r.synced
        assert r.imported_ok
        assert r.checkpoints[-1] == 1_000
        assert all(cp % 100 == 0 for cp in r.checkpoints)
        reimported.append(int(r.metrics["blocks_imported"]) - 1_000)
    assert max(reimported) > 0  # some restart lost blocks past its checkpoint
    del b, c


def test_bad_body_stalls_v1_as_written_and_the_timeout_switch_refetches_it() -> None:
    from sync.chain import corrupt_body

    for timeout_ms in (None, 5_000):
        chain, eng = v1_setup(request_timeout_ms=timeout_ms)
        eng.peer_connected("p", chain.height, 0.0)
        eng.start(0.0)
        (req,) = sends(eng.on_timer(10.0))
        (breq,) = sends(eng.on_response(req.request_id, headers(chain, 1, 100), 11.0))
        bs = list(bodies(chain, range(1, 101)).bodies)
        bs[9] = corrupt_body(bs[9], 1)  # block 10's body is wrong
        acts = eng.on_response(breq.request_id, Response(bodies=tuple(bs)), 12.0)
        assert eng.metrics(12.0)["bad_responses"] == 1
        (proc,) = [a for a in acts if isinstance(a, ProcessBlocks)]
        assert 10 not in [b.number for b in proc.blocks]
        out = eng.blocks_processed(list(proc.blocks), 14.0)
        assert sends(out) == []
        assert eng.synced_to == 9  # 11..100 wait in the backlog for block 10
        if timeout_ms is None:
            assert eng.next_timer() is None  # stuck for good
            assert eng.metrics(200.0)["stalled"] is True
        else:
            (again,) = sends(eng.on_timer(eng.next_timer() or 0.0))
            assert again.hashes == (chain.block(10).hash,)
            (p10,) = [a for a in eng.on_response(again.request_id, bodies(chain, [10]), 18.0)
                      if isinstance(a, ProcessBlocks)]
            eng.blocks_processed(list(p10.blocks), 19.0)
            assert eng.synced_to == 100
            assert eng.imported_matches(chain)

"""The sync package's fast paths give exactly (bit for bit) what the general paths give.

* ``values_at`` against the score formula as first written (``_RefScore`` below);
* ``peer_heads`` against consecutive ``peer_head`` calls, on both engines, in every engine
  state a random script reaches (not started, tasks queued, requests in flight, scoring off);
* ``Peer.head_at`` against ``Peer.head``.
"""

import math
from collections.abc import Callable, Iterator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import Chain, ProcessBlocks, Response, SendRequest, SyncV1, SyncV2, SyncV2Config
from sync.chain import Block, ChainConfig
from sync.messages import Action
from sync.peers import Peer, PeerProfile
from sync.scoring import NEUTRAL, PeerScore, ScoringConfig, values_at


class _RefScore:
    """PeerScore's decay and value as first written (one method call per peer)."""

    def __init__(self, cfg: ScoringConfig, now: float) -> None:
        self.cfg = cfg
        self.latency = self.reliability = self.throughput = NEUTRAL
        self.updated_at = now

    def decay(self, now: float) -> None:
        dt = now - self.updated_at
        if dt > 0:
            keep = math.exp(-math.log(2) / self.cfg.half_life_s * dt)
            self.latency = NEUTRAL + (self.latency - NEUTRAL) * keep
            self.reliability = NEUTRAL + (self.reliability - NEUTRAL) * keep
            self.throughput = NEUTRAL + (self.throughput - NEUTRAL) * keep
            self.updated_at = now

    def sample(self, now: float, lat: float, rel: float, thr: float) -> None:
        self.decay(now)
        w = self.cfg.score_ema_weight
        self.latency += w * (lat - self.latency)
        self.reliability += w * (rel - self.reliability)
        self.throughput += w * (thr - self.throughput)

    def value(self, now: float) -> float:
        self.decay(now)
        c = self.cfg
        raw = (c.latency_weight * self.latency + c.reliability_weight * self.reliability
               + c.throughput_weight * self.throughput)
        return min(c.max_score, max(c.min_score, raw))


score_ops = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3),
                               st.floats(0.0, 400.0, allow_nan=False),
                               st.floats(0.001, 40.0, allow_nan=False)),
                     max_size=80)


@given(score_ops, st.sampled_from([ScoringConfig(), ScoringConfig(half_life_s=7.0),
                                   ScoringConfig(min_score=0.45, max_score=0.55)]))
@settings(max_examples=150)
def test_values_at_equals_the_per_peer_formula(ops: list[tuple[int, int, float, float]],
                                               cfg: ScoringConfig) -> None:
    fast = [PeerScore(cfg, 0.0) for _ in range(4)]
    ref = [_RefScore(cfg, 0.0) for _ in range(4)]
    now = 0.0
    for op, who, dt, elapsed in ops:
        now += dt
        if op == 0:
            fast[who].on_success(now, "bodies", elapsed, 128, 1_000_000)
            bps = 1_000_000 / elapsed
            ref[who].sample(now, cfg.latency_ref_s / (cfg.latency_ref_s + elapsed), 1.0,
                            bps / (bps + cfg.throughput_ref_bps))
        elif op == 1:
            fast[who].on_timeout(now, "headers", elapsed)
            ref[who].sample(now, cfg.latency_ref_s / (cfg.latency_ref_s + elapsed), 0.0, 0.0)
        elif op == 2:
            fast[who].on_failure(now)
            ref[who].decay(now)
            ref[who].reliability += cfg.score_ema_weight * (0.0 - ref[who].reliability)
        elif op == 3:
            assert fast[who].value(now) == ref[who].value(now)
        else:
            assert values_at(fast, now) == [r.value(now) for r in ref]
        for f, r in zip(fast, ref, strict=True):
            assert (f.latency, f.reliability, f.throughput, f.updated_at) == (
                r.latency, r.reliability, r.throughput, r.updated_at)


def test_a_neutral_peer_stays_exactly_neutral_and_is_stamped() -> None:
    s = PeerScore(ScoringConfig(), 0.0)
    assert values_at([s], 1e6) == [_RefScore(ScoringConfig(), 0.0).value(1e6)]
    assert (s.latency, s.reliability, s.throughput, s.updated_at) == (
        NEUTRAL, NEUTRAL, NEUTRAL, 1e6)


def test_head_at_equals_head() -> None:
    chain = Chain(np.random.default_rng(0), ChainConfig(), length=5)
    for lag in (0, 3, 5, 6, 100):
        peer = Peer("p", PeerProfile("x", head_lag=lag), np.random.default_rng(1))
        assert peer.head_at(chain.height) == peer.head(chain) == max(0, 5 - lag)


# -- peer_heads against peer_head ---------------------------------------------------------


def _engines(kind: str, seed: int, scoring: bool) -> tuple[Chain, list[SyncV1 | SyncV2]]:
    chain = Chain(np.random.default_rng(seed), length=40)
    out: list[SyncV1 | SyncV2] = []
    for _ in range(2):
        rng = np.random.default_rng(seed + 1)
        if kind == "v1":
            out.append(SyncV1(chain.rules, rng))
        else:
            out.append(SyncV2(chain.rules, rng, SyncV2Config(
                block_request_batch_size=16, parallel_requests=3, block_cache_size=64,
                max_peer_connections=8, peer_cache_size=8, peer_scoring_enabled=scoring)))
    return chain, out


def _state(eng: SyncV1 | SyncV2, now: float) -> tuple[object, ...]:
    common = (eng.metrics(now), eng.connected_peers, eng.in_flight, eng.next_timer(),
              eng.best_known, eng._rng.bit_generator.state)
    if isinstance(eng, SyncV1):
        return (*common, dict(eng._peers))
    # The ranking's premise: a peer the engine never marked as scored is exactly neutral.
    assert all((e.score.latency, e.score.reliability, e.score.throughput) == (NEUTRAL,) * 3
               for p, e in eng._table.items() if p not in eng._scored)
    peers = {p: (e.head, e.busy, e.connected, e.score.latency, e.score.reliability,
                 e.score.throughput, e.score.updated_at) for p, e in eng._table.items()}
    tasks = [(t.start, t.kind, t.count, t.avoid) for t in eng._header_tasks + eng._body_tasks]
    return (*common, peers, tasks, eng._next_header)


def _answer(chain: Chain, req: SendRequest) -> Response:
    if req.kind == "headers":
        last = min(req.start + req.count - 1, chain.height)
        return Response(headers=tuple(chain.block(n) for n in range(req.start, last + 1)))
    numbers = [chain.number_of(h) for h in req.hashes]
    return Response(bodies=tuple(chain.body(n) for n in numbers if n is not None))


def _announce_one_by_one(eng: SyncV1 | SyncV2, heads: list[tuple[str, int]],
                         now: float) -> list[list[Action]]:
    out: list[list[Action]] = []
    for peer_id, head in heads:
        actions = eng.peer_head(peer_id, head, now)
        if actions:
            out.append(list(actions))
    return out


def _announce_batched(eng: SyncV1 | SyncV2, heads: list[tuple[str, int]],
                      now: float) -> list[list[Action]]:
    out: list[list[Action]] = []
    it: Iterator[tuple[str, int]] = iter(heads)
    while actions := eng.peer_heads(it, now):
        out.append(list(actions))
    assert next(it, None) is None  # every announcement was taken
    return out


script = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 11), st.integers(0, 3),
                            st.integers(0, 12)), min_size=1, max_size=40)


@given(st.sampled_from(["v1", "v2"]), st.integers(0, 50), st.booleans(), st.booleans(), script)
@settings(max_examples=150, deadline=None)
def test_peer_heads_equals_peer_head_one_by_one(kind: str, seed: int, scoring: bool,
                                                 start: bool,
                                                 steps: list[tuple[int, int, int, int]]) -> None:
    chain, (ref, fast) = _engines(kind, seed, scoring)
    now = 0.0
    sent: list[SendRequest] = []
    blocks: list[Block] = []

    def both(call: Callable[[SyncV1 | SyncV2], list[Action]]) -> None:
        got = [call(ref), call(fast)]
        assert got[0] == got[1]
        sent.extend(a for a in got[0] if isinstance(a, SendRequest))
        blocks.extend(b for a in got[0] if isinstance(a, ProcessBlocks) for b in a.blocks)

    for i in range(4):
        both(lambda e, i=i: e.peer_connected(f"p{i}", chain.height, now))  # type: ignore[misc]
    if start:  # else every announcement meets an engine not started yet
        both(lambda e: e.start(now))
    for op, who, lag, n in steps:
        now += 1.5
        peer = f"p{who}"
        if op == 0:  # connect (peers p8..p11 may stay unknown to peer_heads)
            both(lambda e: e.peer_connected(peer, chain.height - lag, now))  # noqa: B023
        elif op == 1:
            both(lambda e: e.peer_disconnected(peer, now))  # noqa: B023
        elif op == 2:  # the peers answer everything, the workers process everything
            while sent or blocks:
                if sent:
                    req = sent.pop(0)
                    both(lambda e: e.on_response(req.request_id,  # noqa: B023
                                                 _answer(chain, req), now))  # noqa: B023
                else:
                    done, blocks[:] = list(blocks), []
                    both(lambda e: e.blocks_processed(done, now))  # noqa: B023
        elif op == 3:
            both(lambda e: e.on_timer(now + 40.0))  # noqa: B023
        elif op == 4:
            chain.extend(1 + lag)
        else:  # a slot's announcements: n peers at or a little below the chain head
            rng = np.random.default_rng(who * 100 + n)
            heads = [(f"p{int(rng.integers(12))}", chain.height - int(rng.integers(3)))
                     for _ in range(n)]
            one = _announce_one_by_one(ref, heads, now)
            assert _announce_batched(fast, heads, now) == one
            both(lambda e: [a for acts in one for a in acts])  # noqa: B023
        assert _state(ref, now) == _state(fast, now)


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 9), st.floats(0.0, 50.0)),
                max_size=40), st.floats(0.0, 2_000.0))
@settings(max_examples=100, deadline=None)
def test_ranking_equals_a_stable_sort_on_minus_score(ops: list[tuple[int, int, float]],
                                                     later: float) -> None:
    chain = Chain(np.random.default_rng(0), length=10)
    eng = SyncV2(chain.rules, np.random.default_rng(1))
    for i in range(10):
        eng.peer_connected(f"p{i}", 10, 0.0)
    now = 0.0
    for op, who, dt in ops:
        now += dt
        score = eng._table[f"p{who}"].score
        # Sampled here directly, so marked as the engine marks the peers it samples.
        eng._scored[f"p{who}"] = None
        if op == 0:
            score.on_success(now, "headers", 0.5, 16, 8_000)
        elif op == 1:
            score.on_timeout(now, "headers", 30.0)
        else:  # equal samples on two peers at once give exactly tied scores
            score.on_failure(now)
            eng._table[f"p{(who + 1) % 10}"].score.on_failure(now)
            eng._scored[f"p{(who + 1) % 10}"] = None
    now += later
    ref = [(p.peer_id, _RefScore(ScoringConfig(), 0.0)) for p in eng._table.values()]
    for (_, r), p in zip(ref, eng._table.values(), strict=True):
        r.latency, r.reliability, r.throughput = (p.score.latency, p.score.reliability,
                                                  p.score.throughput)
        r.updated_at = p.score.updated_at
    want = [pid for pid, _ in sorted(ref, key=lambda x: -x[1].value(now))]
    assert [p.peer_id for p in eng._ordered_peers(now)] == want


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 11), st.floats(0.0, 50.0)),
                max_size=60), st.floats(0.0, 2_000.0))
@settings(max_examples=100, deadline=None)
def test_ranking_with_disconnects_equals_a_stable_sort_on_minus_score(
        ops: list[tuple[int, int, float]], later: float) -> None:
    # Peers leave and come back (connection order changes, the cached connected list must
    # follow), and the scored set is at times smaller and at times larger than the
    # connected one.
    chain = Chain(np.random.default_rng(0), length=10)
    eng = SyncV2(chain.rules, np.random.default_rng(1))
    for i in range(8):
        eng.peer_connected(f"p{i}", 10, 0.0)
    now = 0.0
    for op, who, dt in ops:
        now += dt
        pid = f"p{who}"
        if op == 3:
            eng.peer_disconnected(pid, now)
            continue
        if op == 4:
            eng.peer_connected(pid, 10, now)
            continue
        peer = eng._table.get(pid)
        if peer is None:
            continue
        eng._scored[pid] = None
        if op == 0:
            peer.score.on_success(now, "headers", 0.5, 16, 8_000)
        elif op == 1:
            peer.score.on_timeout(now, "headers", 30.0)
        else:
            peer.score.on_failure(now)
        # Interleaved rankings: the cache is built, then must follow each change.
        eng._ordered_peers(now)
    now += later
    connected = [eng._table[p] for p in eng._connected]
    ref = []
    for p in connected:
        r = _RefScore(ScoringConfig(), 0.0)
        r.latency, r.reliability, r.throughput = (p.score.latency, p.score.reliability,
                                                  p.score.throughput)
        r.updated_at = p.score.updated_at
        ref.append((p.peer_id, r))
    want = [pid for pid, _ in sorted(ref, key=lambda x: -x[1].value(now))]
    assert [p.peer_id for p in eng._ordered_peers(now)] == want


@given(st.lists(st.integers(-(2**70), 2**70), max_size=8))
def test_combine_hash_equals_folding_mix64(parts: list[int]) -> None:
    from sync.chain import combine_hash, mix64

    h = 0x6A09E667F3BCC908
    for part in parts:
        h = mix64(h ^ (part & ((1 << 64) - 1)))
    assert combine_hash(*parts) == h


def test_chain_extend_with_cached_log_medians_equals_recomputing_them() -> None:
    cached = Chain(np.random.default_rng(7))
    fresh = Chain(np.random.default_rng(7))
    for n in (1, 1, 3, 1, 2):
        cached.extend(n)
        fresh._log_medians = None  # made again from the config, as before the cache
        fresh.extend(n)
    assert [cached.block(k) for k in range(9)] == [fresh.block(k) for k in range(9)]

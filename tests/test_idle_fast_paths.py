"""The no-load fast paths (histogram quantiles, sampling, sync-link scheduling) change nothing.

Each fast path is checked against the general form it replaces, written out here.
"""

import hashlib
import json
import math
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.call_later import call_after, call_later, call_repeatedly, urgent_pending
from sim.histogram import LogHistogram
from sim.metrics import TimeSeries
from sim.runner import Model, run
from sim.scenario import load_scenario
from sim.sync_link import SyncLink
from sync.chain import (
    HEADER_BYTES,
    Block,
    Chain,
)
from sync.messages import Action, ProcessBlocks, Response, SendRequest
from sync.peers import Reply
from sync.v1 import SyncV1
from sync.v2 import SyncV2, _Task


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


# -- LogHistogram.quantiles over the occupied buckets only ---------------------------------

def _ref_quantiles(h: LogHistogram, *qs: float) -> tuple[float, ...]:
    # LogHistogram.quantiles as first written: cumulative counts of every bucket.
    if h.count == 0:
        return tuple(math.nan for _ in qs)
    cum = np.cumsum(h._counts)
    out = []
    for q in qs:
        rank = max(1, math.ceil(q * h.count))
        index = int(np.searchsorted(cum, rank))
        out.append(min(max(h._bucket_value(index), h.min), h.max))
    return tuple(out)


def _edges() -> list[float]:
    # Values at and next to bucket edges (where np.log and math.log may bucket differently),
    # plus the underflow and overflow sides.
    h = LogHistogram()
    xs = [0.0, -1.0, 1e-9, h.lo, h.hi, 2e5]
    for k in range(0, h.n_buckets - 2, 37):
        x = math.exp(h._log_lo + k * h._log_gamma)
        xs += [math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)]
    return xs


values = st.one_of(st.floats(min_value=-1.0, max_value=3e5, allow_nan=False),
                   st.sampled_from(_edges()))
batches = st.lists(st.tuples(st.sampled_from(["add", "extend", "add_many", "merge", "reset"]),
                             st.lists(values, max_size=40)), max_size=8)
quants = st.lists(st.sampled_from([0.0, 1e-9, 0.5, 0.9, 0.95, 0.99, 1.0]), min_size=1,
                  max_size=4)


@given(batches, quants)
def test_quantiles_equal_the_full_cumulative_count(ops: list[tuple[str, list[float]]],
                                                   qs: list[float]) -> None:
    h = LogHistogram()
    for op, xs in ops:
        if op == "add":
            for x in xs:
                h.add(x)
        elif op == "extend":
            h.extend(xs)
        elif op == "add_many":
            h.add_many(np.asarray(xs, dtype=np.float64))
        elif op == "merge":
            other = LogHistogram()
            other.add_many(np.asarray(xs, dtype=np.float64))
            h.merge(other)
        else:
            h.reset()
        got = h.quantiles(*qs)
        want = _ref_quantiles(h, *qs)
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


def test_quantiles_at_every_bucket_edge_equal_the_full_cumulative_count() -> None:
    # A lone sample per edge: the quantile's bucket is then the sample's own.
    h0 = LogHistogram()
    for k in range(h0.n_buckets - 1):
        x = math.exp(h0._log_lo + k * h0._log_gamma)
        for v in (math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)):
            for add in ("add", "add_many"):
                h = LogHistogram()
                if add == "add":
                    h.add(v)
                else:
                    h.add_many(np.array([v]))
                assert h.quantiles(0.5, 1.0) == _ref_quantiles(h, 0.5, 1.0)


# -- the sampler's engine figures (SyncEngine.sample_values) -------------------------------

SCENARIO = """
name: idle-fast-paths
seed: 3
duration: 25m
modules:
  sync_service: {version: v2, traffic: 50}
network:
  initial_chain: 3000
  inbound_rate: 0.05
  peers: {honest: 14, slow: 3, silent: 2, flaky: 3, liar: 2, churning: 4}
faults:
  - {kind: partition, share: 0.3, start: 120, end: 400}
  - {kind: peer_silence, peers: 2, start: 60, end: 700}
  - {kind: peer_lying, peers: 1, start: 750, end: 1100}
  - {kind: peer_slowness, peers: 2, start: 300, end: 1000}
  - {kind: peer_crash, peers: 1, start: 500, end: 800}
  - {kind: node_restart, at: 650}
"""

ENGINE_FIGURES = ("sync_speed_bps", "blocks_behind", "avg_block_processing_ms",
                  "connected_peers", "peer_connection_success_rate", "network_bandwidth_mbps",
                  "block_queue_size", "peer_request_queue_size", "memory_bytes")


def _digest(path: Path, seed: int = 3) -> tuple[str, str, str]:
    r = run(load_scenario(path), seed=seed)
    h = hashlib.sha256()
    for k in sorted(r.timeseries):
        h.update(k.encode())
        h.update(np.ascontiguousarray(r.timeseries[k]).tobytes())
    return (r.summary_json(), h.hexdigest(),
            json.dumps(r.events, sort_keys=True, default=str))


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idle") / "s.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def fast_digest(scenario_path: Path) -> tuple[str, str, str]:
    # The model as it is, run once for every comparison with a general path below.
    return _digest(scenario_path)


def _ref_sample_values(self: Any, now: float) -> tuple[float, ...]:
    # What the sampler read before: float(metrics(now)[name]) for each figure.
    m = self.metrics(now)
    return tuple(float(m[name]) for name in ENGINE_FIGURES)


def _ref_memory_bytes(eng: Any) -> int:
    # The engines' memory figures as first written (a generator sum per container).
    if isinstance(eng, SyncV1):
        ready_bytes = sum(it.block.size if it.ready else HEADER_BYTES
                          for s in eng._queue.values() for it in s.values())
        backlog_bytes = sum(b.size for bs in eng._backlog.values() for b in bs)
        return (ready_bytes + backlog_bytes + 16 * len(eng._block_numbers)
                + 1_024 * len(eng._peers) + 8 * (eng.ledger.tip + 1))
    cached = (sum(b.size for b in eng._ready.values())
              + sum(b.size for b in eng._emitted.values())
              + sum(b.size for b in eng._processed.values()))
    return (cached + HEADER_BYTES * len(eng._headers) + 1_024 * len(eng._table)
            + 256 * len(eng._inflight) + 8 * (eng.ledger.tip + 1))


def test_engine_sample_values_equal_their_metrics(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    model = Model(load_scenario(path), seed=3)
    sample = model.sample
    checked = 0

    def checking(now: float, interval: float) -> dict[str, float]:
        nonlocal checked
        for link in model.links.values():
            got = link.engine.sample_values(now)
            want = _ref_sample_values(link.engine, now)
            assert len(got) == len(want)
            assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)
            assert link.engine._memory_bytes() == _ref_memory_bytes(link.engine)
            if isinstance(link.engine, SyncV1):
                assert link.engine._block_queue() == (
                    sum(len(s) for s in link.engine._queue.values())
                    + link.engine._backlog_size + link.engine._processing_count)
            checked += 1
        return sample(now, interval)

    model.sample = checking  # type: ignore[method-assign]
    model.execute()
    assert checked == 2 * 150


def test_model_with_sample_values_equals_reading_metrics(
        scenario_path: Path, fast_digest: tuple[str, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SyncV1, "sample_values", _ref_sample_values)
    monkeypatch.setattr(SyncV2, "sample_values", _ref_sample_values)
    assert _digest(scenario_path) == fast_digest


# -- call_after: one event where call_later takes two --------------------------------------

def _world(fast: bool, seed: int, n_roots: int) -> list[tuple[float, str]]:
    # Callbacks that schedule nothing but their children, last (as the sync link's own
    # callbacks do), beside a ticker process that starts callbacks and then yields (as the
    # slot does). fast: the callbacks' children take call_after when no URGENT event is
    # pending (the link's rule), the ticker's call_later; else a process per delay.
    env = simpy.Environment()
    log: list[tuple[float, str]] = []

    def fire(label: str, depth: int) -> None:
        log.append((env.now, label))
        rng = np.random.default_rng([seed, *label.encode()])
        if depth < 3:
            for k in range(int(rng.integers(0, 3))):
                start(float(rng.choice([0.0, 0.5, 1.0, 2.0])), f"{label}.{k}", depth + 1,
                      direct=True)

    def proc(delay: float, label: str, depth: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(delay)
        fire(label, depth)

    def start(delay: float, label: str, depth: int, direct: bool) -> None:
        if not fast:
            env.process(proc(delay, label, depth))
        elif direct and not urgent_pending(env):
            call_after(env, delay, fire, label, depth)
        else:
            call_later(env, delay, fire, label, depth)

    def ticker() -> Generator[simpy.Event, Any, None]:
        for i in range(8):
            yield env.timeout(0.5)
            log.append((env.now, f"tick{i}"))
            start(0.0 if i % 2 else 1.0, f"t{i}", 1, direct=False)
            start(0.5, f"u{i}", 1, direct=False)

    env.process(ticker())
    rng = np.random.default_rng(seed)
    for r in range(n_roots):
        start(float(rng.choice([0.0, 0.5, 1.0])), f"r{r}", 0, direct=False)
    env.run()
    return log


@given(st.integers(0, 10_000), st.integers(1, 6))
@settings(max_examples=80, deadline=None)
def test_call_after_in_last_position_orders_like_a_process(seed: int, n_roots: int) -> None:
    assert _world(True, seed, n_roots) == _world(False, seed, n_roots)


def test_call_after_takes_one_event() -> None:
    env = simpy.Environment()
    seen: list[float] = []
    call_after(env, 2.0, seen.append, 1.0)
    assert len(env._queue) == 1
    env.run()
    assert seen == [1.0]
    assert env.now == 2.0
    with pytest.raises(ValueError, match="negative"):
        call_after(env, -1.0, seen.append, 0.0)


class _StubEngine:
    """An engine whose every answer is drawn from its own stream, all times on a 2-s grid.

    Delays and deadlines of 0, 2, 6, 10 and 12 s make the link's events tie with the 12-s
    slot and the 10-s sampler all the time, so any change of order shows in the log (and,
    through the draws, in everything after it).
    """

    processing_workers = 2

    def __init__(self, log: list[tuple[float, str]], seed: int) -> None:
        self.log = log
        self.rng = np.random.default_rng(seed)
        self.next_id = 0
        self.deadline: float | None = None

    def _maybe(self, now: float, p: float, peer: str = "p0") -> list[Action]:
        out: list[Action] = []
        r = float(self.rng.random())
        if r < p:
            self.next_id += 1
            when = now + float(self.rng.choice([2.0, 6.0, 10.0, 12.0]))
            self.deadline = when if self.deadline is None else min(self.deadline, when)
            out.append(SendRequest(self.next_id, peer, "headers", 0, 1, (), when))
        if r > 1.0 - p / 2:
            cost = float(self.rng.choice([0.0, 2.0, 12.0]))
            out.append(ProcessBlocks((Block(self.next_id, 0, 0, 0, 1, cost),)))
        return out

    def start(self, now: float) -> list[Action]:
        return []

    def peer_connected(self, peer_id: str, head: int, now: float) -> list[Action]:
        return []

    def peer_heads(self, announcements: Any, now: float) -> list[Action]:
        for peer_id, _ in announcements:
            self.log.append((now, f"head {peer_id}"))
            out = self._maybe(now, 0.4, peer_id)
            if out:
                return out
        return []

    def on_response(self, request_id: int, response: Response, now: float) -> list[Action]:
        self.log.append((now, f"answer {request_id}"))
        return self._maybe(now, 0.6)

    def blocks_processed(self, blocks: Any, now: float) -> list[Action]:
        self.log.append((now, f"processed {blocks[0].number}"))
        return self._maybe(now, 0.5)

    def on_timer(self, now: float) -> list[Action]:
        self.log.append((now, "timer"))
        self.deadline = None
        return self._maybe(now, 0.7)

    def next_timer(self) -> float | None:
        return self.deadline


class _StubNetwork:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed + 1)

    def reachable(self) -> list[str]:
        return ["p0", "p1", "p2"]

    def is_reachable(self, peer_id: str) -> bool:
        return True

    def head(self, peer_id: str) -> int:
        return 1

    def heads(self, ids: list[str]) -> list[int]:
        return [1] * len(ids)

    def serve(self, peer_id: str, req: SendRequest, chain: Any, now: float) -> Reply:
        return Reply(Response(), float(self.rng.choice([0.0, 2.0, 4.0, 12.0])))


class _ProcessLink(SyncLink):
    """The link with every delay a process (as first written)."""

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        def proc() -> Generator[simpy.Event, Any, None]:
            yield self.env.timeout(delay)
            fn(*args)

        self.env.process(proc())


def _link_world(cls: type[SyncLink], seed: int) -> list[tuple[float, str]]:
    env = simpy.Environment()
    log: list[tuple[float, str]] = []
    engine = _StubEngine(log, seed)
    link = cls(env, "v2", engine, None, _StubNetwork(seed))  # type: ignore[arg-type]

    def slot() -> float:
        log.append((env.now, "slot"))
        link.announce_heads()
        return 12.0

    def sampler() -> float:
        log.append((env.now, f"sample {engine.next_id} {engine.deadline}"))
        return 10.0

    link.start()
    call_repeatedly(env, 12.0, slot)
    call_repeatedly(env, 10.0, sampler)
    env.run(until=400.0)
    return log


@given(st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_link_with_call_after_orders_like_a_process_per_delay(seed: int) -> None:
    fast = _link_world(SyncLink, seed)
    assert fast == _link_world(_ProcessLink, seed)
    assert len(fast) > 60


def test_urgent_pending_sees_a_start_not_yet_run() -> None:
    env = simpy.Environment()
    seen: list[bool] = []

    def first() -> None:
        seen.append(urgent_pending(env))  # nothing URGENT at 1.0 yet
        call_later(env, 0.0, seen.append, True)  # its start event: URGENT at 1.0
        seen.append(urgent_pending(env))

    call_after(env, 1.0, first)
    env.run()
    assert seen == [False, True, True]


# -- SyncV2: picking a peer from the ranking's parts ---------------------------------------

@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 11), st.floats(0.0, 50.0)),
                max_size=50),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 4), st.integers(8, 14)),
                max_size=12),
       st.lists(st.tuples(st.integers(5, 14), st.lists(st.integers(0, 11), max_size=3)),
                min_size=1, max_size=6),
       st.floats(0.0, 2_000.0))
@settings(max_examples=150, deadline=None)
def test_pick_from_the_order_parts_equals_pick_from_the_ordered_list(
        ops: list[tuple[int, int, float]], states: list[tuple[int, int, int]],
        tasks: list[tuple[int, list[int]]], later: float) -> None:
    chain = Chain(np.random.default_rng(0), length=10)
    eng = SyncV2(chain.rules, np.random.default_rng(1))
    for i in range(9):
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
    for who, busy, head in states:
        peer = eng._table.get(f"p{who}")
        if peer is not None:
            peer.busy, peer.head = busy, head
    now += later
    order = eng._peer_order(now)
    listed = eng._ordered_peers(now)  # the same `now`: the scores' second decay is a no-op
    front, middle, moved, back = order
    assert [*front, *[p for p in middle if p.peer_id not in moved], *back] == listed
    for end, avoid in tasks:
        task = _Task(end, "headers", 1, avoid=tuple(f"p{a}" for a in avoid))
        assert eng._pick_ordered(order, task) is eng._pick(listed, task)


def _ref_fill(self: SyncV2, now: float) -> list[Action]:
    # SyncV2._fill as first written: the ranked list built, then _pick over it.
    if not self._started:
        return []
    self._extend_tasks()
    room = self.config.parallel_requests - len(self._inflight)
    if room <= 0 or not self._connected or not (self._body_tasks or self._header_tasks):
        return []
    peers = self._ordered_peers(now)
    out: list[Action] = []
    for queue in (self._body_tasks, self._header_tasks):
        i = 0
        while i < len(queue) and room > 0:
            task = queue[i]
            peer = self._pick(peers, task)
            if peer is None:
                i += 1
                continue
            queue.pop(i)
            out.append(self._send(peer, task, now))
            room -= 1
    return out


def test_model_with_pick_from_parts_equals_pick_from_the_list(
        scenario_path: Path, fast_digest: tuple[str, str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SyncV2, "_fill", _ref_fill)
    assert _digest(scenario_path) == fast_digest


# -- Network.heads when no peer lags -------------------------------------------------------

@given(st.integers(0, 30), st.lists(st.integers(0, 11), max_size=12),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 40)), max_size=3))
def test_network_heads_equal_each_peers_head(grow: int, picks: list[int],
                                             lags: list[tuple[int, int]]) -> None:
    from sim.network import Network
    from sync.peers import with_lag

    chain = Chain(np.random.default_rng(0), length=grow)
    net = Network(chain, {"honest": 8, "slow": 2, "churning": 2}, np.random.default_rng(1))
    ids = [net.peers[i].peer_id for i in picks]
    assert net.heads(ids) == [net.head(p) for p in ids]
    net.set_behaviour(ids[0] if ids else net.peers[0].peer_id, "peer_silence", True)
    assert net.heads(ids) == [net.head(p) for p in ids]
    for i, lag in lags:  # lagging heads (no built-in profile has any)
        net.peers[i].profile = with_lag(net.peers[i].profile, lag)
    net.set_behaviour(net.peers[0].peer_id, "peer_lying", False)  # profiles looked at again
    assert net.heads(ids) == [net.head(p) for p in ids]


# -- SyncV1: random peer choices drawn ahead -----------------------------------------------


# -- Chain: one-block extends from sizes and costs drawn ahead ------------------------------


# -- Peer: jitter factors drawn ahead -------------------------------------------------------


# -- TimeSeries.sample_values: the sampler's rows without their dict ------------------------

key_orders = st.sampled_from([("a", "b", "c"), ("a", "b", "c"), ("c", "a", "b"), ("a", "b"),
                              ("b",), ("a", "b", "c", "d"), ()])


@given(st.lists(st.tuples(key_orders, st.booleans()), max_size=40), st.integers(1, 6))
def test_time_series_sample_values_equals_sampling_the_dict(
        steps: list[tuple[tuple[str, ...], bool]], block: int) -> None:
    by_dict, by_values = TimeSeries(block_rows=block), TimeSeries(block_rows=block)
    for i, (keys, read) in enumerate(steps):
        values = [float(i * 10 + j) + 0.25 for j in range(len(keys))]
        by_dict.sample(float(i), dict(zip(keys, values, strict=True)))
        by_values.sample_values(float(i), keys, values)
        assert len(by_values) == len(by_dict) == i + 1
        if read:
            np.testing.assert_array_equal(by_values.column("time"), by_dict.column("time"))
    got, want = by_values.arrays(final=True), by_dict.arrays(final=True)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])

"""The sync link's fast paths change no result.

* ``call_later`` runs callbacks in exactly the order one-timeout SimPy processes would, ties
  included (against ``env.process``).
* The whole model with the link as it is gives the same summary, series and events as with
  the link as first written (``_ReferenceLink``: a process per delay, one ``peer_head`` call
  and one ``_apply`` per announcement), on a scenario with every peer fault, a partition, a
  restart and churning, silent, lying and flaky peers.
* ``Network.reachable`` (kept between changes) equals the reachability of every peer.
"""

import hashlib
import json
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.runner
from sim.call_later import call_later
from sim.runner import run
from sim.scenario import load_scenario
from sim.sync_link import SyncLink
from sync.chain import Block
from sync.messages import (
    Action,
    BanPeer,
    DropPeer,
    ProcessBlocks,
    Response,
    SendRequest,
    WriteCheckpoint,
)


def _world(use_call_later: bool, seed: int, n_roots: int) -> list[tuple[float, str]]:
    env = simpy.Environment()
    log: list[tuple[float, str]] = []

    def fire(label: str, depth: int) -> None:
        log.append((env.now, label))
        # Children drawn from the label alone, so both runs build the same tree; delays from
        # a tiny set (0 included) so many callbacks tie with each other and the ticker.
        rng = np.random.default_rng([seed, *label.encode()])
        if depth < 3:
            for k in range(int(rng.integers(0, 3))):
                start(float(rng.choice([0.0, 0.5, 1.0, 2.0])), f"{label}.{k}", depth + 1)

    def proc(delay: float, label: str, depth: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(delay)
        fire(label, depth)

    def start(delay: float, label: str, depth: int) -> None:
        if use_call_later:
            call_later(env, delay, fire, label, depth)
        else:
            env.process(proc(delay, label, depth))

    def ticker() -> Generator[simpy.Event, Any, None]:
        for i in range(8):
            yield env.timeout(0.5)
            log.append((env.now, f"tick{i}"))
            start(0.0 if i % 2 else 1.0, f"t{i}", 1)

    env.process(ticker())
    rng = np.random.default_rng(seed)
    for r in range(n_roots):
        start(float(rng.choice([0.0, 0.5, 1.0])), f"r{r}", 0)
    env.run()
    return log


@given(st.integers(0, 10_000), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_call_later_orders_like_a_process(seed: int, n_roots: int) -> None:
    want = _world(False, seed, n_roots)
    assert _world(True, seed, n_roots) == want
    assert len({t for t, _ in want}) < len(want)  # ties did occur


class _ReferenceLink(SyncLink):
    """The link's event handling as first written (general paths only)."""

    def announce_heads(self) -> None:
        if self.stopped:
            return
        now = self.env.now
        for peer_id in list(self.connected):
            if peer_id in self.connected:
                self._apply(self.engine.peer_head(peer_id, self.network.head(peer_id), now))

    def _apply(self, actions: list[Action]) -> None:
        if self.stopped:
            return
        for act in actions:
            if isinstance(act, SendRequest):
                self._send(act)
            elif isinstance(act, ProcessBlocks):
                self._work.extend(act.blocks)
                self._start_work()
            elif isinstance(act, WriteCheckpoint):
                self.checkpoints += 1
            elif isinstance(act, BanPeer | DropPeer):
                if isinstance(act, BanPeer):
                    self.bans += 1
                # The peer-loss bookkeeping of SyncLink._apply (a handshake refusal is none).
                if self.connected.pop(act.peer_id, False) is None and act.peer_id != self._joining:
                    self.peers_lost += 1
        when = self.engine.next_timer()
        if when is not None and (self._wake_at is None or when < self._wake_at):
            self._wake_at = when
            self.env.process(self._wake_p(when, self._epoch))

    def _send(self, req: SendRequest) -> None:
        self.requests += 1
        if req.peer_id not in self.connected:
            return
        reply = self.network.serve(req.peer_id, req, self.chain, self.env.now)
        if reply is None:
            return
        self._pending[req.request_id] = req.peer_id
        self.env.process(self._deliver_p(req.request_id, req.peer_id, reply.response,
                                         reply.delay, self._epoch))

    def _start_work(self) -> None:
        while self._idle > 0 and self._work:
            block = self._work.popleft()
            self._idle -= 1
            self.env.process(self._process_p(block, self._epoch))

    def _deliver_p(self, rid: int, peer: str, response: Response, delay: float,
                   epoch: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay)
        self._deliver(rid, peer, response, epoch)

    def _process_p(self, block: Block, epoch: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(block.processing_cost)
        self._process(block, epoch)

    def _wake_p(self, when: float, epoch: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(max(0.0, when - self.env.now))
        self._wake(when, epoch)


SCENARIO = """
name: link-reference
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


def _digest(path: Path) -> tuple[str, str, str]:
    r = run(load_scenario(path), seed=3)
    h = hashlib.sha256()
    for k in sorted(r.timeseries):
        h.update(k.encode())
        h.update(np.ascontiguousarray(r.timeseries[k]).tobytes())
    return (r.summary_json(), h.hexdigest(),
            json.dumps(r.events, sort_keys=True, default=str))


def test_model_with_fast_link_equals_reference_link(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    fast = _digest(path)
    make: Callable[..., SyncLink] = _ReferenceLink
    monkeypatch.setattr(sim.runner, "SyncLink", make)
    ref = _digest(path)
    assert fast == ref
    v2 = _find(json.loads(fast[0]), "sync_service")["v2"]
    # The scenario reaches the paths that matter: bans, timeouts, a late answer, catch-up.
    assert v2["bans"] >= 1
    assert v2["requests_timed_out"] >= 1
    assert v2["late_responses"] >= 1
    assert v2["blocks_behind"] <= 2


def _find(tree: dict[str, Any], key: str) -> dict[str, Any]:
    if key in tree:
        found: dict[str, Any] = tree[key]
        return found
    for value in tree.values():
        if isinstance(value, dict):
            try:
                return _find(value, key)
            except KeyError:
                pass
    raise KeyError(key)


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 11), st.booleans()), max_size=60))
def test_network_reachable_list_follows_every_change(ops: list[tuple[int, int, bool]]) -> None:
    from sim.network import Network
    from sync.chain import Chain

    net = Network(Chain(np.random.default_rng(0), length=3), {"honest": 8, "churning": 4},
                  np.random.default_rng(1))
    ids = [p.peer_id for p in net.peers]
    for op, i, flag in ops:
        if op == 0:
            net.set_online(ids[i], flag)
        elif op == 1:
            net.crash(ids[i], flag)
        else:
            net.partition(ids[i:i + 3], flag)
        got = net.reachable()
        assert got == [p for p in ids if net.is_reachable(p)]
        got.clear()  # the caller's copy: the network's own list is untouched
        assert net.reachable() == [p for p in ids if net.is_reachable(p)]

"""A small deterministic discrete-event driver for one sync engine (heapq, no SimPy).

It connects an engine to a set of :class:`~sync.peers.Peer` and a :class:`~sync.chain.Chain`,
delivers answers after their delays, runs block processing on the engine's number of workers
(V1: 1, serial; V2: ``block_processing_concurrency``), keeps ONE pending wake-up per engine
from :meth:`SyncEngine.next_timer`, and optionally grows the chain, churns peers and restarts
the engine. It always terminates: when synced, at the time limit, after ``stall_limit_s``
without an import, or when nothing is left to happen (the clock then jumps to the stall limit
so the engine's ``stalled`` metric shows, as wall time would pass in reality).

Tests and benchmarks use it; it also records what a test needs to check the engines' rules
(requests beyond known heads, the largest block cache, checkpoints, the largest number of
requests in flight).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from sync.chain import Block, Chain
from sync.engine import SyncEngine
from sync.messages import (
    Action,
    BanPeer,
    DropPeer,
    ProcessBlocks,
    Response,
    SendRequest,
    WriteCheckpoint,
)
from sync.peers import Peer

_ARRIVE, _DONE, _WAKE, _JOIN, _LEAVE, _SLOT, _RESTART = range(7)


@dataclass(frozen=True, slots=True)
class DriverConfig:
    """How long and how to run (seconds).

    Attributes:
        time_limit_s: Stop at this simulated time.
        stall_limit_s: Stop after this long without an import.
        max_events: Hard cap on events handled (a guard, never expected to bind).
        target: Block number that counts as synced; None = the chain head (moving when the
            chain grows).
        grow_chain: Append a block every ``chain.config.slot_s`` (from time 0, whatever the
            chain's length) and announce it to every online peer's engine link.
        restart_at: Times at which the engine crashes and restarts.
    """

    time_limit_s: float = 86_400.0
    stall_limit_s: float = 600.0
    max_events: int = 10_000_000
    target: int | None = None
    grow_chain: bool = False
    restart_at: tuple[float, ...] = ()


@dataclass(slots=True)
class RunResult:
    """Outcome of one run.

    Attributes:
        synced: Whether the engine reached the target.
        reason: ``"synced"``, ``"stalled"``, ``"time_limit"`` or ``"event_limit"``.
        sim_time: Simulated seconds at the end.
        synced_to: Engine's newest imported block.
        target: Target block number at the end.
        events: Events handled.
        metrics: Engine metrics at the end.
        imported_ok: Whether the imported chain is canonical.
        sync_time: Simulated seconds until the target was reached (None if never).
        requests: Requests the engine sent.
        max_in_flight: Most requests the engine had outstanding at once.
        max_cached_blocks: Largest ``cached_blocks`` seen.
        beyond_known_head: Requests starting past every head the engine had been told.
        beyond_peer_head: Requests ending past the addressed peer's announced head.
        checkpoints: Checkpoint block numbers written, in order.
        bans: ``(peer_id, reason)`` of every ban.
        peer_ids_asked: Peers addressed, in order of first request.
    """

    synced: bool
    reason: str
    sim_time: float
    synced_to: int
    target: int
    events: int
    metrics: dict[str, float | int | bool]
    imported_ok: bool
    sync_time: float | None
    requests: int
    max_in_flight: int
    max_cached_blocks: int
    beyond_known_head: int
    beyond_peer_head: int
    checkpoints: list[int] = field(default_factory=list)
    bans: list[tuple[str, str]] = field(default_factory=list)
    peer_ids_asked: list[str] = field(default_factory=list)

    @property
    def blocks_per_second(self) -> float:
        """Blocks imported per simulated second over the run (to the sync time if synced)."""
        t = self.sync_time if self.sync_time is not None else self.sim_time
        return self.synced_to / t if t > 0 else 0.0


class Driver:
    """Run one engine against peers and a chain.

    Args:
        engine: The engine under test.
        chain: The canonical chain (grown in place when ``grow_chain``).
        peers: The peer population; each connects at time 0 (churning peers then come and
            go).
        config: Limits and options.
    """

    def __init__(self, engine: SyncEngine, chain: Chain, peers: Sequence[Peer],
                 config: DriverConfig | None = None) -> None:
        self.engine = engine
        self.chain = chain
        self.config = config or DriverConfig()
        self.peers = {p.peer_id: p for p in peers}
        self._events: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self.now = 0.0
        self._wake_at: float | None = None
        self._online: dict[str, None] = {}
        self._accepted: dict[str, int] = {}
        self._pending: dict[int, str] = {}
        self._work: deque[Block] = deque()
        self._idle_workers = engine.processing_workers
        self._epoch = 0
        self._max_known = 0
        self._last_progress_t = 0.0
        self._last_tip = engine.synced_to
        self._sync_time: float | None = None
        self.result = RunResult(False, "", 0.0, 0, 0, 0, {}, True, None, 0, 0, 0, 0, 0)

    def _push(self, t: float, kind: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, payload))

    def _target(self) -> int:
        t = self.config.target
        return self.chain.height if t is None else t

    def run(self) -> RunResult:
        """Run until synced, stalled or out of time.

        Returns:
            The outcome (also kept in :attr:`result`).
        """
        cfg = self.config
        eng = self.engine
        for peer in self.peers.values():
            self._push(0.0, _JOIN, peer.peer_id)
        for t in cfg.restart_at:
            self._push(t, _RESTART, None)
        if cfg.grow_chain:
            self._push(self.chain.config.slot_s, _SLOT, None)
        self._apply(eng.start(0.0))
        events = 0
        reason = "stalled"
        while True:
            if eng.synced_to >= self._target() and self._target() > 0:
                reason = "synced"
                break
            if not self._events:
                self.now = min(cfg.time_limit_s, self._last_progress_t + cfg.stall_limit_s)
                reason = "stalled" if self.now < cfg.time_limit_s else "time_limit"
                break
            t, _, kind, payload = heapq.heappop(self._events)
            if t > cfg.time_limit_s:
                self.now = cfg.time_limit_s
                reason = "time_limit"
                break
            if t - self._last_progress_t >= cfg.stall_limit_s:
                self.now = self._last_progress_t + cfg.stall_limit_s
                reason = "stalled"
                break
            events += 1
            if events > cfg.max_events:
                reason = "event_limit"
                break
            self.now = t
            self._handle(kind, payload)
        r = self.result
        r.synced = reason == "synced"
        r.reason = reason
        r.sim_time = self.now
        r.synced_to = eng.synced_to
        r.target = self._target()
        r.events = events
        r.metrics = eng.metrics(self.now)
        r.imported_ok = eng.imported_matches(self.chain)
        r.sync_time = self._sync_time if r.synced else None
        return r

    def _handle(self, kind: int, payload: object) -> None:
        eng = self.engine
        now = self.now
        if kind == _ARRIVE:
            rid, peer_id, response = cast("tuple[int, str, Response]", payload)
            if self._pending.pop(rid, None) is not None and peer_id in self._online:
                self._apply(eng.on_response(rid, response, now))
        elif kind == _DONE:
            epoch, block = cast("tuple[int, Block]", payload)
            self._idle_workers += 1
            if epoch == self._epoch:
                self._apply(eng.blocks_processed((block,), now))
            self._start_work()
        elif kind == _WAKE:
            if payload == self._wake_at:
                self._wake_at = None
                self._apply(eng.on_timer(now))
        elif kind == _JOIN:
            self._join(str(payload))
        elif kind == _LEAVE:
            peer_id = str(payload)
            if peer_id in self._online:
                self._leave(peer_id)
                self._apply(eng.peer_disconnected(peer_id, now))
                peer = self.peers[peer_id]
                self._push(now + peer.offline_s(), _JOIN, peer_id)
        elif kind == _SLOT:
            self.chain.extend(1)
            for peer_id in list(self._online):
                head = self.peers[peer_id].head(self.chain)
                self._accepted[peer_id] = head
                self._max_known = max(self._max_known, head)
                self._apply(eng.peer_head(peer_id, head, now))
            self._push(now + self.chain.config.slot_s, _SLOT, None)
        elif kind == _RESTART:
            self._epoch += 1
            self._work.clear()
            self._apply(eng.restart(now))

    def _join(self, peer_id: str) -> None:
        peer = self.peers[peer_id]
        head = peer.head(self.chain)
        self._online[peer_id] = None
        self._accepted[peer_id] = head
        self._max_known = max(self._max_known, head)
        if peer.profile.churns:
            self._push(self.now + peer.online_s(), _LEAVE, peer_id)
        self._apply(self.engine.peer_connected(peer_id, head, self.now))

    def _leave(self, peer_id: str) -> None:
        self._online.pop(peer_id, None)
        self._accepted.pop(peer_id, None)

    def _start_work(self) -> None:
        while self._idle_workers > 0 and self._work:
            block = self._work.popleft()
            self._idle_workers -= 1
            self._push(self.now + block.processing_cost, _DONE, (self._epoch, block))

    def _apply(self, actions: list[Action]) -> None:
        r = self.result
        eng = self.engine
        for act in actions:
            if isinstance(act, SendRequest):
                self._send(act)
            elif isinstance(act, ProcessBlocks):
                self._work.extend(act.blocks)
                self._start_work()
            elif isinstance(act, WriteCheckpoint):
                r.checkpoints.append(act.number)
            elif isinstance(act, BanPeer | DropPeer):
                if isinstance(act, BanPeer):
                    r.bans.append((act.peer_id, act.reason))
                self._leave(act.peer_id)
        tip = eng.synced_to
        if tip != self._last_tip:
            if tip > self._last_tip:
                self._last_progress_t = self.now
            self._last_tip = tip
            if self._sync_time is None and tip >= self._target() > 0:
                self._sync_time = self.now
        r.max_cached_blocks = max(r.max_cached_blocks, eng.cached_blocks)
        r.max_in_flight = max(r.max_in_flight, eng.in_flight)
        when = eng.next_timer()
        if when is not None and (self._wake_at is None or when < self._wake_at):
            self._wake_at = when
            self._push(max(when, self.now), _WAKE, when)

    def _send(self, req: SendRequest) -> None:
        r = self.result
        r.requests += 1
        if req.peer_id not in r.peer_ids_asked:
            r.peer_ids_asked.append(req.peer_id)
        if req.start > max(self._max_known, 0):
            r.beyond_known_head += 1
        announced = self._accepted.get(req.peer_id)
        if announced is not None and req.start + req.count - 1 > announced:
            r.beyond_peer_head += 1
        if req.peer_id not in self._online:
            return  # the peer is gone; the engine learns by timeout or never (V1)
        self._pending[req.request_id] = req.peer_id
        reply = self.peers[req.peer_id].serve(req, self.chain, self.now)
        if reply is not None:
            self._push(self.now + reply.delay, _ARRIVE, (req.request_id, req.peer_id,
                                                        reply.response))


def run_sync(engine: SyncEngine, chain: Chain, peers: Sequence[Peer],
             config: DriverConfig | None = None) -> RunResult:
    """Convenience: build a :class:`Driver` and run it.

    Args:
        engine: The engine.
        chain: The canonical chain.
        peers: The peers.
        config: Limits and options.

    Returns:
        The outcome.
    """
    return Driver(engine, chain, peers, config).run()


__all__ = ["Driver", "DriverConfig", "Response", "RunResult", "run_sync"]

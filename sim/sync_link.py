"""Connects a sans-I/O sync engine to the simulated network inside SimPy.

The engine (:class:`sync.v1.SyncV1` or :class:`sync.v2.SyncV2`) only returns actions; this
link carries them out on the SimPy clock: a request goes to the addressed peer, whose answer
(:meth:`sync.peers.Peer.serve`) comes back after its delay as one SimPy timeout; blocks are
processed on the engine's workers (V1: its single GenServer, serially; V2:
``block_processing_concurrency`` workers), each block's processing cost is a timeout; and the
engine's timers use **one** pending wake-up at a time (SimPy timeouts cannot be cancelled, so a
timeout per request would pile up in the event heap; simulation-anchors.md §2 "Timeout").
Each of these delays is a :func:`~sim.call_later.call_later` (the event order of a one-timeout
process, at half its cost), or, when the link's own callbacks schedule it, a
:func:`~sim.call_later.call_after` (the same order at one event instead of two: see
:meth:`SyncLink._later`).
The same rules as the sync package's own test driver (``sync/driver.py``).

The network's state (which peers are online, partitioned, silenced, slowed or lying) lives
in :class:`~sim.network.Network`; the link asks it before delivering anything.

**Connections.** The link keeps its engine's own connection set (:attr:`SyncLink.connected`:
V1 holds at most ``@max_peers`` 10, V2 ``max_peer_connections`` 50), so each engine's peer
losses are its own: :attr:`SyncLink.peers_lost` counts the connected peers that went down or
were partitioned away and those the engine itself dropped or banned; a peer refused at its
handshake (the table is full, or it is banned) was never connected and is not lost.
:meth:`SyncLink.take_interval` hands the sampler an interval's losses and the connections
held at its start, the inputs of the engine's ``peer_disconnect_rate_percent`` (the guide's
``Mana.Monitoring.Alerts`` ``peer_disconnect_rate``, L171-184; the V2 engine's
``[:ex_wire, :simple_sync_v2, :peer_disconnected]`` telemetry, mana-source-facts.md §4.2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import simpy

from sim.call_later import call_after, call_later, urgent_pending
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

if TYPE_CHECKING:
    from sim.network import Network


class SyncLink:
    """Drives one engine on the SimPy clock.

    Args:
        env: The SimPy environment.
        version: ``"v1"`` or ``"v2"``.
        engine: The engine.
        chain: The canonical chain.
        network: The peers and their fault state.

    Attributes:
        connected: Peer ids the engine currently considers connected.
        peers_lost: Connected peers lost since the start: gone down, or dropped or banned by
            the engine (handshake refusals excluded; see the module doc).
        requests: Requests sent.
        bytes_received: Bytes of answers delivered (for bandwidth metrics).
        checkpoints: Checkpoints written.
        bans: Bans issued.
        stopped: True once the engine is stopped (V1 deprecation).
    """

    def __init__(self, env: simpy.Environment, version: str, engine: SyncEngine, chain: Chain,
                 network: Network) -> None:
        self.env = env
        self.version = version
        self.engine = engine
        self.chain = chain
        self.network = network
        self.connected: dict[str, None] = {}
        self._pending: dict[int, str] = {}
        self._work: deque[Block] = deque()
        self._idle = engine.processing_workers
        self._epoch = 0
        self._wake_at: float | None = None
        self.requests = 0
        self.bytes_received = 0
        self.checkpoints = 0
        self.bans = 0
        self.stopped = False
        self.peers_lost = 0
        # The peer whose handshake is being carried out (peer_up): a DropPeer of it is a
        # refusal, not a lost connection.
        self._joining: str | None = None
        # take_interval's marks: peers lost and connections held at the last call.
        self._lost_mark = 0
        self._connected_mark = 0
        # True while one of the link's own callbacks (_deliver, _process, _wake) runs: they
        # schedule nothing but the link's delays, so those may take call_after's one event
        # instead of call_later's two (see _later).
        self._direct = False

    # -- inputs from the network ---------------------------------------------------------

    def start(self) -> None:
        """Start the engine and connect every reachable peer."""
        now = self.env.now
        self._apply(self.engine.start(now))
        for peer_id in self.network.reachable():
            self.peer_up(peer_id)
        # The first interval's connections at its start: those made here (a link started
        # between two samples counts from its start).
        self._lost_mark = self.peers_lost
        self._connected_mark = len(self.connected)

    def take_interval(self) -> tuple[int, int]:
        """The peers lost since the last call and the connections held at that call.

        Called once per metrics sample: the interval's lost peers and the peers connected at
        its start (at :meth:`start` for the first interval). A window's disconnect rate is
        its intervals' losses over its first interval's connections
        (:func:`sim.rollout_link.snapshot_from_rows`).

        Returns:
            ``(lost, connected_at_start)``.
        """
        lost = self.peers_lost - self._lost_mark
        at_start = self._connected_mark
        self._lost_mark = self.peers_lost
        self._connected_mark = len(self.connected)
        return lost, at_start

    def peer_up(self, peer_id: str) -> None:
        """A peer became reachable."""
        if self.stopped or peer_id in self.connected:
            return
        self.connected[peer_id] = None
        head = self.network.head(peer_id)
        self._joining = peer_id
        try:
            self._apply(self.engine.peer_connected(peer_id, head, self.env.now))
        finally:
            self._joining = None

    def peer_down(self, peer_id: str) -> None:
        """A peer became unreachable."""
        if self.stopped or peer_id not in self.connected:
            return
        del self.connected[peer_id]
        self.peers_lost += 1
        self._apply(self.engine.peer_disconnected(peer_id, self.env.now))

    def announce_heads(self) -> None:
        """Every connected peer announces its head (called once per slot)."""
        if self.stopped:
            return
        peer_heads = self.engine.peer_heads
        now = self.env.now
        connected = self.connected
        ids = list(connected)
        # Heads are pure reads of the network (nothing below changes the chain or a profile).
        # The engine returns at the first announcement that gives actions; the announcements
        # that gave none need no _apply (see _apply's note on the wake-up invariant). Every
        # id is connected when the heads are read, and only _apply changes `connected` here,
        # only by removing peers: so the plain pairs serve until an _apply removes one; from
        # then on a filter skips a dropped peer still to come, as a loop of peer_head calls
        # would (it looks `connected` up at each announcement, after any earlier _apply).
        pending: Iterator[tuple[str, int]] = zip(ids, self.network.heads(ids), strict=True)
        size = len(connected)
        filtered = False
        while actions := peer_heads(pending, now):
            self._apply(actions)
            if not filtered and len(connected) != size:
                pending = ((p, h) for p, h in pending if p in connected)
                filtered = True

    def restart(self) -> None:
        """The node restarted: in-flight work is lost; the engine resumes from checkpoint."""
        if self.stopped:
            return
        self._epoch += 1
        self._wake_at = None
        self._work.clear()
        self._pending.clear()
        self._apply(self.engine.restart(self.env.now))

    def stop(self) -> None:
        """Stop the engine for good (V1 deprecation); nothing it asked for is delivered.

        Its connections close with it; a shut-down is not a lost peer (:attr:`peers_lost`).
        """
        self.stopped = True
        self.connected.clear()
        self._epoch += 1
        self._work.clear()
        self._pending.clear()

    def carry_out(self, actions: list[Action]) -> None:
        """Carry out actions the engine returned to a call made outside the link.

        For engine calls the runner makes itself, such as the checkpoint hand-over at V1
        deprecation (:meth:`sync.v2.SyncV2.adopt_checkpoint`): their requests are sent, their
        blocks processed and the engine's next timer armed, as for the link's own calls.

        Args:
            actions: The engine's actions, in order.
        """
        self._apply(actions)

    # -- carrying out actions ------------------------------------------------------------

    def _apply(self, actions: list[Action]) -> None:
        # Invariant on return (stopped aside): next_timer() is None, or a wake-up is pending
        # at _wake_at <= next_timer(). _wake_at only goes back to None just before an _apply
        # (in _wake and restart) and the engine only changes inside calls whose answer goes
        # to _apply; so an engine call that answers [] and cannot move next_timer (peer_head:
        # V1 never, V2 only by sending) would leave _apply([]) with nothing to do.
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
                if act.peer_id in self.connected:
                    del self.connected[act.peer_id]
                    if act.peer_id != self._joining:
                        self.peers_lost += 1  # an established connection the engine ended
        when = self.engine.next_timer()
        if when is not None and (self._wake_at is None or when < self._wake_at):
            self._wake_at = when
            self._later(max(0.0, when - self.env.now), self._wake, when, self._epoch)

    def _send(self, req: SendRequest) -> None:
        self.requests += 1
        if req.peer_id not in self.connected:
            return  # gone: the engine learns by its timeout (V2) or never (V1)
        reply = self.network.serve(req.peer_id, req, self.chain, self.env.now)
        if reply is None:
            return
        self._pending[req.request_id] = req.peer_id
        self._later(reply.delay, self._deliver, req.request_id, req.peer_id, reply.response,
                    self._epoch)

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        # In the link's own callbacks every delay is scheduled last (nothing but more of
        # these follows it in the callback), so with no URGENT event pending call_after gives
        # the order of call_later (see call_after) at one event instead of two. Elsewhere
        # (the slot's announcements, churn, faults, starts) the caller may schedule more
        # after the link returns: call_later.
        if self._direct and not urgent_pending(self.env):
            call_after(self.env, delay, fn, *args)
        else:
            call_later(self.env, delay, fn, *args)

    def _deliver(self, request_id: int, peer_id: str, response: Response, epoch: int) -> None:
        if epoch != self._epoch or self._pending.pop(request_id, None) is None:
            return
        if peer_id not in self.connected or not self.network.is_reachable(peer_id):
            return
        self.bytes_received += response.nbytes
        self._direct = True
        self._apply(self.engine.on_response(request_id, response, self.env.now))
        self._direct = False

    def _start_work(self) -> None:
        while self._idle > 0 and self._work:
            block = self._work.popleft()
            self._idle -= 1
            self._later(block.processing_cost, self._process, block, self._epoch)

    def _process(self, block: Block, epoch: int) -> None:
        self._idle += 1
        self._direct = True
        if epoch == self._epoch and not self.stopped:
            self._apply(self.engine.blocks_processed((block,), self.env.now))
        self._start_work()
        self._direct = False

    def _wake(self, when: float, epoch: int) -> None:
        if self._wake_at != when or epoch != self._epoch or self.stopped:
            return
        self._wake_at = None
        self._direct = True
        self._apply(self.engine.on_timer(self.env.now))
        self._direct = False

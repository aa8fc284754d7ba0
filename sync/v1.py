"""SyncV1: upstream ``ExWire.Sync`` as written, as a sans-I/O state machine.

Source: ``mana-ethereum/mana apps/ex_wire/lib/ex_wire/sync.ex`` (identical in
``Hydepwns/mana``), ``.../struct/block_queue.ex`` and ``.../peer_supervisor.ex``; summarised in
``reference/mana-source-facts.md`` §4.1. What is reproduced:

* After ``@startup_delay`` (10 s) the first ``GetBlockHeaders{next, max_headers: 100}`` goes to
  one **random** peer. ``next`` is ``best + 1`` advanced past every number in
  ``block_numbers``, a set that is only ever added to (sync.ex L255-274, L480-496).
* Each header response queues the headers (keyed by number then hash, commitments = sender)
  and sends **one** ``GetBlockBodies`` for all of them to a random, possibly different, peer,
  even when the list is empty (sync.ex L374-440).
* Bodies are matched to every queued header with the same body root (block_queue.ex
  L130-172); ready items with ``commitments >= commitment_count`` (1) are dequeued and
  processed (L175-242).
* Processing (``Blocktree.verify_and_add_block``): an invalid block is dropped; a block whose
  parent is missing waits in a backlog keyed by parent hash; an added block releases its
  backlogged children (block_queue.ex L324-345).
* **One batch in flight**: the next header request fires only when a response leaves the queue
  empty (sync.ex L519-527) or a headers response is empty. The GenServer processes serially,
  so here "empty" also waits for the blocks handed out to finish processing.
* **No request timeout**: a silent peer, a lost answer or a body that matches nothing stalls
  sync for good. The stall shows in ``metrics`` (``stalled``, ``sync_speed_bps`` 0) and the
  engine then wants no timer, so a driver stops. ``request_timeout_ms`` (off by default, as in
  the code) re-sends the outstanding request to a random peer when nothing drained the queue
  in time.
* A checkpoint when the tree changed and ``best % 100 == 0`` (sync.ex L499-511; a best that
  jumps over a multiple of 100 by a backlog release skips it, as in the code).
* With no peer connected the request is retried after ``@retry_delay`` (5 s, sync.ex
  L591-614). At most ``@max_peers`` 10 peers (peer_supervisor.ex L20).
* Answers are not matched to requests: a late answer from anyone is used.

Deviation: at the head (``next`` above every head the engine knows), the code would request
anyway and spin on empty answers; this engine waits ``retry_delay`` and looks again, so it
never asks beyond the best head it knows.

Quirk reproduced: a number whose (bad) header was queued stays in ``block_numbers`` after the
bad block is dropped, so it is never requested again and sync stops importing there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sync.chain import HEADER_BYTES, Block, ChainRules
from sync.config_range import at_least, positive, require
from sync.engine import ImportingEngine
from sync.ledger import ImportedChain
from sync.messages import (
    Action,
    DropPeer,
    ProcessBlocks,
    Response,
    SendRequest,
    WriteCheckpoint,
)
from sync.number_set import NumberSet
from sync.telemetry import Telemetry

PEER_BYTES = 1_024
"""Modelled memory per connected peer entry, in bytes."""


@dataclass(frozen=True, slots=True)
class SyncV1Config:
    """ExWire.Sync constants (sync.ex L43-48), in the code's units.

    Attributes:
        blocks_per_request: ``@blocks_per_request`` 100.
        save_block_interval: ``@save_block_interval`` 100 (checkpoint every N blocks).
        startup_delay_ms: ``@startup_delay`` 10,000 ms.
        retry_delay_ms: ``@retry_delay`` 5,000 ms.
        max_peers: ``@max_peers`` 10 (peer_supervisor.ex L20).
        commitment_count: Confirming peers needed (config.exs L35: 1).
        request_timeout_ms: Not in the code; None (default) = no timeout, as written.
        stall_after_s: Seconds without an import, while behind, before ``stalled`` is True.
        metrics_window_s: Window of the rate metrics, in seconds.
    """

    blocks_per_request: int = 100
    save_block_interval: int = 100
    startup_delay_ms: int = 10_000
    retry_delay_ms: int = 5_000
    max_peers: int = 10
    commitment_count: int = 1
    request_timeout_ms: int | None = None
    stall_after_s: float = 60.0
    metrics_window_s: float = 30.0

    def __post_init__(self) -> None:
        """Check ranges: a zero retry delay or batch would hang a run or import nothing.

        Raises:
            ValueError: ``"FIELD must be ...; got X"`` for the first bad field.
        """
        at_least("blocks_per_request", self.blocks_per_request, 1)
        at_least("save_block_interval", self.save_block_interval, 1)
        require(self.startup_delay_ms >= 0, "startup_delay_ms", ">= 0",
                self.startup_delay_ms)
        positive("retry_delay_ms", self.retry_delay_ms)
        at_least("max_peers", self.max_peers, 1)
        at_least("commitment_count", self.commitment_count, 1)
        require(self.commitment_count <= self.max_peers, "commitment_count",
                f"<= max_peers ({self.max_peers})", self.commitment_count)
        if self.request_timeout_ms is not None:
            positive("request_timeout_ms", self.request_timeout_ms)
        positive("stall_after_s", self.stall_after_s)
        positive("metrics_window_s", self.metrics_window_s)

    @property
    def startup_delay_s(self) -> float:
        """``startup_delay_ms`` in seconds."""
        return self.startup_delay_ms / 1e3

    @property
    def retry_delay_s(self) -> float:
        """``retry_delay_ms`` in seconds."""
        return self.retry_delay_ms / 1e3

    @property
    def request_timeout_s(self) -> float | None:
        """``request_timeout_ms`` in seconds, or None when off."""
        return None if self.request_timeout_ms is None else self.request_timeout_ms / 1e3


class _Item:
    """A ``BlockQueue`` entry: header, commitments and readiness."""

    __slots__ = ("block", "commitments", "ready")

    def __init__(self, block: Block) -> None:
        self.block = block
        self.commitments: dict[str, None] = {}
        self.ready = False


class SyncV1(ImportingEngine):
    """``ExWire.Sync`` as written (see the module docstring).

    Args:
        rules: Genesis and seal check of the chain being synced.
        rng: Source of the random peer choices.
        config: Constants; defaults are the code's.
    """

    processing_workers = 1
    """V1 is one GenServer: blocks are processed one at a time."""

    def __init__(self, rules: ChainRules, rng: np.random.Generator,
                 config: SyncV1Config | None = None) -> None:
        self.config = config or SyncV1Config()
        self.rules = rules
        self._rng = rng
        cfg = self.config
        self._retry_s = cfg.retry_delay_s
        self._timeout_s = cfg.request_timeout_s
        self.ledger = ImportedChain(rules.genesis)
        self.telemetry = Telemetry(window_s=cfg.metrics_window_s,
                                   stall_after_s=cfg.stall_after_s)
        self._peers: dict[str, int] = {}
        self._queue: dict[int, dict[int, _Item]] = {}
        # A set in the real code; NumberSet keeps its contiguous run as two integers.
        self._block_numbers = NumberSet()
        self._backlog: dict[int, list[Block]] = {}
        self._backlog_size = 0
        self._processing: dict[int, int] = {}
        self._processing_count = 0
        self._highest = 0
        self._next_id = 0
        self._wake: float | None = None
        self._outstanding: SendRequest | None = None
        self._started = False
        self._peer_of: dict[int, str] = {}
        self._kind_of: dict[int, str] = {}

    # -- accessors -------------------------------------------------------------------------

    @property
    def connected_peers(self) -> tuple[str, ...]:
        """Connected peer ids in connection order."""
        return tuple(self._peers)

    @property
    def cached_blocks(self) -> int:
        """Queued, backlogged and processing blocks (V1 has no bound on these)."""
        queue = self._queue
        return ((sum([len(s) for s in queue.values()]) if queue else 0) + self._backlog_size
                + self._processing_count)

    @property
    def in_flight(self) -> int:
        """1 while a request awaits its answer, else 0 (V1 has one batch in flight)."""
        return 0 if self._outstanding is None else 1

    def next_timer(self) -> float | None:
        """Next simulated time the engine wants ``on_timer``, or None."""
        deadline = self._outstanding.deadline if self._outstanding is not None else None
        if self._wake is None:
            return deadline
        return self._wake if deadline is None else min(self._wake, deadline)

    # -- events ----------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        """Begin syncing: the first request goes out after ``startup_delay``.

        Args:
            now: Simulated time in seconds.

        Returns:
            No actions (the request waits for the timer).
        """
        self._started = True
        self.telemetry.started_at = now
        self.telemetry.last_progress = now
        self._wake = now + self.config.startup_delay_s
        return []

    def shut_down(self) -> int:
        """Stop for good, gracefully (V1 deprecation): save the whole imported chain.

        Mana's V1 saves its blocktree only at every 100th block (``reference/
        mana-source-facts.md`` §4.1, ``ex_wire/lib/ex_wire/sync.ex`` L499-511); the guide's
        ``V1Deprecation`` stops V1's background processes "gracefully" with "no data loss
        during shutdown" and backs V1's state up first (guide L401-431), so a deprecation
        saves every imported block. The engine takes no events afterwards.

        Returns:
            The checkpoint: the newest imported block (the ledger's ``checkpoint_number``).
        """
        self._started = False
        self.telemetry.checkpoints += 1
        return self.ledger.mark_checkpoint()

    def restart(self, now: float) -> list[Action]:
        """Crash and restart: resume from the last checkpoint with empty queues.

        Args:
            now: Simulated time in seconds.

        Returns:
            No actions (the first request waits for the startup delay again).
        """
        self.ledger.rewind_to_checkpoint()
        self._queue.clear()
        self._block_numbers.clear()
        self._backlog.clear()
        self._backlog_size = 0
        self._processing.clear()
        self._processing_count = 0
        self._outstanding = None
        self._peer_of.clear()
        self._kind_of.clear()
        return self.start(now)

    def peer_connected(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A peer completed its handshake, announcing its best block number.

        Args:
            peer_id: The peer.
            head_number: Its best block number.
            now: Simulated time in seconds.

        Returns:
            ``DropPeer`` when the peer table is full, else nothing.
        """
        tel = self.telemetry
        tel.connect_attempts += 1
        if peer_id in self._peers:
            self._peers[peer_id] = max(self._peers[peer_id], head_number)
            tel.connects_accepted += 1
        elif len(self._peers) >= self.config.max_peers:
            tel.drops += 1
            return [DropPeer(peer_id, "too_many_peers")]
        else:
            self._peers[peer_id] = head_number
            tel.connects_accepted += 1
        self._highest = max(self._highest, head_number)
        return []

    def peer_head(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A connected peer announced a new head.

        Args:
            peer_id: The peer.
            head_number: Its new best block number.
            now: Simulated time in seconds.

        Returns:
            No actions (V1 only learns the number).
        """
        if peer_id in self._peers:
            self._peers[peer_id] = max(self._peers[peer_id], head_number)
            self._highest = max(self._highest, head_number)
        return []

    def peer_heads(self, announcements: Iterator[tuple[str, int]], now: float
                   ) -> list[Action]:
        """Several head announcements: :meth:`peer_head` for each ``(peer_id, head_number)``.

        V1 only learns the numbers, so every announcement is taken in this one call.

        Args:
            announcements: ``(peer_id, head_number)`` pairs, consumed to the end.
            now: Simulated time in seconds.

        Returns:
            No actions.
        """
        peers = self._peers
        highest = self._highest
        for peer_id, head_number in announcements:
            known = peers.get(peer_id)
            if known is not None:
                # max() spelled out (this runs for every peer every slot); ints, so equal.
                if head_number > known:
                    peers[peer_id] = head_number
                if head_number > highest:
                    highest = head_number
        self._highest = highest
        return []

    def peer_disconnected(self, peer_id: str, now: float) -> list[Action]:
        """A peer went away; an answer it owed never comes (V1 does not notice).

        Args:
            peer_id: The peer.
            now: Simulated time in seconds.

        Returns:
            No actions.
        """
        self._peers.pop(peer_id, None)
        return []

    def on_timer(self, now: float) -> list[Action]:
        """Fire due timers: the startup or retry request, or the optional request timeout.

        Args:
            now: Simulated time in seconds.

        Returns:
            Requests to send.
        """
        out: list[Action] = []
        pending = self._outstanding
        if pending is not None and pending.deadline is not None and pending.deadline <= now:
            self.telemetry.requests_timed_out += 1
            self._outstanding = None
            out += self._resend(pending, now)
        if self._wake is not None and self._wake <= now:
            self._wake = None
            out += self._request_next(now)
        return out

    def on_response(self, request_id: int, response: Response, now: float) -> list[Action]:
        """Handle a peer's answer (from any request; V1 does not match them).

        Args:
            request_id: The request answered.
            response: Its content.
            now: Simulated time in seconds.

        Returns:
            Follow-up requests and blocks to process.
        """
        tel = self.telemetry
        tel.received_bytes.add(now, response.nbytes)
        current = self._outstanding
        peer = self._peer_of.pop(request_id, "?")
        kind = self._kind_of.pop(request_id, None)
        if response.failure is not None:
            # ExWire has no failure message: a dead request is just silence.
            tel.requests_failed += 1
            return []
        if kind is None:
            kind = "headers" if response.headers or not response.bodies else "bodies"
        if kind == "headers":
            out = self._on_headers(peer, response.headers, now)
        else:
            out = self._on_bodies(response, now)
        if (current is not None and current.request_id == request_id
                and self._outstanding is current and not self._has_unready()):
            # Answered and nothing left to wait for: no timeout is pending any more.
            self._outstanding = None
        return out

    def blocks_processed(self, blocks: list[Block] | tuple[Block, ...],
                         now: float) -> list[Action]:
        """Blocks finished processing: add them to the tree (``verify_and_add_block``).

        Args:
            blocks: The processed blocks.
            now: Simulated time in seconds.

        Returns:
            A checkpoint and/or the next request when the queue drained.
        """
        tel = self.telemetry
        before = self.ledger.tip
        for block in blocks:
            left = self._processing.get(block.hash, 0)
            if left == 0:
                continue  # handed out before a restart
            if left == 1:
                del self._processing[block.hash]
            else:
                self._processing[block.hash] = left - 1
            self._processing_count -= 1
            tel.processed_blocks += 1
            tel.processing_cost_s += block.processing_cost
            self._add_block(block)
        gained = self.ledger.tip - before
        tel.imported(now, gained)
        out: list[Action] = []
        interval = self.config.save_block_interval
        if gained and self.ledger.tip % interval == 0:
            tel.checkpoints += 1
            out.append(WriteCheckpoint(self.ledger.mark_checkpoint(), self.ledger.tip_hash))
        if self._processing_count == 0 and not self._queue:
            out += self._request_next(now)
        return out

    # -- internals -------------------------------------------------------------------------

    def _random_peer(self) -> str | None:
        if not self._peers:
            return None
        ids = list(self._peers)
        return ids[int(self._rng.integers(len(ids)))]

    def _send(self, peer: str, kind: str, start: int, count: int, hashes: tuple[int, ...],
              now: float) -> SendRequest:
        self._next_id += 1
        deadline = None if self._timeout_s is None else now + self._timeout_s
        req = SendRequest(self._next_id, peer, "headers" if kind == "headers" else "bodies",
                          start, count, hashes, deadline)
        self._peer_of[req.request_id] = peer
        self._kind_of[req.request_id] = kind
        self._outstanding = req
        self.telemetry.requests_sent += 1
        return req

    def _request_next(self, now: float) -> list[Action]:
        if not self._started:
            return []
        peer = self._random_peer()
        if peer is None:
            self._wake = now + self._retry_s
            return []
        nxt = self.ledger.tip + 1
        while nxt in self._block_numbers:
            nxt += 1
        if nxt > self.best_known:
            self._wake = now + self._retry_s
            return []
        return [self._send(peer, "headers", nxt, self.config.blocks_per_request, (), now)]

    def _resend(self, req: SendRequest, now: float) -> list[Action]:
        peer = self._random_peer()
        if peer is None:
            self._wake = now + self._retry_s
            return []
        if req.kind == "headers":
            return [self._send(peer, "headers", req.start, req.count, (), now)]
        missing = tuple(it.block.hash for n in sorted(self._queue)
                        for it in self._queue[n].values() if not it.ready)
        if not missing:
            if not self._queue and self._processing_count == 0:
                return self._request_next(now)
            return []  # processing will drain the queue and fire the next request
        first = min(self._queue)
        return [self._send(peer, "bodies", first, len(missing), missing, now)]

    def _has_unready(self) -> bool:
        return any(not it.ready for slot in self._queue.values() for it in slot.values())

    def _on_headers(self, peer: str, headers: tuple[Block, ...], now: float) -> list[Action]:
        if not headers:
            return self._request_next(now)
        needed: list[int] = []
        for h in headers:
            if self.ledger.has(h):
                continue
            self._block_numbers.add(h.number)
            self._highest = max(self._highest, h.number)
            slot = self._queue.setdefault(h.number, {})
            item = slot.get(h.hash)
            if item is None:
                item = slot[h.hash] = _Item(h)
            item.commitments[peer] = None
            if not item.ready:
                needed.append(h.hash)
        target = self._random_peer()
        out: list[Action] = []
        if target is not None:
            start = headers[0].number
            out.append(self._send(target, "bodies", start, len(needed), tuple(needed), now))
        out += self._dequeue_ready(now)
        return out

    def _on_bodies(self, response: Response, now: float) -> list[Action]:
        by_root: dict[int, list[_Item]] = {}
        for slot in self._queue.values():
            for item in slot.values():
                if not item.ready:
                    by_root.setdefault(item.block.body_root, []).append(item)
        unmatched = 0
        for body in response.bodies:
            items = by_root.get(body.root, ())
            unmatched += not items
            for item in items:
                item.ready = True
        if unmatched:
            # As written a body matching no header is silently dropped; counted here so a
            # stall caused by a bad body can be told from one caused by silence.
            self.telemetry.bad_responses += 1
        return self._dequeue_ready(now)

    def _dequeue_ready(self, now: float) -> list[Action]:
        ready: list[Block] = []
        need = self.config.commitment_count
        for number in sorted(self._queue):
            slot = self._queue[number]
            for h in list(slot):
                item = slot[h]
                if item.ready and len(item.commitments) >= need:
                    ready.append(item.block)
                    del slot[h]
            if not slot:
                del self._queue[number]
        out: list[Action] = []
        if ready:
            for b in ready:
                self._processing[b.hash] = self._processing.get(b.hash, 0) + 1
            self._processing_count += len(ready)
            out.append(ProcessBlocks(tuple(ready)))
        elif not self._queue and self._processing_count == 0:
            out += self._request_next(now)
        return out

    def _add_block(self, block: Block) -> None:
        if not self.rules.header_ok(block):
            self.telemetry.invalid_blocks += 1
            return
        ledger = self.ledger
        if ledger.has(block):
            return
        if not ledger.extends_tip(block):
            self._backlog.setdefault(block.parent_hash, []).append(block)
            self._backlog_size += 1
            return
        ledger.append(block)
        # Release backlogged descendants (block_queue.ex L324-345), iteratively.
        stack = [block.hash]
        while stack:
            children = self._backlog.pop(stack.pop(), [])
            self._backlog_size -= len(children)
            for child in children:
                if ledger.extends_tip(child):
                    ledger.append(child)
                    stack.append(child.hash)

    def _memory_bytes(self) -> int:
        # Integer sums, each skipped while its dict is empty (the usual case once synced):
        # an empty sum is 0 either way.
        queue, backlog = self._queue, self._backlog
        ready_bytes = (sum([it.block.size if it.ready else HEADER_BYTES
                            for s in queue.values() for it in s.values()]) if queue else 0)
        backlog_bytes = (sum([b.size for bs in backlog.values() for b in bs]) if backlog
                         else 0)
        return (ready_bytes + backlog_bytes + 16 * len(self._block_numbers)
                + PEER_BYTES * len(self._peers) + 8 * (self.ledger.tip + 1))

    def _block_queue(self) -> int:
        queue = self._queue
        return ((sum([len(s) for s in queue.values()]) if queue else 0) + self._backlog_size
                + self._processing_count)

    def metrics(self, now: float) -> dict[str, float | int | bool]:
        """The guide's sync metrics plus counters (see :mod:`sync.telemetry`).

        Args:
            now: Simulated time in seconds.

        Returns:
            Metric name to value.
        """
        return self.telemetry.metrics(
            now, tip=self.ledger.tip, best_known=self.best_known,
            connected=len(self._peers), memory_bytes=self._memory_bytes(),
            block_queue=self._block_queue(), request_queue=0, in_flight=self.in_flight)

    def sample_values(self, now: float) -> tuple[float, ...]:
        """:meth:`sync.telemetry.Telemetry.sample_values` of this engine (the sampler's read).

        Args:
            now: Simulated time in seconds.

        Returns:
            The values :meth:`metrics` gives them, as floats.
        """
        return self.telemetry.sample_values(
            now, self.ledger.tip, self.best_known, len(self._peers), self._memory_bytes(),
            self._block_queue(), 0)

"""SyncV2: the guide's SimpleSyncV2 tuning made real, as a sans-I/O state machine.

No such code exists: the guide's ``config :mana, ExWire.SimpleSyncV2`` block (guide L666-680)
and ``V2Migrator``'s unused default maps (``Hydepwns/mana apps/mana/lib/mana/migration/
v2_migrator.ex`` L574-609, L648, L730-756) give only numbers (``reference/
mana-source-facts.md`` §4.3). This design borrows its mechanics from real clients
(``reference/client-anchors.md`` §2):

**Pipeline** (geth ``eth/downloader``: headers first, then bodies for them). The range
``tip+1 .. min(best known head, tip + block_cache_size)`` is cut into header tasks of
``block_request_batch_size`` (128, geth ``MaxBlockFetch``); each verified header batch becomes a
body task for the same hashes. Body tasks go before header tasks and lower numbers first, so
the blocks the importer needs next come first. Failed, timed-out or wrong tasks are re-queued
and handed to another peer when one can serve them (Lighthouse re-downloads a failed batch
from a different peer, ``range_sync/chain.rs``).

**Concurrency**. At most ``parallel_requests`` (V2Migrator 10) requests in flight. A peer holds
one at a time (Lighthouse's idle rule) unless its measured capacity allows more: geth's
``capacity = ceil(1 + 1.01 * rate * target_rtt)`` items (``p2p/msgrate``), so a peer gets
``capacity // batch`` slots, between 1 and ``max_requests_per_peer``. A request never asks a
peer past the head it announced.

**Peer choice and score**. With ``peer_scoring_enabled`` the best-scored idle peers get work
first (geth sorts idle peers by capacity); otherwise a random order from the engine's
Generator. The score (:mod:`sync.scoring`) weighs latency 0.3, reliability 0.4, throughput 0.3
in [0.1, 1.0], is updated on every answer and timeout, and decays toward neutral with a 600 s
half-life. A peer that serves wrong data (bad header seal or linkage, body not matching its
header) is banned at once, like Lighthouse's ``Fatal`` for ``InvalidData``; a peer whose score
falls to ``min_score`` is banned too (only while scoring is enabled). Bans last
``blacklist_duration`` (3,600 s) and a banned peer is refused when it reconnects.

**Timeouts** (our choice: RTT-adaptive, capped). A request for ``n`` items to a peer with a
measured rate for that kind gets ``clamp(ttl_scaling * n / rate, min_timeout, peer_timeout)``
(geth: ``min(3 * rtt / confidence, 1 min)`` for requests it sizes to ``rate * rtt``; our
batches have a fixed size, so the expected time ``n / rate`` stands for the RTT, and we cap
at the guide's ``peer_timeout_ms`` 30,000); an unmeasured peer, or one whose rate a timeout
reset to 0, gets the full ``peer_timeout_ms``. A timed-out request is re-queued; its late
answer is counted and ignored.

**Processing and memory**. Complete blocks go out in number order in ``ProcessBlocks``; the
caller runs them on ``block_processing_concurrency`` (4, V2Migrator ``max_workers``) workers
and reports each one. Import is in order (a block waits for its parent). Nothing above
``tip + block_cache_size`` (2,048) is ever requested, so downloaded-but-unimported blocks never
exceed the cache; when the window has less room than a batch the engine asks for less (no
less than a quarter batch unless that reaches the head).

**Checkpoints and restart**. A checkpoint at every multiple of ``sync_checkpoint_interval``
(1,000); ``restart`` forgets everything above the last checkpoint and resumes from there.

**Checkpoint hand-over** (V1 deprecation). When V1 sync is retired, "the sync checkpoint is
handed over" (issue 6 item 6): :meth:`SyncV2.adopt_checkpoint` takes V1's imported blocks up
to V1's checkpoint when V2 is behind it, writes that checkpoint as its own (a restart resumes
from it) and restarts its download pipeline just above it; when V2 is at or past it, its chain
and pipeline do not change, but V1's checkpoint becomes V2's if newer than V2's own last one
(so a later restart never sends V2 below the hand-over: Mana's sync resumes from the
blocktree saved in the node's database, whichever engine saved it, ``reference/
mana-source-facts.md`` §4.1 "Startup"). The guide's ``V1Deprecation`` only names the steps
("Stop V1 background processes ... Ensure no data loss during shutdown", "Create final backup
of V1 state", guide L401-431); V1's own checkpoint is Mana's blocktree save at every 100th
block (``reference/mana-source-facts.md`` §4.1, ``ex_wire/lib/ex_wire/sync.ex`` L499-511).

**Peer table**. Known peers (scores, bans) are kept for at most ``peer_cache_size`` (1,000)
entries; the disconnected peer seen longest ago is forgotten first (non-banned before banned).
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from sync.chain import HEADER_BYTES, Block, ChainRules
from sync.config_range import at_least, non_negative, positive, require
from sync.engine import ImportingEngine
from sync.ledger import ImportedChain
from sync.messages import (
    Action,
    BanPeer,
    DropPeer,
    ProcessBlocks,
    RequestKind,
    Response,
    SendRequest,
    WriteCheckpoint,
)
from sync.scoring import PeerScore, ScoringConfig, values_at
from sync.telemetry import Telemetry

PEER_BYTES = 1_024
"""Modelled memory per known-peer table entry, in bytes."""
REQUEST_BYTES = 256
"""Modelled memory per in-flight request, in bytes."""


MIN_PEER_TIMEOUT_MS = 100
"""Smallest ``peer_timeout_ms``: the median peer's round trip (:mod:`sync.peers`, 0.1 s).

Below it nearly every request times out, so nothing imports while the engine re-sends every
few milliseconds (at 1 ms a run costs about 2.5 s of CPU per simulated second: a hang). The
floor only refuses that hang: a body batch takes a median honest peer about 4.4 s (128 bodies
of ~100 kB at 3 MB/s), and below about 2 s no default honest peer delivers one in time, so V2
imports nothing while the answers it gave up on keep the peers' uplinks (shared with V1) busy.
``mana-sim validate`` warns below the batch time (``sim.scenario.honest_batch_seconds``); the
floor stays at one round trip because a smaller batch or faster peers make shorter timeouts work.
"""


@dataclass(frozen=True, slots=True)
class SyncV2Config:
    """SimpleSyncV2 settings under the guide's names and units (guide L666-680, V2Migrator).

    Attributes:
        max_peer_connections: Connected peers at most (50).
        block_request_batch_size: Headers or bodies per request (128).
        peer_scoring_enabled: Best-score peer choice (True) or random (False).
        sync_checkpoint_interval: Blocks between checkpoints (1,000).
        peer_timeout_ms: Request timeout cap in milliseconds (30,000; at least
            :data:`MIN_PEER_TIMEOUT_MS`; usable from about one honest peer's body-batch
            time, 4.4 s at 128 blocks, see :data:`MIN_PEER_TIMEOUT_MS`).
        block_processing_concurrency: Processing workers (4).
        block_cache_size: Downloaded-but-unimported blocks at most (2,048).
        peer_cache_size: Known-peer table entries at most (1,000).
        parallel_requests: Requests in flight at most (V2Migrator 10).
        blacklist_duration: Ban length in SECONDS (V2Migrator 3,600 s).
        adaptive_timeout: RTT-adaptive timeouts capped at ``peer_timeout_ms`` (True) or the
            fixed ``peer_timeout_ms`` (False).
        ttl_scaling: Timeout as a multiple of the measured round trip (geth 3).
        min_timeout_ms: Floor of the adaptive timeout in ms (geth ``rttMinEstimate`` 2 s).
        target_rtt_ms: Round trip a peer's extra slots are sized for, in ms.
        max_requests_per_peer: Slots per peer at most, however fast it is.
        scoring: Score weights, bounds and decay.
        stall_after_s: Seconds without an import, while behind, before ``stalled`` is True.
        metrics_window_s: Window of the rate metrics, in seconds.
    """

    max_peer_connections: int = 50
    block_request_batch_size: int = 128
    peer_scoring_enabled: bool = True
    sync_checkpoint_interval: int = 1_000
    peer_timeout_ms: int = 30_000
    block_processing_concurrency: int = 4
    block_cache_size: int = 2_048
    peer_cache_size: int = 1_000
    parallel_requests: int = 10
    blacklist_duration: int = 3_600
    adaptive_timeout: bool = True
    ttl_scaling: float = 3.0
    min_timeout_ms: int = 2_000
    target_rtt_ms: int = 5_000
    max_requests_per_peer: int = 4
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    stall_after_s: float = 60.0
    metrics_window_s: float = 30.0

    @property
    def peer_timeout_s(self) -> float:
        """``peer_timeout_ms`` in seconds."""
        return self.peer_timeout_ms / 1e3

    @property
    def min_timeout_s(self) -> float:
        """``min_timeout_ms`` in seconds."""
        return self.min_timeout_ms / 1e3

    @property
    def target_rtt_s(self) -> float:
        """``target_rtt_ms`` in seconds."""
        return self.target_rtt_ms / 1e3

    @property
    def blacklist_s(self) -> float:
        """``blacklist_duration`` in seconds (already seconds at the config layer)."""
        return float(self.blacklist_duration)

    def __post_init__(self) -> None:
        """Check ranges: a zero timeout, batch or worker count would hang or import nothing.

        Raises:
            ValueError: ``"FIELD must be ...; got X"`` for the first bad field.
        """
        at_least("max_peer_connections", self.max_peer_connections, 1)
        at_least("block_request_batch_size", self.block_request_batch_size, 1)
        at_least("sync_checkpoint_interval", self.sync_checkpoint_interval, 1)
        require(self.peer_timeout_ms >= MIN_PEER_TIMEOUT_MS, "peer_timeout_ms",
                f">= {MIN_PEER_TIMEOUT_MS} (ms)", self.peer_timeout_ms)
        at_least("block_processing_concurrency", self.block_processing_concurrency, 1)
        at_least("block_cache_size", self.block_cache_size, 1)
        require(self.peer_cache_size >= self.max_peer_connections, "peer_cache_size",
                f">= max_peer_connections ({self.max_peer_connections})", self.peer_cache_size)
        at_least("parallel_requests", self.parallel_requests, 1)
        non_negative("blacklist_duration", self.blacklist_duration)
        positive("ttl_scaling", self.ttl_scaling)
        positive("min_timeout_ms", self.min_timeout_ms)
        positive("target_rtt_ms", self.target_rtt_ms)
        at_least("max_requests_per_peer", self.max_requests_per_peer, 1)
        positive("stall_after_s", self.stall_after_s)
        positive("metrics_window_s", self.metrics_window_s)


@dataclass(slots=True)
class _Task:
    """A range still to fetch: headers ``start..start+count-1`` or bodies for ``hashes``."""

    start: int
    kind: RequestKind
    count: int
    hashes: tuple[int, ...] = ()
    avoid: tuple[str, ...] = ()

    @property
    def end(self) -> int:
        return self.start + self.count - 1


def _with(ids: tuple[str, ...], peer_id: str) -> tuple[str, ...]:
    """``ids`` plus ``peer_id`` (once): the peers a re-queued task should go to last."""
    return ids if peer_id in ids else (*ids, peer_id)


@dataclass(slots=True)
class _Peer:
    """A known-peer table entry."""

    peer_id: str
    head: int
    score: PeerScore
    connected: bool = False
    banned_until: float = float("-inf")
    last_seen: float = 0.0
    busy: int = 0


_Order = tuple[Sequence[_Peer], Sequence[_Peer], AbstractSet[str], Sequence[_Peer]]
"""Peers in dispatch order as ``(front, middle, moved, back)`` (see ``SyncV2._peer_order``)."""
_NO_IDS: frozenset[str] = frozenset()


@dataclass(slots=True)
class _InFlight:
    req: SendRequest
    task: _Task
    sent_at: float


@dataclass(frozen=True, slots=True)
class CheckpointHandover:
    """What :meth:`SyncV2.adopt_checkpoint` did.

    Attributes:
        outcome: ``"adopted"``; ``"not_behind"`` (the engine's tip was at or past the
            checkpoint: its chain did not change; the checkpoint became its own if newer
            than its last one); or ``"refused"`` (the offered chain differs from the
            imported one: nothing changed).
        checkpoint: The checkpoint offered (block number).
        tip_before: The engine's newest imported block before.
        tip_after: The engine's newest imported block after.
        actions: What the caller performs: the checkpoint write and new requests.
    """

    outcome: str
    checkpoint: int
    tip_before: int
    tip_after: int
    actions: list[Action]


class SyncV2(ImportingEngine):
    """The V2 sync engine (see the module docstring for the design and its anchors).

    Args:
        rules: Genesis and seal check of the chain being synced.
        rng: Source of random peer order when scoring is off.
        config: Settings; defaults are the guide's.
    """

    def __init__(self, rules: ChainRules, rng: np.random.Generator,
                 config: SyncV2Config | None = None) -> None:
        self.config = config or SyncV2Config()
        cfg = self.config
        self.rules = rules
        self._rng = rng
        self._timeout_s = cfg.peer_timeout_s
        self._min_timeout_s = cfg.min_timeout_s
        self._target_rtt_s = cfg.target_rtt_s
        self.ledger = ImportedChain(rules.genesis)
        self.telemetry = Telemetry(window_s=cfg.metrics_window_s,
                                   stall_after_s=cfg.stall_after_s)
        self._table: dict[str, _Peer] = {}
        self._connected: dict[str, None] = {}
        # _connected_peers()'s answer, None after any change of _connected.
        self._connected_cache: tuple[list[_Peer], dict[str, int]] | None = None
        # Table entries whose score has had a sample: every other score is exactly neutral
        # (see _ordered_peers). A superset is fine; entries leave with their table entry.
        self._scored: dict[str, None] = {}
        self._neutral_value = values_at([PeerScore(cfg.scoring, 0.0)], 0.0)[0]
        self._highest = 0
        self._next_id = 0
        self._started = False
        self._inflight: dict[int, _InFlight] = {}
        self._deadlines: list[tuple[float, int]] = []
        self._reset_pipeline()

    def _reset_pipeline(self) -> None:
        self._body_tasks: list[_Task] = []
        self._header_tasks: list[_Task] = []
        self._next_header = self.ledger.tip + 1
        self._headers: dict[int, Block] = {}
        self._ready: dict[int, Block] = {}
        self._emitted: dict[int, Block] = {}
        self._processed: dict[int, Block] = {}
        self._next_emit = self.ledger.tip + 1
        for inf in self._inflight.values():
            peer = self._table.get(inf.req.peer_id)
            if peer is not None:
                peer.busy -= 1
        self._inflight.clear()
        self._deadlines.clear()

    # -- accessors -------------------------------------------------------------------------

    @property
    def processing_workers(self) -> int:
        """Workers the caller should process blocks on (``block_processing_concurrency``)."""
        return self.config.block_processing_concurrency

    @property
    def connected_peers(self) -> tuple[str, ...]:
        """Connected peer ids in connection order."""
        return tuple(self._connected)

    @property
    def in_flight(self) -> int:
        """Requests awaiting an answer."""
        return len(self._inflight)

    @property
    def known_peers(self) -> int:
        """Entries in the known-peer table."""
        return len(self._table)

    @property
    def cached_blocks(self) -> int:
        """Downloaded blocks not yet imported (bounded by ``block_cache_size``)."""
        return len(self._ready) + len(self._emitted) + len(self._processed)

    def peer_score(self, peer_id: str, now: float) -> float | None:
        """A known peer's current score.

        Args:
            peer_id: The peer.
            now: Simulated time in seconds.

        Returns:
            The score, or None for an unknown peer.
        """
        peer = self._table.get(peer_id)
        return None if peer is None else peer.score.value(now)

    def is_banned(self, peer_id: str, now: float) -> bool:
        """Whether a peer is banned at ``now``.

        Args:
            peer_id: The peer.
            now: Simulated time in seconds.

        Returns:
            True while its ban lasts.
        """
        peer = self._table.get(peer_id)
        return peer is not None and peer.banned_until > now

    def next_timer(self) -> float | None:
        """Earliest deadline of a request in flight, or None."""
        dl = self._deadlines
        while dl:
            when, rid = dl[0]
            inf = self._inflight.get(rid)
            if inf is not None and inf.req.deadline == when:
                return when
            heapq.heappop(dl)
        return None

    # -- events ----------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        """Begin syncing.

        Args:
            now: Simulated time in seconds.

        Returns:
            The first requests.
        """
        self._started = True
        self.telemetry.started_at = now
        self.telemetry.last_progress = now
        return self._fill(now)

    def restart(self, now: float) -> list[Action]:
        """Crash and restart: drop everything above the last checkpoint and resume there.

        Peer connections, scores and bans survive (they live in the peer manager).

        Args:
            now: Simulated time in seconds.

        Returns:
            The first requests of the resumed sync.
        """
        self.ledger.rewind_to_checkpoint()
        self._reset_pipeline()
        return self.start(now)

    def adopt_checkpoint(self, source: ImportedChain, now: float) -> CheckpointHandover:
        """Take another engine's checkpoint as this engine's own (V1 deprecation).

        When ``source.checkpoint_number`` is past this engine's tip, the source's blocks up
        to it are appended to the imported chain (the same canonical chain: checked by hash
        at this engine's tip), the checkpoint is written as this engine's own, and the
        download pipeline restarts just above it, as after :meth:`restart` (requests in
        flight are abandoned: their answers count as late; blocks being processed are
        ignored when reported). Adopted blocks are not counted as imported by this engine
        (``blocks_imported``, ``sync_speed_bps``), but they are progress: the stall clock
        restarts.

        When this engine is at or past it (``"not_behind"``), its chain and pipeline do not
        change, but if the checkpoint is newer than this engine's own last checkpoint (the
        same block by hash) it is written as this engine's checkpoint: a later
        :meth:`restart` resumes from it, never from an older one (V2 saves only every
        ``sync_checkpoint_interval``-th block). Mana's sync loads the blocktree saved in the
        node's database when it starts (``reference/mana-source-facts.md`` §4.1,
        ``ex_wire/lib/ex_wire/sync.ex``), so the engine that starts after a crash resumes
        from the newest save, whichever engine made it.

        Args:
            source: The retiring engine's imported chain (its ``checkpoint_number`` is what
                is handed over).
            now: Simulated time in seconds.

        Returns:
            The outcome, the tips before and after, and the actions to perform (a
            ``"not_behind"`` hand-over's: the checkpoint write, if it recorded one).
        """
        number = source.checkpoint_number
        ledger = self.ledger
        tel = self.telemetry
        before = ledger.tip
        adopted = ledger.adopt(source, number)
        if adopted < 0:
            return CheckpointHandover("refused", number, before, before, [])
        if adopted == 0:
            # At or past it: V2 holds V1's checkpoint block already, if on the same chain.
            if ledger.hash_at(number) != source.hash_at(number):
                return CheckpointHandover("refused", number, before, before, [])
            if number <= ledger.checkpoint_number:
                return CheckpointHandover("not_behind", number, before, before, [])
            # V1's checkpoint is newer than V2's own (V2 saves every 1,000th block only):
            # it becomes V2's, so a restart resumes from it, not from V2's older one.
            ledger.record_checkpoint(number)
            tel.checkpoints += 1
            return CheckpointHandover("not_behind", number, before, before,
                                      [WriteCheckpoint(number, ledger.hash_at(number))])
        tel.checkpoints += 1
        tel.last_progress = now
        out: list[Action] = [WriteCheckpoint(ledger.mark_checkpoint(), ledger.tip_hash)]
        self._reset_pipeline()
        out += self._fill(now)
        return CheckpointHandover("adopted", number, before, ledger.tip, out)

    def peer_connected(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A peer completed its handshake, announcing its best block number.

        Args:
            peer_id: The peer.
            head_number: Its best block number.
            now: Simulated time in seconds.

        Returns:
            ``DropPeer`` if refused (banned, full), else new requests.
        """
        tel = self.telemetry
        tel.connect_attempts += 1
        peer = self._table.get(peer_id)
        if peer is not None and peer.banned_until > now:
            return [DropPeer(peer_id, "banned")]
        if ((peer is None or not peer.connected)
                and len(self._connected) >= self.config.max_peer_connections):
            tel.drops += 1
            return [DropPeer(peer_id, "too_many_peers")]
        if peer is None:
            if not self._make_room():
                tel.drops += 1
                return [DropPeer(peer_id, "peer_table_full")]
            peer = self._table[peer_id] = _Peer(peer_id, head_number,
                                                PeerScore(self.config.scoring, now))
        tel.connects_accepted += 1
        peer.connected = True
        peer.head = max(peer.head, head_number) if peer_id in self._connected else head_number
        peer.last_seen = now
        self._connected[peer_id] = None
        self._connected_cache = None
        self._highest = max(self._highest, head_number)
        return self._fill(now)

    def peer_head(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A connected peer announced a new head.

        Args:
            peer_id: The peer.
            head_number: Its new best block number.
            now: Simulated time in seconds.

        Returns:
            New requests the higher head allows.
        """
        peer = self._table.get(peer_id)
        if peer is None or not peer.connected:
            return []
        # max() spelled out: this runs for every peer every slot.
        if head_number > peer.head:
            peer.head = head_number
        if head_number > self._highest:
            self._highest = head_number
        return self._fill(now)

    def peer_heads(self, announcements: Iterator[tuple[str, int]], now: float
                   ) -> list[Action]:
        """Several head announcements, exactly as consecutive :meth:`peer_head` calls.

        Takes ``(peer_id, head_number)`` pairs from ``announcements`` until one of them
        produces actions, and returns those; the rest stay in the iterator. A caller performs
        the actions and calls again with the same iterator, so it acts at the very points
        where calling :meth:`peer_head` one by one would have given it something to do.

        Args:
            announcements: ``(peer_id, head_number)`` pairs; consumed up to and including
                the first that produces actions.
            now: Simulated time in seconds.

        Returns:
            The first non-empty :meth:`peer_head` answer, or ``[]`` once the iterator is
            exhausted.
        """
        table = self._table
        trigger = self._fill_trigger()
        for peer_id, head_number in announcements:
            peer = table.get(peer_id)
            if peer is None or not peer.connected:
                continue
            if head_number > peer.head:
                peer.head = head_number
            if head_number > self._highest:
                self._highest = head_number
            if head_number >= trigger:
                out = self._fill(now)
                if out:
                    return out
                trigger = self._fill_trigger()  # _fill may have queued tasks
        return []

    def _fill_trigger(self) -> float:
        """The smallest announced head for which :meth:`peer_head` would call :meth:`_fill`.

        ``_fill`` is skipped only when it would provably return [] having changed nothing:
        not started, or no task queued and ``_extend_tasks`` would add none: its limit is
        ``min(best_known, reach)`` with ``best_known = max(_highest, tip)`` and
        ``reach = tip + block_cache_size``, and ``nxt > min(max(h, tip), reach)`` iff
        ``nxt > reach or (nxt > h and nxt > tip)``. Between two ``_fill`` calls of
        :meth:`peer_heads` only ``_highest`` moves (up, to the head just announced; tip
        moves only on imports, and nothing there imports), so with ``h`` the highest after
        an announcement ``a``: fill iff ``a >= trigger``, where the trigger is -inf (always),
        inf (never) or ``nxt`` (once a head reaches it).

        Returns:
            The threshold: a block number, or ``math.inf`` / ``-math.inf`` for never /
            always.
        """
        if not self._started:
            return math.inf
        if self._body_tasks or self._header_tasks:
            return -math.inf
        nxt = self._next_header
        tip = self.ledger.tip
        if nxt > tip + self.config.block_cache_size:
            return math.inf
        if nxt <= tip or nxt <= self._highest:
            return -math.inf
        return nxt

    def peer_disconnected(self, peer_id: str, now: float) -> list[Action]:
        """A peer went away: re-queue what it owed.

        Args:
            peer_id: The peer.
            now: Simulated time in seconds.

        Returns:
            Replacement requests to other peers.
        """
        peer = self._table.get(peer_id)
        if peer is None or not peer.connected:
            return []
        self._disconnect(peer, now)
        return self._fill(now)

    def on_timer(self, now: float) -> list[Action]:
        """Expire requests whose deadline passed; re-queue them elsewhere.

        Args:
            now: Simulated time in seconds.

        Returns:
            Bans of peers whose score hit the minimum, and replacement requests.
        """
        out: list[Action] = []
        dl = self._deadlines
        while dl and dl[0][0] <= now:
            when, rid = heapq.heappop(dl)
            inf = self._inflight.get(rid)
            if inf is None or inf.req.deadline != when:
                continue
            del self._inflight[rid]
            self.telemetry.requests_timed_out += 1
            peer = self._table[inf.req.peer_id]
            peer.busy -= 1
            peer.score.on_timeout(now, inf.req.kind, now - inf.sent_at)
            self._scored[peer.peer_id] = None
            self._requeue(inf.task, peer.peer_id)
            out += self._check_min_score(peer, now)
        out += self._fill(now)
        return out

    def on_response(self, request_id: int, response: Response, now: float) -> list[Action]:
        """Handle a peer's answer: verify, store, re-queue, score, ban.

        Args:
            request_id: The request answered.
            response: Its content.
            now: Simulated time in seconds.

        Returns:
            Bans, blocks to process and new requests.
        """
        tel = self.telemetry
        tel.received_bytes.add(now, response.nbytes)
        inf = self._inflight.pop(request_id, None)
        if inf is None:
            tel.late_responses += 1
            return []
        peer = self._table[inf.req.peer_id]
        peer.busy -= 1
        peer.last_seen = now
        self._scored[peer.peer_id] = None  # most branches below sample the score
        out: list[Action] = []
        if response.failure is not None:
            tel.requests_failed += 1
            peer.score.on_failure(now)
            self._requeue(inf.task, peer.peer_id)
            out += self._check_min_score(peer, now)
        else:
            task = inf.task
            if task.kind == "headers":
                good, delivered = self._take_headers(task, response.headers, peer.peer_id)
            else:
                good, delivered = self._take_bodies(task, response, peer.peer_id)
            if not good:
                tel.bad_responses += 1
                self._requeue(task, peer.peer_id)
                reason = "bad_header" if task.kind == "headers" else "bad_body"
                out += self._ban(peer, now, reason)
            elif delivered == 0:
                # Nothing usable (geth: zero items resets capacity): a failure, not a lie.
                tel.requests_failed += 1
                peer.score.on_timeout(now, task.kind, now - inf.sent_at)
                out += self._check_min_score(peer, now)
            else:
                peer.score.on_success(now, task.kind, now - inf.sent_at, delivered,
                                      response.nbytes)
                out += self._emit()
        out += self._fill(now)
        return out

    def blocks_processed(self, blocks: list[Block] | tuple[Block, ...],
                         now: float) -> list[Action]:
        """Blocks finished processing: import them in order, checkpoint, ask for more.

        Args:
            blocks: The processed blocks.
            now: Simulated time in seconds.

        Returns:
            Checkpoints and new requests (the import window moved).
        """
        tel = self.telemetry
        for block in blocks:
            if self._emitted.get(block.number) != block:
                continue  # handed out before a restart
            del self._emitted[block.number]
            self._processed[block.number] = block
            tel.processed_blocks += 1
            tel.processing_cost_s += block.processing_cost
        out: list[Action] = []
        ledger = self.ledger
        interval = self.config.sync_checkpoint_interval
        gained = 0
        while ledger.tip + 1 in self._processed:
            block = self._processed.pop(ledger.tip + 1)
            self._headers.pop(block.number, None)
            if not ledger.extends_tip(block):
                # Unreachable with sealed, linked headers; refuse and refetch rather than crash.
                tel.invalid_blocks += 1
                self._reset_pipeline()
                break
            ledger.append(block)
            gained += 1
            if block.number % interval == 0:
                tel.checkpoints += 1
                out.append(WriteCheckpoint(ledger.mark_checkpoint(), block.hash))
        tel.imported(now, gained)
        out += self._fill(now)
        return out

    # -- internals -------------------------------------------------------------------------

    def _make_room(self) -> bool:
        if len(self._table) < self.config.peer_cache_size:
            return True
        victim: _Peer | None = None
        for p in self._table.values():
            if p.connected:
                continue
            key = (p.banned_until > p.last_seen, p.last_seen)
            if victim is None or key < (victim.banned_until > victim.last_seen,
                                        victim.last_seen):
                victim = p
        if victim is None:
            return False
        del self._table[victim.peer_id]
        self._scored.pop(victim.peer_id, None)
        return True

    def _disconnect(self, peer: _Peer, now: float) -> None:
        peer.connected = False
        peer.last_seen = now
        self._connected.pop(peer.peer_id, None)
        self._connected_cache = None
        for rid in [r for r, inf in self._inflight.items() if inf.req.peer_id == peer.peer_id]:
            inf = self._inflight.pop(rid)
            peer.busy -= 1
            self._requeue(inf.task, peer.peer_id)

    def _ban(self, peer: _Peer, now: float, reason: str) -> list[Action]:
        until = now + self.config.blacklist_s
        peer.banned_until = until
        self.telemetry.bans += 1
        self._disconnect(peer, now)
        return [BanPeer(peer.peer_id, until, reason)]

    def _check_min_score(self, peer: _Peer, now: float) -> list[Action]:
        if (self.config.peer_scoring_enabled and peer.connected
                and peer.score.value(now) <= self.config.scoring.min_score + 1e-12):
            return self._ban(peer, now, "min_score")
        return []

    def _requeue(self, task: _Task, peer_id: str) -> None:
        task.avoid = _with(task.avoid, peer_id)
        target = self._body_tasks if task.kind == "bodies" else self._header_tasks
        insort(target, task, key=lambda t: t.start)

    def _extend_tasks(self) -> None:
        cfg = self.config
        batch = cfg.block_request_batch_size
        tip = self.ledger.tip
        limit = min(max(self._highest, tip), tip + cfg.block_cache_size)  # best_known, inlined
        if self._next_header > limit:
            return  # the common case (every peer's head announcement after the first)
        min_chunk = max(1, min(batch // 4, cfg.block_cache_size))
        while self._next_header <= limit:
            room = limit - self._next_header + 1
            count = min(batch, room)
            if count < min_chunk and limit < self.best_known:
                break  # wait for the window to open a worthwhile chunk
            self._header_tasks.append(_Task(self._next_header, "headers", count))
            self._next_header += count

    def _ordered_peers(self, now: float) -> list[_Peer]:
        table = self._table
        connected = self._connected
        if not self.config.peer_scoring_enabled:
            peers = [table[p] for p in connected]
            if len(peers) > 1:
                order = self._rng.permutation(len(peers))
                peers = [peers[int(i)] for i in order]
            return peers
        # The list _peer_order's parts stand for (the dispatch picks from the parts).
        front, middle, moved, back = self._peer_order(now)
        if not moved:
            return list(middle)
        return [*front, *[p for p in middle if p.peer_id not in moved], *back]

    def _connected_peers(self) -> tuple[list[_Peer], dict[str, int]]:
        """The connected peers in connection order and each one's position in that list.

        Kept until ``_connected`` changes: a connected peer's table entry is never replaced
        (only peers not connected leave the table, and a new entry is made only for an id
        not in it).

        Returns:
            The list (not to be changed by the caller) and peer id to index in it.
        """
        cached = self._connected_cache
        if cached is None:
            table = self._table
            peers = [table[p] for p in self._connected]
            cached = self._connected_cache = (peers, {p.peer_id: k for k, p in enumerate(peers)})
        return cached

    def _slots(self, peer: _Peer, kind: RequestKind) -> int:
        cap = peer.score.capacity(kind, self._target_rtt_s)
        return max(1, min(self.config.max_requests_per_peer,
                          cap // self.config.block_request_batch_size))

    def _deadline(self, peer: _Peer, kind: RequestKind, count: int, now: float) -> float:
        # Batches here have a fixed size while geth sizes them to the peer's capacity, so
        # scale by size: expected time = items / measured rate (items per second).
        rate = peer.score.rate.get(kind, 0.0)
        if not self.config.adaptive_timeout or rate <= 0.0:
            return now + self._timeout_s
        expected = count / rate
        ttl = min(self._timeout_s, max(self._min_timeout_s, self.config.ttl_scaling * expected))
        return now + ttl

    def _fill(self, now: float) -> list[Action]:
        if not self._started:
            return []
        self._extend_tasks()
        room = self.config.parallel_requests - len(self._inflight)
        if room <= 0 or not self._connected or not (self._body_tasks or self._header_tasks):
            return []
        order = (self._peer_order(now) if self.config.peer_scoring_enabled
                 else ((), self._ordered_peers(now), _NO_IDS, ()))
        out: list[Action] = []
        for queue in (self._body_tasks, self._header_tasks):
            i = 0
            while i < len(queue) and room > 0:
                task = queue[i]
                peer = self._pick_ordered(order, task)
                if peer is None:
                    i += 1
                    continue
                queue.pop(i)
                out.append(self._send(peer, task, now))
                room -= 1
        return out

    def _peer_order(self, now: float) -> _Order:
        """The peers by score (scoring on) as parts, without building the list.

        ``(front, middle, moved, back)``: the list (:meth:`_ordered_peers`) is ``front``, then
        ``middle`` without the peers whose ids are in ``moved``, then ``back``. Building it
        costs more than the pick that reads it (almost always its first peer), so the
        dispatch picks from the parts (:meth:`_pick_ordered`).
        """
        # Best score first, equal scores in connection order (ids could encode behaviour):
        # a stable sort on -score. Built without touching the (many) peers never scored:
        # * their score is exactly neutral, so its value is _neutral_value, and decaying it
        #   would only move its time stamp (decay maps NEUTRAL to NEUTRAL for any dt, and the
        #   stamp is read by nothing but the decay), so skipping it changes no later value;
        # * so the order is: scored peers above neutral (best first, ties in connection
        #   order), then every peer at exactly the neutral value in connection order, then
        #   scored peers below it. A reverse sort is still stable in Python.
        peers, position = self._connected_peers()
        scored = self._scored
        # The scored peers' positions in connection order (from the smaller of the two sets:
        # few peers are ever scored in a long run with a stable population).
        if len(scored) < len(peers):
            ks = sorted([position[p] for p in scored if p in position])
        else:
            ks = [k for k, peer in enumerate(peers) if peer.peer_id in scored]
        if not ks:
            return (), peers, _NO_IDS, ()
        # Decayed in connection order (each score's decay depends on it alone).
        values = values_at([peers[k].score for k in ks], now)
        neutral = self._neutral_value
        above = [i for i, v in enumerate(values) if v > neutral]
        below = [i for i, v in enumerate(values) if v < neutral]
        if not above and not below:
            return (), peers, _NO_IDS, ()
        above.sort(key=values.__getitem__, reverse=True)
        below.sort(key=values.__getitem__, reverse=True)
        front = [peers[ks[i]] for i in above]
        back = [peers[ks[i]] for i in below]
        moved = {p.peer_id for p in front}
        moved.update(p.peer_id for p in back)
        return front, peers, moved, back

    def _pick_ordered(self, order: _Order, task: _Task) -> _Peer | None:
        """:meth:`_pick` over the list :meth:`_peer_order`'s parts stand for, in its order."""
        front, middle, moved, back = order
        fallback: _Peer | None = None
        end = task.end
        kind = task.kind
        avoid = task.avoid
        for part in (front, middle, back):
            skip = moved if part is middle else _NO_IDS
            for peer in part:
                if peer.head < end or peer.peer_id in skip or peer.busy >= self._slots(peer,
                                                                                      kind):
                    continue
                if peer.peer_id not in avoid:
                    return peer
                if fallback is None:
                    fallback = peer
        return fallback

    def _pick(self, peers: list[_Peer], task: _Task) -> _Peer | None:
        fallback: _Peer | None = None
        for peer in peers:
            if peer.head < task.end or peer.busy >= self._slots(peer, task.kind):
                continue
            if peer.peer_id not in task.avoid:
                return peer
            if fallback is None:
                fallback = peer
        return fallback

    def _send(self, peer: _Peer, task: _Task, now: float) -> SendRequest:
        self._next_id += 1
        deadline = self._deadline(peer, task.kind, task.count, now)
        req = SendRequest(self._next_id, peer.peer_id, task.kind, task.start, task.count,
                          task.hashes, deadline)
        self._inflight[req.request_id] = _InFlight(req, task, now)
        heapq.heappush(self._deadlines, (deadline, req.request_id))
        peer.busy += 1
        self.telemetry.requests_sent += 1
        return req

    def _take_headers(self, task: _Task, headers: tuple[Block, ...],
                      peer_id: str) -> tuple[bool, int]:
        """Verify a header answer; store the good prefix, re-queue the rest."""
        rules = self.rules
        if len(headers) > task.count:
            return False, 0
        prev_hash: int | None = None
        before = task.start - 1
        if before == self.ledger.tip:
            prev_hash = self.ledger.tip_hash
        elif before in self._headers:
            prev_hash = self._headers[before].hash
        for i, h in enumerate(headers):
            if h.number != task.start + i or not rules.header_ok(h):
                return False, 0
            if prev_hash is not None and h.parent_hash != prev_hash:
                return False, 0
            prev_hash = h.hash
        after = self._headers.get(task.start + len(headers))
        if headers and after is not None and after.parent_hash != headers[-1].hash:
            return False, 0
        for h in headers:
            self._headers[h.number] = h
        if headers:
            body = _Task(task.start, "bodies", len(headers), tuple(h.hash for h in headers))
            insort(self._body_tasks, body, key=lambda t: t.start)
        if len(headers) < task.count:
            rest = _Task(task.start + len(headers), "headers", task.count - len(headers),
                         avoid=_with(task.avoid, peer_id))
            insort(self._header_tasks, rest, key=lambda t: t.start)
        return True, len(headers)

    def _take_bodies(self, task: _Task, response: Response,
                     peer_id: str) -> tuple[bool, int]:
        """Verify a body answer against the headers; keep the good prefix."""
        bodies = response.bodies
        if len(bodies) > task.count:
            return False, 0
        blocks: list[Block] = []
        for i, body in enumerate(bodies):
            header = self._headers.get(task.start + i)
            if header is None or header.hash != task.hashes[i]:
                return False, 0  # the header went away (restart); treat as unusable
            if not self.rules.body_ok(header, body):
                return False, 0
            blocks.append(header)
        for b in blocks:
            self._ready[b.number] = b
        if len(bodies) < task.count:
            n = len(bodies)
            rest = _Task(task.start + n, "bodies", task.count - n, task.hashes[n:],
                         avoid=_with(task.avoid, peer_id))
            insort(self._body_tasks, rest, key=lambda t: t.start)
        return True, len(bodies)

    def _emit(self) -> list[Action]:
        out: list[Block] = []
        while self._next_emit in self._ready:
            b = self._ready.pop(self._next_emit)
            self._emitted[b.number] = b
            out.append(b)
            self._next_emit += 1
        return [ProcessBlocks(tuple(out))] if out else []

    def _memory_bytes(self) -> int:
        # Integer sums, each skipped while its dict is empty (the usual case once synced):
        # an empty sum is 0 either way.
        ready, emitted, processed = self._ready, self._emitted, self._processed
        cached = ((sum([b.size for b in ready.values()]) if ready else 0)
                  + (sum([b.size for b in emitted.values()]) if emitted else 0)
                  + (sum([b.size for b in processed.values()]) if processed else 0))
        return (cached + HEADER_BYTES * len(self._headers) + PEER_BYTES * len(self._table)
                + REQUEST_BYTES * len(self._inflight) + 8 * (self.ledger.tip + 1))

    def metrics(self, now: float) -> dict[str, float | int | bool]:
        """The guide's sync metrics plus counters (see :mod:`sync.telemetry`).

        Args:
            now: Simulated time in seconds.

        Returns:
            Metric name to value.
        """
        return self.telemetry.metrics(
            now, tip=self.ledger.tip, best_known=self.best_known,
            connected=len(self._connected), memory_bytes=self._memory_bytes(),
            block_queue=self.cached_blocks,
            request_queue=len(self._body_tasks) + len(self._header_tasks),
            in_flight=len(self._inflight))

    def sample_values(self, now: float) -> tuple[float, ...]:
        """:meth:`sync.telemetry.Telemetry.sample_values` of this engine (the sampler's read).

        Args:
            now: Simulated time in seconds.

        Returns:
            The values :meth:`metrics` gives them, as floats.
        """
        return self.telemetry.sample_values(
            now, self.ledger.tip, self.best_known, len(self._connected), self._memory_bytes(),
            self.cached_blocks, len(self._body_tasks) + len(self._header_tasks))

"""The network: the node's peers, their behaviour, churn, faults and partitions.

Peers are :class:`sync.peers.Peer` instances drawn from the sync package's profiles (honest,
slow, silent, flaky, liar, churning). Each peer serves the node's sync requests, relays
transactions to it and sends it sync requests of its own (drawn by :mod:`sim.inputs`).

Reachability: a peer is reachable when it is online (churning peers come and go), not
crashed and not cut off by a partition. It changes only through :meth:`Network.set_online`,
:meth:`Network.crash` and :meth:`Network.partition` (which keep the reachable list current).
Faults change a peer's behaviour for a while: ``peer_silence`` (it stops answering),
``peer_slowness`` (its latency and transfer time grow by a factor), ``peer_lying`` (it
corrupts half its answers) and ``peer_crash`` (it disconnects).
A fault's targets (:meth:`Network.pick`) are a seeded random sample of the peers it may hit
(a peer fault: the honest ones, so a fault is never hidden by a peer that already misbehaves;
a partition: all), or the first of them in population order. The sync engines connect in
that order too (V1 holds the first 10 reachable peers, V2 up to 50), so "the first" hits V1's
peers far harder than V2's: a random sample is what a real fault does, unrelated to which
engine holds a peer. Sync links are told when a peer goes down or comes up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

import numpy as np

from sync.chain import Chain
from sync.messages import SendRequest
from sync.peers import Peer, PeerProfile, Reply, build_peers

Listener = Callable[[str, bool], None]


def _toggle(members: set[str], item: str, present: bool) -> None:
    if present:
        members.add(item)
    else:
        members.discard(item)

"""Called as ``listener(peer_id, up)`` when a peer's reachability changes."""


class Network:
    """The peer population and its state.

    Args:
        chain: The canonical chain.
        counts: Profile name to number of peers.
        rng: Stream that builds the (shuffled) population; each peer gets its own stream.
    """

    def __init__(self, chain: Chain, counts: dict[str, int], rng: np.random.Generator) -> None:
        self.chain = chain
        self.peers: list[Peer] = build_peers(dict(sorted(counts.items())), rng)
        self.by_id = {p.peer_id: p for p in self.peers}
        self.index = {p.peer_id: i for i, p in enumerate(self.peers)}
        # Read-only outside this class: change them through set_online, crash and partition,
        # which keep the reachable() cache and the listeners right.
        self.online: dict[str, bool] = {p.peer_id: True for p in self.peers}
        self.crashed: set[str] = set()
        self.partitioned: set[str] = set()
        self.slow: dict[str, float] = {}
        self._saved_profiles: dict[str, PeerProfile] = {}
        self.listeners: list[Listener] = []
        self.disconnects = 0
        self.connects = 0
        # reachable(), kept until a change: online/crashed/partitioned only change in _set.
        self._reachable: list[str] | None = None
        # Whether no peer's head trails the chain (every profile's head_lag is 0, as in every
        # built-in profile): then every head is the height. Profiles change only through
        # set_behaviour, which recomputes it.
        self._no_lag = all(p.profile.head_lag == 0 for p in self.peers)

    # -- queries -------------------------------------------------------------------------

    def is_reachable(self, peer_id: str) -> bool:
        """Online, not crashed, not partitioned."""
        return (self.online.get(peer_id, False) and peer_id not in self.crashed
                and peer_id not in self.partitioned)

    def reachable(self) -> list[str]:
        """Reachable peer ids, in population order (a new list each call)."""
        if self._reachable is None:
            self._reachable = [p.peer_id for p in self.peers if self.is_reachable(p.peer_id)]
        return list(self._reachable)

    def head(self, peer_id: str) -> int:
        """The peer's best block number."""
        return self.by_id[peer_id].head(self.chain)

    def heads(self, peer_ids: Sequence[str]) -> list[int]:
        """Best block numbers of several peers (:meth:`head` each, the height read once)."""
        height = self.chain.height
        if self._no_lag:
            # `height - 0 if height > 0 else 0` is `height` for every height >= 0.
            return [height] * len(peer_ids)
        by_id = self.by_id
        # Peer.head_at inlined (``height - lag``, at least 0): the link asks for every
        # connected peer every slot. The profile is read each time: faults swap it.
        return [height - lag if height > (lag := by_id[p].profile.head_lag) else 0
                for p in peer_ids]

    def serve(self, peer_id: str, request: SendRequest, chain: Chain, now: float
              ) -> Reply | None:
        """The peer's answer to a request, with faults applied; None = no answer."""
        if not self.is_reachable(peer_id):
            return None
        reply = self.by_id[peer_id].serve(request, chain, now)
        factor = self.slow.get(peer_id)
        if reply is not None and factor is not None:
            reply = Reply(reply.response, reply.delay * factor)
        return reply

    def candidates(self, honest_only: bool) -> list[str]:
        """Peer ids in population order: every peer, or those whose own profile is honest."""
        return [p.peer_id for p in self.peers
                if not honest_only or p.profile.name == "honest"]

    def pick(self, count: int, honest_only: bool, rng: np.random.Generator | None
             ) -> list[str]:
        """A fault's targets: ``count`` of the :meth:`candidates` (all of them if fewer).

        Args:
            count: How many peers.
            honest_only: Pick among the honest peers only (peer faults).
            rng: Draws a uniform sample without replacement; ``None`` takes the first
                ``count`` in population order instead.

        Returns:
            The ids, in population order (so the same draw applies in the same order).
        """
        ids = self.candidates(honest_only)
        count = min(count, len(ids))
        if rng is None:
            return ids[:count]
        chosen = sorted(int(i) for i in rng.choice(len(ids), size=count, replace=False))
        return [ids[i] for i in chosen]

    def in_order(self, peer_ids: Sequence[str]) -> list[str]:
        """The given peer ids in population order (each must exist)."""
        return sorted(peer_ids, key=self.index.__getitem__)

    # -- changes -------------------------------------------------------------------------

    def _set(self, peer_id: str, change: Callable[[], None]) -> None:
        before = self.is_reachable(peer_id)
        change()
        self._reachable = None
        after = self.is_reachable(peer_id)
        if before != after:
            if after:
                self.connects += 1
            else:
                self.disconnects += 1
            for listener in self.listeners:
                listener(peer_id, after)

    def set_online(self, peer_id: str, online: bool) -> None:
        """Churn: the peer goes offline or comes back."""

        def change() -> None:
            self.online[peer_id] = online

        self._set(peer_id, change)

    def crash(self, peer_id: str, crashed: bool) -> None:
        """A crash fault starts or ends."""
        self._set(peer_id, lambda: _toggle(self.crashed, peer_id, crashed))

    def partition(self, peer_ids: Sequence[str], cut: bool) -> None:
        """A partition starts (``cut``) or heals."""
        for peer_id in peer_ids:
            self._set(peer_id, partial(_toggle, self.partitioned, peer_id, cut))

    def set_behaviour(self, peer_id: str, kind: str, active: bool, factor: float = 10.0) -> None:
        """Silence, slowness or lying starts or ends for a peer."""
        peer = self.by_id[peer_id]
        if kind == "peer_slowness":
            if active:
                self.slow[peer_id] = factor
            else:
                self.slow.pop(peer_id, None)
            return
        if active:
            self._saved_profiles.setdefault(peer_id, peer.profile)
            if kind == "peer_silence":
                peer.profile = replace(peer.profile, silent_share=1.0)
            elif kind == "peer_lying":
                peer.profile = replace(peer.profile, lie_share=0.5)
            else:
                raise ValueError(f"unknown peer behaviour {kind!r}")
        else:
            saved = self._saved_profiles.pop(peer_id, None)
            if saved is not None:
                peer.profile = saved
        self._no_lag = all(p.profile.head_lag == 0 for p in self.peers)

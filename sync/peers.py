"""Remote peer behaviour: how a peer turns a sync request into an answer (or silence).

A :class:`PeerProfile` is a frozen description (latency and bandwidth distributions, shares of
silent, failed and lying answers, churn); a :class:`Peer` is one drawn instance with its own
``numpy.random.Generator``, so peers stay independent of each other and of the engine. The
driver here and the SimPy network model later both call :meth:`Peer.serve`.

Default figures are plausible mainnet-like values chosen for mana-sim (there is no Mana
source for them): an honest peer answers after ~100 ms plus transfer at ~3 MB/s (24 Mbit/s);
a slow one after ~800 ms at ~300 kB/s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sync.chain import Body, Chain, corrupt_body, corrupt_header
from sync.messages import Response, SendRequest


@dataclass(frozen=True, slots=True)
class PeerProfile:
    """Behaviour of a class of peers. Times in seconds, rates in bytes per second.

    Attributes:
        name: Profile name.
        latency_median_s: Median base round-trip latency across peers (lognormal).
        latency_sigma: Lognormal sigma of the base latency across peers.
        jitter_sigma: Lognormal sigma of the per-request latency factor.
        bandwidth_median_bps: Median upload bandwidth across peers (lognormal).
        bandwidth_sigma: Lognormal sigma of bandwidth across peers.
        silent_share: Share of requests never answered (1.0 = silent peer).
        fail_share: Share of requests answered with a failure.
        lie_share: Share of answers with corrupted data.
        online_mean_s: Mean online session (exponential) for churning peers; None = stays.
        offline_mean_s: Mean time offline between sessions for churning peers.
        head_lag: Blocks the peer's head trails the chain head.
    """

    name: str
    latency_median_s: float = 0.1
    latency_sigma: float = 0.4
    jitter_sigma: float = 0.25
    bandwidth_median_bps: float = 3_000_000.0
    bandwidth_sigma: float = 0.4
    silent_share: float = 0.0
    fail_share: float = 0.0
    lie_share: float = 0.0
    online_mean_s: float | None = None
    offline_mean_s: float = 60.0
    head_lag: int = 0

    @property
    def churns(self) -> bool:
        """Whether peers of this profile join and leave."""
        return self.online_mean_s is not None


HONEST = PeerProfile("honest")
"""Answers everything correctly, ~100 ms + transfer at ~3 MB/s."""
SLOW = PeerProfile("slow", latency_median_s=0.8, bandwidth_median_bps=300_000.0)
"""Correct but ~8x slower latency and ~10x lower bandwidth."""
SILENT = PeerProfile("silent", silent_share=1.0)
"""Accepts requests and never answers."""
FLAKY = PeerProfile("flaky", fail_share=0.3)
"""Answers 30 % of requests with a failure."""
LIAR = PeerProfile("liar", lie_share=0.5)
"""Corrupts half of its answers (a header seal or a body)."""
CHURNING = PeerProfile("churning", online_mean_s=300.0, offline_mean_s=60.0)
"""Honest, but online for ~5 min then away for ~1 min, repeatedly."""

PROFILES: dict[str, PeerProfile] = {p.name: p for p in
                                    (HONEST, SLOW, SILENT, FLAKY, LIAR, CHURNING)}
"""The built-in profiles by name."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a peer sends back and how long it takes.

    Attributes:
        response: The answer.
        delay: Seconds from request to answer.
    """

    response: Response
    delay: float


class Peer:
    """One remote peer drawn from a profile.

    Args:
        peer_id: Its id.
        profile: Its behaviour.
        rng: Its own random stream (latency, bandwidth, answers, churn).
    """

    def __init__(self, peer_id: str, profile: PeerProfile, rng: np.random.Generator) -> None:
        self.peer_id = peer_id
        self.profile = profile
        self._rng = rng
        self.latency_s = float(rng.lognormal(np.log(profile.latency_median_s),
                                             profile.latency_sigma))
        self.bandwidth_bps = float(rng.lognormal(np.log(profile.bandwidth_median_bps),
                                                 profile.bandwidth_sigma))
        self._uplink_free = 0.0

    def head(self, chain: Chain) -> int:
        """The peer's best block number.

        Args:
            chain: The canonical chain (the peer knows a prefix of it).

        Returns:
            ``chain.height - head_lag``, at least 0.
        """
        return self.head_at(chain.height)

    def head_at(self, height: int) -> int:
        """The peer's best block number when the chain's newest block is ``height``.

        Args:
            height: Number of the canonical chain's newest block.

        Returns:
            ``height - head_lag``, at least 0.
        """
        lag = self.profile.head_lag
        return height - lag if height > lag else 0

    def online_s(self) -> float:
        """Draw the length of the next online session (inf for a peer that stays)."""
        mean = self.profile.online_mean_s
        return float("inf") if mean is None else float(self._rng.exponential(mean))

    def offline_s(self) -> float:
        """Draw the length of the next offline spell."""
        return float(self._rng.exponential(self.profile.offline_mean_s))

    def serve(self, request: SendRequest, chain: Chain, now: float) -> Reply | None:
        """Turn a request into an answer, or None when the peer stays silent.

        The peer's uplink sends one answer at a time: an answer's transfer starts once the
        previous one has left, so concurrent requests share its bandwidth.

        Args:
            request: The engine's request.
            chain: The canonical chain.
            now: Simulated time of the request in seconds.

        Returns:
            The reply with its delay, or None for no answer at all.
        """
        prof = self.profile
        rng = self._rng
        if prof.silent_share > 0 and rng.random() < prof.silent_share:
            return None
        latency = self.latency_s * float(rng.lognormal(0.0, prof.jitter_sigma))
        if prof.fail_share > 0 and rng.random() < prof.fail_share:
            return Reply(Response(failure="error"), latency)
        head = self.head(chain)
        lie = prof.lie_share > 0 and rng.random() < prof.lie_share
        if request.kind == "headers":
            last = min(request.start + request.count - 1, head)
            headers = [chain.block(n) for n in range(max(request.start, 0), last + 1)]
            if lie and headers:
                i = int(rng.integers(len(headers)))
                headers[i] = corrupt_header(headers[i], int(rng.integers(1 << 30)))
            response = Response(headers=tuple(headers))
        else:
            bodies: list[Body] = []
            for h in request.hashes:
                number = chain.number_of(h)
                if number is None or number > head:
                    break
                bodies.append(chain.body(number))
            if lie and bodies:
                i = int(rng.integers(len(bodies)))
                bodies[i] = corrupt_body(bodies[i], int(rng.integers(1 << 30)))
            response = Response(bodies=tuple(bodies))
        start = max(now + latency, self._uplink_free)
        self._uplink_free = start + response.nbytes / self.bandwidth_bps
        return Reply(response, self._uplink_free - now)


def build_peers(counts: Mapping[str, int] | Sequence[tuple[PeerProfile, int]],
                rng: np.random.Generator) -> list[Peer]:
    """Create a shuffled population of peers.

    Args:
        counts: Profile name (see :data:`PROFILES`) or profile, to number of peers.
        rng: Seeds one independent stream per peer and shuffles the population.

    Returns:
        The peers, ids ``"<profile>-<i>"``, in random order.
    """
    items: list[tuple[PeerProfile, int]] = (
        [(PROFILES[name], n) for name, n in counts.items()] if isinstance(counts, Mapping)
        else list(counts))
    seeds = np.random.SeedSequence(int(rng.integers(1 << 62)))
    total = sum(n for _, n in items)
    streams = iter(seeds.spawn(total))
    used: dict[str, int] = {}
    peers: list[Peer] = []
    for prof, n in items:
        for _ in range(n):
            # Numbered per profile name, so two profiles sharing a name still get unique ids.
            i = used.get(prof.name, 0)
            used[prof.name] = i + 1
            peers.append(Peer(f"{prof.name}-{i}", prof, np.random.default_rng(next(streams))))
    order = rng.permutation(len(peers))
    return [peers[int(i)] for i in order]


def with_lag(profile: PeerProfile, head_lag: int) -> PeerProfile:
    """Copy of ``profile`` whose peers trail the chain head by ``head_lag`` blocks.

    Args:
        profile: The base profile.
        head_lag: Blocks behind the head.

    Returns:
        The new profile.
    """
    return replace(profile, head_lag=head_lag)

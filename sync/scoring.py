"""SyncV2's per-peer score and measurements.

The guide gives only bare numbers (``Hydepwns/mana apps/mana/lib/mana/migration/
v2_migrator.ex`` L574-592: weights latency 0.3, reliability 0.4, throughput 0.3, score in
[0.1, 1.0]; ``reference/mana-source-facts.md`` §4.3: "No scoring formula, decay or ban logic
exists"). The formula is mana-sim's, built from two real designs
(``reference/client-anchors.md`` §2.1-2.2):

* **Measurements** follow geth's ``p2p/msgrate/msgrate.go``: per request kind, an exponential
  moving average of delivered items per second and of round-trip time with
  ``measurementImpact`` 0.1; a timeout sets the kind's rate to 0. ``capacity`` is geth's
  ``ceil(1 + 1.01 * rate * target_rtt)`` and drives how many requests one peer may hold.
* **Score** = ``w_l * latency + w_r * reliability + w_t * throughput``, clipped to
  ``[min_score, max_score]``. Each component lives in [0, 1] and starts neutral (0.5).
  Every response or timeout moves it toward a sample (EMA weight ``score_ema_weight``):
  latency ``ref_s / (ref_s + elapsed)``, reliability 1 for a good answer and 0 for a timeout or
  failure, throughput ``bps / (bps + ref_bps)`` (0 on a timeout, like geth's reset). Between
  updates each component decays toward neutral with Lighthouse's half-life of 600 s
  (``sigp/lighthouse beacon_node/lighthouse_network/src/peer_manager/peerdb/score.rs``: score
  ``*= exp(-ln2/600 * dt)``), so old misbehaviour is forgiven and old glory fades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sync.config_range import fraction, non_negative, positive, require

NEUTRAL = 0.5
"""Value of each score component for a peer nothing is known about."""


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Score parameters (units in the names; time in seconds).

    Attributes:
        latency_weight: Weight of the latency component (V2Migrator 0.3).
        reliability_weight: Weight of the reliability component (V2Migrator 0.4).
        throughput_weight: Weight of the throughput component (V2Migrator 0.3).
        min_score: Lowest score (V2Migrator 0.1); reaching it gets the peer banned.
        max_score: Highest score (V2Migrator 1.0).
        half_life_s: Decay half-life toward neutral (Lighthouse 600 s).
        score_ema_weight: Weight of one new sample in a component.
        latency_ref_s: Round trip that scores 0.5 on latency.
        throughput_ref_bps: Bytes per second that score 0.5 on throughput.
        measurement_impact: geth's EMA weight for rate and RTT measurements (0.1).
    """

    latency_weight: float = 0.3
    reliability_weight: float = 0.4
    throughput_weight: float = 0.3
    min_score: float = 0.1
    max_score: float = 1.0
    half_life_s: float = 600.0
    score_ema_weight: float = 0.2
    latency_ref_s: float = 1.0
    throughput_ref_bps: float = 1_000_000.0
    measurement_impact: float = 0.1

    def __post_init__(self) -> None:
        """Check ranges: a zero half-life divides by zero, a zero EMA weight never moves.

        Raises:
            ValueError: ``"FIELD must be ...; got X"`` for the first bad field.
        """
        non_negative("latency_weight", self.latency_weight)
        non_negative("reliability_weight", self.reliability_weight)
        non_negative("throughput_weight", self.throughput_weight)
        require(math.isfinite(self.min_score) and self.min_score >= 0, "min_score",
                "a finite number >= 0", self.min_score)
        require(math.isfinite(self.max_score) and self.max_score > self.min_score,
                "max_score", f"a finite number > min_score ({self.min_score})", self.max_score)
        positive("half_life_s", self.half_life_s)
        fraction("score_ema_weight", self.score_ema_weight)
        positive("latency_ref_s", self.latency_ref_s)
        positive("throughput_ref_bps", self.throughput_ref_bps)
        fraction("measurement_impact", self.measurement_impact)


class PeerScore:
    """Score and geth-style measurements of one peer.

    Args:
        config: Score parameters.
        now: Simulated time of creation in seconds.
    """

    __slots__ = ("_cfg", "_decay_k", "latency", "rate", "reliability", "rtt", "throughput",
                 "updated_at")

    def __init__(self, config: ScoringConfig, now: float) -> None:
        self._cfg = config
        # The decay exponent per second, hoisted: ``-log(2) / h * dt`` evaluates left to right
        # as ``(-log(2) / h) * dt``, so ``_decay_k * dt`` is the very same float.
        self._decay_k = -math.log(2) / config.half_life_s
        self.latency = NEUTRAL
        self.reliability = NEUTRAL
        self.throughput = NEUTRAL
        self.updated_at = now
        # geth msgrate: per request kind, items per second and round trip in seconds.
        self.rate: dict[str, float] = {}
        self.rtt: dict[str, float] = {}

    def _decay(self, now: float) -> None:
        dt = now - self.updated_at
        if dt > 0:
            keep = math.exp(self._decay_k * dt)
            self.latency = NEUTRAL + (self.latency - NEUTRAL) * keep
            self.reliability = NEUTRAL + (self.reliability - NEUTRAL) * keep
            self.throughput = NEUTRAL + (self.throughput - NEUTRAL) * keep
            self.updated_at = now

    def _sample(self, now: float, latency: float, reliability: float,
                throughput: float) -> None:
        self._decay(now)
        w = self._cfg.score_ema_weight
        self.latency += w * (latency - self.latency)
        self.reliability += w * (reliability - self.reliability)
        self.throughput += w * (throughput - self.throughput)

    def _measure(self, kind: str, elapsed: float, items: int) -> None:
        a = self._cfg.measurement_impact
        speed = items / elapsed if elapsed > 0 else float(items) * 1e3
        # geth starts a new peer from the set's mean; we start from the first sample.
        self.rate[kind] = speed if kind not in self.rate else (
            (1 - a) * self.rate[kind] + a * speed)
        self.rtt[kind] = elapsed if kind not in self.rtt else (
            (1 - a) * self.rtt[kind] + a * elapsed)

    def on_success(self, now: float, kind: str, elapsed: float, items: int,
                   nbytes: int) -> None:
        """Record a valid answer.

        Args:
            now: Simulated time in seconds.
            kind: Request kind.
            elapsed: Seconds from send to answer.
            items: Headers or bodies delivered.
            nbytes: Bytes delivered.
        """
        cfg = self._cfg
        bps = nbytes / elapsed if elapsed > 0 else cfg.throughput_ref_bps * 1e3
        self._sample(now, cfg.latency_ref_s / (cfg.latency_ref_s + elapsed), 1.0,
                     bps / (bps + cfg.throughput_ref_bps))
        self._measure(kind, elapsed, items)

    def on_timeout(self, now: float, kind: str, elapsed: float) -> None:
        """Record a request that was not answered in time (geth: capacity reset to 0).

        Args:
            now: Simulated time in seconds.
            kind: Request kind.
            elapsed: Seconds the request waited.
        """
        cfg = self._cfg
        self._sample(now, cfg.latency_ref_s / (cfg.latency_ref_s + elapsed), 0.0, 0.0)
        self.rate[kind] = 0.0

    def on_failure(self, now: float) -> None:
        """Record an explicit failure answer (only reliability suffers).

        Args:
            now: Simulated time in seconds.
        """
        self._decay(now)
        w = self._cfg.score_ema_weight
        self.reliability += w * (0.0 - self.reliability)

    def value(self, now: float) -> float:
        """The peer's score at ``now``, in ``[min_score, max_score]``.

        Args:
            now: Simulated time in seconds.

        Returns:
            The weighted, clipped score.
        """
        return values_at((self,), now)[0]

    def capacity(self, kind: str, target_rtt_s: float) -> int:
        """Items this peer is expected to deliver within ``target_rtt_s`` (geth formula).

        Args:
            kind: Request kind.
            target_rtt_s: Target round trip in seconds.

        Returns:
            ``ceil(1 + 1.01 * rate * target_rtt_s)``, at least 1.
        """
        return max(1, math.ceil(1 + 1.01 * self.rate.get(kind, 0.0) * target_rtt_s))


def values_at(scores: Sequence[PeerScore], now: float) -> list[float]:
    """Each score's :meth:`PeerScore.value` at ``now``, in order, in one call.

    The same arithmetic as decaying each score to ``now`` and weighting it, written as one
    loop because the V2 engine ranks every connected peer on each dispatch: the per-peer
    method calls cost more than the arithmetic. The decay is applied to each score exactly
    as :meth:`PeerScore.value` does (each score's state after this call is the same).

    Args:
        scores: The scores to read (decayed in place to ``now``).
        now: Simulated time in seconds.

    Returns:
        The weighted, clipped scores, in the order given.
    """
    out: list[float] = []
    append = out.append
    exp = math.exp
    neutral_cfg: ScoringConfig | None = None
    neutral_value = 0.0
    for s in scores:
        cfg = s._cfg
        lat, rel, thr = s.latency, s.reliability, s.throughput
        if lat == NEUTRAL and rel == NEUTRAL and thr == NEUTRAL:
            # Most peers (never asked, or long forgiven): decay maps NEUTRAL to
            # NEUTRAL + 0.0 * keep == NEUTRAL whatever dt is, so only the time stamp moves
            # (``now > t`` iff ``now - t > 0`` for floats), and the value is the same
            # formula on the same three numbers: worked out once per config.
            if now > s.updated_at:
                s.updated_at = now
            if cfg is not neutral_cfg:
                neutral_cfg = cfg
                neutral_value = _clipped(cfg, cfg.latency_weight * NEUTRAL
                                         + cfg.reliability_weight * NEUTRAL
                                         + cfg.throughput_weight * NEUTRAL)
            append(neutral_value)
            continue
        dt = now - s.updated_at
        if dt > 0:
            s.updated_at = now
            keep = exp(s._decay_k * dt)
            lat = s.latency = NEUTRAL + (lat - NEUTRAL) * keep
            rel = s.reliability = NEUTRAL + (rel - NEUTRAL) * keep
            thr = s.throughput = NEUTRAL + (thr - NEUTRAL) * keep
        append(_clipped(cfg, cfg.latency_weight * lat + cfg.reliability_weight * rel
                        + cfg.throughput_weight * thr))
    return out


def _clipped(cfg: ScoringConfig, raw: float) -> float:
    """``min(max_score, max(min_score, raw))`` without the two calls (same float)."""
    lo = cfg.min_score
    if not raw > lo:
        raw = lo
    hi = cfg.max_score
    return raw if raw < hi else hi

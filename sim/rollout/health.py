"""The V2 health check: V2 metrics against thresholds and the V1 baseline of the same window.

The guide's ``Mana.Monitoring.Alerts.check_v2_health/0`` (guide L187-207) has comment-only
bodies; this is what its comments and thresholds say it means. Four threshold sets disagree
(mana-source-facts.md §7 item 14) and each is selectable by name (:data:`THRESHOLD_SETS`):

- ``"alerts"``: ``@alert_thresholds`` of ``Mana.Monitoring.Alerts`` (guide L171-184).
- ``"auto_rollback"``: ``@rollback_triggers`` of ``Mana.Deployment.AutoRollback`` (L550-564).
- ``"alerts_yml"``: the eight rules of ``config/alerts.yml`` (L497-541) as instant checks,
  durations ignored (:mod:`sim.rollout.alerts` evaluates them with their durations).
- ``"migration_plan"``: the alert thresholds of ``Hydepwns/mana
  docs/deployment/MIGRATION_PLAN_V2.md`` ("Alerting Thresholds"). Its ``config :mana,
  :monitoring`` map reads, keys next to values: pool ``throughput_drop: 20,
  latency_increase: 50, memory_increase: 30, error_rate: 5``; sync ``sync_speed_drop: 25,
  peer_disconnect: 50, memory_increase: 40`` (the "20/50/30/5; 25/50/40" of
  mana-source-facts.md §2.5, in that key order).

Decisions (control-plane-anchors.md §5 items 17, 18, 22):

- **Relative change** is ``(v2 - v1) / v1 * 100``. A drop check fails when
  ``-change > threshold``, an increase check when ``change > threshold``; absolute checks fail
  on ``value > threshold`` or ``value < threshold``. All comparisons are strict, as the guide's
  comments ("drops >15%") and alerts.yml (``<  baseline * 0.8``) write them.
- **Throughput** (``throughput_drop``: ``Alerts`` 15, guide L171-184; ``AutoRollback`` 30,
  L550-564; the migration plan 20; alerts.yml's critical "Transaction Pool Throughput Drop",
  ``throughput_tps < baseline * 0.8``, L497-541) means successful transactions per unit of
  offered load: each version's transactions admitted to its pool with an ok reply (within the
  breaker's timeout; refusals and V2's input-validation drops are ok replies but not
  throughput) over the requests routed to it in the window (``request_count``), times the
  pool's request rate (:mod:`sim.rollout.snapshot`). A drop is then V2 serving a smaller
  share of what it is offered than V1 does: failures, timeouts (a backed-up V2's calls time
  out) and refusals show, a change of the offered load does not. ``cpu_increase`` on the pool
  is read the same way, busy time per routed request (``sim.rollout_link``), so a load step
  does not read as a CPU regression; ``failed_transactions`` counts V2's input-validation
  drops as refusals and leaves out V2's per-sender-cap refusals, DoS policy rather than
  failures, unless ``rollout.sender_limit_counts_as_failed``
  (:func:`~sim.rollout.snapshot.failed_transactions_percent`). The snapshot's V1 figure is
  V1's own in the same window when V1 had at least 20 requests there, else V1's last such
  per-request figure times this window's request rate (``sim.rollout_link``): it does not
  depend on the load, so an old baseline is fair. A window with fewer than 20 V2 requests
  gives V2 no throughput or CPU figure (not judged, "no V2 data").
- **Baseline**: V1's value in the same snapshot. When V1 has no usable value there (NaN, or
  zero or negative, e.g. at 100 % V2 when V1 serves nothing) the last usable V1 value this
  check has seen is used; with none, the relative check is not judged.
- **NaN** (no data): a check whose V2 value or baseline is missing is NOT judged: it counts as
  healthy and is listed in :attr:`HealthResult.unjudged` with the reason, the way Prometheus
  treats an absent series as false. A V2 at 0 % therefore never fails a health check.
- **Low-traffic guard**: error-rate checks (``error_rate``, ``failed_transactions``) are not
  judged when V2 served fewer than ``min_requests`` requests in the window
  (``request_count``; default 20, Hystrix's ``requestVolumeThreshold`` default,
  control-plane-anchors.md §1.4 and §5 item 17). With ``request_count`` absent the guard
  cannot apply and the check is judged.
- **Unqualified "latency"** (AutoRollback, migration plan) is ``avg_latency_ms``, the metric
  alerts.yml uses for latency; Alerts' ``latency_p95_increase`` is ``p95_latency_ms``.
- **Alerts' ``queue_size`` 10_000** is ``pool_size`` (the "10k transactions" in the pool;
  mana-source-facts.md §7 item 14 compares it with ``max_pool_size``).
- **AutoRollback's triggers are module-agnostic** (L550-564); they are applied to the pool's
  metrics, and to the sync metrics that have a counterpart: throughput_drop on
  ``sync_speed_bps`` and memory_increase on the engine's figures; error_rate, latency_increase
  and cpu_increase on V2 sync's SERVING of inbound peer requests (``error_rate_percent``,
  ``avg_latency_ms``, ``cpu_usage_percent``: :data:`~sim.rollout.snapshot.SYNC_METRICS`).
  The engine cannot be judged on them: it has no CPU model, no per-request errors, and
  ``avg_block_processing_ms`` is the blocks' cost, equal for V1 and V2 by construction,
  while a ``v2_regression`` on sync (its errors and latency factor) acts on V2's serving.
  V2's serving is compared with V1's serving in the same window: both serve side by side at
  the split's shares, latency and errors per request, CPU per routed request (a busy share
  grows with the share served). ``failed_transactions`` has no sync counterpart. The
  ``alerts``, ``alerts_yml`` and ``migration_plan`` sets have no sync error, latency or CPU
  threshold (L171-184, L497-541), so a sync serving regression trips AutoRollback only.
- **Peer disconnect rate** (Alerts ``peer_disconnect_rate: 30``, "Alert if >30% peers
  disconnect", guide L181; the migration plan's ``peer_disconnect: 50``) is absolute, as the
  guide writes it, and judges V2's OWN figure: the peers V2's sync engine lost in the window
  (gone down, partitioned away, or dropped or banned by V2) over the peers V2 was connected to
  at the window's start (:mod:`sim.rollout.snapshot`; V1's figure is its own too and is not
  a baseline). So a network-wide event that takes more than 30 % of V2's peers (a large
  partition, heavy churn) fails V2's check although V1 suffers it too, as the guide's
  absolute threshold would. No V1-relative reading is offered: the guide gives none (its
  ``check_sync_service_v2`` comment names no baseline, L204-207, unlike the pool's "Compare
  current metrics against baselines", L199-202).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sim.rollout.snapshot import (
    FAILED_TRANSACTIONS_PERCENT,
    Snapshot,
    metric,
    relative_change_percent,
)

CheckKind = Literal["drop", "increase", "above", "below"]
"""``drop``/``increase``: relative to the V1 baseline, in %; ``above``/``below``: absolute."""

_POOL = "transaction_pool"
_SYNC = "sync_service"


@dataclass(frozen=True, slots=True)
class Check:
    """One threshold on one V2 metric.

    Attributes:
        name: The guide's key, e.g. ``"throughput_drop"``.
        module: ``"transaction_pool"`` or ``"sync_service"``.
        metric: The metric judged (see :mod:`sim.rollout.snapshot`).
        kind: How the threshold applies (:data:`CheckKind`).
        threshold: Percent for relative kinds; the metric's own unit for absolute kinds.
        error_rate: Whether the low-traffic guard applies.
    """

    name: str
    module: str
    metric: str
    kind: CheckKind
    threshold: float
    error_rate: bool = False


def _alerts() -> tuple[Check, ...]:
    return (
        Check("throughput_drop", _POOL, "throughput_tps", "drop", 15.0),
        Check("latency_p95_increase", _POOL, "p95_latency_ms", "increase", 25.0),
        Check("memory_usage_increase", _POOL, "memory_usage_mb", "increase", 20.0),
        Check("error_rate", _POOL, "error_rate_percent", "above", 2.0, error_rate=True),
        Check("queue_size", _POOL, "pool_size", "above", 10_000.0),
        Check("sync_speed_drop", _SYNC, "sync_speed_bps", "drop", 20.0),
        Check("peer_disconnect_rate", _SYNC, "peer_disconnect_rate_percent", "above", 30.0),
        Check("memory_usage_increase", _SYNC, "memory_usage_mb", "increase", 25.0),
        Check("block_processing_delay", _SYNC, "block_processing_delay_s", "above", 60.0),
    )


def _auto_rollback() -> tuple[Check, ...]:
    return (
        Check("error_rate", _POOL, "error_rate_percent", "above", 5.0, error_rate=True),
        Check("throughput_drop", _POOL, "throughput_tps", "drop", 30.0),
        Check("latency_increase", _POOL, "avg_latency_ms", "increase", 100.0),
        Check("memory_increase", _POOL, "memory_usage_mb", "increase", 50.0),
        Check("cpu_increase", _POOL, "cpu_usage_percent", "increase", 80.0),
        Check("failed_transactions", _POOL, FAILED_TRANSACTIONS_PERCENT, "above", 10.0,
              error_rate=True),
        Check("error_rate", _SYNC, "error_rate_percent", "above", 5.0, error_rate=True),
        Check("throughput_drop", _SYNC, "sync_speed_bps", "drop", 30.0),
        Check("latency_increase", _SYNC, "avg_latency_ms", "increase", 100.0),
        Check("memory_increase", _SYNC, "memory_usage_mb", "increase", 50.0),
        Check("cpu_increase", _SYNC, "cpu_usage_percent", "increase", 80.0),
    )


def _alerts_yml() -> tuple[Check, ...]:
    # `throughput_tps < baseline * 0.8` is a strict 20 % drop.
    return (
        Check("High Transaction Pool Latency", _POOL, "avg_latency_ms", "above", 100.0),
        Check("Transaction Pool Throughput Drop", _POOL, "throughput_tps", "drop", 20.0),
        Check("High Transaction Pool Memory Usage", _POOL, "memory_usage_mb", "above", 500.0),
        Check("Transaction Pool Error Rate", _POOL, "error_rate_percent", "above", 2.0,
              error_rate=True),
        Check("Slow Block Sync", _SYNC, "sync_speed_bps", "below", 10.0),
        Check("High Blocks Behind", _SYNC, "blocks_behind", "above", 100.0),
        Check("Low Peer Connections", _SYNC, "connected_peers", "below", 5.0),
        Check("Sync Service Memory Leak", _SYNC, "memory_usage_mb", "above", 1000.0),
    )


def _migration_plan() -> tuple[Check, ...]:
    return (
        Check("throughput_drop", _POOL, "throughput_tps", "drop", 20.0),
        Check("latency_increase", _POOL, "avg_latency_ms", "increase", 50.0),
        Check("memory_increase", _POOL, "memory_usage_mb", "increase", 30.0),
        Check("error_rate", _POOL, "error_rate_percent", "above", 5.0, error_rate=True),
        Check("sync_speed_drop", _SYNC, "sync_speed_bps", "drop", 25.0),
        Check("peer_disconnect", _SYNC, "peer_disconnect_rate_percent", "above", 50.0),
        Check("memory_increase", _SYNC, "memory_usage_mb", "increase", 40.0),
    )


THRESHOLD_SETS: Final[Mapping[str, tuple[Check, ...]]] = {
    "alerts": _alerts(),
    "auto_rollback": _auto_rollback(),
    "alerts_yml": _alerts_yml(),
    "migration_plan": _migration_plan(),
}
"""The guide's four threshold sets, by name."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed check.

    Attributes:
        module: Module type.
        metric: Metric judged.
        check: The check's name (the guide's key).
        value: V2's value.
        baseline: V1's baseline (NaN for absolute checks).
        threshold: The check's threshold.
        reason: Short human-readable reason.
    """

    module: str
    metric: str
    check: str
    value: float
    baseline: float
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class Unjudged:
    """A check that was not judged in this window, and why.

    Attributes:
        module: Module type.
        check: The check's name.
        reason: ``"no V2 data"``, ``"no V1 baseline"`` or ``"low traffic: ..."``.
    """

    module: str
    check: str
    reason: str


@dataclass(frozen=True, slots=True)
class HealthResult:
    """The outcome of one health check.

    Attributes:
        time: When it was evaluated, seconds.
        healthy: True iff no check failed.
        violations: The failed checks, in the set's order.
        unjudged: The checks not judged (no data, no baseline, low traffic).
    """

    time: float
    healthy: bool
    violations: tuple[Violation, ...] = ()
    unjudged: tuple[Unjudged, ...] = ()

    @property
    def reason(self) -> str:
        """The violations joined in one line (empty when healthy)."""
        return "; ".join(f"{v.module}: {v.reason}" for v in self.violations)


class HealthCheck:
    """Judges V2 against a named threshold set (see the module doc for every decision).

    Args:
        threshold_set: A name in :data:`THRESHOLD_SETS`, or the checks themselves.
        min_requests: Low-traffic guard: error-rate checks need at least this many V2
            requests (``request_count``) in the window.
        modules: Only judge these module types (e.g. the ones whose version is ``"v2"``).

    Raises:
        ValueError: Unknown threshold-set name or negative ``min_requests``.
    """

    def __init__(self, threshold_set: str | Sequence[Check] = "alerts", *,
                 min_requests: int = 20,
                 modules: Sequence[str] = ("transaction_pool", "sync_service")) -> None:
        if isinstance(threshold_set, str):
            if threshold_set not in THRESHOLD_SETS:
                raise ValueError(f"threshold set {threshold_set!r}: use one of "
                                 f"{', '.join(THRESHOLD_SETS)}")
            checks = THRESHOLD_SETS[threshold_set]
        else:
            checks = tuple(threshold_set)
        if min_requests < 0:
            raise ValueError(f"min_requests {min_requests}: must be >= 0")
        self.checks: tuple[Check, ...] = tuple(c for c in checks if c.module in modules)
        self.min_requests = min_requests
        # (module, metric) -> last usable V1 value: the baseline when the window has none.
        self._baseline: dict[tuple[str, str], float] = {}

    def baseline(self, snapshot: Snapshot, module: str, name: str) -> float:
        """V1's baseline for one metric: this window's value, else the last usable one.

        Args:
            snapshot: The window's metrics.
            module: Module type.
            name: Metric name.

        Returns:
            The baseline, NaN when none has been seen.
        """
        value = metric(snapshot, module, "v1", name)
        if not math.isnan(value) and value > 0.0:
            self._baseline[(module, name)] = value
            return value
        return self._baseline.get((module, name), math.nan)

    def evaluate(self, now: float, snapshot: Snapshot) -> HealthResult:
        """Judge one window.

        Args:
            now: Simulated time, seconds.
            snapshot: The window's metrics.

        Returns:
            The verdict with every violation and every unjudged check.
        """
        violations: list[Violation] = []
        unjudged: list[Unjudged] = []
        for check in self.checks:
            value = metric(snapshot, check.module, "v2", check.metric)
            if math.isnan(value):
                unjudged.append(Unjudged(check.module, check.name, "no V2 data"))
                continue
            if check.error_rate:
                requests = metric(snapshot, check.module, "v2", "request_count")
                if requests < self.min_requests:  # False for NaN: guard cannot apply
                    unjudged.append(Unjudged(
                        check.module, check.name,
                        f"low traffic: {requests:g} < {self.min_requests} V2 requests"))
                    continue
            found = self._judge(snapshot, check, value, unjudged)
            if found is not None:
                violations.append(found)
        return HealthResult(now, not violations, tuple(violations), tuple(unjudged))

    def _judge(self, snapshot: Snapshot, check: Check, value: float,
               unjudged: list[Unjudged]) -> Violation | None:
        if check.kind == "above":
            if value > check.threshold:
                return Violation(check.module, check.metric, check.name, value, math.nan,
                                 check.threshold,
                                 f"{check.metric} {value:g} > {check.threshold:g}")
            return None
        if check.kind == "below":
            if value < check.threshold:
                return Violation(check.module, check.metric, check.name, value, math.nan,
                                 check.threshold,
                                 f"{check.metric} {value:g} < {check.threshold:g}")
            return None
        base = self.baseline(snapshot, check.module, check.metric)
        change = relative_change_percent(value, base)
        if math.isnan(change):
            unjudged.append(Unjudged(check.module, check.name, "no V1 baseline"))
            return None
        if check.kind == "drop" and -change > check.threshold:
            return Violation(check.module, check.metric, check.name, value, base,
                             check.threshold,
                             f"{check.metric} dropped {-change:.1f}% > {check.threshold:g}% "
                             f"({value:g} vs V1 {base:g})")
        if check.kind == "increase" and change > check.threshold:
            return Violation(check.module, check.metric, check.name, value, base,
                             check.threshold,
                             f"{check.metric} rose {change:.1f}% > {check.threshold:g}% "
                             f"({value:g} vs V1 {base:g})")
        return None

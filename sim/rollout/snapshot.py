"""Metric snapshots: the plain data every rollout component is fed.

A snapshot is ``snapshot[module][version][metric] -> float`` with ``module`` in
``{"transaction_pool", "sync_service"}``, ``version`` in ``{"v1", "v2"}`` and metric names from
the guide's ``Mana.Monitoring.V2Metrics`` (guide L446-491; mana-source-facts.md §9), plus:

- ``peer_disconnect_rate_percent`` and ``block_processing_delay_s`` (sync): the inputs of the
  guide's ``Alerts`` sync thresholds ``peer_disconnect_rate`` and ``block_processing_delay``
  (guide L171-184), which ``V2Metrics`` does not name;
- ``request_count`` (either module): requests the version served in the window; the input of
  the low-traffic guard on error-rate checks (control-plane-anchors.md §5 item 17). For the
  pool these are the requests ROUTED to the version: each call is recorded once, answered
  ok, failed, refused by V2's open breaker or timed out, at most the breaker's timeout after
  it was routed (guide L119: 60 s), so a window's count is its routed requests up to that lag.
  It is the window's sum of the time series' ``requests + refused_by_breaker`` (for sync, of
  its serving's), not a series column (docs/timeseries.md).

**Pool throughput** (``throughput_tps``) counts SUCCESSFUL transactions: those admitted to the
version's pool (added or replaced) with an ok reply within the breaker's timeout, per second
(failed, breaker-refused and timed-out calls excluded, and so are transactions the version
refused: its pool's rejections and V2's input-validation drops, ok replies that store
nothing). The guide's four throughput checks (alerts.yml "Throughput Drop"
``throughput_tps < baseline * 0.8``, critical, guide L497-541; ``Alerts``
``throughput_drop: 15``, L171-184; ``AutoRollback`` ``throughput_drop: 30``, L550-564; the
migration plan's ``throughput_drop: 20``) compare V2
with V1 under the same offered load. In an open system a version serves what it is offered
unless calls fail, time out or back up (a backed-up call times out), so a throughput drop at
a given load is a drop in the share of its requests a version serves ok: each version's
figure is read per unit of offered load, admitted transactions over ``request_count``, which
load changes cancel out of (a healthy V2 reads like V1 whether the load rises or falls; a V2 that
fails or times out reads low whatever the load). :func:`normalise_rates` gives it in tx/s:
that share times the pool's request rate in the window.

``processed_transactions`` and ``rejected_transactions`` are the transactions the pool handled
and refused IN THE WINDOW (the model's time series holds them as cumulative counters, as
``V2Metrics`` names them; the window sums their per-interval increases). ``processed`` counts
every submission the pool handled, rejections included (``pool.stats()``: the ledger's
``entered``). ``peer_disconnect_rate_percent`` is the version's OWN figure: the peers that
version's sync engine lost in the window (connected peers gone down or partitioned away, or
dropped or banned by the engine) over the peers it was connected to at the window's start.

Every value describes ONE window (the model's sampling window), not a run total. A metric that
is missing, or NaN, means "no data in the window"; each consumer documents what it does with
that (health checks and alerts: not judged, as Prometheus treats an absent series as false).

Rate metrics (``throughput_tps``, ``sync_speed_bps``, ``network_bandwidth_mbps``) of a version
carrying ``p`` % of the traffic are ``p`` % of the total, so comparing V2 against V1 under a
split needs them per unit of traffic share: :func:`normalise_rates` does that division (the
pool's shares are of the window's ``request_count``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

Snapshot = Mapping[str, Mapping[str, Mapping[str, float]]]
"""``snapshot[module][version][metric]``: one window's metrics."""

MODULES: Final = ("transaction_pool", "sync_service")
"""The two rolled-out module types (guide L34-90)."""

POOL_METRICS: Final = (
    "throughput_tps", "avg_latency_ms", "p95_latency_ms", "p99_latency_ms",
    "memory_usage_mb", "cpu_usage_percent", "pool_size", "pending_transactions",
    "processed_transactions", "rejected_transactions", "error_rate_percent", "timeout_count",
    "request_count", "input_dropped_transactions", "sender_limited_transactions",
)
"""Pool metrics: the guide's ``V2Metrics`` pool names (L446-469) plus ``request_count``,
``input_dropped_transactions`` (the window's transactions V2's input validation dropped
before its pool; 0 for V1) and ``sender_limited_transactions`` (of the window's
``rejected_transactions``, those V2's pool refused by its per-sender cap; V1 has none)."""

SYNC_METRICS: Final = (
    "sync_speed_bps", "blocks_behind", "avg_block_processing_ms", "connected_peers",
    "peer_connection_success_rate", "network_bandwidth_mbps", "memory_usage_mb",
    "cpu_usage_percent", "block_queue_size", "peer_request_queue_size",
    "peer_disconnect_rate_percent", "block_processing_delay_s", "request_count",
    "error_rate_percent", "avg_latency_ms",
)
"""Sync metrics: the guide's ``V2Metrics`` sync names (L472-491) plus the Alerts inputs and
the serving figures AutoRollback's module-agnostic triggers read (L550-564).

``request_count``, ``error_rate_percent``, ``avg_latency_ms`` and ``cpu_usage_percent`` are
the version's SERVING of inbound peer requests (``sync_service.serving.<v>.*`` columns), the
only part of the model's sync with requests, failures, latencies and busy time: the engine
has no CPU model, and its ``avg_block_processing_ms`` is the blocks' cost, the same for V1 and
V2. ``cpu_usage_percent`` is the serving mailbox's busy share per request routed to the
version, times the module's serving requests in the window (``sim.rollout_link``)."""

RATE_METRICS: Final = ("throughput_tps", "sync_speed_bps", "network_bandwidth_mbps",
                       "cpu_usage_percent")
"""Metrics proportional to a version's traffic share (divided by :func:`normalise_rates`).

CPU is among them: a GenServer's busy fraction grows with the requests it serves.

``request_count`` is proportional too but is left as a count: the low-traffic guard needs
the real number of requests."""

FAILED_TRANSACTIONS_PERCENT: Final = "failed_transactions_percent"
"""Derived pool metric (:func:`failed_transactions_percent`): the share of the window's
submissions the version refused, V2's per-sender-cap refusals left out by default."""


def _count(values: Mapping[str, float], name: str) -> float:
    """A count of ``values``, 0 when absent or NaN (no such refusal in the window)."""
    value = float(values.get(name, 0.0))
    return 0.0 if math.isnan(value) else value


def failed_transactions_percent(values: Mapping[str, float], *,
                                sender_limit_counts_as_failed: bool = False) -> float:
    """AutoRollback's ``failed_transactions`` figure of one version's pool metrics, percent.

    ``(rejected + input_dropped - sender_limited) / (processed + input_dropped -
    sender_limited) * 100`` over the window (NaN when nothing is left to judge):
    AutoRollback's ``failed_transactions: 10.0`` trigger (guide L550-564, at L563) read as the
    share of the window's submissions that the version refused. The guide gives no formula:
    its ``check_all_conditions`` (L580-585) calls no check that reads this trigger at all (a
    guide inconsistency: the trigger is declared and never evaluated).

    - V2 runs ``validate_transaction_input`` on its inputs before its pool sees them (guide
      L703), so its drops there are V2's refusals, in numerator and denominator; V1's
      invalid transactions are refused by its pool and already in its ledger.
    - ``processed`` is every submission the pool handled, refused ones included (the
      ledger's ``entered``): adding ``rejected`` to it would count each refusal twice.
    - V2's per-sender cap (``pool.v2.max_per_sender``, 16 by default, reth's
      ``max_account_slots``) refuses a busy sender's excess by design: DoS policy working,
      not a failed transaction, as a flooder's excess refused by the rate limiter is not
      downtime. Under the default mainnet-like load the cap refuses 7-8 % of V2's
      submissions at 100 %, which alone would put a healthy V2 within a point of the 10 %
      trigger (review11 B-1). So ``sender_limited`` (those refusals, reason ``sender_limit``)
      is left out of both terms: the figure is the failed share of the submissions V2 judged
      on their merits. ``sender_limit_counts_as_failed`` (``rollout.sender_limit_counts_as_failed``)
      keeps them in both, the earlier reading.

    Args:
        values: One version's pool metrics (``processed_transactions``,
            ``rejected_transactions``, ``input_dropped_transactions``,
            ``sender_limited_transactions``; an absent or NaN count of drops or cap
            refusals is 0).
        sender_limit_counts_as_failed: Count the per-sender cap's refusals as failed.

    Returns:
        The percentage, or NaN when no submission is left to judge.
    """
    rejected = float(values.get("rejected_transactions", math.nan))
    processed = float(values.get("processed_transactions", math.nan))
    dropped = _count(values, "input_dropped_transactions")
    limited = (0.0 if sender_limit_counts_as_failed
               else _count(values, "sender_limited_transactions"))
    judged = processed + dropped - limited
    return (rejected + dropped - limited) / judged * 100.0 if judged > 0.0 else math.nan


def metric(snapshot: Snapshot, module: str, version: str, name: str) -> float:
    """One metric of a snapshot, NaN when absent.

    ``failed_transactions_percent`` is the snapshot's own entry when it has one (the rollout
    link writes it with the run's ``rollout.sender_limit_counts_as_failed``), else
    :func:`failed_transactions_percent` of the version's counts, per-sender-cap refusals
    left out.

    Args:
        snapshot: The window's metrics.
        module: ``"transaction_pool"`` or ``"sync_service"``.
        version: ``"v1"`` or ``"v2"``.
        name: Metric name.

    Returns:
        The value, or NaN when the snapshot has no such entry.
    """
    values = snapshot.get(module, {}).get(version, {})
    if name == FAILED_TRANSACTIONS_PERCENT and name not in values:
        return failed_transactions_percent(values)
    return float(values.get(name, math.nan))


def relative_change_percent(value: float, baseline: float) -> float:
    """``(value - baseline) / baseline * 100``: positive is an increase over the baseline.

    Args:
        value: The V2 value.
        baseline: The V1 baseline.

    Returns:
        The change in percent; NaN when either input is NaN or the baseline is zero or
        negative (no meaningful baseline: a relative check is then not judged, rather than
        divided by zero).
    """
    if math.isnan(value) or math.isnan(baseline) or baseline <= 0.0:
        return math.nan
    return (value - baseline) / baseline * 100.0


def normalise_rates(snapshot: Snapshot, shares: Mapping[str, Mapping[str, float]]
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """Divide each version's rate metrics by its traffic share, leaving the rest unchanged.

    At a 5 % split V2's ``throughput_tps`` is about 1/19 of V1's although V2 is as fast; per
    unit of share both are comparable. A share of 0 makes the rates NaN (no data). With the
    pool's shares taken from ``request_count`` (each version's over their sum), a version's
    ``throughput_tps`` (ok replies per second) becomes the share of its requests it served
    ok times the pool's request rate (module doc).

    Args:
        snapshot: The window's metrics.
        shares: ``shares[module][version]``: fraction of the module's requests in [0, 1].

    Returns:
        A new snapshot (plain dicts) with :data:`RATE_METRICS` divided by the share.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for module, versions in snapshot.items():
        out[module] = {}
        for version, values in versions.items():
            share = shares.get(module, {}).get(version, math.nan)
            row = dict(values)
            for name in RATE_METRICS:
                if name in row:
                    row[name] = row[name] / share if share > 0.0 else math.nan
            out[module][version] = row
    return out

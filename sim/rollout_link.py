"""Connects the sans-I/O rollout model (:mod:`sim.rollout`) to the running simulation.

**Timed steps** (schedule steps and the manual rollback script) take effect at their exact
times: the runner wakes at each time (:meth:`RolloutLink.step_times`), feeds every input
before it (served under the old split) and calls :meth:`RolloutLink.run_timed`. A step at
exactly a sample time is run by that sample's :meth:`RolloutLink.on_sample` first, before the
evaluations, so its place among them does not depend on SimPy's event order.

**Evaluations** run on sample times: after every metrics sample the sampler hands the new row
to :meth:`RolloutLink.on_sample`, which runs the timed steps due, then whatever evaluation is
due at or before that time, in this order: alert rules, the rollout controller's health
check, AutoRollback, then V1 deprecation (after a hold at 100 %; a fixed ``deprecation.at``
is instead run by the runner at that time, after the sample and the timed steps due then,
and refused if the pool is not at 100 % on V2 then: a deprecation never moves a split; V1
sync, if not fully on V2 at the deprecation, is retired when sync later reaches 100 % on V2).
Each evaluation is due on its fixed grid ``start + k * interval``; one due at 15 s with
10-s samples is evaluated at 20 s on the 20-s sample, as a Prometheus rule is evaluated on
the latest scrape, and the next is due at 30 s.
The default intervals (10-s samples, 60-s checks) align exactly.

**The window.** A snapshot aggregates the last ``rollout.health_window`` seconds of samples
(:class:`HealthWindow`, :func:`snapshot_from_rows`). Pool throughput (transactions admitted
with an ok reply, per second) and CPU are read per request routed to each version, times the
pool's request rate, before comparing V2 with V1 (:func:`~sim.rollout.normalise_rates`,
:meth:`RolloutLink._snapshot`).
Both sync engines do the whole sync side by side, so their rates are compared as they are;
sync's serving of peer requests (its error rate, latency and CPU) is split like the pool's
calls, so its CPU is read per request routed to each version (:meth:`RolloutLink._sync_serving`).

**Applying actions.** ``SetTraffic`` sets the router's split of its modules; the guide's
controller and AutoRollback never change ``module_versions`` (mana-source-facts.md §2.5), so a
module on ``v1`` stays on V1 whatever its split: the router sends a request to V2 only when
the module's version is ``"v2"`` (``route_module``, guide L43-49). The controller is the
guide's "Automated V2 rollout" (L261-262) of modules being rolled out to V2 (the guide's
canary exports ``*_VERSION="v2"`` before any split, L214-221, and the rollout then moves only
``*_TRAFFIC``, L237-258), so the controller and AutoRollback drive only the modules on ``v2``
when they act: a module on ``v1`` keeps its split (setting it would move no traffic, yet read
as a V2 split in the timeline). With none of its modules on ``v2`` at a check, the controller
holds its ladder (no advance, :meth:`~sim.rollout.RolloutController.on_check`): it reports
no split it never set, and its first stage waits for a module to come on ``v2`` (a schedule
step). The summary lists the modules it set a split of, with the time of the first
(``rollout.controller.modules_driven``, ``driven_from``), those on ``v2`` at the end that it
never set (``modules_not_driven``: switched to ``v2`` after its last stage change, or while
it was paused) and those on ``v1`` at the end (``modules_left_on_v1``: not rolled out by
it). Their health checks
judge only modules on ``v2`` too: a module on ``v1`` serves no V2 traffic (V2's sync engine
still syncs side by side, but serves no one), so its checks are n/a, not passed
(:meth:`RolloutLink._judged_snapshot`). The alert rules see every series, as Prometheus does.
A schedule step sets both version and split,
or, for a module whose V1 is deprecated, is refused whole when it would leave it on V1
(``split_refused``). Every split or version change is an entry of ``splits`` with both.
A rollback or stage change is recorded (event, ``splits``, ``rollbacks``) only when it changed
at least one split; a rollback request that changes none (V2 already at 0 %, or refused
because V1 is deprecated) is a ``rollback_ignored`` event with its reason and is counted in
the summary's ``rollback_requests_ignored``, so a stateless AutoRollback firing every minute
on an unhealthy V2 stays visible without counting as many rollbacks.

**The manual rollback script** (:func:`~sim.rollout.manual_rollback_script`) is one rollback
of both modules at T. Its verification and each of its ten health checks record what the
script's ``curl /health`` is meant to show: each module's version and split at that time and
a health verdict. The fork has no such endpoint (mana-source-facts.md §7 item 15), so the
verdict is ``Mana.Monitoring.Alerts.check_v2_health``'s meaning: the ``"alerts"`` threshold
set (guide L171-184) on the health window's snapshot as of the latest sample.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.control import ModuleRouter
from sim.events import EventLog
from sim.rollout import (
    AlertEvaluator,
    AutoRollback,
    AutoRollbackConfig,
    ControllerAction,
    ControllerConfig,
    HealthCheck,
    Rollback,
    RolloutController,
    ScheduleCursor,
    SetTraffic,
    action_event,
    guide_schedule,
    load_alert_rules,
    manual_rollback_script,
    normalise_rates,
)
from sim.rollout.schedule import RollbackScriptStep, ScheduleStep
from sim.rollout.snapshot import (
    FAILED_TRANSACTIONS_PERCENT,
    POOL_METRICS,
    SYNC_METRICS,
    failed_transactions_percent,
)
from sim.scenario import (
    ControllerSection,
    RolloutSection,
    Scenario,
    alert_rules_source,
    resolve_control,
)

POOL = "transaction_pool"
SYNC = "sync_service"


PEER_DISCONNECTS = "peer_disconnects"
"""Sync row column, per engine and its own: the peers that engine lost in the sample's
interval (connected peers gone down or partitioned away, or dropped or banned by the engine;
:attr:`sim.sync_link.SyncLink.peers_lost`)."""
PEERS_AT_START = "peers_at_interval_start"
"""Sync row column, per engine and its own: the peers that engine was connected to at the
interval's start (the previous sample; :meth:`sim.sync_link.SyncLink.take_interval`)."""
ATTEMPTS = "attempts"
"""Derived row key per pool version and sync serving version (:func:`with_attempts`): the
interval's calls routed to the version, whether it completed them or its open breaker refused
them (``requests + refused_by_breaker``). Not a time-series column: the snapshot's
``request_count`` is its window sum."""
FAILED_ATTEMPTS = "failed_attempts"
"""Derived row key per pool version (:func:`with_attempts`): ``errors + refused_by_breaker``,
the failed attempts whose share of :data:`ATTEMPTS` is the window's error rate."""
_IN_INTERVAL = {"processed_transactions": "processed_transactions_in_interval",
                "rejected_transactions": "rejected_transactions_in_interval",
                "request_count": ATTEMPTS}
"""Snapshot metrics summed from another row key: the pool counters the series holds
cumulatively (the guide's ``V2Metrics`` counters, as ``pool.stats()`` gives them) from their
per-interval increases, and ``request_count`` from the derived :data:`ATTEMPTS`."""
_SUMMED = ("request_count", "timeout_count", "input_dropped_transactions",
           "sender_limited_transactions", *_IN_INTERVAL)
_ATTEMPT_PREFIXES = tuple(
    (f"{prefix}.{version}.", pool)
    for prefix, pool in ((POOL, True), (f"{SYNC}.serving", False)) for version in ("v1", "v2"))
"""Row prefixes :func:`with_attempts` derives :data:`ATTEMPTS` for, and whether
:data:`FAILED_ATTEMPTS` too (the pool's)."""
_MEANS = ("throughput_tps", "cpu_usage_percent", "sync_speed_bps", "network_bandwidth_mbps")
_WEIGHTED = ("avg_latency_ms", "p95_latency_ms", "p99_latency_ms")
_DISCONNECT_RATE = "peer_disconnect_rate_percent"
"""Derived from :data:`PEER_DISCONNECTS` and :data:`PEERS_AT_START` (:func:`_disconnect_rate`)."""
_SERVING_FIGURES = ("error_rate_percent", "avg_latency_ms", "cpu_usage_percent")
"""Sync metrics read from the version's SERVING of inbound peer requests
(``sync_service.serving.<v>.*`` columns, :meth:`sim.node.Node.service_metric_values`), not
from its engine: the engine has no CPU model and no per-request error or latency, while a
``v2_regression`` on sync acts on V2's serving (:func:`_serving_figures`; health.py says
which checks read them)."""
_SERVING_COLUMNS = (ATTEMPTS, *_SERVING_FIGURES)
"""The serving columns :func:`_serving_figures` reads, in its argument order."""
_SYNCED_BEHIND = 2.0
"""An engine this many blocks (or fewer) behind the head counts as synced."""
_V1_BASELINE_SHARE = 0.5
"""V1 figures are a baseline only from windows where V1 carried at least this share
(throughput and CPU excepted: :data:`_PER_REQUEST`)."""
_THROUGHPUT_MIN_REQUESTS = 20.0
"""A version's served share of its requests is judged only from a window where it was routed
at least this many (``request_count``; V2: else its throughput is NaN, not judged; V1: else
its last such share is the baseline): the health checks' low-traffic guard (``min_requests``
20, Hystrix's ``requestVolumeThreshold``, control-plane-anchors.md §1.4 and §5 item 17). A
share of a few requests is noise."""
_PER_REQUEST = ("throughput_tps", "cpu_usage_percent")
"""Pool figures read per routed request (:meth:`RolloutLink._snapshot`), under the guard of
:data:`_THROUGHPUT_MIN_REQUESTS`: admitted transactions and mailbox busy time per request do
not depend on the load, so V1's last such figure stays a fair baseline under any load."""
_SCRIPT_THRESHOLDS = "alerts"
"""The manual script's health verdict: ``check_v2_health``'s thresholds (module doc)."""


def with_attempts(row: dict[str, float]) -> dict[str, float]:
    """The sample row with :data:`ATTEMPTS` (and :data:`FAILED_ATTEMPTS`) derived, a new dict.

    The series counts a call refused by V2's open breaker in V2's ``refused_by_breaker``
    and in V1's ``requests`` (V1 serves it), not in V2's ``requests``, as the summary does.
    The rollout's figures judge a version by the calls ROUTED to it, a refusal being a failed
    attempt of V2: its shares, low-traffic guards, latency weights and error rates read these
    derived keys. A prefix whose ``requests`` the row lacks gets none.
    """
    out = dict(row)
    for prefix, pool in _ATTEMPT_PREFIXES:
        requests = row.get(prefix + "requests")
        if requests is None:
            continue
        refused = row.get(prefix + "refused_by_breaker", 0.0)
        out[prefix + ATTEMPTS] = requests + refused
        if pool:
            out[prefix + FAILED_ATTEMPTS] = row.get(prefix + "errors", math.nan) + refused
    return out


def _column(rows: Sequence[dict[str, float]], key: str) -> list[float]:
    return [r[key] for r in rows if key in r and not math.isnan(r[key])]


def _disconnect_rate(disconnects: list[float], at_start: list[float]) -> float:
    """A window's peer disconnect rate, percent: its disconnects over its peers at its start.

    ``disconnects`` are one engine's per-interval lost peers, ``at_start`` the peers that
    engine held at each interval's start, oldest first (NaNs left out): the window starts at
    the first interval that has the figure. One event that cuts off 60 % of the peers is 60 %
    in every window that holds it (the Alerts threshold ``peer_disconnect_rate: 30``,
    guide L171-184), where a mean of per-interval rates would spread it over the window.
    NaN (no data) without figures, or with disconnects but no peer at the start.
    """
    if not at_start:
        return math.nan
    lost = float(sum(disconnects))
    if lost == 0.0:
        return 0.0
    first = at_start[0]
    return 100.0 * lost / first if first > 0.0 else math.nan


def _serving_figures(requests: Sequence[float], error_pct: Sequence[float],
                     latency_ms: Sequence[float], cpu_pct: Sequence[float]
                     ) -> dict[str, float]:
    """A window's sync serving figures from its per-interval columns (row-aligned, NaN kept).

    ``error_rate_percent``: failed and refused requests over all requests in the window
    (each interval's rate times its requests, summed, over the summed requests);
    ``avg_latency_ms``: the interval means weighted by their requests; ``cpu_usage_percent``:
    the mean busy share of the serving mailbox (each interval's capped at 100 %). NaN when the
    window has no such figure.
    """
    attempts = errors = weight = weighted = 0.0
    for req, err, lat in zip(requests, error_pct, latency_ms, strict=True):
        if req != req or req <= 0.0:  # `!=`: NaN
            continue
        if err == err:
            attempts += req
            errors += err * req / 100.0
        if lat == lat:
            weight += req
            weighted += lat * req
    busy = [c for c in cpu_pct if c == c]
    return {"error_rate_percent": 100.0 * errors / attempts if attempts > 0 else math.nan,
            "avg_latency_ms": weighted / weight if weight > 0 else math.nan,
            "cpu_usage_percent": _mean(busy) if busy else math.nan}


def snapshot_from_rows(rows: Sequence[dict[str, float]]
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """The rollout snapshot ``[module][version][metric]`` of a window of sample rows.

    Counts are summed over the window (the pool's processed and rejected transactions from
    their per-interval increases: the series holds them as cumulative counters), rates and
    CPU averaged, latencies averaged weighted by each sample's requests, gauges taken from
    the last sample; the pool's error rate is the window's errors over its attempts, each
    sync engine's peer disconnect rate the peers it lost in the window over the peers it
    held at the window's start (:func:`_disconnect_rate`).
    """
    snap: dict[str, dict[str, dict[str, float]]] = {POOL: {}, SYNC: {}}
    rows = [with_attempts(row) for row in rows]
    last = rows[-1]
    for module, names in ((POOL, POOL_METRICS), (SYNC, SYNC_METRICS)):
        for version in ("v1", "v2"):
            prefix = f"{module}.{version}."
            values: dict[str, float] = {}
            for name in names:
                key = prefix + name
                if name == _DISCONNECT_RATE or (module == SYNC and name in _SERVING_FIGURES):
                    continue  # derived below
                if name in _SUMMED:
                    col = _column(rows, prefix + _IN_INTERVAL.get(name, name))
                    values[name] = float(sum(col)) if col else math.nan
                elif name in _MEANS:
                    col = _column(rows, key)
                    values[name] = float(np.mean(col)) if col else math.nan
                elif name in _WEIGHTED:
                    pairs = [(r[key], r.get(prefix + ATTEMPTS, 0.0)) for r in rows
                             if key in r and not math.isnan(r[key])]
                    weight = sum(w for _, w in pairs)
                    values[name] = (sum(v * w for v, w in pairs) / weight if weight > 0
                                    else math.nan)
                elif key in last:
                    values[name] = last[key]
            if module == POOL:
                attempts = values.get("request_count", math.nan)
                errors = sum(_column(rows, prefix + FAILED_ATTEMPTS))
                values["error_rate_percent"] = (100.0 * errors / attempts
                                                if attempts > 0 else math.nan)
            else:
                col = _column(rows, f"{SYNC}.serving.{version}.{ATTEMPTS}")
                values["request_count"] = float(sum(col)) if col else math.nan
                values[_DISCONNECT_RATE] = _disconnect_rate(
                    _column(rows, prefix + PEER_DISCONNECTS),
                    _column(rows, prefix + PEERS_AT_START))
                values.update(_serving_figures(*(
                    [r.get(f"{SYNC}.serving.{version}.{name}", math.nan) for r in rows]
                    for name in _SERVING_COLUMNS)))
            snap[module][version] = values
    return snap


def _mean(values: list[float]) -> float:
    # For floats (every value the sampler writes), np.mean(values) is np.add.reduce over the
    # same float64 array divided by the count; calling the two directly gives the same bits
    # without np.mean's dispatch (~4 us a call). A test checks it against np.mean.
    return float(np.add.reduce(np.asarray(values, dtype=np.float64)) / len(values))


_SUM, _MEAN, _WEIGHT, _LAST, _DERIVED = range(5)
"""How :func:`snapshot_from_rows` aggregates a metric over the window (``_DERIVED``: from
other columns, after the loop)."""


def _snapshot_plan() -> tuple[tuple[str, str, str, tuple[tuple[str, int, str], ...]], ...]:
    """Per (module, version): prefix and, in :func:`snapshot_from_rows`'s order, the metrics.

    Each metric as its name, how it is aggregated and its column key.
    """
    plan = []
    for module, names in ((POOL, POOL_METRICS), (SYNC, SYNC_METRICS)):
        for version in ("v1", "v2"):
            prefix = f"{module}.{version}."
            ops = tuple((name, _DERIVED, prefix + name)
                        if name == _DISCONNECT_RATE
                        or (module == SYNC and name in _SERVING_FIGURES)
                        else (name, _SUM, prefix + _IN_INTERVAL.get(name, name))
                        if name in _SUMMED
                        else (name, _MEAN if name in _MEANS else _WEIGHT if name in _WEIGHTED
                              else _LAST, prefix + name)
                        for name in names)
            plan.append((module, version, prefix, ops))
    return tuple(plan)


_PLAN = _snapshot_plan()
_SERVING_KEY = {version: f"{SYNC}.serving.{version}.{ATTEMPTS}" for version in ("v1", "v2")}
_SERVING_KEYS = {version: tuple(f"{SYNC}.serving.{version}.{name}" for name in _SERVING_COLUMNS)
                 for version in ("v1", "v2")}


class HealthWindow:
    """The last ``rows`` sample rows, held as one column per figure a snapshot aggregates.

    :meth:`snapshot` returns exactly :func:`snapshot_from_rows` of those rows (a test checks
    it), but reads short per-metric columns instead of looking every key up in every row: a
    missing key is stored as NaN, which every aggregate skips just as it skips a missing key;
    a request weight missing from a row is stored as 0.0, the value ``rows`` would default to.

    Args:
        rows: How many of the latest rows the window holds (at least 1).
    """

    def __init__(self, rows: int) -> None:
        keys = [key for _, _, _, ops in _PLAN for _, op, key in ops
                if op not in (_LAST, _DERIVED)]
        keys += [prefix + FAILED_ATTEMPTS for module, _, prefix, _ in _PLAN if module == POOL]
        keys += [key for version_keys in _SERVING_KEYS.values() for key in version_keys]
        keys += [prefix + name for module, _, prefix, _ in _PLAN if module == SYNC
                 for name in (PEER_DISCONNECTS, PEERS_AT_START)]
        self._columns: dict[str, deque[float]] = {key: deque(maxlen=rows)
                                                  for key in dict.fromkeys(keys)}
        # Latency weights: each row's attempts of the prefix, 0.0 when absent.
        self._weights: dict[str, deque[float]] = {
            prefix: deque(maxlen=rows) for _, _, prefix, ops in _PLAN
            if any(op == _WEIGHT for _, op, _ in ops)}
        self._weight_keys = {prefix: prefix + ATTEMPTS for prefix in self._weights}
        # NaNs per column: a column with none or only NaNs needs no per-value test.
        self._nans = dict.fromkeys(self._columns, 0)
        self._rows = rows
        self._last: dict[str, float] = {}
        # The averaged columns again, as one float64 matrix (a column per averaged key, a
        # row per sample) written twice, at row i and i + rows, so the window's rows are
        # always one slice [start, start + len) in time order: a snapshot sums every
        # NaN-free averaged column with one numpy reduction (see snapshot) instead of one
        # conversion and reduction per column.
        self._mean_keys = list(dict.fromkeys(key for _, _, _, ops in _PLAN
                                             for _, op, key in ops if op == _MEAN))
        self._mean_index = {key: i for i, key in enumerate(self._mean_keys)}
        self._mean_rows = np.zeros((2 * rows, len(self._mean_keys)), dtype=np.float64)
        self._next = 0  # the ring position the next row goes to, in [0, rows)

    def __len__(self) -> int:
        return len(self._columns[_SERVING_KEY["v1"]])

    def append(self, row: dict[str, float]) -> None:
        """Add the latest sample row (the oldest row leaves once the window is full)."""
        row = with_attempts(row)
        nan, nans, get = math.nan, self._nans, row.get
        # `v != v` is math.isnan(v) for the floats a row holds, without the call.
        if len(self) == self._rows:
            for key, column in self._columns.items():
                value = get(key, nan)
                if value != value:
                    nans[key] += 1
                oldest = column[0]
                if oldest != oldest:
                    nans[key] -= 1  # the oldest value leaves on this append
                column.append(value)
        else:
            for key, column in self._columns.items():
                value = get(key, nan)
                if value != value:
                    nans[key] += 1
                column.append(value)
        for prefix, weights in self._weights.items():
            weights.append(get(self._weight_keys[prefix], 0.0))
        self._last = row
        values = np.array([get(key, nan) for key in self._mean_keys], dtype=np.float64)
        i = self._next
        self._mean_rows[i] = values
        self._mean_rows[i + self._rows] = values
        self._next = i + 1 if i + 1 < self._rows else 0

    def _window_sums(self) -> npt.NDArray[np.float64]:
        """Per averaged column, ``np.add.reduce`` of its window (oldest row first).

        Reducing a C-contiguous matrix along its last axis runs numpy's pairwise sum over each
        row, exactly as reducing that row alone (which :func:`_mean` does; a test checks it).
        """
        n = len(self)
        start = self._next - n if self._next >= n else self._next - n + self._rows
        window = np.ascontiguousarray(self._mean_rows[start:start + n].T)
        return np.add.reduce(window, axis=1)  # type: ignore[no-any-return]

    def _valid(self, key: str) -> list[float]:
        column = self._columns[key]
        nans = self._nans[key]
        if not nans:
            return list(column)
        if nans == len(column):
            return []
        isnan = math.isnan
        return [v for v in column if not isnan(v)]

    def snapshot(self) -> dict[str, dict[str, dict[str, float]]]:
        """The window's snapshot ``[module][version][metric]``: see :func:`snapshot_from_rows`.

        Raises:
            IndexError: If the window is empty.
        """
        if not len(self):
            raise IndexError("snapshot of an empty window")
        isnan = math.isnan
        valid = self._valid
        last = self._last
        nan_counts = self._nans
        n = len(self)
        sums = self._window_sums()
        mean_index = self._mean_index
        snap: dict[str, dict[str, dict[str, float]]] = {POOL: {}, SYNC: {}}
        for module, version, prefix, ops in _PLAN:
            values: dict[str, float] = {}
            for name, op, key in ops:
                if op == _SUM:
                    col = valid(key)
                    values[name] = float(sum(col)) if col else math.nan
                elif op == _MEAN:
                    if not nan_counts[key]:
                        # Every value valid: _mean(column) is its window sum over n.
                        values[name] = float(sums[mean_index[key]] / n)
                    else:
                        col = valid(key)
                        values[name] = _mean(col) if col else math.nan
                elif op == _DERIVED:
                    continue
                elif op == _WEIGHT:
                    ws: list[float] = []
                    vws: list[float] = []
                    column, weights = self._columns[key], self._weights[prefix]
                    nans = self._nans[key]
                    if not nans:
                        ws = list(weights)
                        vws = [v * w for v, w in zip(column, weights, strict=True)]
                    elif nans < len(column):
                        for v, w in zip(column, weights, strict=True):
                            if not isnan(v):
                                ws.append(w)
                                vws.append(v * w)
                    weight = sum(ws)
                    values[name] = sum(vws) / weight if weight > 0 else math.nan
                elif key in last:
                    values[name] = last[key]
            if module == POOL:
                attempts = values.get("request_count", math.nan)
                errors = sum(valid(prefix + FAILED_ATTEMPTS))
                values["error_rate_percent"] = (100.0 * errors / attempts
                                                if attempts > 0 else math.nan)
            else:
                col = valid(_SERVING_KEY[version])
                values["request_count"] = float(sum(col)) if col else math.nan
                values[_DISCONNECT_RATE] = _disconnect_rate(valid(prefix + PEER_DISCONNECTS),
                                                            valid(prefix + PEERS_AT_START))
                values.update(_serving_figures(*(self._columns[key]
                                                 for key in _SERVING_KEYS[version])))
            snap[module][version] = values
        return snap


_SWITCHES = ("skip_first_stage", "nil_health_crash", "no_resume",
             "stops_checking_after_rollback")


def controller_config(section: ControllerSection, profile: str) -> ControllerConfig:
    """The controller's config: the section's timing, its switches over the profile's."""
    base = ControllerConfig.for_profile(profile)
    switches = {name: getattr(base, name) if getattr(section, name) is None
                else getattr(section, name) for name in _SWITCHES}
    return ControllerConfig(stages=section.stages, check_interval=section.check_interval,
                            stability_period=section.stability_period,
                            failures_to_rollback=section.failures_to_rollback, **switches)


def _earliest_full(section: ControllerSection, profile: str) -> float | None:
    """The earliest time the controller can set its last stage, if that stage is 100 %.

    Its first check is one interval after its start and each later advance the first check
    at least a stability period after the one before (:class:`RolloutController`); checks
    held, failed or handled late only delay it, so this is a lower bound. None when it never
    sets 100 %: its last stage is below, every check crashes (``nil_health_crash``), or a
    one-stage ladder under ``skip_first_stage`` (never applied).
    """
    cfg = controller_config(section, profile)
    advances = len(cfg.stages) - (1 if cfg.skip_first_stage else 0)
    if cfg.nil_health_crash or cfg.stages[-1] < 100 or advances < 1:
        return None
    start, interval = section.start, cfg.check_interval
    k = 1
    for _ in range(advances - 1):
        due = (k * interval + cfg.stability_period) / interval
        k = max(k + 1, math.ceil(due - 1e-9))
    return start + k * interval


def _deprecation_warning(scenario: Scenario, extra_env: dict[str, str] | None) -> str | None:
    """A warning when a fixed-time deprecation will certainly be refused, else None.

    ``cut_over`` refuses it unless the pool is at 100 % on ``v2`` at ``at``. Only a schedule
    step or the controller can raise the pool's split (AutoRollback and the manual rollback
    script only lower it, and only a schedule step changes a version), so the deprecation is
    certainly refused when the pool's version and split after the timed steps up to ``at``
    (schedule steps, then the manual rollback at equal times, as :meth:`RolloutLink.run_timed`
    runs them) are not ``v2`` at 100 %, and either the pool is then on ``v1`` (the controller
    drives only modules on ``v2``) or no enabled controller can set 100 % by ``at``
    (:func:`_earliest_full`). Conservative: anything that might reach 100 % gives no warning.
    """
    rollout = scenario.rollout
    dep = rollout.deprecation
    if dep is None or not dep.enabled or dep.at is None or dep.at > scenario.duration:
        return None
    at = dep.at
    control = resolve_control(scenario, extra_env)
    version, split = control.versions[POOL], control.traffic[POOL]
    steps = guide_schedule() if rollout.schedule == "guide" else rollout.schedule
    timed: list[tuple[float, int, str, int]] = [
        (step.time, 0, step.version, step.split)
        for step in steps if step.module == POOL and step.time <= at]
    if rollout.manual_rollback_at is not None and rollout.manual_rollback_at <= at:
        timed.append((rollout.manual_rollback_at, 1, "", 0))
    for _, _, step_version, step_split in sorted(timed, key=lambda item: item[:2]):
        version, split = step_version or version, step_split
    if version == "v2" and split >= 100:
        return None
    c = rollout.controller
    if version == "v2" and c is not None and c.enabled:
        earliest = _earliest_full(c, scenario.profile)
        if earliest is not None and earliest <= at:
            return None
    return (f"rollout.deprecation.at ({at:g} s): {POOL} will be on {version} at {split} % "
            "then, and no schedule step or controller stage can take it to 100 % on v2 by "
            "then: the deprecation will be refused (V1 keeps running; a deprecation never "
            "moves a split)")


def rollout_warnings(scenario: Scenario, extra_env: dict[str, str] | None = None
                     ) -> list[str]:
    """What ``mana-sim validate`` warns of: rollout settings that will not do what they seem.

    A controller module on ``v1`` from the start (after the ``env`` block) that no schedule
    step switches to ``v2``: the controller leaves it alone, as not rolled out (module doc).
    A fault timed at or after the run's end: it never starts (``rollout.not_reached``).
    A fixed-time deprecation that will certainly be refused (:func:`_deprecation_warning`).
    A peer fault whose count exceeds the network's honest peers: it hits all of them, fewer
    than asked (its ``fault_start`` event's ``requested`` and ``peers`` say so).

    Args:
        scenario: A validated scenario (its ``env`` block resolves).
        extra_env: An ``--env-file``'s variables, applied over the scenario as a run does.

    Returns:
        One line per warning, in scenario order.
    """
    out: list[str] = []
    rollout = scenario.rollout
    controller = rollout.controller
    if controller is not None and controller.enabled:
        versions = resolve_control(scenario, extra_env).versions
        steps = guide_schedule() if rollout.schedule == "guide" else rollout.schedule
        switched = {step.module for step in steps if step.version == "v2"}
        left = [m for m in (POOL, SYNC) if versions[m] != "v2" and m not in switched]
        if left:
            out.append(f"rollout.controller: {' and '.join(left)} on v1: the controller drives "
                       "only modules on v2 and leaves these as they are (not rolled out; "
                       "set modules.<name>.version: v2 to roll them out)")
    refused = _deprecation_warning(scenario, extra_env)
    if refused is not None:
        out.append(refused)
    honest = scenario.network.peers.get("honest", 0)
    for i, fault in enumerate(scenario.faults):
        start = fault.at if fault.kind == "node_restart" else fault.start
        if start >= scenario.duration:
            out.append(f"faults[{i}] ({fault.kind}) starts at {start:g} s, at or after the "
                       f"run's end ({scenario.duration:g} s): it never happens")
        count = getattr(fault, "peers", None)
        if fault.kind != "partition" and isinstance(count, int) and count > honest:
            # (No honest peer at all is refused at load: Scenario._faults_hit_a_peer.)
            out.append(f"faults[{i}] ({fault.kind}) asks for {count} honest peers; the network "
                       f"has {honest}: it hits those {honest}")
    return out


class RolloutLink:
    """Runs the rollout components against the model's samples.

    Args:
        section: The scenario's rollout section.
        profile: ``"intended"`` or ``"as_written"``.
        router: The router whose splits and versions it changes.
        events: The run's event log.
        retire_v1: Called with the time when V1 is deprecated; returns what it did (retiring
            V1's sync too, with the checkpoint hand-over, when sync runs fully on V2 then).
        metrics_interval: The sampling interval, seconds (the health window's rows).
        retire_v1_sync: Called with the time when sync reaches 100 % on V2 after the pool's
            deprecation left V1 sync running: retires V1 sync with the checkpoint hand-over;
            returns what it did. None: sync is never retired later.
        late_faults: The scenario's faults timed at or after the run's end (they never
            happen), each as its ``not_reached`` entry (``time``, ``fault``, ``index``,
            ``module`` for a regression): listed by :meth:`not_reached`.
    """

    def __init__(self, section: RolloutSection, profile: str, router: ModuleRouter,
                 events: EventLog, retire_v1: Callable[[float], dict[str, Any]],
                 metrics_interval: float,
                 retire_v1_sync: Callable[[float], dict[str, Any]] | None = None,
                 late_faults: Sequence[dict[str, Any]] = ()) -> None:
        self.section = section
        self._late_faults = [{"what": "fault", **f} for f in late_faults]
        self._window = HealthWindow(max(1, round(section.health_window / metrics_interval)))
        self._interval = metrics_interval
        # rollout.sender_limit_counts_as_failed: failed_transactions_percent's reading.
        self._sender_limit_failed = section.sender_limit_counts_as_failed
        self._v1_baseline: dict[str, float] | None = None
        # V1's last per-request figures (_PER_REQUEST: admitted transactions and busy
        # time per routed request), from its last window with enough requests.
        self._v1_per_request: dict[str, float] = {}
        # V1 sync serving's busy share per request (percent per request of the window): its
        # CPU baseline once it serves fewer than _THROUGHPUT_MIN_REQUESTS (_sync_serving).
        self._v1_sync_busy: float | None = None
        self.router = router
        self.events = events
        self._retire_v1 = retire_v1
        self._retire_v1_sync = retire_v1_sync
        self.alerts: AlertEvaluator | None = None
        if section.alerts.enabled:
            text = section.alerts.rules
            source = None if text is None else alert_rules_source(text)
            self.alerts = AlertEvaluator(load_alert_rules(source),
                                         interval=section.alerts.interval,
                                         start=section.alerts.interval)
        self.controller: RolloutController | None = None
        self.health: HealthCheck | None = None
        self._resumes: list[float] = []
        c = section.controller
        if c is not None and c.enabled:
            self.controller = RolloutController(controller_config(c, profile), start=c.start)
            self.health = HealthCheck(c.health, min_requests=c.min_requests)
            self._resumes = sorted(c.resume_at)
        self.auto: AutoRollback | None = None
        a = section.auto_rollback
        if a is not None and a.enabled:
            pauses = a.pauses_controller
            if pauses is None:
                pauses = AutoRollbackConfig.for_profile(profile).pauses_controller
            self.auto = AutoRollback(AutoRollbackConfig(
                interval=a.interval, threshold_set=a.threshold_set,
                min_requests=a.min_requests, pauses_controller=pauses))
        steps = guide_schedule() if section.schedule == "guide" else section.schedule
        self.schedule = ScheduleCursor(steps)
        self.script: list[RollbackScriptStep] = (
            list(manual_rollback_script(section.manual_rollback_at))
            if section.manual_rollback_at is not None else [])
        self._script_modules = [st.module for st in self.script
                                if st.kind == "set_split" and st.module is not None]
        self._script_check = HealthCheck(_SCRIPT_THRESHOLDS)
        self.ignored_rollbacks: dict[str, int] = {}
        self.deprecation = section.deprecation
        self.retired_at: float | None = None
        # The fixed-time deprecation's refusal (cut_over), or None.
        self.deprecation_refused: dict[str, Any] | None = None
        self.sync_retired_at: float | None = None
        self.steps_refused = 0
        self.retired_modules: set[str] = set()
        self._full_since: float | None = None
        self.stage_log: list[dict[str, Any]] = []
        self.rollbacks: list[dict[str, Any]] = []
        self.alert_log: list[dict[str, Any]] = []
        self.failed_checks = 0
        self.checks = 0
        self._last_pool_share: dict[str, float] = {"v1": math.nan, "v2": math.nan}
        # The modules the controller applied a stage or its rollback to (on v2 then), each
        # with the time of the first, in that order (the summary's modules_driven).
        self._driven: dict[str, float] = {}

    # -- helpers -------------------------------------------------------------------------

    def _split_outcome(self, module: str, percent: int) -> str:
        """What setting ``module`` to ``percent`` would do: ``same``, ``refused`` or ``change``."""
        if self.router.split(module) == percent:
            return "same"
        if module in self.retired_modules and percent < 100:
            return "refused"  # V1 is gone: there is nothing left to roll back to
        return "change"

    def _set_split(self, now: float, module: str, percent: int, source: str) -> bool:
        """Set one split; returns whether it changed (a refusal is an event)."""
        outcome = self._split_outcome(module, percent)
        if outcome == "refused":
            self.events.emit(now, "split_refused", module=module, split=percent,
                             source=source, reason="V1 deprecated")
        if outcome != "change":
            return False
        self.router.set_split(module, percent)
        self._log_routing(now, module, source)
        return True

    def _log_routing(self, now: float, module: str, source: str) -> None:
        """Record ``module``'s routing as it now is (a split or version change) in ``splits``."""
        self.stage_log.append({"time": now, "module": module,
                               "version": self.router.version(module),
                               "split": self.router.split(module), "source": source})

    def _rollback(self, now: float, source: str, reason: str, modules: Sequence[str],
                  percent: int = 0) -> list[str]:
        """A rollback request: recorded if it changes a split, else counted as ignored.

        Returns:
            The modules whose split it changed (empty: the request was ignored).
        """
        outcomes = [(m, self._split_outcome(m, percent)) for m in modules]
        changed = [m for m, o in outcomes if o == "change"]
        if not changed:
            for module, outcome in outcomes:
                if outcome == "refused":
                    self._set_split(now, module, percent, source)  # logs the refusal
            why = ("V1 deprecated" if any(o == "refused" for _, o in outcomes)
                   else f"already at {percent} %")
            self.ignored_rollbacks[why] = self.ignored_rollbacks.get(why, 0) + 1
            self.events.emit(now, "rollback_ignored", source=source, reason=why,
                             trigger=reason, modules=list(modules))
            return []
        self.events.emit(now, "rollback", source=source, reason=reason, modules=changed)
        self.rollbacks.append({"time": now, "source": source, "reason": reason,
                               "modules": changed})
        return changed

    def _on_v2(self, modules: Sequence[str]) -> list[str]:
        """The modules of ``modules`` whose version is ``"v2"`` now (in their order)."""
        return [m for m in modules if self.router.version(m) == "v2"]

    def _judged_snapshot(self, snap: dict[str, dict[str, dict[str, float]]]
                         ) -> dict[str, dict[str, dict[str, float]]]:
        """``snap`` with the V2 figures of every module on ``v1`` now set to NaN (no data).

        The controller's health check and AutoRollback read this: a module on ``v1`` gets no
        V2 traffic (the router needs ``"v2"``, guide L43-49), so its checks are not judged
        (n/a), rather than passed or failed on a V2 sync engine that syncs but serves no one.
        """
        on_v1 = [m for m in snap if self.router.version(m) != "v2"]
        if not on_v1:
            return snap
        out = dict(snap)
        for module in on_v1:
            out[module] = {**snap[module],
                           "v2": dict.fromkeys(snap[module].get("v2", {}), math.nan)}
        return out

    def _apply(self, actions: list[ControllerAction], source: str) -> None:
        """Apply the controller's or AutoRollback's actions to the modules on ``v2`` only.

        A module on ``v1`` is left as it is (module doc): its split would move no traffic.
        """
        rollback: Rollback | None = None
        for act in actions:
            if isinstance(act, Rollback):
                rollback = act  # recorded with the SetTraffic(0) that always follows it
                continue
            if isinstance(act, SetTraffic):
                modules = self._on_v2(act.modules)
                if rollback is not None:
                    changed = (self._rollback(act.time, rollback.source, rollback.reason,
                                              modules, act.percent) if modules else [])
                    rollback = None
                    if not changed:
                        continue
                else:
                    changed = [m for m in modules
                               if self._split_outcome(m, act.percent) == "change"]
                fields = action_event(act)
                fields.pop("kind")
                if changed:
                    # The modules whose split this stage change actually moved.
                    self.events.emit(act.time, "stage_change", source=source,
                                     **{**fields, "modules": changed})
                for module in modules:
                    self._set_split(act.time, module, act.percent, source)
                    if source != "auto_rollback":
                        self._driven.setdefault(module, act.time)
                continue
            fields = action_event(act)
            kind = str(fields.pop("kind"))
            self.events.emit(act.time, kind, source=source, **fields)

    def _sync_serving(self, sync: dict[str, dict[str, float]], update_baseline: bool) -> None:
        """Put the sync serving figures of both versions on a per-request footing, in place.

        V1 and V2 sync serve inbound peer requests side by side at the split's shares, so a
        version's busy share grows with its share: ``cpu_usage_percent`` becomes its busy
        seconds per request routed to it (``request_count``) times the module's serving
        requests in the window, as a share of the window: the busy share it would have
        serving all of them, the pool's reading of CPU (per routed request). A version with
        fewer than :data:`_THROUGHPUT_MIN_REQUESTS` requests in the window gives no latency
        or CPU figure (a few requests are noise): V2's is then not judged; V1's CPU is its
        last per-request figure times this window's requests (load-independent) and its
        latency NaN, so the health check falls back to the last V1 latency it saw.
        ``update_baseline`` False leaves the remembered V1 figure as it was.
        """
        counts = {v: sync[v].get("request_count", math.nan) for v in ("v1", "v2")}
        counts = {v: 0.0 if math.isnan(c) else c for v, c in counts.items()}
        total = counts["v1"] + counts["v2"]
        for version in ("v1", "v2"):
            row, n = sync[version], counts[version]
            busy = row.get("cpu_usage_percent", math.nan)
            if n >= _THROUGHPUT_MIN_REQUESTS and not math.isnan(busy):
                row["cpu_usage_percent"] = busy / n * total
                if version == "v1" and update_baseline:
                    self._v1_sync_busy = busy / n
                continue
            row["avg_latency_ms"] = math.nan
            row["cpu_usage_percent"] = (self._v1_sync_busy * total
                                        if version == "v1" and self._v1_sync_busy is not None
                                        and total else math.nan)

    def _snapshot(self, update_baseline: bool = True) -> dict[str, dict[str, dict[str, float]]]:
        """The health window's snapshot, rates per unit of traffic share, V1 as baseline.

        Pool rates and CPU grow with a version's share of the pool's requests
        (``request_count``: every call routed to it, recorded once, ok, failed, refused or
        timed out), so they are divided by it (:func:`~sim.rollout.normalise_rates`): a
        version's ``throughput_tps`` (transactions admitted to its pool with an ok reply, per
        second) becomes the share of its requests whose transaction it admitted, times the
        pool's request rate in this window (:mod:`sim.rollout.snapshot`), and its
        ``cpu_usage_percent`` its mailbox's busy seconds per request times that rate. Neither
        per-request figure depends on the load (:data:`_PER_REQUEST`), so V1's figure is
        V1's own in this window when V1 had at least :data:`_THROUGHPUT_MIN_REQUESTS`
        requests in it, and otherwise V1's last such per-request figure times THIS window's
        request rate: a load step moves both versions' figures alike, and V2 at 100 % is
        still compared with what V1 did per request. V2's figures are not judged (NaN) from a
        window with fewer V2 requests.

        V1's other pool figures (latency, memory) are used as the baseline only from
        windows where V1 carried at least half the traffic; later windows compare V2 with the
        last such baseline (at a 10 % share, V1's figures scaled by ten are mostly noise, and
        at 0 % there are none). ``update_baseline`` False: read the remembered baselines
        without storing this window's (an extra look, such as the manual script's, leaves the
        evaluations' baselines as they were).
        """
        snap = self._window.snapshot()
        v1 = snap[POOL]["v1"].get("request_count", math.nan)
        v2 = snap[POOL]["v2"].get("request_count", math.nan)
        v1 = 0.0 if math.isnan(v1) else v1
        v2 = 0.0 if math.isnan(v2) else v2
        total = v1 + v2
        # Both sync engines do the whole sync side by side: their rates compare as they are.
        shares = {POOL: {"v1": v1 / total if total else math.nan,
                         "v2": v2 / total if total else math.nan},
                  SYNC: {"v1": 1.0, "v2": 1.0}}
        out = normalise_rates(snap, shares)
        for version in ("v1", "v2"):
            # The run's one reading of the figure, for every check and alert rule.
            pool = out[POOL][version]
            pool[FAILED_TRANSACTIONS_PERCENT] = failed_transactions_percent(
                pool, sender_limit_counts_as_failed=self._sender_limit_failed)
        for version in ("v1", "v2"):
            sync = out[SYNC][version]
            # A synced engine's speed is the chain's growth rate (1 block per slot), not what
            # it could do: comparing it with an engine still catching up means nothing.
            if sync.get("blocks_behind", math.inf) <= _SYNCED_BEHIND:
                sync["sync_speed_bps"] = math.nan
        self._sync_serving(out[SYNC], update_baseline)
        # The pool's request rate in the window (its rows are one sampling interval each).
        rate = total / (len(self._window) * self._interval)
        v2_pool = out[POOL]["v2"]
        v1_live = out[POOL]["v1"]
        v1_figures: dict[str, float] = {}
        for name in _PER_REQUEST:
            if v2 < _THROUGHPUT_MIN_REQUESTS and name in v2_pool:
                v2_pool[name] = math.nan
            value = v1_live.get(name, math.nan)
            if v1 >= _THROUGHPUT_MIN_REQUESTS and not math.isnan(value):
                if update_baseline:
                    self._v1_per_request[name] = value / rate
            elif name in self._v1_per_request and total:
                value = self._v1_per_request[name] * rate
            v1_figures[name] = value
        if total and v1 / total >= _V1_BASELINE_SHARE:
            if update_baseline:
                self._v1_baseline = dict(out[POOL]["v1"])
        elif self._v1_baseline is not None:
            out[POOL]["v1"] = dict(self._v1_baseline)
        out[POOL]["v1"].update(v1_figures)
        return out

    # -- timed steps ---------------------------------------------------------------------

    def step_times(self) -> list[float]:
        """Every distinct time of a schedule step or manual rollback script step, in order."""
        return sorted({*(step.time for step in self.schedule.steps),
                       *(st.time for st in self.script)})

    def timed_due(self, now: float) -> bool:
        """Whether a schedule or script step is due at or before ``now`` and not yet run."""
        nxt = self.schedule.next_time
        return ((nxt is not None and nxt <= now)
                or (bool(self.script) and self.script[0].time <= now))

    def run_timed(self, now: float) -> None:
        """Run the schedule and manual rollback script steps due at or before ``now``.

        Each step takes effect and is logged at its own time; the runner calls this at each
        step's exact time (see the module doc).
        """
        for step in self.schedule.due(now):
            self._schedule_step(step)
        while self.script and self.script[0].time <= now:
            first = self.script[0]
            if first.kind == "set_split":
                # The script's two `kubectl set env` lines are one rollback at T.
                group = [st for st in self.script
                         if st.kind == "set_split" and st.time == first.time]
                del self.script[:len(group)]
                modules = [st.module for st in group if st.module is not None]
                changed = self._rollback(first.time, "manual_rollback",
                                         "scripts/rollback_v2.sh", modules)
                if changed:  # (an ignored request has logged its refusals already)
                    for module in modules:
                        self._set_split(first.time, module, 0, "manual_rollback")
                for st in group:
                    self.events.emit(st.time, "manual_rollback_step", step=st.kind,
                                     module=st.module, index=st.index)
                continue
            self.script.pop(0)
            fields: dict[str, Any] = {"step": first.kind, "module": first.module,
                                      "index": first.index}
            if first.kind in ("verify", "health_check"):
                fields.update(self._script_probe(first.time))
            self.events.emit(first.time, "manual_rollback_step", **fields)
        self._maybe_retire_sync(now)

    def _schedule_step(self, step: ScheduleStep) -> None:
        """Apply one schedule step (version and split), or refuse it whole.

        A step that would leave a retired module on V1 (its version ``v1``, or a split below
        100 %) is refused whole: neither its version nor its split changes, since V1 is gone
        (guide L390-433, ``V1Deprecation``: V1's processes stopped, its state cleared). It
        is a ``split_refused`` event with the step's version and split, counted in the
        summary's ``schedule_steps_refused``, and no ``schedule_step``.
        """
        module = step.module
        if module in self.retired_modules and (step.version == "v1" or step.split < 100):
            self.steps_refused += 1
            self.events.emit(step.time, "split_refused", module=module, split=step.split,
                             version=step.version, source="schedule", reason="V1 deprecated")
            return
        version_changed = self.router.version(module) != step.version
        if version_changed:
            self.router.set_version(module, step.version)
        if not self._set_split(step.time, module, step.split, "schedule") and version_changed:
            self._log_routing(step.time, module, "schedule")
        self.events.emit(step.time, "schedule_step", module=module, version=step.version,
                         split=step.split)

    def _script_probe(self, now: float) -> dict[str, Any]:
        """What a script verification or health check sees: routing and a health verdict."""
        fields: dict[str, Any] = {}
        for module in self._script_modules:
            fields[f"{module}_version"] = self.router.version(module)
            fields[f"{module}_split"] = self.router.split(module)
        fields["threshold_set"] = _SCRIPT_THRESHOLDS
        if not len(self._window):
            fields.update(healthy=None, health_reason="no metrics sample yet")
            return fields
        result = self._script_check.evaluate(now, self._snapshot(update_baseline=False))
        fields.update(healthy=result.healthy, health_reason=result.reason)
        return fields

    # -- the per-sample hook -------------------------------------------------------------

    def on_sample(self, now: float, row: dict[str, float]) -> None:
        """Run everything due at or before ``now`` (called right after each sample)."""
        self._window.append(row)
        self.run_timed(now)
        snap: dict[str, dict[str, dict[str, float]]] | None = None
        if self.alerts is not None and self.alerts.next_evaluation <= now:
            snap = self._snapshot()
            for ev in self.alerts.evaluate(now, snap):
                record = ev.to_event()
                kind = str(record.pop("kind"))
                self.events.emit(now, kind, **record)
                self.alert_log.append({"time": now, "event": kind, **record})
        ctrl = self.controller
        if ctrl is not None:
            while self._resumes and self._resumes[0] <= now:
                at = self._resumes.pop(0)
                actions = ctrl.resume(at)
                if not actions:  # (under no_resume it is a resume_refused action instead)
                    self.events.emit(at, "resume_ignored", reason="controller not paused")
                self._apply(actions, "resume")
            if ctrl.next_check_time <= now:
                # With none of its modules on v2 the ladder holds (module doc): an advance
                # would set no split, yet read as one, and spend the stage's stability hour.
                drivable = bool(self._on_v2(ctrl.config.modules))
                if ctrl.config.nil_health_crash:
                    # The guide's check crashes before producing a result (controller module
                    # doc): nothing is judged, so no health check is counted or failed.
                    self._apply(ctrl.on_check(now, None), "controller")
                else:
                    snap = snap if snap is not None else self._snapshot()
                    assert self.health is not None
                    result = self.health.evaluate(now, self._judged_snapshot(snap))
                    self.checks += 1
                    if not result.healthy:
                        self.failed_checks += 1
                        self.events.emit(now, "health_check_failed", reason=result.reason,
                                         modules=sorted({v.module for v in result.violations}))
                    self._apply(ctrl.on_check(now, result, advance=drivable), "controller")
        if self.auto is not None and self.auto.next_evaluation <= now:
            snap = snap if snap is not None else self._snapshot()
            self._apply(self.auto.evaluate(now, self._judged_snapshot(snap), ctrl),
                        "auto_rollback")
        self._maybe_retire(now)
        self._maybe_retire_sync(now)

    def _maybe_retire(self, now: float) -> None:
        dep = self.deprecation
        if dep is None or not dep.enabled or self.retired_at is not None:
            return
        if dep.at is not None:
            return  # a fixed time: the runner calls cut_over() at exactly that time
        full = (self.router.version(POOL) == "v2" and self.router.split(POOL) >= 100)
        if not full:
            self._full_since = None
            return
        if self._full_since is None:
            self._full_since = now
        if now - self._full_since >= dep.hold:
            self._retire(now)

    def cut_over(self, now: float) -> None:
        """Deprecation at a fixed time: V1 retires if the pool runs fully on V2, else refused.

        A deprecation never moves a split. Issue 6 item 6 stops V1 "at 100 %", and the guide
        runs ``V1Deprecation`` (V1's processes stopped, its state cleared: irreversible) only
        after two days of monitoring at 100 % V2 (guide L376-431). So when the pool is not
        at 100 % on V2 at ``at`` (a canary, or a rollback that undid the rollout), the
        deprecation is refused, not deferred: a ``deprecation_refused`` event with the
        pool's version and split, kept in the summary's ``rollout.deprecation_refused``, and
        V1 keeps running. Refused rather than deferred because a deferral would retire V1
        the moment the pool next reaches 100 %, at a time the user never chose and with no
        monitoring at 100 % first; retiring after a hold at 100 % is what a deprecation
        without ``at`` does (:meth:`_maybe_retire`).
        """
        if self.retired_at is not None or self.deprecation_refused is not None:
            return
        version, split = self.router.version(POOL), self.router.split(POOL)
        if version != "v2" or split < 100:
            reason = (f"{POOL} not at 100 % on V2 (on {version} at {split} %): "
                      "V1 still serves it")
            self.deprecation_refused = {"time": now, "module": POOL, "version": version,
                                        "split": split, "reason": reason}
            self.events.emit(now, "deprecation_refused", module=POOL, version=version,
                             split=split, reason=reason)
            return
        self._retire(now)

    def _retire(self, now: float) -> None:
        self.retired_at = now
        report = self._retire_v1(now)
        self.retired_modules.add(POOL)
        if report.get("sync_retired"):
            self.retired_modules.add(SYNC)
            self.sync_retired_at = now
        self.events.emit(now, "v1_deprecated", **report)

    def _maybe_retire_sync(self, now: float) -> None:
        """Retire V1 sync once sync runs fully on V2 after the pool's deprecation.

        The deprecation retires V1 sync only if sync runs fully on V2 then; otherwise V1
        keeps syncing, and its checkpoint is handed over (issue 6 item 6) as soon as sync
        reaches 100 % on V2: a ``v1_sync_retired`` event with the hand-over's figures.
        """
        if (self.retired_at is None or SYNC in self.retired_modules
                or self._retire_v1_sync is None):
            return
        if self.router.version(SYNC) != "v2" or self.router.split(SYNC) < 100:
            return
        report = self._retire_v1_sync(now)
        self.retired_modules.add(SYNC)
        self.sync_retired_at = now
        self.events.emit(now, "v1_sync_retired", **report)

    def not_reached(self) -> list[dict[str, Any]]:
        """What was timed but never ran: at a run's end, what was timed after it.

        Schedule steps, manual rollback script steps, controller resumes, a fixed-time
        deprecation not yet run, and faults timed at or after the run's end (which never
        start: ``late_faults``), each with its time, in time order.
        """
        out: list[dict[str, Any]] = [
            {"time": step.time, "what": "schedule_step", "module": step.module,
             "version": step.version, "split": step.split} for step in self.schedule.remaining]
        out += [{"time": st.time, "what": "manual_rollback_step", "step": st.kind,
                 **({"module": st.module} if st.module is not None else {}),
                 **({"index": st.index} if st.index else {})} for st in self.script]
        if self.controller is not None:
            out += [{"time": t, "what": "resume"} for t in self._resumes]
        dep = self.deprecation
        if (dep is not None and dep.enabled and dep.at is not None
                and self.retired_at is None and self.deprecation_refused is None):
            out.append({"time": dep.at, "what": "deprecation"})
        out += [dict(f) for f in self._late_faults]
        return sorted(out, key=lambda item: item["time"])

    ALERTS_LISTED_MAX = 1000
    """Alert events the run summary lists (``rollout.alerts``); all are counted."""

    def summary(self) -> dict[str, Any]:
        """What the rollout did, for the run summary.

        ``alerts`` lists the alert events (each firing and each resolution) in time order,
        the first :attr:`ALERTS_LISTED_MAX` only (``alerts_listed_max`` says so);
        ``alert_events_total`` counts them all, ``alerts_fired`` the firings alone (one alert
        that fires and resolves is one firing and two events).
        """
        return {
            "splits": self.stage_log,
            "rollbacks": self.rollbacks,
            "rollback_requests_ignored": sum(self.ignored_rollbacks.values()),
            "rollback_requests_ignored_by_reason": dict(sorted(self.ignored_rollbacks.items())),
            "alerts": self.alert_log[:self.ALERTS_LISTED_MAX],
            "alerts_listed_max": self.ALERTS_LISTED_MAX,
            "alert_events_total": len(self.alert_log),
            "alerts_fired": sum(1 for a in self.alert_log if a["event"] == "alert_firing"),
            "health_checks": self.checks,
            "failed_health_checks": self.failed_checks,
            "controller": None if self.controller is None else {
                "stage_index": self.controller.stage_index,
                "percent": self.controller.percent,
                "paused": self.controller.paused,
                "crashes": self.controller.crashes,
                "modules_driven": list(self._driven),
                "driven_from": dict(self._driven),
                "modules_not_driven": [m for m in self.controller.config.modules
                                       if m not in self._driven
                                       and self.router.version(m) == "v2"],
                "modules_left_on_v1": [m for m in self.controller.config.modules
                                       if self.router.version(m) != "v2"],
            },
            "v1_deprecated_at": self.retired_at,
            "v1_sync_retired_at": self.sync_retired_at,
            "deprecation_refused": self.deprecation_refused,
            "schedule_steps_refused": self.steps_refused,
            "not_reached": self.not_reached(),
        }

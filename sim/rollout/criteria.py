"""The guide's success criteria (guide L739-746), each with the figure behind its verdict.

Inputs are plain numbers and arrays so the runner can feed them from any run. A verdict is
``passed=True``/``False``, or ``None`` for "not enough data" (a distinct outcome: a 1-hour run
cannot show 48 hours of anything, and a ratio needs a non-zero baseline).

- **Zero downtime** ("No service interruptions during migration"): requests that were never
  served (refused or lost, after any V1 fallback) == 0.
- **Performance** ("V2 performance ≥ V1 baseline"), judged on the transaction pool (its
  work is what the cost model measures; the other modules' serving latencies are draws of
  one distribution for both versions): V1's baseline is its capacity and p95 latency over
  the samples where the routing rule sent V1 all pool traffic (before the rollout, or after
  a rollback to 0 %); V2's figures come from the samples where the rule sent V2 all of it
  (version V2 at 100 % for the whole interval). A sample is classified by the routed split,
  not by who executed: V1's rescues of failed V2 calls do not make it V1's. Both carry the
  full load then, so the figures compare; a run without samples of both is "not enough
  data", as for memory. Capacity is requests *served* per busy second of the pool process
  (transactions admitted with an ok reply, as the health checks' ``throughput_tps``: a
  failed or refused call costs V2 time and counts for nothing); p95 comes from the merged
  latency histograms of those samples (failed calls included, :class:`FullLoad`). It passes
  iff ``v2_cap >= v1_cap * (1 - tol)`` AND ``v2_p95 <= v1_p95 * (1 + tol) * (1 + res)``:
  ``tol`` (default 0) is the guide's plain "≥"; ``res`` is the measurement resolution of
  the p95 figures, the histogram's relative bucket width (:func:`histogram_resolution`,
  2.02 % for the model's histograms): two p95 figures of the same latency can sit one
  bucket apart, so a difference within one bucket is not a measured regression. The figure
  is the worse of the two ratios, oriented so that larger is better and each divided by its
  bound, ``min(v2_cap / v1_cap / (1 - tol), v1_p95 / v2_p95 * (1 + tol) * (1 + res))``
  rounded to 9 decimals (float rounding of the bucket values): it passes iff the figure is
  >= 1 (the threshold).
- **Reliability** ("Error rate ≤ 0.1% for 48 hours"), per module whose V2 served requests:
  errors and requests per sampling interval; every window of 48 h made of consecutive
  intervals (a rolling window, step one interval) must have
  ``sum(errors) / sum(requests) * 100 <= 0.1``; windows with no requests are not judged.
  The figure is the worst window's rate. A run shorter than 48 h gives ``None`` ("not
  enough data") with the rate so far as the figure.
- **Resource usage** ("Memory usage increase ≤ 15%"), per module (pool and sync):
  ``(v2_mb - v1_mb) / v1_mb * 100 <= 15``, each version's memory the mean of its LAST
  window of readings (:func:`last_window_mean`). The criterion is a deployment success
  metric, judged once the migration is done (guide L739-746): what V2 holds as the run
  leaves it against what V1 held. Leaked memory only grows, so a leak's last window is its
  largest, where a mean over all of V2's samples would hide it behind its early, small ones;
  a transient (V2 sync's buffer of downloaded blocks while it catches up) is not a lasting
  increase. Both versions are read alike. The filter and subscription managers are not
  judged: the guide measures memory for the pool and sync only (``V2Metrics``, guide
  L446-490; the telemetry poller, L138-147) and the model gives those services no memory but
  a ``v2_regression``'s leak, so there is no V1 baseline to hold V2 to; the runner names
  each manager that ran V2 in the detail, with V2's leaked memory (``not_judged`` of
  :func:`per_module`).

The guide's criteria are the deployment's, not one module's (guide L739-746): a per-module
criterion (:func:`per_module`) holds every module's verdict, figure and detail, and its own
verdict is the worst of theirs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from sim.histogram import LogHistogram
from sim.rollout.snapshot import relative_change_percent

WINDOW_48H: Final = 48 * 3_600.0
"""The reliability window, seconds."""


@dataclass(frozen=True, slots=True)
class Criterion:
    """One verdict.

    Attributes:
        name: ``zero_downtime``, ``performance``, ``error_rate_48h`` or ``memory_increase``.
        passed: True, False, or None for not enough data.
        figure: The measured figure (NaN when there is none).
        threshold: The bound the figure is held to.
        detail: One line: how the figure was obtained.
        modules: Per module judged, its own verdict (:func:`per_module`); None for a
            criterion of the whole node (zero downtime).
    """

    name: str
    passed: bool | None
    figure: float
    threshold: float
    detail: str
    modules: dict[str, Criterion] | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (NaN becomes None).

        Returns:
            The fields; ``modules`` maps each module to its ``passed``, ``figure`` and
            ``detail`` (or is None).
        """
        out: dict[str, object] = {
            "name": self.name, "passed": self.passed, "figure": _finite(self.figure),
            "threshold": _finite(self.threshold), "detail": self.detail}
        out["modules"] = None if self.modules is None else {
            module: {"passed": c.passed, "figure": _finite(c.figure), "detail": c.detail}
            for module, c in self.modules.items()}
        return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


_RANK: Final = {False: 0, None: 1, True: 2}
"""Verdicts from worst to best: a failure, then not enough data, then a pass."""


def per_module(name: str, threshold: float, judged: dict[str, Criterion],
               nothing: str, not_judged: Mapping[str, str] | None = None) -> Criterion:
    """One criterion over several modules: the worst verdict, with every module's figure.

    The guide's success criteria are the deployment's (guide L739-746), so a criterion that
    applies to each module judges each (in ``judged``'s order) and fails if one fails; else
    it lacks data if one does (:func:`all_passed`). Its figure is the worst module's (worst
    verdict, then largest figure: the figures of these criteria grow with the problem).

    Args:
        name: The criterion's name.
        threshold: Its bound.
        judged: Per module, its verdict (only modules with something to judge).
        nothing: The detail when no module had anything to judge.
        not_judged: Per module that ran V2 but that the criterion cannot judge, why: named
            at the end of the detail (``<module>: not judged (<why>)``) so the detail does
            not read as if nothing else ran V2; they take no part in the verdict, nor in
            ``modules``.

    Returns:
        The combined verdict; ``modules`` holds every judged module's.
    """
    notes = "".join(f"; {module}: not judged ({why})"
                    for module, why in (not_judged or {}).items())
    if not judged:
        return Criterion(name, None, math.nan, threshold,
                         f"not enough data: {nothing}{notes}", {})

    def badness(module: str) -> tuple[int, float]:
        figure = judged[module].figure
        return _RANK[judged[module].passed], -figure if math.isfinite(figure) else math.inf

    worst = judged[min(judged, key=badness)]
    detail = "; ".join(f"{module}: {c.detail}" for module, c in judged.items()) + notes
    return Criterion(name, all_passed(list(judged.values())), worst.figure, threshold,
                     detail, dict(judged))


def zero_downtime(unserved: int, total: int | None = None) -> Criterion:
    """Zero downtime: no request unserved.

    Args:
        unserved: Requests never served.
        total: All requests, for the detail line.

    Returns:
        The verdict.
    """
    of = f" of {total}" if total is not None else ""
    return Criterion("zero_downtime", unserved == 0, float(unserved), 0.0,
                     f"{unserved} request(s){of} unserved")


_FIGURE_DECIMALS: Final = 9
"""The performance figure is rounded to this many decimals before it is held to 1: two p95s
exactly one bucket apart are ``g`` apart only up to float rounding of the bucket values
(``v1 / v2 * g`` came out 0.9999999999999996), far below any measured difference."""


def histogram_resolution(histogram: LogHistogram) -> float:
    """The relative width of a histogram's buckets, ``g - 1`` (``g`` the bucket growth).

    A quantile is reported as one point of its bucket, within ``rel_error`` of any value in
    it (:mod:`sim.histogram`), so the reports of two equal latencies can differ by a factor of
    up to ``g = (1 + rel_error) / (1 - rel_error)``: the resolution of a p95 comparison.

    Args:
        histogram: A histogram with the layout the figures come from.

    Returns:
        ``(1 + rel_error) / (1 - rel_error) - 1`` (0.0202 for ``rel_error`` 0.01).
    """
    e = histogram.rel_error
    return (1.0 + e) / (1.0 - e) - 1.0


class FullLoad:
    """A pool version's work over the samples where the routing rule sent it all pool traffic.

    The sampler adds each such sample's served requests, busy seconds, latency histogram and
    memory; the figures are then those of the union of the samples (the histogram is the
    merge of theirs; only the memory readings are kept, one float per sample, for
    :func:`last_window_mean`).

    Attributes:
        samples: Samples added.
        served: Requests served in them: transactions admitted to the pool with an ok reply
            (failed calls, breaker refusals and the pool's rejections excluded).
        busy: Busy seconds of the pool process in them.
        latency: Their merged latency histogram, seconds (every reply, failed ones included).
        memory_mb: The pool process's memory at each sample, MiB, in time order.
    """

    __slots__ = ("busy", "latency", "memory_mb", "samples", "served")

    def __init__(self) -> None:
        self.samples = 0
        self.served = 0
        self.busy = 0.0
        self.latency = LogHistogram()
        self.memory_mb: list[float] = []

    def add(self, served: int, busy: float, latency: LogHistogram,
            memory_mb: float = math.nan) -> None:
        """Add one sample.

        Args:
            served: Requests the version served in the sample's interval (see ``served``).
            busy: Its pool process's busy seconds in the interval.
            latency: The interval's latency histogram (merged, not kept).
            memory_mb: Its memory at the sample, MiB (NaN: not kept).
        """
        self.samples += 1
        self.served += served
        self.busy += busy
        if latency.count:
            self.latency.merge(latency)
        if not math.isnan(memory_mb):
            self.memory_mb.append(memory_mb)

    @property
    def capacity(self) -> float:
        """Requests served per busy second (NaN with no busy time)."""
        return self.served / self.busy if self.busy > 0.0 else math.nan

    @property
    def p95_ms(self) -> float:
        """p95 latency of the samples' requests, ms (NaN with none)."""
        return self.latency.quantile(0.95) * 1e3 if self.latency.count else math.nan


def last_window_mean(values: Sequence[float] | np.ndarray, per_window: int) -> float:
    """The mean of the last ``per_window`` values (all of them if fewer).

    The memory criterion's reading of a version's memory: what it holds as the run leaves
    it (a leak's largest window, since leaked memory only grows), averaged over a window so
    one sample just before a block (a full pool) does not decide it.

    Args:
        values: Readings in time order (NaNs are left out).
        per_window: Readings per window (>= 1).

    Returns:
        The last window's mean; NaN without readings.

    Raises:
        ValueError: A window of fewer than one reading.
    """
    if per_window < 1:
        raise ValueError(f"per_window {per_window}: must be >= 1")
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan
    return float(np.mean(v[-per_window:]))


def _figures(throughput: float, p95_ms: float) -> str:
    if math.isnan(throughput) and math.isnan(p95_ms):
        return "no such samples"
    return f"{throughput:g} tx per busy s, p95 {p95_ms:g} ms"


def performance(v1_throughput: float, v2_throughput: float, v1_p95_ms: float,
                v2_p95_ms: float, tolerance_percent: float = 0.0, *,
                p95_resolution: float = 0.0) -> Criterion:
    """V2 performance >= the V1 baseline (throughput and p95 latency).

    The model passes each pool version's figures over the samples where the routing rule
    sent it all pool traffic (:class:`FullLoad`, ``Model.criteria``): its *capacity*
    (requests served per busy second of the pool process, the throughput it could sustain)
    and its p95 latency.

    Args:
        v1_throughput: V1's throughput figure (the model: capacity), tx/s.
        v2_throughput: V2's throughput figure (the model: capacity), tx/s.
        v1_p95_ms: V1's p95 latency, ms.
        v2_p95_ms: V2's p95 latency, ms.
        tolerance_percent: Allowed shortfall, percent.
        p95_resolution: Measurement resolution of the p95 figures, relative
            (:func:`histogram_resolution`); 0 compares them exactly.

    Returns:
        The verdict; None when a baseline or figure is missing or zero.

    Raises:
        ValueError: A tolerance outside [0, 100) or a negative resolution.
    """
    if not 0.0 <= tolerance_percent < 100.0 or p95_resolution < 0.0:
        raise ValueError(f"tolerance {tolerance_percent}% must be in [0, 100) and "
                         f"resolution {p95_resolution} >= 0")
    values = (v1_throughput, v2_throughput, v1_p95_ms, v2_p95_ms)
    if any(math.isnan(v) or v <= 0.0 for v in values):
        return Criterion("performance", None, math.nan, 1.0,
                         "not enough data: needs samples with V1 alone (the baseline) and "
                         "with V2 alone (at 100 %); "
                         f"V1 {_figures(v1_throughput, v1_p95_ms)}, "
                         f"V2 {_figures(v2_throughput, v2_p95_ms)}")
    tolerance = tolerance_percent / 100.0
    tps_ratio = v2_throughput / v1_throughput
    latency_ratio = v1_p95_ms / v2_p95_ms
    latency_bound = (1.0 + tolerance) * (1.0 + p95_resolution)
    figure = round(min(tps_ratio / (1.0 - tolerance), latency_ratio * latency_bound),
                   _FIGURE_DECIMALS)
    passed = figure >= 1.0
    allowed = f" within {tolerance_percent:g}%" if tolerance_percent else ""
    return Criterion("performance", passed, figure, 1.0,
                     f"V2 alone vs V1 alone{allowed}: capacity V2/V1 {tps_ratio:.3f} "
                     f"({v2_throughput:g}/{v1_throughput:g} tx per busy s), p95 latency "
                     f"V1/V2 {latency_ratio:.3f} ({v1_p95_ms:g}/{v2_p95_ms:g} ms; "
                     f"measurement resolution {p95_resolution * 100:.2f}%, one histogram "
                     "bucket)")


def error_rate_window(errors: Sequence[float] | np.ndarray,
                      requests: Sequence[float] | np.ndarray, interval: float, *,
                      window: float = WINDOW_48H, threshold_percent: float = 0.1
                      ) -> Criterion:
    """Error rate <= 0.1 % over every 48 h window of V2 traffic (rolling, one interval a step).

    The windows start at V2's first request: the guide's "error rate < 0.1 % for 48 hours"
    is about V2 serving, so the hours before the rollout reached V2 do not count towards the
    48 (a run that ends less than 48 h after V2's first request is "not enough data", not a
    pass; its detail also gives the hours in which V2 carried requests).

    Args:
        errors: Errors per sampling interval.
        requests: Requests per sampling interval (same length).
        interval: The sampling interval, seconds; ``window`` must be a whole number of them.
        window: The window, seconds (48 h).
        threshold_percent: Highest allowed error rate, percent.

    Returns:
        The verdict: None (not enough data) when V2 never served, when the run ends less
        than the window after V2's first request, or when every window is empty.

    Raises:
        ValueError: Mismatched lengths, negative counts, or a window that is not a whole
            number of intervals.
    """
    err = np.asarray(errors, dtype=np.float64)
    req = np.asarray(requests, dtype=np.float64)
    if err.shape != req.shape or err.ndim != 1:
        raise ValueError("errors and requests must be 1-D series of the same length")
    if (err < 0).any() or (req < 0).any():
        raise ValueError("errors and requests must be >= 0")
    if not interval > 0.0:
        raise ValueError(f"interval {interval}: must be > 0 seconds")
    per_window = round(window / interval)
    if per_window < 1 or abs(per_window * interval - window) > 1e-6 * window:
        raise ValueError(f"window {window:g} s is not a whole number of {interval:g} s "
                         f"intervals")
    hours = window / 3_600.0
    name = f"error_rate_{hours:g}h"
    served = np.flatnonzero(req > 0)
    if served.size == 0:
        return Criterion(name, None, math.nan, threshold_percent,
                         "not enough data: V2 served no request")
    first = int(served[0])
    err, req = err[first:], req[first:]
    if err.size < per_window:
        # Hours since V2's first request (what the window counts), and the hours in which V2
        # actually carried requests: a rollback leaves V2 idle for the rest of the run.
        since_first = err.size * interval / 3_600.0
        carried = int(np.count_nonzero(req > 0)) * interval / 3_600.0
        so_far = float(err.sum()) / float(req.sum()) * 100.0
        return Criterion(name, None, so_far, threshold_percent,
                         f"not enough data: {since_first:g} h from V2's first request "
                         f"(from the start of its sampling interval) to the end of the run, "
                         f"of the {hours:g} h window; V2 carried requests in {carried:g} h "
                         f"of them (error rate so far {so_far:.4f}%)")
    cum_err = np.concatenate(([0.0], np.cumsum(err)))
    cum_req = np.concatenate(([0.0], np.cumsum(req)))
    win_err = cum_err[per_window:] - cum_err[:-per_window]
    win_req = cum_req[per_window:] - cum_req[:-per_window]
    judged = win_req > 0
    if not judged.any():
        return Criterion(name, None, math.nan, threshold_percent,
                         f"not enough data: no requests in any {hours:g} h window")
    rates = np.full(win_req.shape, -np.inf)
    rates[judged] = win_err[judged] / win_req[judged] * 100.0
    worst = int(np.argmax(rates))
    figure = float(rates[worst])
    return Criterion(name, figure <= threshold_percent, figure, threshold_percent,
                     f"worst {hours:g} h window starts at {(first + worst) * interval:g} s: "
                     f"{win_err[worst]:g} errors / {win_req[worst]:g} requests "
                     f"({int(judged.sum())} windows judged)")


_POOL_NEEDS: Final = "samples with V1 alone (the baseline) and with V2 alone (at 100 %)"
"""What the pool's memory and performance figures need (the full-load samples)."""


def _mb(value: float) -> str:
    return "no such samples" if math.isnan(value) else f"{value:g} MiB"


def memory_increase(v1_memory_mb: float, v2_memory_mb: float,
                    threshold_percent: float = 15.0, *, reading: str = "",
                    needs: str = _POOL_NEEDS) -> Criterion:
    """Memory usage increase <= 15 % over the V1 baseline.

    Args:
        v1_memory_mb: V1's baseline memory, MiB (the series' ``memory_usage_mb``).
        v2_memory_mb: V2's memory, MiB, read as V1's (the model: each version's last
            window mean, :func:`last_window_mean`).
        threshold_percent: Highest allowed increase, percent.
        reading: How both figures were read, for the detail line (e.g. "each its last
            300 s of readings"); empty: nothing added.
        needs: What a figure needs, for the "not enough data" detail.

    Returns:
        The verdict; None when the baseline is missing or zero.
    """
    change = relative_change_percent(v2_memory_mb, v1_memory_mb)
    if math.isnan(change):
        return Criterion("memory_increase", None, math.nan, threshold_percent,
                         f"not enough data: needs {needs}; V1 {_mb(v1_memory_mb)}, "
                         f"V2 {_mb(v2_memory_mb)}")
    how = f" ({reading})" if reading else ""
    return Criterion("memory_increase", change <= threshold_percent, change,
                     threshold_percent,
                     f"V2 {v2_memory_mb:g} MiB vs V1 {v1_memory_mb:g} MiB{how}: {change:+.2f}%")


def all_passed(criteria: Sequence[Criterion]) -> bool | None:
    """The overall verdict: False if any failed, else None if any lacked data, else True.

    Args:
        criteria: The verdicts.

    Returns:
        The combined verdict.
    """
    if any(c.passed is False for c in criteria):
        return False
    if any(c.passed is None for c in criteria):
        return None
    return True

"""The guide's success criteria (guide L739-746), each with the figure behind its verdict.

Inputs are plain numbers and arrays so the runner can feed them from any run. A verdict is
``passed=True``/``False``, or ``None`` for "not enough data" (a distinct outcome: a 1-hour run
cannot show 48 hours of anything, and a ratio needs a non-zero baseline).

- **Zero downtime** ("No service interruptions during migration"): requests that were never
  served (refused or lost, after any V1 fallback) == 0.
- **Performance** ("V2 performance ≥ V1 baseline"): V1's baseline is its throughput and p95
  latency over a window before V2 takes traffic; V2's figures come from the final window with
  V2 at 100 % (both carry the full load then, so raw throughputs are comparable). It passes iff
  ``v2_tps >= v1_tps * (1 - tol)`` AND ``v2_p95 <= v1_p95 * (1 + tol)`` (``tol`` default 0,
  the guide's plain "≥"). The figure is the worse of the two ratios oriented so that >= 1 is
  good: ``min(v2_tps / v1_tps, v1_p95 / v2_p95)``.
- **Reliability** ("Error rate ≤ 0.1% for 48 hours"): errors and requests per sampling
  interval; every window of 48 h made of consecutive intervals (a rolling window, step one
  interval) must have ``sum(errors) / sum(requests) * 100 <= 0.1``; windows with no requests
  are not judged. The figure is the worst window's rate. A run shorter than 48 h gives
  ``None`` ("not enough data") with the rate so far as the figure.
- **Resource usage** ("Memory usage increase ≤ 15%"): ``(v2_mb - v1_mb) / v1_mb * 100 <= 15``
  with V1's baseline memory and V2's memory at 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np

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
    """

    name: str
    passed: bool | None
    figure: float
    threshold: float
    detail: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (NaN becomes None)."""
        out = asdict(self)
        for key in ("figure", "threshold"):
            if isinstance(out[key], float) and not math.isfinite(out[key]):
                out[key] = None
        return out


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


def performance(v1_throughput: float, v2_throughput: float, v1_p95_ms: float,
                v2_p95_ms: float, tolerance_percent: float = 0.0) -> Criterion:
    """V2 performance >= the V1 baseline (throughput and p95 latency).

    The model passes each version's figures over the whole run: its *capacity* (requests
    per busy second of the pool process, the throughput it could sustain; served throughput
    only follows the split) and its p95 request latency (``Simulation.criteria``).

    Args:
        v1_throughput: V1's throughput figure (the model: capacity), tx/s.
        v2_throughput: V2's throughput figure (the model: capacity), tx/s.
        v1_p95_ms: V1's p95 latency, ms.
        v2_p95_ms: V2's p95 latency, ms.
        tolerance_percent: Allowed shortfall, percent.

    Returns:
        The verdict; None when a baseline or figure is missing or zero.
    """
    bound = 1.0 - tolerance_percent / 100.0
    values = (v1_throughput, v2_throughput, v1_p95_ms, v2_p95_ms)
    if any(math.isnan(v) or v <= 0.0 for v in values):
        return Criterion("performance", None, math.nan, bound,
                         "not enough data: a capacity or p95 figure is missing or zero "
                         f"(V1 {v1_throughput:g} tx per busy s, p95 {v1_p95_ms:g} ms; "
                         f"V2 {v2_throughput:g} tx per busy s, p95 {v2_p95_ms:g} ms)")
    tps_ratio = v2_throughput / v1_throughput
    latency_ratio = v1_p95_ms / v2_p95_ms
    tolerance = tolerance_percent / 100.0
    passed = (v2_throughput >= v1_throughput * (1.0 - tolerance)
              and v2_p95_ms <= v1_p95_ms * (1.0 + tolerance))
    return Criterion("performance", passed, min(tps_ratio, latency_ratio), bound,
                     f"capacity V2/V1 {tps_ratio:.3f} ({v2_throughput:g}/{v1_throughput:g} "
                     f"tx per busy s), p95 latency V1/V2 {latency_ratio:.3f} "
                     f"({v1_p95_ms:g}/{v2_p95_ms:g} ms)")


def error_rate_window(errors: Sequence[float] | np.ndarray,
                      requests: Sequence[float] | np.ndarray, interval: float, *,
                      window: float = WINDOW_48H, threshold_percent: float = 0.1
                      ) -> Criterion:
    """Error rate <= 0.1 % over every 48 h window of V2 traffic (rolling, one interval a step).

    The windows start at V2's first request: the guide's "error rate < 0.1 % for 48 hours"
    is about V2 serving, so the hours before the rollout reached V2 do not count towards the
    48 (a run whose V2 has served for less than 48 h is "not enough data", not a pass).

    Args:
        errors: Errors per sampling interval.
        requests: Requests per sampling interval (same length).
        interval: The sampling interval, seconds; ``window`` must be a whole number of them.
        window: The window, seconds (48 h).
        threshold_percent: Highest allowed error rate, percent.

    Returns:
        The verdict: None (not enough data) when V2 never served, when it has served for
        less than the window, or when every window is empty.

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
    covered = err.size * interval / 3_600.0
    if err.size < per_window:
        total_req = float(req.sum())
        so_far = float(err.sum()) / total_req * 100.0
        return Criterion(name, None, so_far, threshold_percent,
                         f"not enough data: V2 has served for {covered:g} h of the {hours:g} "
                         f"h window (error rate so far {so_far:.4f}%)")
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


def _mb(value: float) -> str:
    return "no such samples" if math.isnan(value) else f"{value:g} MB"


def memory_increase(v1_memory_mb: float, v2_memory_mb: float,
                    threshold_percent: float = 15.0) -> Criterion:
    """Memory usage increase <= 15 % over the V1 baseline.

    Args:
        v1_memory_mb: V1's baseline memory, MB.
        v2_memory_mb: V2's memory at 100 %, MB.
        threshold_percent: Highest allowed increase, percent.

    Returns:
        The verdict; None when the baseline is missing or zero.
    """
    change = relative_change_percent(v2_memory_mb, v1_memory_mb)
    if math.isnan(change):
        return Criterion("memory_increase", None, math.nan, threshold_percent,
                         "not enough data: needs samples with V1 alone (the baseline) and "
                         f"with V2 alone (at 100 %); V1 {_mb(v1_memory_mb)}, "
                         f"V2 {_mb(v2_memory_mb)}")
    return Criterion("memory_increase", change <= threshold_percent, change,
                     threshold_percent,
                     f"V2 {v2_memory_mb:g} MB vs V1 {v1_memory_mb:g} MB: {change:+.2f}%")


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

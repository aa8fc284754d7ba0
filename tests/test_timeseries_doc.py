"""docs/timeseries.md documents every column of timeseries.csv, and nothing else.

Two short runs cover every column: one with V2 regressions on the pool, the filter manager
and sync serving whose breakers open and refuse calls, sync on V2 (so the V2 sync engine has
columns), a flooding peer against the rate limiter and a node restart; and a V1 deprecation
that retires V1's pool and sync engine. Every column of theirs must match a column the page
lists, and every column it lists must occur in one of them. The page's claims that are easy
to get wrong are checked too: what its count columns sum to (a breaker refusal is counted
once at V2, as refused, and once at V1, as a request: the summary's figures), which columns
are cumulative, and what a retired V1's columns show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.result import Result
from sim.rollout_link import snapshot_from_rows
from sim.runner import run
from tests.small_scenario import deprecation_scenario, small_scenario

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parent.parent / "docs" / "timeseries.md"
POOL, SYNC = "transaction_pool", "sync_service"
MODULES = (POOL, SYNC, "filter_manager", "subscription_manager")
SERVICES = {"sync_service.serving": SYNC, "filter_manager": "filter_manager",
            "subscription_manager": "subscription_manager"}
KINDS = {"-", "per interval", "cumulative", "since start", "gauge", "last 30 s"}


def documented() -> dict[str, list[str]]:
    """The page's column rows (cells stripped) by column name."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not inside:
            inside = cells[0] == "column"
            continue
        if set(cells[0]) <= {"-", ":"}:
            continue  # the header's rule
        match = re.fullmatch(r"`([^`]+)`", cells[0])
        assert match, f"first cell {cells[0]!r} is not one `code` span"
        name = match.group(1)
        assert name not in rows, f"{name} is listed twice"
        assert len(cells) == 4, f"{name}: needs column, unit, kind, meaning"
        assert cells[2] in KINDS, f"{name}: kind {cells[2]!r} is none of {sorted(KINDS)}"
        rows[name] = cells
    return rows


def pattern(name: str) -> re.Pattern[str]:
    """A documented column name as a regex over concrete column names."""
    places = {
        "<version>": "(?:v1|v2)",
        "<module>": "(?:" + "|".join(MODULES) + ")",
        "<service>": "(?:" + "|".join(map(re.escape, SERVICES)) + ")",
    }
    out = re.escape(name)
    for place, regex in places.items():
        out = out.replace(re.escape(place), regex)
    return re.compile(out)


def _faults() -> Any:
    return small_scenario({
        "duration": 400,
        "modules": {POOL: {"version": "v2", "traffic": 50},
                    "filter_manager": {"version": "v2", "traffic": 50},
                    SYNC: {"version": "v2", "traffic": 30}},
        "breakers": {"transaction_pool_v2": {"failure_threshold": 3},
                     "filter_manager_v2": {"failure_threshold": 3}},
        "network": {"peers": {"honest": 8}, "inbound_rate": 0.2, "initial_chain": 50,
                    "floods": [{"peers": 1, "rate": 20.0, "start": 50, "end": 300}]},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 100, "error_rate": 0.3,
                    "memory_leak_mb_per_hour": 100},
                   {"kind": "v2_regression", "module": "filter_manager", "start": 100,
                    "error_rate": 0.5},
                   {"kind": "v2_regression", "module": SYNC, "start": 100, "error_rate": 0.5},
                   {"kind": "node_restart", "at": 250}],
    })



@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    """The two runs, with the premises that make them cover what the page describes."""
    out = {"faults": run(_faults()), "deprecation": run(deprecation_scenario())}
    faults, deprecation = out["faults"].summary, out["deprecation"].summary
    assert faults["transaction_pool"]["v2"]["refused_by_breaker"] > 0
    assert faults["services"]["filter_manager"]["v2"]["refused_by_breaker"] > 0
    assert faults["services"]["sync_service"]["v2"]["refused_by_breaker"] > 0
    assert faults["rate_limit"]["refused"] > 0
    assert faults["events"]["node_restart"] == 1
    assert deprecation["transaction_pool"]["v1"]["retired_at"] == 100.0
    assert deprecation["sync_service"]["v1"]["retired_at"] == 100.0
    return out


def test_every_column_is_documented(results: dict[str, Result]) -> None:
    patterns = [pattern(name) for name in documented()]
    missing = sorted(f"{run_name}: {column}" for run_name, result in results.items()
                     for column in result.timeseries
                     if not any(p.fullmatch(column) for p in patterns))
    assert not missing, "not in docs/timeseries.md:\n" + "\n".join(missing)


def test_every_documented_column_occurs(results: dict[str, Result]) -> None:
    seen = {column for result in results.values() for column in result.timeseries}
    stale = sorted(name for name in documented()
                   if not any(pattern(name).fullmatch(column) for column in seen))
    assert not stale, "documented but in no run:\n" + "\n".join(stale)


def test_count_columns_sum_to_the_summary_figures(results: dict[str, Result]) -> None:
    # Neither run completes a call after its last sample, so the sums are exact.
    for result in results.values():
        ts, s = result.timeseries, result.summary
        for version in ("v1", "v2"):
            pool, prefix = s[POOL][version], f"{POOL}.{version}."
            for column, field in (("requests", "requests"), ("errors", "errors"),
                                  ("timeout_count", "timeouts"),
                                  ("refused_by_breaker", "refused_by_breaker")):
                assert ts[prefix + column].sum() == pool[field], (prefix + column)
            for service, module in SERVICES.items():
                figures, prefix = s["services"][module][version], f"{service}.{version}."
                for column in ("requests", "refused_by_breaker"):
                    assert ts[prefix + column].sum() == figures[column], (prefix + column)
        assert ts["rate_limit.refused"].sum() == s["rate_limit"]["refused"]
    # A breaker refusal is V2's refused_by_breaker and V1's request, never V2's request:
    # V1's and V2's requests add up to the pool calls.
    ts, s = results["faults"].timeseries, results["faults"].summary
    calls = s[POOL]["v1"]["requests"] + s[POOL]["v2"]["requests"]
    assert ts[f"{POOL}.v1.requests"].sum() + ts[f"{POOL}.v2.requests"].sum() == calls
    assert s["routing"]["v2_fallbacks"] > 0  # the retries of failed V2 calls, in both


def test_cumulative_columns_never_decrease(results: dict[str, Result]) -> None:
    cumulative = [pattern(name) for name, cells in documented().items()
                  if cells[2] == "cumulative"]
    assert cumulative
    for result in results.values():
        for column, values in result.timeseries.items():
            if any(p.fullmatch(column) for p in cumulative):
                values = values[~np.isnan(values)]
                assert np.all(np.diff(values) >= 0), column


def test_a_retired_v1_serves_nothing_in_the_series(results: dict[str, Result]) -> None:
    ts = results["deprecation"].timeseries
    late = ts["time"] > 100
    assert ts[f"{POOL}.v1.requests"][late].sum() == 0
    assert np.all(ts[f"{POOL}.v1.pool_size"][late] == 0)
    assert np.all(np.isnan(ts[f"{POOL}.v1.error_rate_percent"][late]))
    # V2's engine has columns from when sync went to V2, empty before.
    v2_behind = ts[f"{SYNC}.v2.blocks_behind"]
    assert np.all(np.isnan(v2_behind[~late]))
    assert not np.any(np.isnan(v2_behind[late]))


def test_the_name_patterns_match_only_what_they_name() -> None:
    assert pattern("<service>.<version>.requests").fullmatch("sync_service.serving.v1.requests")
    assert not pattern("<service>.<version>.requests").fullmatch("transaction_pool.v1.requests")
    assert not pattern("<module>.traffic_split").fullmatch("sync_service.serving.traffic_split")
    assert not pattern("transaction_pool.<version>.errors").fullmatch(
        "transaction_pool.v3.errors")


def test_the_rollouts_request_count_is_requests_plus_breaker_refusals(
        results: dict[str, Result]) -> None:
    # The page: alert rules' request_count is no column but the window's requests +
    # refused_by_breaker, the calls routed to the version; its error rate counts refusals.
    ts = results["faults"].timeseries
    names = list(ts)
    rows = [dict(zip(names, (float(ts[n][i]) for n in names), strict=True))
            for i in range(len(ts["time"]))]
    window = rows[10:30]  # 110-300 s: V2's pool breaker refusing part of its calls
    snap = snapshot_from_rows(window)
    for version in ("v1", "v2"):
        prefix = f"{POOL}.{version}."
        refused = sum(r[prefix + "refused_by_breaker"] for r in window)
        routed = sum(r[prefix + "requests"] for r in window) + refused
        failed = sum(r[prefix + "errors"] for r in window) + refused
        assert snap[POOL][version]["request_count"] == routed
        assert snap[POOL][version]["error_rate_percent"] == pytest.approx(100 * failed / routed)
        serving = f"{SYNC}.serving.{version}."
        assert snap[SYNC][version]["request_count"] == sum(
            r[serving + "requests"] + r[serving + "refused_by_breaker"] for r in window)
    assert sum(r[f"{POOL}.v2.refused_by_breaker"] for r in window) > 0
    assert sum(r[f"{SYNC}.serving.v2.refused_by_breaker"] for r in window) > 0

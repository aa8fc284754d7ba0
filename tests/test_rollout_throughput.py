"""R3-1: the throughput checks judge what V2 serves of the load offered to it.

Pool ``throughput_tps`` counts transactions admitted with an ok reply per second (R4-D2:
refusals excluded, tests/test_rollout_pool_checks.py); the checks compare each version's
admitted transactions per request routed to it (``request_count``), so a failing or
backed-up V2 reads low whatever the load and a load step moves V1 and V2 alike
(sim/rollout/snapshot.py).
"""

import math
from typing import Any

import numpy as np
import pytest

from sim.result import Result
from sim.rollout import normalise_rates
from sim.rollout_link import snapshot_from_rows
from sim.runner import run
from sim.scenario import parse_scenario
from tests.small_scenario import pool_snapshot_after as link_after

pytestmark = pytest.mark.e2e

DROP_RULE = "Transaction Pool Throughput Drop"


def scenario(data: dict[str, Any]) -> Result:
    base: dict[str, Any] = {"duration": 900, "pool": {"cost_v2": {"signature_check_s": 1.0e-6}}}
    base.update(data)
    return run(parse_scenario(base, "<test>"))


def fired(result: Result) -> list[str]:
    return [a["rule"] for a in result.summary["rollout"]["alerts"]
            if a["event"] == "alert_firing"]


def column(result: Result, key: str) -> np.ndarray:
    return np.asarray(result.timeseries[key], dtype=float)


def after(result: Result, key: str, start: float) -> np.ndarray:
    return column(result, key)[column(result, "time") > start]


def test_v2_failing_every_call_trips_the_throughput_rule() -> None:
    # probe4: V2 at 50 %, every call fails from 2 min, no breaker (so nothing is refused).
    result = scenario({
        "env": {"TRANSACTION_POOL_VERSION": "v2", "TRANSACTION_POOL_TRAFFIC": "50",
                "CIRCUIT_BREAKER_ENABLED": "false"},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 120,
                    "error_rate": 1.0}]})
    # The series: V2 is offered half the load but serves nothing ok.
    assert np.all(after(result, "transaction_pool.v2.throughput_tps", 130.0) == 0.0)
    assert np.all(after(result, "transaction_pool.v2.requests", 130.0) > 30.0)
    assert DROP_RULE in fired(result)


@pytest.mark.parametrize("factor", [1.0e5, 1.0e8])
def test_v2_that_backs_up_until_calls_time_out_trips_the_throughput_rule(factor: float) -> None:
    # No errors: V2 becomes so slow (2 s a call at 10 tx/s offered; or 2,000 s, so that it
    # replies to nothing at all in the run) that its queue grows and its replies come after
    # the breaker's timeout (timeouts, not ok replies) or never: offered, not served.
    result = scenario({
        "env": {"TRANSACTION_POOL_VERSION": "v2", "TRANSACTION_POOL_TRAFFIC": "50",
                "CIRCUIT_BREAKER_ENABLED": "false"},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 120,
                    "latency_factor": factor}]})
    if factor == 1.0e5:
        assert result.summary["transaction_pool"]["v2"]["timeouts"] > 0
    late = after(result, "transaction_pool.v2.throughput_tps", 300.0)
    offered = after(result, "transaction_pool.v2.requests", 300.0) / 10.0
    assert np.all(offered > 3.0)
    assert np.all(late < 0.1 * offered)
    assert DROP_RULE in fired(result)


@pytest.mark.parametrize(("before", "after_step"), [(20.0, 14.0), (10.0, 25.0)])
def test_load_step_with_a_healthy_v2_trips_nothing(before: float, after_step: float) -> None:
    # probe7/probe8: V2 healthy (0 % errors) at 10 %, 75 % from 10 min, the offered load
    # steps at 20 min; AutoRollback judges the Alerts thresholds (throughput_drop 15).
    result = scenario({
        "duration": 2400,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 10}},
        "workload": [{"rate": {"kind": "step", "before": before, "after": after_step,
                               "at": 1200}}],
        "rollout": {"auto_rollback": {"threshold_set": "alerts"},
                    "schedule": [{"time": 600, "module": "transaction_pool",
                                  "version": "v2", "split": 75}]}})
    rollout = result.summary["rollout"]
    assert DROP_RULE not in fired(result)
    assert rollout["rollbacks"] == []
    # The load did step: the pool's offered rate moved with it.
    offered = (column(result, "transaction_pool.v1.requests")
               + column(result, "transaction_pool.v2.requests"))
    t = column(result, "time")
    assert np.mean(offered[t > 1500]) / np.mean(offered[(t > 900) & (t <= 1200)]) == (
        pytest.approx(after_step / before, rel=0.15))


def rows(v1: tuple[float, float], v2: tuple[float, float], n: int = 30
         ) -> list[dict[str, float]]:
    """``n`` 10-s sample rows with (ok replies/s, requests/s) per pool version."""
    out = []
    for _ in range(n):
        row: dict[str, float] = {}
        for version, (ok, offered) in (("v1", v1), ("v2", v2)):
            prefix = f"transaction_pool.{version}."
            row.update({prefix + "throughput_tps": ok, prefix + "requests": offered * 10,
                        prefix + "errors": (offered - ok) * 10})
        out.append(row)
    return out


def test_normalised_throughput_is_the_served_share_times_the_request_rate() -> None:
    # V1 routed 15/s serves all ok; V2 routed 5/s serves 2/s ok.
    snap = snapshot_from_rows(rows((15.0, 15.0), (2.0, 5.0)))
    pool = snap["transaction_pool"]
    total = pool["v1"]["request_count"] + pool["v2"]["request_count"]
    shares = {"transaction_pool": {v: pool[v]["request_count"] / total for v in ("v1", "v2")}}
    out = normalise_rates(snap, shares)["transaction_pool"]
    assert out["v1"]["throughput_tps"] == pytest.approx(20.0)  # 100 % of 20/s
    assert out["v2"]["throughput_tps"] == pytest.approx(8.0)   # 40 % of 20/s
    assert not math.isnan(out["v2"]["throughput_tps"])


def test_summary_names_its_pool_rates_as_whole_run_averages() -> None:
    # R3-8: the summary's per-version pool figures over the whole run are named as such; the
    # series keeps throughput_tps (ok replies per second, per interval).
    result = scenario({"duration": 300,
                       "env": {"TRANSACTION_POOL_VERSION": "v2",
                               "TRANSACTION_POOL_TRAFFIC": "50"}})
    pool = result.summary["transaction_pool"]
    for version in ("v1", "v2"):
        figures = pool[version]
        assert "throughput_tps" not in figures
        assert "cpu_usage_percent" not in figures
        assert figures["avg_request_rate_tps"] == pytest.approx(figures["requests"] / 300.0)
        assert 0.0 < figures["avg_cpu_usage_percent"] < 100.0
    assert "transaction_pool.v2.throughput_tps" in result.timeseries



def test_v1_baseline_after_v1_stops_serving_follows_the_load() -> None:
    # V1 served all it was offered at 20 tx/s; then V2 carries everything at 10 tx/s and
    # serves it all: V1's baseline is its share (1.0) times today's rate, so no drop.
    snap = link_after([rows((15.0, 15.0), (5.0, 5.0)), rows((0.0, 0.0), (10.0, 10.0))])
    assert snap["v2"]["throughput_tps"] == pytest.approx(10.0)
    assert snap["v1"]["throughput_tps"] == pytest.approx(10.0)
    # The same V2 serving half of it reads as a 50 % drop.
    snap = link_after([rows((15.0, 15.0), (5.0, 5.0)), rows((0.0, 0.0), (5.0, 10.0))])
    assert snap["v2"]["throughput_tps"] == pytest.approx(5.0)
    assert snap["v1"]["throughput_tps"] == pytest.approx(10.0)


def test_v2_with_too_few_requests_has_no_throughput_figure() -> None:
    # 30 rows of 0.05 V2 requests/s: 15 requests in the window, under the guard's 20.
    snap = link_after([rows((20.0, 20.0), (0.0, 0.05))])
    assert math.isnan(snap["v2"]["throughput_tps"])
    assert snap["v1"]["throughput_tps"] == pytest.approx(20.05)

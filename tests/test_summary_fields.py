"""Third review of the rollout model: summary fields that say what they measure.

R3-2 the sync engines' memory_usage_mb is the time series' figure (MiB: process base, engine
state, leak) and the criteria label MiB as MiB; R3-5 the incident's detection times count only
the regressed module's alerts and failed checks; R3-7 alert events vs alerts fired and the
alerts list's cap; R3-9 a retired V1 is marked and shows no live-looking gauges; R3-10
timeout_count is per sampling interval, like errors.
"""


import pytest

from sim.metrics import MIB
from sim.report import summary_table
from sim.rollout.criteria import memory_increase
from sim.rollout_link import RolloutLink, snapshot_from_rows
from sim.runner import Model, run
from tests.small_scenario import events_of as kinds
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

POOL = "transaction_pool"
SYNC = "sync_service"




# -- R3-2: sync memory_usage_mb is the series' figure -----------------------------------------


def test_sync_memory_in_the_summary_is_the_series_figure_at_the_end() -> None:
    # The reviewer's probe5, shorter: V2 sync leaks 3000 MB/h from minute 1.
    scenario = custom({
        "modules": {SYNC: {"version": "v2", "traffic": 50}},
        "faults": [{"kind": "v2_regression", "module": SYNC, "start": 60,
                    "memory_leak_mb_per_hour": 3000}],
    })
    result = run(scenario)
    sync = result.summary["sync_service"]
    base = scenario.sync.base_memory_mb
    for version in ("v1", "v2"):
        column = result.timeseries[f"sync_service.{version}.memory_usage_mb"]
        assert sync[version]["memory_usage_mb"] == pytest.approx(float(column[-1]), abs=1e-9)
        # The engine's own state, MiB, apart; the process adds its base (and V2 its leak).
        assert sync[version]["engine_state_mb"] == sync[version]["memory_bytes"] / MIB
        assert sync[version]["memory_usage_mb"] >= base + sync[version]["engine_state_mb"]
    leak_mib = 3000 * 540 / 3600  # MB/h as MiB/h, as the node leaks it, over 540 s
    assert sync["v2"]["memory_usage_mb"] == pytest.approx(
        base + sync["v2"]["engine_state_mb"] + leak_mib, rel=1e-6)


def test_memory_criterion_labels_its_figures_mib() -> None:
    detail = memory_increase(64.0, 80.0).detail
    assert "MiB" in detail
    assert " MB" not in detail
    assert "MiB" in memory_increase(float("nan"), 80.0).detail


# -- R3-5: detection times from the regressed module only -------------------------------------


def test_incident_ignores_other_modules_alerts_and_failed_checks() -> None:
    # The pool regresses (barely: nothing about the pool fails); sync leaks fast, so the sync
    # memory alert fires and every health check fails on sync's memory alone.
    result = run(custom({
        "duration": 1200,
        "modules": {POOL: {"version": "v2", "traffic": 50},
                    SYNC: {"version": "v2", "traffic": 50}},
        "rollout": {"controller": {"stability_period": 100_000}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 60,
                    "latency_factor": 1.01},
                   {"kind": "v2_regression", "module": SYNC, "start": 61,
                    "memory_leak_mb_per_hour": 40_000}],
    }))
    incident = result.summary["incident"]
    assert incident["module"] == POOL
    # The premises: a sync alert fired and checks failed, each record naming sync only.
    fired = kinds(result, "alert_firing")
    assert fired
    assert {e["module"] for e in fired} == {SYNC}
    failed = kinds(result, "health_check_failed")
    assert failed
    assert all(e["modules"] == [SYNC] for e in failed)
    assert incident["first_alert_after_s"] is None
    assert incident["first_failed_health_check_after_s"] is None


def test_incident_counts_the_regressed_modules_own_alerts_and_checks() -> None:
    result = run(custom({
        "duration": 1200,
        "modules": {SYNC: {"version": "v2", "traffic": 50}},
        "rollout": {"controller": {"stability_period": 100_000}},
        "faults": [{"kind": "v2_regression", "module": SYNC, "start": 61,
                    "memory_leak_mb_per_hour": 40_000}],
    }))
    incident = result.summary["incident"]
    first_alert = min(e["time"] for e in kinds(result, "alert_firing"))
    first_check = min(e["time"] for e in kinds(result, "health_check_failed"))
    assert incident["first_alert_after_s"] == first_alert - 61
    assert incident["first_failed_health_check_after_s"] == first_check - 61


# -- R3-7: alert events, alerts fired, the list's cap -----------------------------------------


def test_one_alert_that_fires_and_resolves_is_one_firing_and_two_events() -> None:
    # The reviewer's probe3, shorter: V2's pool errors 10 % from 5 to 10 min.
    result = run(custom({
        "duration": 1200,
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"alerts": {"interval": 20}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 300, "end": 600,
                    "error_rate": 0.1}],
    }))
    rollout = result.summary["rollout"]
    events = [a["event"] for a in rollout["alerts"]]
    assert events.count("alert_firing") >= 1
    assert events.count("alert_resolved") >= 1
    assert rollout["alerts_fired"] == events.count("alert_firing")
    assert rollout["alert_events_total"] == len(events)
    assert rollout["alerts_fired"] < rollout["alert_events_total"]
    assert "alerts_total" not in rollout
    assert rollout["alerts_listed_max"] == RolloutLink.ALERTS_LISTED_MAX == 1000


def test_the_alerts_list_is_capped_and_says_so() -> None:
    model = Model(custom({"duration": 60}), 1)
    link = model.rollout
    link.alert_log = [{"time": float(i), "event": "alert_firing" if i % 2 else "alert_resolved",
                       "rule": "r", "module": POOL} for i in range(2_501)]
    summary = link.summary()
    assert len(summary["alerts"]) == summary["alerts_listed_max"] == 1000
    assert summary["alert_events_total"] == 2_501
    assert summary["alerts_fired"] == 1_250


# -- R3-9 / K1: a retired V1 is marked, its live gauges are those at its retirement ---------


def test_a_retired_v1_is_marked_and_gives_its_gauges_at_retirement() -> None:
    step = [{"time": 100, "module": SYNC, "version": "v2", "split": 100},
            {"time": 100, "module": POOL, "version": "v2", "split": 100}]
    result = run(custom({
        "duration": 400, "network": {"peers": {"honest": 8}, "inbound_rate": 0.2,
                                     "initial_chain": 20_000},
        "rollout": {"schedule": step, "deprecation": {"at": 100}},
    }))
    (event,) = kinds(result, "v1_deprecated")
    assert event["sync_retired"] is True  # the premise
    s = result.summary
    series = result.timeseries
    # The sample at 100 s comes before the deprecation at 100 s (which runs after everything
    # else then) and after every input before it: what V1 had as it was retired.
    (row,) = (series["time"] == 100.0).nonzero()[0]
    assert s["transaction_pool"]["v1"]["retired_at"] == 100.0
    assert s["transaction_pool"]["v2"]["retired_at"] is None
    assert s["transaction_pool"]["v1"]["memory_usage_mb"] == pytest.approx(
        float(series["transaction_pool.v1.memory_usage_mb"][row]), abs=1e-9)
    # Not the stopped process's base memory that a read at the end would give.
    assert s["transaction_pool"]["v1"]["memory_usage_mb"] > custom({}).pool.base_memory_mb
    assert s["transaction_pool"]["v2"]["memory_usage_mb"] > 0
    v1, v2 = s["sync_service"]["v1"], s["sync_service"]["v2"]
    assert v1["retired_at"] == 100.0
    assert v2["retired_at"] is None
    for gauge in ("blocks_behind", "connected_peers", "sync_speed_bps", "memory_usage_mb"):
        assert v1[gauge] == pytest.approx(float(series[f"sync_service.v1.{gauge}"][row]),
                                          abs=1e-9), gauge
        assert v2[gauge] is not None
    # Far behind a 20,000-block chain when it stopped (a read at the end would say 0), with
    # its peers still connected.
    assert v1["blocks_behind"] > 1_000
    assert v1["connected_peers"] > 0
    assert v1["stalled"] in (0.0, 1.0)
    assert v1["engine_state_mb"] == v1["memory_bytes"] / MIB
    # Its state when it stopped: the checkpoint it handed over, far behind V2 by the end.
    assert v1["synced_to"] == event["v1_sync_checkpoint"] < v2["synced_to"]
    table = summary_table(s, result.events).splitlines()
    behind = next(line for line in table if line.startswith("blocks behind"))
    assert behind.split()[-2] == f"{int(v1['blocks_behind']):,}*"  # (v1, v2 columns)
    memory = next(line for line in table if line.startswith("memory at end (MiB)"))
    assert memory.split()[-2] == f"{s['transaction_pool']['v1']['memory_usage_mb']:.2f}*"
    assert table.count("* v1: at its retirement (0:01:40)") == 2  # under both tables


def test_an_older_summary_with_blank_retired_gauges_still_prints() -> None:
    s = run(custom({"duration": 60})).summary
    s["transaction_pool"]["v1"].update(retired_at=30.0, memory_usage_mb=None)
    memory = next(line for line in summary_table(s).splitlines()
                  if line.startswith("memory at end (MiB)"))
    assert memory.split()[-2] == "retired"


def test_a_live_v1_is_not_marked() -> None:
    s = run(custom({"duration": 120})).summary
    for section in ("transaction_pool", "sync_service"):
        for version in s[section].values():
            assert version["retired_at"] is None
    assert s["sync_service"]["v1"]["blocks_behind"] is not None
    assert "retired" not in summary_table(s)


# -- R3-10: timeout_count per interval -------------------------------------------------------


def test_timeout_count_is_per_interval_and_a_window_sums_it() -> None:
    # V2's pool calls time out (slowed 50x against a 1-ms call timeout) from 60 s; no breaker
    # opens, so they keep timing out in every interval.
    result = run(custom({
        "duration": 300,
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "breakers": {"transaction_pool_v2": {"timeout": 1, "enabled": False}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 60,
                    "latency_factor": 50.0}],
    }))
    column = [float(x) for x in result.timeseries["transaction_pool.v2.timeout_count"]]
    total = result.summary["transaction_pool"]["v2"]["timeouts"]
    assert total > 0  # the premise
    # Per interval: the samples add up to the run's total (cumulative ones would not).
    assert sum(column) == total
    assert max(column) < total
    rows = [{"transaction_pool.v2.timeout_count": x} for x in column[-5:]]
    assert snapshot_from_rows(rows)[POOL]["v2"]["timeout_count"] == sum(column[-5:])

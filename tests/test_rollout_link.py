"""The rollout link in short runs: what is recorded as a rollback, when timed steps act, the
controller's check grid, the manual script's probes and the nil-health crash."""

from typing import Any

import numpy as np
import pytest

from sim.cli import main
from sim.result import Result
from sim.runner import run
from tests.small_scenario import events_of as kinds
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

POOL = "transaction_pool"
SYNC = "sync_service"




def row(result: Result, time: float, column: str) -> float:
    ts = result.timeseries
    (i,) = np.flatnonzero(ts["time"] == time)
    return float(ts[column][i])


# -- defect 1: a one-stage ladder ---------------------------------------------------------


@pytest.mark.parametrize("yaml_text", [
    "profile: as_written\nrollout: {controller: {stages: [100]}}\n",
    "rollout: {controller: {stages: [50], skip_first_stage: true}}\n",
])
def test_a_one_stage_ladder_that_validate_accepts_runs(tmp_path: Any, yaml_text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("duration: 300\nnetwork: {peers: {honest: 5}, initial_chain: 10}\n"
                    "modules: {transaction_pool: {version: v2}}\n" + yaml_text)
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--quiet", "--no-progress"]) == 0


def test_one_stage_skip_first_stage_never_sets_a_split() -> None:
    result = run(custom({
        "duration": 400, "modules": {POOL: {"version": "v2"}},
        "rollout": {"controller": {"stages": [100], "skip_first_stage": True,
                                   "stability_period": 0}}}))
    assert result.summary["rollout"]["splits"] == []
    assert result.summary["rollout"]["health_checks"] == 6
    assert result.summary["rollout"]["controller"]["stage_index"] == 0


# -- defect 2: only rollbacks that changed a split are rollbacks ---------------------------


def test_auto_rollback_repeating_on_a_v2_at_zero_is_one_rollback() -> None:
    result = run(custom({
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"auto_rollback": {}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5}],
    }))
    rollout = result.summary["rollout"]
    assert [(r["time"], r["source"], r["modules"]) for r in rollout["rollbacks"]] == [
        (60.0, "auto_rollback", [POOL])]
    assert [e["time"] for e in kinds(result, "rollback")] == [60.0]
    assert [e["time"] for e in kinds(result, "stage_change")] == [60.0]
    # The window still holds V2's failing minutes, so AutoRollback keeps asking: counted apart.
    ignored = kinds(result, "rollback_ignored")
    assert len(ignored) >= 2
    assert {e["reason"] for e in ignored} == {"already at 0 %"}
    assert rollout["rollback_requests_ignored"] == len(ignored)
    assert rollout["rollback_requests_ignored_by_reason"] == {"already at 0 %": len(ignored)}
    assert result.summary["incident"]["rollback_after_s"] == 60.0


def test_rollbacks_refused_after_deprecation_are_not_rollbacks() -> None:
    result = run(custom({
        "modules": {POOL: {"version": "v2", "traffic": 30}},
        # A deprecation needs the pool at 100 % on V2 (it never moves a split itself).
        "rollout": {"auto_rollback": {}, "deprecation": {"at": 30},
                    "schedule": [{"time": 20, "module": POOL, "version": "v2", "split": 100}]},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5}],
    }))
    rollout = result.summary["rollout"]
    assert rollout["v1_deprecated_at"] == 30.0
    assert rollout["rollbacks"] == []
    assert kinds(result, "rollback") == []
    assert kinds(result, "stage_change") == []
    assert [(s["time"], s["split"]) for s in rollout["splits"]] == [(20.0, 100)]
    assert rollout["rollback_requests_ignored_by_reason"] == {
        "V1 deprecated": rollout["rollback_requests_ignored"]}
    assert rollout["rollback_requests_ignored"] >= 5
    assert result.summary["incident"]["rollback_after_s"] is None


def test_a_manual_rollback_of_two_modules_is_one_rollback() -> None:
    result = run(custom({
        "modules": {POOL: {"version": "v2", "traffic": 25},
                    SYNC: {"version": "v2", "traffic": 25}},
        "rollout": {"manual_rollback_at": 100},
    }))
    (rollback,) = result.summary["rollout"]["rollbacks"]
    assert rollback == {"time": 100.0, "source": "manual_rollback",
                        "reason": "scripts/rollback_v2.sh", "modules": [POOL, SYNC]}
    assert len(kinds(result, "rollback")) == 1


def test_a_rollback_after_deprecation_rolls_back_only_what_it_can() -> None:
    # The pool is retired at 30 s (V1 gone), sync keeps V1: the script's rollback moves sync.
    result = run(custom({
        "duration": 200,
        "modules": {POOL: {"version": "v2", "traffic": 100},
                    SYNC: {"version": "v2", "traffic": 30}},
        "rollout": {"deprecation": {"at": 30}, "manual_rollback_at": 100},
    }))
    (rollback,) = result.summary["rollout"]["rollbacks"]
    assert (rollback["time"], rollback["modules"]) == (100.0, [SYNC])
    (refused,) = kinds(result, "split_refused")
    assert (refused["time"], refused["module"]) == (100.0, POOL)
    assert result.summary["rollout"]["rollback_requests_ignored"] == 0


def test_a_manual_rollback_with_v2_already_at_zero_is_ignored() -> None:
    result = run(custom({"duration": 300, "rollout": {"manual_rollback_at": 100}}))
    rollout = result.summary["rollout"]
    assert rollout["rollbacks"] == []
    assert rollout["rollback_requests_ignored_by_reason"] == {"already at 0 %": 1}
    assert len(kinds(result, "manual_rollback_step")) == 14


# -- defect 4: timed steps at their exact times --------------------------------------------


def test_manual_rollback_takes_effect_at_its_time_not_the_next_sample() -> None:
    result = run(custom({
        "duration": 200, "modules": {POOL: {"version": "v2", "traffic": 100}},
        "rollout": {"manual_rollback_at": 101},
    }))
    assert result.summary["rollout"]["rollbacks"][0]["time"] == 101.0
    # (100, 110]: V2 until 101, V1 after it; from 110 on, V1 only.
    assert row(result, 110.0, f"{POOL}.v2.requests") > 0
    assert row(result, 110.0, f"{POOL}.v1.requests") > 0
    assert row(result, 120.0, f"{POOL}.v2.requests") == 0


def test_schedule_step_takes_effect_at_its_time() -> None:
    result = run(custom({
        "duration": 300,
        "rollout": {"schedule": [{"time": 201, "module": POOL, "version": "v2",
                                  "split": 100}]},
    }))
    assert row(result, 200.0, f"{POOL}.v2.requests") == 0
    assert row(result, 210.0, f"{POOL}.v2.requests") > 0  # (201, 210] on V2
    assert row(result, 220.0, f"{POOL}.v1.requests") == 0
    (step,) = kinds(result, "schedule_step")
    assert step["time"] == 201.0


# -- defect 5: the controller's grid --------------------------------------------------------


def test_controller_checks_keep_to_the_grid_with_25_s_samples() -> None:
    result = run(custom({
        "duration": 1500, "modules": {POOL: {"version": "v2"}},
        "run": {"metrics_interval": 25},
        "rollout": {"controller": {"stability_period": 300}},
    }))
    assert result.summary["rollout"]["health_checks"] == 25  # not 20 (every 75 s)
    splits = [(s["time"], s["split"]) for s in result.summary["rollout"]["splits"]
              if s["module"] == POOL]
    assert splits == [(75.0, 5), (375.0, 25), (675.0, 50), (975.0, 75), (1275.0, 90)]


# -- defect 9: the script's probes ----------------------------------------------------------


def test_manual_script_probes_record_routing_and_a_verdict() -> None:
    result = run(custom({
        "duration": 400,
        "modules": {POOL: {"version": "v2", "traffic": 50}, SYNC: {"version": "v2",
                                                                    "traffic": 50}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5}],
        "rollout": {"manual_rollback_at": 201},
    }))
    probes = [e for e in kinds(result, "manual_rollback_step")
              if e["step"] in ("verify", "health_check")]
    # The verification at T + 30, the ten checks at T + 30, T + 40, ..., T + 120.
    assert [e["time"] for e in probes] == [231.0] + [231.0 + 10.0 * i for i in range(10)]
    for e in probes:
        assert (e[f"{POOL}_split"], e[f"{SYNC}_split"]) == (0, 0)
        assert (e[f"{POOL}_version"], e[f"{SYNC}_version"]) == ("v2", "v2")
        assert e["threshold_set"] == "alerts"
    # The 5-minute window still holds V2's failing traffic before 201: unhealthy, with why.
    assert probes[0]["healthy"] is False
    assert "error_rate" in probes[0]["health_reason"]
    set_steps = [e for e in kinds(result, "manual_rollback_step") if e["step"] == "set_split"]
    assert [e["time"] for e in set_steps] == [201.0, 201.0]


def test_manual_script_probes_see_a_healthy_v2_as_healthy() -> None:
    result = run(custom({
        "duration": 400,
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"manual_rollback_at": 200},
    }))
    probes = [e for e in kinds(result, "manual_rollback_step")
              if e["step"] in ("verify", "health_check")]
    assert len(probes) == 11
    assert all(e["healthy"] is True and e["health_reason"] == "" for e in probes)


# -- defect 10: no health result under nil_health_crash ------------------------------------


def test_nil_health_crash_judges_nothing() -> None:
    result = run(custom({
        "profile": "as_written",
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"controller": {}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5}],
    }))
    rollout = result.summary["rollout"]
    assert rollout["controller"]["crashes"] == 10
    assert (rollout["health_checks"], rollout["failed_health_checks"]) == (0, 0)
    assert kinds(result, "health_check_failed") == []
    assert result.summary["incident"]["first_failed_health_check_after_s"] is None
    # The same run with checks that return a result fails them.
    judged = run(custom({
        "profile": "as_written",
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"controller": {"nil_health_crash": False}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5}],
    }))
    assert judged.summary["rollout"]["failed_health_checks"] > 0

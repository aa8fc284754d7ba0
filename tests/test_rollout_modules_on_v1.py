"""The controller and AutoRollback act on modules on v2 only (review 8 U-3), and a fault timed
at or after the run's end never starts: no incident, listed in ``rollout.not_reached`` (U-5).
"""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.cli import main
from sim.report import rollout_lines, summary_table
from sim.runner import run
from tests.small_scenario import events_of
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

POOL = "transaction_pool"
SYNC = "sync_service"
LADDER = {"stages": [50, 100], "stability_period": 60}


# -- U-3: a module on v1 is not rolled out -------------------------------------------------


def test_the_controller_sets_no_split_of_a_module_on_v1() -> None:
    # The reviewer's r1.yaml, shortened: the pool on V2 at 0 %, sync left on its default v1.
    result = run(custom({"duration": 300, "modules": {POOL: {"version": "v2", "traffic": 0}},
                         "rollout": {"health_window": 60, "controller": LADDER}}))
    rollout = result.summary["rollout"]
    assert [(s["time"], s["module"], s["split"]) for s in rollout["splits"]] == [
        (60.0, POOL, 50), (120.0, POOL, 100)]
    assert [e["modules"] for e in events_of(result, "stage_change")] == [[POOL], [POOL]]
    assert rollout["controller"]["modules_driven"] == [POOL]
    assert rollout["controller"]["modules_left_on_v1"] == [SYNC]
    assert set(result.timeseries[f"{SYNC}.traffic_split"]) == {0.0}
    assert result.summary["modules"][SYNC]["version"] == "v1"
    block = "\n".join(rollout_lines(result.summary, result.events))
    assert "sync_service" not in block.split("controller at the end")[0]  # no sync split line
    assert "drove (modules whose split it set): transaction_pool (from 0:01:00)" in block
    assert ("on V1 at the end, not rolled out (its splits untouched, health checks n/a): "
            "sync_service") in block


def test_a_controller_with_every_module_on_v1_drives_none_and_says_so() -> None:
    result = run(custom({"duration": 200, "rollout": {"controller": LADDER}}))
    rollout = result.summary["rollout"]
    assert rollout["splits"] == []
    assert not events_of(result, "stage_change")
    assert rollout["controller"]["modules_driven"] == []
    assert rollout["controller"]["modules_left_on_v1"] == [POOL, SYNC]
    # Review 9 V-2: it held its ladder, so it reports no split it never set.
    assert (rollout["controller"]["percent"], rollout["controller"]["stage_index"]) == (0, -1)
    text = summary_table(result.summary, result.events)
    assert "controller at the end: drove no module (no split set)" in text
    assert "drove (modules whose split it set): none" in text
    assert "on V1 at the end, not rolled out" in text


def test_the_ladder_waits_for_a_module_on_v2_then_starts_at_its_first_stage() -> None:
    # Review 9 V-2: every module on v1 until a schedule step moves the pool to v2 at 250 s.
    # Its checks at 60-240 s hold (no stage); the first stage comes at the check after 250 s.
    result = run(custom({"duration": 420, "rollout": {
        "controller": LADDER,
        "schedule": [{"time": 250, "module": POOL, "version": "v2", "split": 0}]}}))
    rollout = result.summary["rollout"]
    assert [(e["time"], e["percent"], e["modules"]) for e in events_of(result, "stage_change")
            ] == [(300.0, 50, [POOL]), (360.0, 100, [POOL])]
    controller = rollout["controller"]
    assert controller["modules_driven"] == [POOL]
    assert controller["driven_from"] == {POOL: 300.0}
    assert controller["modules_left_on_v1"] == [SYNC]
    assert controller["modules_not_driven"] == []
    assert (controller["percent"], controller["stage_index"]) == (100, 1)


def test_a_module_that_comes_on_v2_after_the_last_stage_is_not_listed_as_driven() -> None:
    # Review 9 c1.yaml: sync switched to v2 (at 0 %) after the controller's last stage. It is
    # neither driven (its split was never set by the controller) nor on V1 at the end.
    result = run(custom({"duration": 300, "modules": {POOL: {"version": "v2", "traffic": 0}},
                         "rollout": {"health_window": 60, "controller": LADDER, "schedule": [
                             {"time": 200, "module": SYNC, "version": "v2", "split": 0}]}}))
    controller = result.summary["rollout"]["controller"]
    assert controller["modules_driven"] == [POOL]
    assert controller["driven_from"] == {POOL: 60.0}
    assert controller["modules_not_driven"] == [SYNC]
    assert controller["modules_left_on_v1"] == []
    block = "\n".join(rollout_lines(result.summary, result.events))
    assert "on V2 at the end, its split never set by the controller: sync_service" in block
    assert "on V1 at the end" not in block


@pytest.mark.parametrize("rollout", [{"controller": LADDER}, {"auto_rollback": {}}],
                         ids=["controller", "auto_rollback"])
def test_an_idle_v2_of_a_module_on_v1_is_not_judged(rollout: dict[str, Any]) -> None:
    # The pool stays on v1; its V2 process leaks memory with no traffic routed to it. Judged,
    # it would fail the memory checks and roll back sync, the module actually on V2.
    result = run(custom({
        "duration": 600, "modules": {SYNC: {"version": "v2", "traffic": 20}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5,
                    "memory_leak_mb_per_hour": 2000}],
        "rollout": {"health_window": 60, **rollout}}))
    summary = result.summary
    # The premise: V2's pool memory grew far past V1's (a judged check would fail).
    mem = result.timeseries[f"{POOL}.v2.memory_usage_mb"]
    assert np.nanmax(mem) > 3 * result.timeseries[f"{POOL}.v1.memory_usage_mb"][-1]
    assert summary["rollout"]["rollbacks"] == []
    assert summary["rollout"]["failed_health_checks"] == 0
    assert not events_of(result, "health_check_failed", "rollback", "rollback_ignored")
    assert summary["incident"]["first_failed_health_check_after_s"] is None
    assert summary["incident"]["rollback_after_s"] is None
    if "controller" in rollout:
        assert [s["split"] for s in summary["rollout"]["splits"]] == [50, 100]
        assert summary["rollout"]["controller"]["modules_left_on_v1"] == [POOL]


def test_a_module_on_v2_is_still_judged_and_rolled_back() -> None:
    # The counterpart: the same leak with the pool on v2 fails the checks and rolls it back.
    result = run(custom({
        "duration": 600, "modules": {POOL: {"version": "v2", "traffic": 20}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 0, "error_rate": 0.5,
                    "memory_leak_mb_per_hour": 2000}],
        "rollout": {"health_window": 60, "auto_rollback": {}}}))
    assert [r["modules"] for r in result.summary["rollout"]["rollbacks"]] == [[POOL]]


# -- U-5: a fault timed at or after the end -----------------------------------------------


@pytest.mark.parametrize("start", [300.0, 7200.0], ids=["at_end", "after_end"])
def test_a_regression_timed_at_or_after_the_end_gives_no_incident(start: float) -> None:
    result = run(custom({
        "duration": 300, "modules": {POOL: {"version": "v2", "traffic": 20}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": start,
                    "error_rate": 0.2},
                   {"kind": "partition", "share": 0.5, "start": start + 10},
                   {"kind": "node_restart", "at": start}]}))
    summary = result.summary
    assert summary["incident"] is None
    assert summary["rollout"]["not_reached"] == [
        {"time": start, "what": "fault", "fault": "v2_regression", "index": 0, "module": POOL},
        {"time": start, "what": "fault", "fault": "node_restart", "index": 2},
        {"time": start + 10, "what": "fault", "fault": "partition", "index": 1}]
    assert not events_of(result, "fault_start", "node_restart")
    assert summary["transaction_pool"]["v2"]["errors"] == 0
    text = "\n".join(rollout_lines(summary, result.events))
    assert "incident" not in text
    assert "not reached (timed after the run's end): 3" in text
    assert "fault v2_regression (faults[0]) on transaction_pool: never started" in text


def test_a_regression_before_the_end_still_gives_an_incident() -> None:
    result = run(custom({
        "duration": 300, "modules": {POOL: {"version": "v2", "traffic": 20}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 290,
                    "error_rate": 0.2}]}))
    assert result.summary["incident"]["regression_start_s"] == 290.0
    assert result.summary["rollout"]["not_reached"] == []


# -- validate warns of both ----------------------------------------------------------------


def test_validate_warns_of_a_controller_module_on_v1_and_a_late_fault(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("duration: 10m\nrollout: {controller: {stages: [50, 100]}}\n"
                    "modules: {transaction_pool: {version: v2, traffic: 0}}\n"
                    "faults: [{kind: v2_regression, start: 2h, error_rate: 0.2}]\n",
                    encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}: warning: rollout.controller: sync_service on v1: the controller drives only "
        "modules on v2 and leaves these as they are (not rolled out; set "
        "modules.<name>.version: v2 to roll them out)",
        f"{path}: warning: faults[0] (v2_regression) starts at 7200 s, at or after the run's "
        "end (600 s): it never happens"]


@pytest.mark.parametrize("name", ["automated-rollout", "regression-rollback", "guide-schedule",
                                  "canary"])
def test_validate_gives_the_built_ins_no_warning(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", name]) == 0
    assert capsys.readouterr().err == ""


def test_a_schedule_that_switches_a_module_to_v2_is_no_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("duration: 10m\nrollout:\n  controller: {}\n  schedule:\n"
                    "    - {time: 0, module: transaction_pool, version: v2, split: 0}\n"
                    "    - {time: 0, module: sync_service, version: v2, split: 0}\n",
                    encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err == ""


def test_validate_judges_the_modules_with_the_env_file_applied(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The scenario leaves sync on v1; the env file puts it on v2, as a run would apply it.
    path = tmp_path / "r.yaml"
    path.write_text("duration: 10m\nrollout: {controller: {stages: [50, 100]}}\n"
                    "modules: {transaction_pool: {version: v2, traffic: 0}}\n",
                    encoding="utf-8")
    env = tmp_path / "v2.env"
    env.write_text('SYNC_SERVICE_VERSION="v2"\n', encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "sync_service on v1" in capsys.readouterr().err
    assert main(["validate", str(path), "--env-file", str(env)]) == 0
    assert capsys.readouterr().err == ""

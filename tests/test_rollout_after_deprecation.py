"""Second review of the rollout model: steps after V1's deprecation, the summary's versions,
the incident's rollback time, the deprecation's order and the late sync hand-over, resumes
that do nothing and what a run ends before (R2-1, R2-2, R2-3, R2-4, R2-7a)."""

from typing import Any

import pytest

from sim.runner import run
from tests.small_scenario import events_of as kinds
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

POOL = "transaction_pool"
SYNC = "sync_service"




def step(time: float, module: str, version: str, split: int) -> dict[str, Any]:
    return {"time": time, "module": module, "version": version, "split": split}


# -- R2-1: a step back to a deprecated V1 is refused whole ----------------------------------


def test_a_step_back_to_a_deprecated_v1_is_refused_whole() -> None:
    result = run(custom({
        "duration": 700,
        "rollout": {"schedule": [step(60, POOL, "v2", 100), step(500, POOL, "v1", 0),
                                 step(550, POOL, "v2", 40)],
                    "deprecation": {"at": 300}},
    }))
    summary = result.summary
    refused = kinds(result, "split_refused")
    assert [(e["time"], e["module"], e["version"], e["split"], e["source"], e["reason"])
            for e in refused] == [(500.0, POOL, "v1", 0, "schedule", "V1 deprecated"),
                                  (550.0, POOL, "v2", 40, "schedule", "V1 deprecated")]
    assert [e["time"] for e in kinds(result, "schedule_step")] == [60.0]
    assert summary["rollout"]["schedule_steps_refused"] == 2
    # The pool stays on V2 at 100 %: every pool request is served, none goes to dead V1.
    assert summary["modules"][POOL]["version"] == "v2"
    assert summary["modules"][POOL]["traffic_split_final"] == 100
    assert summary["unserved_requests"] == 0
    ts = result.timeseries
    late = ts["time"] > 500
    assert ts[f"{POOL}.v1.requests"][late].sum() == 0
    assert (ts[f"{POOL}.v2.requests"][late] > 0).all()


# -- R2-2: the final version in the summary, version changes in splits ----------------------


def test_summary_gives_start_and_final_version_and_splits_record_versions() -> None:
    result = run(custom({
        "duration": 300,
        "rollout": {"schedule": [step(100, SYNC, "v2", 0), step(200, SYNC, "v2", 30)]},
    }))
    modules = result.summary["modules"]
    assert modules[SYNC] == {"version": "v2", "version_start": "v1",
                             "traffic_split_start": 0, "traffic_split_final": 30}
    assert modules[POOL] == {"version": "v1", "version_start": "v1",
                             "traffic_split_start": 0, "traffic_split_final": 0}
    # The version change alone (split still 0) is an entry too.
    assert result.summary["rollout"]["splits"] == [
        {"time": 100.0, "module": SYNC, "version": "v2", "split": 0, "source": "schedule"},
        {"time": 200.0, "module": SYNC, "version": "v2", "split": 30, "source": "schedule"}]


# -- R2-3: the incident's rollback is one of the regressed module ---------------------------


def test_rollback_after_s_ignores_rollbacks_that_left_the_regressed_module() -> None:
    scenario = {
        "duration": 700,
        "modules": {POOL: {"version": "v2", "traffic": 100},
                    SYNC: {"version": "v2", "traffic": 50}},
        "rollout": {"deprecation": {"at": 60}, "manual_rollback_at": 500},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 400,
                    "error_rate": 0.3}],
    }
    result = run(custom(scenario))
    (rollback,) = result.summary["rollout"]["rollbacks"]
    assert (rollback["time"], rollback["modules"]) == (500.0, [SYNC])  # the pool's refused
    assert result.summary["incident"]["rollback_after_s"] is None
    # Without the deprecation the same rollback includes the pool and counts.
    scenario["rollout"] = {"manual_rollback_at": 500}
    again = run(custom(scenario))
    assert again.summary["incident"]["rollback_after_s"] == 100.0


# -- R2-4: deprecation after same-time steps; V1 sync retired later -------------------------


@pytest.mark.parametrize("at", [300.0, 305.0])  # on a sample time, and between samples
def test_deprecation_at_a_steps_time_runs_after_the_steps(at: float) -> None:
    result = run(custom({
        "duration": 400, "network": {"peers": {"honest": 8}, "inbound_rate": 0.2,
                                     "initial_chain": 20_000},
        # (The earlier step makes the runner create the wake-up at `at` only at 50 s, after
        # the deprecation's: SimPy orders equal times by priority, then creation.)
        "rollout": {"schedule": [step(50, POOL, "v2", 10), step(at, SYNC, "v2", 100),
                                 step(at, POOL, "v2", 100)],
                    "deprecation": {"at": at}},
    }))
    (event,) = kinds(result, "v1_deprecated")
    assert event["time"] == at
    assert event["sync_retired"] is True
    assert event["sync_handover"] == "adopted"  # V2 sync started only now, V1 ran since 0
    assert kinds(result, "v1_sync_retired") == []
    rollout = result.summary["rollout"]
    assert rollout["v1_deprecated_at"] == rollout["v1_sync_retired_at"] == at
    # V1 sync imported nothing after it stopped: its tip is the checkpoint it handed over.
    assert result.summary["sync_service"]["v1"]["synced_to"] == event["v1_sync_checkpoint"]


def test_sync_reaching_v2_after_the_deprecation_hands_over_then() -> None:
    result = run(custom({
        "duration": 400, "network": {"peers": {"honest": 8}, "inbound_rate": 0.2,
                                     "initial_chain": 20_000},
        "modules": {POOL: {"version": "v2", "traffic": 100}},
        "rollout": {"deprecation": {"at": 60}, "schedule": [step(205, SYNC, "v2", 100)],
                    "manual_rollback_at": 300},
    }))
    (deprecated,) = kinds(result, "v1_deprecated")
    assert (deprecated["time"], deprecated["sync_retired"]) == (60.0, False)
    (retired,) = kinds(result, "v1_sync_retired")
    assert retired["time"] == 205.0
    assert retired["sync_handover"] == "adopted"
    assert retired["v2_sync_tip_before"] == 0  # V2 sync starts at 205
    assert retired["v2_sync_tip"] == retired["v1_sync_checkpoint"] > 1_000
    rollout = result.summary["rollout"]
    assert (rollout["v1_deprecated_at"], rollout["v1_sync_retired_at"]) == (60.0, 205.0)
    # V1 sync is gone: the script's rollback can move neither module.
    assert rollout["rollbacks"] == []
    assert {e["module"] for e in kinds(result, "split_refused")} == {POOL, SYNC}
    sync = result.summary["sync_service"]
    assert sync["v1"]["synced_to"] == retired["v1_sync_checkpoint"]
    assert sync["v2"]["blocks_behind"] <= 2
    assert result.summary["unserved_requests"] == 0


def test_sync_at_a_split_at_deprecation_retires_v1_when_it_reaches_100() -> None:
    result = run(custom({
        "duration": 300, "network": {"peers": {"honest": 8}, "inbound_rate": 0.2,
                                     "initial_chain": 20_000},
        "modules": {POOL: {"version": "v2", "traffic": 100},
                    SYNC: {"version": "v2", "traffic": 50}},
        "rollout": {"deprecation": {"at": 60}, "schedule": [step(205, SYNC, "v2", 100)]},
    }))
    (deprecated,) = kinds(result, "v1_deprecated")
    assert deprecated["sync_retired"] is False
    (retired,) = kinds(result, "v1_sync_retired")
    # V2 has synced side by side since 0, far ahead of V1: it keeps its own chain.
    assert (retired["time"], retired["sync_handover"]) == (205.0, "not_behind")
    assert retired["v2_sync_tip"] == retired["v2_sync_tip_before"] > retired["v1_sync_checkpoint"]
    assert result.summary["sync_service"]["v1"]["synced_to"] == retired["v1_sync_checkpoint"]


# -- R2-7a: resumes that do nothing, and what the run ended before --------------------------


def test_a_resume_while_not_paused_is_logged() -> None:
    result = run(custom({
        "duration": 200, "modules": {POOL: {"version": "v2"}},
        "rollout": {"controller": {"resume_at": [100]}},
    }))
    (ignored,) = kinds(result, "resume_ignored")
    assert (ignored["time"], ignored["reason"]) == (100.0, "controller not paused")
    assert result.summary["rollout"]["not_reached"] == []


def test_what_is_timed_after_the_end_is_listed() -> None:
    result = run(custom({
        "duration": 300, "modules": {POOL: {"version": "v2"}},
        "rollout": {"controller": {"resume_at": [500]},
                    "schedule": [step(100, POOL, "v2", 10), step(400, POOL, "v2", 20)],
                    "manual_rollback_at": 250, "deprecation": {"at": 350}},
    }))
    not_reached = result.summary["rollout"]["not_reached"]
    # The script's rollback at 250, verification at 280, checks 1-3 up to 300 ran.
    assert not_reached == [
        *({"time": 270.0 + 10.0 * i, "what": "manual_rollback_step", "step": "health_check",
           "index": i} for i in (4, 5, 6, 7, 8)),
        {"time": 350.0, "what": "deprecation"},
        *({"time": 270.0 + 10.0 * i, "what": "manual_rollback_step", "step": "health_check",
           "index": i} for i in (9, 10)),
        {"time": 380.0, "what": "manual_rollback_step", "step": "completed"},
        {"time": 400.0, "what": "schedule_step", "module": POOL, "version": "v2",
         "split": 20},
        {"time": 500.0, "what": "resume"},
    ]
    assert result.summary["rollout"]["v1_deprecated_at"] is None

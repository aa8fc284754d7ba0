"""Seventh review: a deprecation never moves a split (R5-1), and V2 keeps a checkpoint at least
as new as V1's after the sync hand-over, so a later restart does not resync it from genesis
(R5-9)."""

from typing import Any

import numpy as np
import pytest

from sim.report import rollout_lines
from sim.result import Result
from sim.runner import run
from tests.small_scenario import events_of as kinds
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

POOL = "transaction_pool"
SYNC = "sync_service"


def step(time: float, module: str, version: str, split: int) -> dict[str, Any]:
    return {"time": time, "module": module, "version": version, "split": split}


def after(result: Result, column: str, t: float) -> np.ndarray:
    ts = result.timeseries
    return np.asarray(ts[column][ts["time"] > t])


# -- R5-1: a deprecation at a split below 100 % is refused ---------------------------------


def test_deprecation_after_a_rollback_is_refused_and_leaves_the_pool_on_v1() -> None:
    # /tmp/review7/depforce2.yaml shortened: V2 fails half its calls from 100 s, the manual
    # rollback takes it to 0 % at 200 s; the deprecation due at 400 s must not undo that.
    result = run(custom({
        "duration": 500,
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"manual_rollback_at": 200, "deprecation": {"at": 400}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 100, "error_rate": 0.5}],
    }))
    rollout = result.summary["rollout"]
    assert [(s["time"], s["split"], s["source"]) for s in rollout["splits"]] == [
        (200.0, 0, "manual_rollback")]
    (event,) = kinds(result, "deprecation_refused")
    assert (event["time"], event["module"], event["version"], event["split"]) == (
        400.0, POOL, "v2", 0)
    assert "not at 100 % on V2" in event["reason"]
    assert rollout["deprecation_refused"] == {k: event[k] for k in (
        "time", "module", "version", "split", "reason")}
    assert rollout["v1_deprecated_at"] is None
    assert kinds(result, "v1_deprecated") == []
    assert rollout["not_reached"] == []  # it was reached, and refused
    assert result.summary["transaction_pool"]["v1"]["retired_at"] is None
    # V1 keeps serving the pool: nothing goes to the failing V2, nothing is unserved.
    assert after(result, f"{POOL}.v1.requests", 400).sum() > 0
    assert after(result, f"{POOL}.v2.requests", 400).sum() == 0
    assert result.summary["unserved_requests"] == 0
    assert result.summary["modules"][POOL]["traffic_split_final"] == 0
    # The printed summary's rollout block says so.
    assert ("  V1 deprecation refused at 0:06:40: " + event["reason"]
            in rollout_lines(result.summary, result.events))


@pytest.mark.parametrize(("modules", "version", "split"), [
    ({POOL: {"version": "v2", "traffic": 5}}, "v2", 5),  # a canary (depforce.yaml)
    ({}, "v1", 0),  # the pool never left V1
    ({POOL: {"version": "v1", "traffic": 100}}, "v1", 100),  # a split on V1 routes to V1
])
def test_deprecation_below_100_percent_v2_is_refused_whatever_the_split(
        modules: dict[str, Any], version: str, split: int) -> None:
    result = run(custom({"duration": 300, "modules": modules,
                         "rollout": {"deprecation": {"at": 150}}}))
    (event,) = kinds(result, "deprecation_refused")
    assert (event["time"], event["version"], event["split"]) == (150.0, version, split)
    assert result.summary["rollout"]["splits"] == []
    assert result.summary["modules"][POOL]["version"] == version
    assert result.summary["rollout"]["v1_deprecated_at"] is None
    assert after(result, f"{POOL}.v1.requests", 150).sum() > 0


def test_deprecation_at_100_percent_v2_still_retires_v1_and_moves_no_split() -> None:
    result = run(custom({
        "duration": 300,
        "modules": {POOL: {"version": "v2", "traffic": 30}},
        "rollout": {"schedule": [step(100, POOL, "v2", 100)], "deprecation": {"at": 150}},
    }))
    rollout = result.summary["rollout"]
    assert rollout["v1_deprecated_at"] == 150.0
    assert rollout["deprecation_refused"] is None
    assert kinds(result, "deprecation_refused") == []
    assert [(s["time"], s["source"]) for s in rollout["splits"]] == [(100.0, "schedule")]
    (event,) = kinds(result, "v1_deprecated")
    assert event["time"] == 150.0
    assert result.summary["transaction_pool"]["v1"]["retired_at"] == 150.0
    assert result.summary["unserved_requests"] == 0


# -- R5-9: a restart after a "not_behind" hand-over resumes from V1's checkpoint -------------


def test_restart_after_a_not_behind_handover_resumes_from_v1_checkpoint() -> None:
    # /tmp/review7/dep_restart.yaml shortened: both modules on V2 at 100 % from the start, V2
    # sync level with V1 when V1 retires at 300 s; the node restarts at 400 s. V2 saves its
    # own checkpoint only every 1,000th block (none yet), so before the fix it went back to
    # block 0 and resynced the whole chain.
    result = run(custom({
        "duration": 480,
        "network": {"peers": {"honest": 8}, "inbound_rate": 0.2, "initial_chain": 500},
        "modules": {POOL: {"version": "v2", "traffic": 100},
                    SYNC: {"version": "v2", "traffic": 100}},
        "rollout": {"deprecation": {"at": 300}},
        "faults": [{"kind": "node_restart", "at": 400}],
    }))
    (event,) = kinds(result, "v1_deprecated")
    assert event["sync_handover"] == "not_behind"  # the premise: V2 was not behind V1
    checkpoint = event["v1_sync_checkpoint"]
    assert 500 <= checkpoint < 1_000  # below V2's own first checkpoint (every 1,000th)
    assert kinds(result, "node_restart")
    ts = result.timeseries
    late = ts["time"] >= 400
    head = ts["chain.height"][late] - ts[f"{SYNC}.v2.blocks_behind"][late]
    assert head.min() >= checkpoint
    v2 = result.summary[SYNC]["v2"]
    assert v2["checkpoints"] == 1  # the hand-over's, recorded as V2's own
    # It imported the chain once from genesis (no blocks adopted) and again only what it had
    # past the checkpoint when the node restarted, not the whole chain a second time.
    assert v2["blocks_imported"] - v2["synced_to"] <= v2["synced_to"] - checkpoint

"""Each built-in whose behaviour comes late is run far enough to show it, and checked against
what its description promises (the reduced-duration smoke test of every built-in stops at
600 s, before regression-rollback's fault, as-written's and guide-schedule's V2 days).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import sim.rollout_link
from sim.result import Result
from sim.rollout.schedule import DAY, GUIDE_PHASES, ScheduleStep, guide_schedule
from sim.runner import run
from sim.scenario import load_scenario

pytestmark = pytest.mark.e2e


def builtin(name: str, duration: float) -> Any:
    return load_scenario(name).model_copy(update={"duration": duration})


def splits(result: Result, module: str = "transaction_pool") -> list[tuple[float, int, str]]:
    return [(s["time"], s["split"], s["source"]) for s in result.summary["rollout"]["splits"]
            if s["module"] == module]


def events(result: Result, kind: str) -> list[dict[str, Any]]:
    return [e for e in result.events if e["kind"] == kind]


def assert_balanced(result: Result) -> None:
    assert result.summary["ledger"]["balanced"] is True


def test_regression_rollback_detects_and_rolls_back_as_described() -> None:
    # The fault starts at 7,300 s, just after the 50 % stage (7,260 s); 7,800 s is past the
    # rollback (three failed 60-s checks) with room to spare.
    scenario = builtin("regression-rollback", 7_800.0)
    fault_at = scenario.faults[0].start
    result = run(scenario)
    pool = splits(result)
    assert [p for t, p, _ in pool if t <= fault_at] == [5, 25, 50]
    # The error-rate alert fires, after the fault.
    firing = [e for e in events(result, "alert_firing")
              if e["rule"] == "Transaction Pool Error Rate"]
    assert firing
    assert firing[0]["time"] > fault_at
    # The pool's V2 breaker opens.
    opened = [e for e in events(result, "breaker_transition")
              if e.get("module") == "transaction_pool" and e.get("to_state") == "open"]
    assert opened
    assert opened[0]["time"] > fault_at
    # The controller (AutoRollback is off) rolls back to 0 % and pauses.
    rollbacks = result.summary["rollout"]["rollbacks"]
    assert rollbacks
    assert {r["source"] for r in rollbacks} == {"controller"}
    assert "3 consecutive failed health checks" in rollbacks[0]["reason"]
    assert pool[-1][1] == 0
    assert pool[-1][0] > fault_at
    assert result.summary["rollout"]["controller"]["paused"] is True
    # The incident block reports detection and rollback times from the fault's start.
    incident = result.summary["incident"]
    assert incident["regression_start_s"] == fault_at
    detect = [incident[k] for k in ("first_alert_after_s", "first_failed_health_check_after_s",
                                    "breaker_open_after_s")]
    assert all(d is not None and d > 0 for d in detect)
    assert 0 < min(detect) < incident["rollback_after_s"] < 600
    assert incident["rollback_after_s"] == pytest.approx(pool[-1][0] - fault_at)
    # Every failed V2 call was retried on V1: nothing unserved, nothing lost.
    assert result.summary["unserved_requests"] == 0
    assert_balanced(result)


def test_as_written_skips_five_percent_and_auto_rollback_does_not_pause() -> None:
    # The fault starts at 3,000 s (at 25 %); the controller's next stage is at 3,660 s.
    scenario = builtin("as-written", 3_800.0)
    fault_at = scenario.faults[0].start
    result = run(scenario)
    pool = splits(result)
    assert pool[0][:2] == (60.0, 25)  # the 5 % stage is skipped
    assert 5 not in [p for _, p, _ in pool]
    # AutoRollback sets 0 % after the fault ...
    auto = [(t, p) for t, p, source in pool if source == "auto_rollback"]
    assert auto
    assert auto[0][1] == 0
    assert auto[0][0] > fault_at
    # ... the controller, never told (not paused), raises traffic again at its next stage.
    assert any(t > auto[0][0] and p > 0 and source == "controller" for t, p, source in pool)
    assert result.summary["rollout"]["controller"]["paused"] is False
    # The as-written breaker counts errors as successes: it never opens.
    assert not [e for e in events(result, "breaker_transition") if e.get("to_state") == "open"]
    assert result.summary["incident"]["breaker_open_after_s"] is None
    assert_balanced(result)


DAY_S = 300.0
"""A guide day squeezed to 5 minutes, for the compressed guide-schedule run."""


def squeezed(steps: Sequence[ScheduleStep]) -> tuple[ScheduleStep, ...]:
    return tuple(s.model_copy(update={"time": s.time / DAY * DAY_S}) for s in steps)


def test_guide_schedule_replays_every_phase_through_schedule_guide(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The scenario's own `schedule: guide` path (RolloutLink resolves it with
    # guide_schedule()), with the guide's days scaled to 5 minutes; the deprecation time
    # (the end of day 15, the run's end) scales with them. 15 real days cost minutes of CPU;
    # 15 x 5 min ~1 s.
    monkeypatch.setattr(sim.rollout_link, "guide_schedule", lambda: squeezed(guide_schedule()))
    base = load_scenario("guide-schedule")
    assert base.rollout.schedule == "guide"
    assert base.rollout.deprecation is not None
    assert base.rollout.deprecation.at == base.duration == 15 * DAY
    scenario = base.model_copy(update={
        "duration": 15 * DAY_S,
        "rollout": base.rollout.model_copy(update={
            "deprecation": base.rollout.deprecation.model_copy(update={
                "at": base.rollout.deprecation.at / DAY * DAY_S})})})
    result = run(scenario)
    t = result.timeseries["time"]
    phases = [(p.first_day, p.last_day, p.split) for p in GUIDE_PHASES]
    for module in ("transaction_pool", "sync_service"):
        column = result.timeseries[f"{module}.traffic_split"]
        expected_split = 0
        for first, last, split in phases:
            expected_split = expected_split if split is None else split
            # The samples strictly inside the phase (a step at a sample time may show there
            # or at the next one).
            inside = (t > (first - 1) * DAY_S) & (t < last * DAY_S)
            assert inside.any()
            # Monitoring (days 14-15) keeps 100 % on V2 with V1 still there as the fallback.
            assert set(column[inside]) == {expected_split}, (module, first)
    # V2's share of the pool's requests follows the split (5 % to 90 %).
    v1 = result.timeseries["transaction_pool.v1.requests"]
    v2 = result.timeseries["transaction_pool.v2.requests"]
    for first, last, split in phases:
        if split is None or split == 100:
            continue
        inside = (t > (first - 1) * DAY_S + 60) & (t < last * DAY_S)
        share = 100 * np.nansum(v2[inside]) / (np.nansum(v1[inside]) + np.nansum(v2[inside]))
        assert share == pytest.approx(split, abs=2.0), (first, share)
    assert np.nansum(v2[t < 2 * DAY_S]) == 0  # days 1-2: V1 only
    # V1 stays up through the monitoring days (the guide's days 14-15, "Prepare for V1
    # deprecation") and is deprecated at the end of day 15, the run's last moment: it still
    # runs (nothing is left in rollout.not_reached), and hands sync over.
    (dep,) = events(result, "v1_deprecated")
    assert dep["time"] == 15 * DAY_S
    assert dep["sync_retired"] is True
    assert result.summary["rollout"]["v1_deprecated_at"] == 15 * DAY_S
    assert result.summary["rollout"]["not_reached"] == []
    monitoring = t > 13 * DAY_S
    for module in ("transaction_pool", "sync_service"):
        assert set(result.timeseries[f"{module}.traffic_split"][monitoring]) == {100}
    assert not events(result, "v1_sync_retired")  # sync retires with the deprecation itself
    steps = events(result, "schedule_step")
    assert len(steps) == 2 * 6  # six split steps, on both modules
    assert_balanced(result)


def test_partition_as_described_v1_slowed_or_stalled_v2_at_the_head() -> None:
    # Seed 1 (the built-in's): the random 60 % holds 5 of V1's 10 peers and 30 of V2's 50.
    # V1's outstanding request went to a peer still reachable: it keeps importing, one batch
    # at a time, and is still over 10,000 blocks behind at the end; V2 is at the head.
    result = run("partition")
    (start,) = events(result, "fault_start")
    assert (start["v1_hit"], start["v1_connected"], start["v2_hit"], start["v2_connected"]) == (
        5, 10, 30, 50)
    t = result.timeseries["time"]
    v1 = result.timeseries["sync_service.v1.blocks_behind"]
    v2 = result.timeseries["sync_service.v2.blocks_behind"]
    during = (t >= 120.0) & (t <= 900.0)
    assert v1[during][-1] < v1[during][0] - 2_000
    assert 10_000 < v1[-1] < v1[during][-1]
    assert np.nanmax(v2[(t >= 600.0)]) <= 2
    # Seed 5 (the description's other case): V1's request went to a vanished peer at minute
    # 1, so it imports nothing more, through the partition's end (900 s) to the end of the run.
    result = run("partition", seed=5)
    t = result.timeseries["time"]
    v1 = result.timeseries["sync_service.v1.blocks_behind"]
    v2 = result.timeseries["sync_service.v2.blocks_behind"]
    after = t >= 120.0
    assert np.all(np.diff(v1[after]) >= 0)
    assert v1[-1] > v1[after][0] > 19_000
    assert result.summary["sync_service"]["v1"]["synced_to"] <= 200  # its first batches only
    assert np.nanmax(v2[(t >= 600.0)]) <= 2

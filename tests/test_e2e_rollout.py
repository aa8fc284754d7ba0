"""End-to-end runs of the rollout model: built-in scenarios, controller timing, deprecation."""

from collections import Counter
from typing import Any

import pytest

from pool.ledger import TxState
from sim.cli import main
from sim.result import Result
from sim.runner import Model, run
from sim.scenario import Scenario, builtin_names, load_scenario
from tests.small_scenario import small_scenario

pytestmark = pytest.mark.e2e


def short(name: str, duration: float) -> Scenario:
    return load_scenario(name).model_copy(update={"duration": duration})


def custom(data: dict[str, Any]) -> Scenario:
    return small_scenario(data, 1800.0)


def assert_balanced(result: Result) -> None:
    ledger = result.summary["ledger"]
    assert ledger["balanced"] is True
    node = ledger["node"]
    entered = ledger["v1"]["entered"] + ledger["v2"]["entered"]
    assert node["arrived"] + node["double_executions"] + node["migrated"] == (
        entered + sum(node["dropped"].values()))


EXPECTED = {"canary", "automated-rollout", "regression-rollback", "guide-schedule",
            "as-written", "peer-flood", "tx-spam", "partition"}


def test_every_builtin_scenario_is_listed() -> None:
    assert set(builtin_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_scenario_runs_short_with_a_balanced_ledger(name: str) -> None:
    result = run(short(name, 600.0))
    assert_balanced(result)
    assert result.summary["run"]["scenario"] == name
    scenario = short(name, 600.0)
    assert len(result.timeseries["time"]) == round(600 / scenario.run.metrics_interval)


def split_times(result: Result, module: str = "transaction_pool") -> list[tuple[float, int]]:
    return [(s["time"], s["split"]) for s in result.summary["rollout"]["splits"]
            if s["module"] == module]


def test_controller_timeline_under_a_healthy_v2_is_exact_to_the_check() -> None:
    scenario = custom({
        "duration": 2000,
        "modules": {"transaction_pool": {"version": "v2"}, "sync_service": {"version": "v2"}},
        "rollout": {"controller": {"stability_period": "5m"}},
    })
    result = run(scenario)
    assert split_times(result) == [(60.0, 5), (360.0, 25), (660.0, 50), (960.0, 75),
                                   (1260.0, 90), (1560.0, 100)]
    assert split_times(result, "sync_service") == split_times(result)
    assert result.summary["rollout"]["rollbacks"] == []
    assert_balanced(result)


def test_as_written_controller_skips_five_percent_and_auto_rollback_does_not_pause() -> None:
    scenario = custom({
        "duration": 1500,
        "profile": "as_written",
        "modules": {"transaction_pool": {"version": "v2"}, "sync_service": {"version": "v2"}},
        # A one-minute health window: the controller's next check no longer sees the errors
        # from before the auto-rollback (with a longer window it rolls back on its own).
        "rollout": {"controller": {"stability_period": "5m", "nil_health_crash": False},
                    "auto_rollback": {}, "health_window": 60},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 400,
                    "error_rate": 0.3, "latency_factor": 3.0}],
    })
    result = run(scenario)
    splits = split_times(result)
    assert splits[0] == (60.0, 25)  # the 5 % stage is skipped
    zero = [t for t, p in splits if p == 0]
    assert zero, "AutoRollback should have set 0 %"
    # Never told, the controller raises traffic again after the rollback.
    assert any(t > zero[0] and p > 0 for t, p in splits)
    assert_balanced(result)


def test_intended_auto_rollback_pauses_the_controller() -> None:
    scenario = custom({
        "duration": 1500,
        "modules": {"transaction_pool": {"version": "v2"}, "sync_service": {"version": "v2"}},
        "rollout": {"controller": {"stability_period": "5m"}, "auto_rollback": {}},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 400,
                    "error_rate": 0.3, "latency_factor": 3.0}],
    })
    result = run(scenario)
    splits = split_times(result)
    zero = [t for t, p in splits if p == 0]
    assert zero
    assert not any(t > zero[0] and p > 0 for t, p in splits)
    assert result.summary["rollout"]["controller"]["paused"] is True


def test_as_written_nil_health_checks_crash_the_controller_so_it_never_advances() -> None:
    scenario = custom({
        "duration": 600, "profile": "as_written",
        "modules": {"transaction_pool": {"version": "v2"}},
        "rollout": {"controller": {"stability_period": "1m"}},
    })
    result = run(scenario)
    assert split_times(result) == []
    assert result.summary["rollout"]["controller"]["crashes"] == 10


def test_regression_rollback_reports_detection_and_rollback_times() -> None:
    scenario = custom({
        "duration": 1200,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 50}},
        "rollout": {"controller": {"stages": [50, 100], "stability_period": "2h"}},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 300,
                    "error_rate": 0.5}],
    })
    result = run(scenario)
    incident = result.summary["incident"]
    assert incident["regression_start_s"] == 300
    assert incident["first_failed_health_check_after_s"] is not None
    # Three consecutive failed checks 60 s apart: the rollback follows the first by 120 s.
    assert incident["rollback_after_s"] == pytest.approx(
        incident["first_failed_health_check_after_s"] + 120.0)
    assert split_times(result)[-1][1] == 0
    assert result.summary["unserved_requests"] == 0  # every failed V2 call was retried on V1
    assert_balanced(result)


def test_deprecation_migrates_every_pending_v1_transaction() -> None:
    scenario = custom({
        "duration": 900,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 50}},
        "blocks": {"gas_limit": 200_000},  # capacity binds, so V1 holds a backlog
        "pool": {"cost_v2": {"signature_check_s": 1.0e-6},
                 "v2": {"max_pool_size": 1_000}},  # V2 fills up: it refuses some
        "rollout": {"schedule": [{"time": 300, "module": "transaction_pool",
                                  "version": "v2", "split": 100}],
                    "deprecation": {"hold": 120}},
    })
    model = Model(scenario, scenario.seed)
    v1_pool, v2_pool = model.node.pool_v1.pool, model.node.pool_v2.pool
    v2_pool.ledger.track = True  # each admitted hash's state, to follow every migrated one
    seen: dict[str, Any] = {"offers": None}
    evict_all, offer = v1_pool.evict_all, v2_pool.offer

    def spy_evict_all(now: float) -> list[Any]:
        # What V1 holds at the migration (read here, not from what evict_all returns).
        seen["pending"] = [tx.tx_hash for tx in v1_pool.transactions()]
        seen["in_v2_before"] = {h for h in seen["pending"] if h in v2_pool}
        seen["rejected_before"] = Counter(v2_pool.ledger.rejected_by_reason)
        seen["offers"] = []
        return evict_all(now)

    def spy_offer(tx: Any, now: float, evicted: Any = None) -> str | None:
        reason = offer(tx, now, evicted)
        if seen["offers"] is not None:
            seen["offers"].append((tx.tx_hash, reason))
        return reason

    retire_v1 = model.node.retire_v1

    def spy_retire_v1(now: float, sync: bool) -> dict[str, int]:
        report = retire_v1(now, sync)
        seen["after"] = {h: (h in v2_pool, v2_pool.ledger.state_of(h)) for h in seen["pending"]}
        seen["refused"] = Counter(v2_pool.ledger.rejected_by_reason) - seen["rejected_before"]
        seen["v1_left"] = len(v1_pool)
        seen["offers_done"], seen["offers"] = seen["offers"], None
        return report

    v1_pool.evict_all = spy_evict_all  # type: ignore[method-assign]
    v2_pool.offer = spy_offer  # type: ignore[method-assign]
    model.node.retire_v1 = spy_retire_v1  # type: ignore[method-assign]
    result = model.execute()
    (event,) = [e for e in result.events if e["kind"] == "v1_deprecated"]
    assert event["time"] == 420.0
    pending, offers = seen["pending"], seen["offers_done"]
    assert len(pending) > 100
    assert seen["v1_left"] == 0
    # Each transaction V1 held was offered to V2 exactly once (none skipped, none twice) ...
    assert sorted(h for h, _ in offers) == sorted(pending)
    # ... and is now pending in V2 (or was admitted and then pushed out by a better one),
    # or V2 refused it with a named reason, which V2's ledger holds.
    outcome: Counter[str] = Counter()
    for h, reason in offers:
        in_v2, state = seen["after"][h]
        if reason is None:
            assert in_v2 or state in (TxState.EVICTED, TxState.REPLACED)
            outcome["admitted"] += 1
        else:
            assert reason
            assert not in_v2 or h in seen["in_v2_before"]
            outcome[reason] += 1
    refused = seen["refused"]
    assert outcome == Counter(admitted=outcome["admitted"], **refused)
    # V2 keeps the best-paying ones its 1,000 slots hold and names why it refuses the rest.
    assert outcome["admitted"] > 0
    assert refused["underpriced"] > 0
    assert refused["sender_limit"] > 0
    assert event["migrated"] == len(pending) == result.summary["ledger"]["node"]["migrated"]
    assert (event["admitted_by_v2"], event["refused_by_v2"]) == (
        outcome["admitted"], sum(refused.values()))
    assert result.summary["transaction_pool"]["v1"]["pool_size"] == 0
    assert_balanced(result)


def test_manual_rollback_script_sets_zero_and_runs_its_checks() -> None:
    scenario = custom({
        "duration": 600,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 25},
                    "sync_service": {"version": "v2", "traffic": 25}},
        "rollout": {"manual_rollback_at": 100},
    })
    result = run(scenario)
    steps = [e for e in result.events if e["kind"] == "manual_rollback_step"]
    assert [e["step"] for e in steps].count("health_check") == 10
    assert split_times(result) == [(100.0, 0)]
    assert steps[-1]["step"] == "completed"


def test_check_flag_exits_one_when_a_criterion_fails(tmp_path: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "duration: 600\n"
        "network: {peers: {honest: 5}, initial_chain: 10}\n"
        "modules: {transaction_pool: {version: v2, traffic: 50}}\n"
        "faults: [{kind: v2_regression, module: transaction_pool, start: 0, error_rate: 0.2}]\n"
        "profile: as_written\n"
    )
    assert main(["run", str(path), "--quiet", "--no-progress", "--check"]) == 1
    assert main(["run", str(path), "--quiet", "--no-progress"]) == 0


def test_unknown_breaker_state_switch_sends_everything_to_v1() -> None:
    scenario = custom({
        "duration": 300, "profile": "as_written",
        "modules": {"transaction_pool": {"version": "v2", "traffic": 100}},
        "breakers": {"transaction_pool_v2": {"unknown_state_emergency_v1": True}},
    })
    result = run(scenario)
    pool = result.summary["transaction_pool"]
    assert pool["v2"]["requests"] == 0
    assert pool["v1"]["requests"] > 0
    assert result.summary["routing"]["emergency_v1_requests"] > 0
    assert_balanced(result)


@pytest.mark.slow
def test_automated_rollout_reaches_full_traffic_and_deprecates_v1() -> None:
    result = run(load_scenario("automated-rollout"))
    assert split_times(result) == [(60.0, 5), (3660.0, 25), (7260.0, 50), (10860.0, 75),
                                   (14460.0, 90), (18060.0, 100)]
    assert result.summary["rollout"]["rollbacks"] == []
    assert result.summary["rollout"]["v1_deprecated_at"] == 18060.0 + 1800.0
    # As its description says: V1's pool is empty by then (nothing to migrate) and V2 sync,
    # at the head already, keeps its own chain when V1 sync hands its checkpoint over.
    (event,) = [e for e in result.events if e["kind"] == "v1_deprecated"]
    assert event["migrated"] == 0
    assert event["sync_retired"] is True
    assert event["sync_handover"] == "not_behind"
    assert event["v2_sync_tip"] >= event["v1_sync_checkpoint"]
    assert result.summary["unserved_requests"] == 0
    assert_balanced(result)


def test_deprecation_at_a_fixed_time_retires_v1_and_refuses_later_rollbacks() -> None:
    scenario = custom({
        "duration": 600,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 30}},
        "rollout": {"schedule": [{"time": 60, "module": "transaction_pool", "version": "v2",
                                  "split": 100}],
                    "deprecation": {"at": 95}, "manual_rollback_at": 200},
    })
    result = run(scenario)
    deprecated = [e for e in result.events if e["kind"] == "v1_deprecated"]
    assert [e["time"] for e in deprecated] == [95.0]
    assert deprecated[0]["sync_retired"] is False  # sync stayed on V1: V1 sync keeps running
    assert split_times(result) == [(60.0, 100)]  # the rollback to 0 % at 200 s is refused
    refused = [e for e in result.events if e["kind"] == "split_refused"]
    assert refused
    assert refused[0]["time"] == 200.0
    assert result.summary["sync_service"]["v1"]["blocks_behind"] <= 2
    assert_balanced(result)

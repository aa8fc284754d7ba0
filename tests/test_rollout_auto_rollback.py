import math

import pytest

from sim.rollout.auto_rollback import AutoRollback, AutoRollbackConfig
from sim.rollout.controller import (
    ControllerConfig,
    Paused,
    Rollback,
    RolloutController,
    SetTraffic,
)
from sim.rollout.health import HealthResult

OK = HealthResult(0.0, True)
BASE = {"throughput_tps": 100.0, "avg_latency_ms": 10.0, "memory_usage_mb": 100.0,
        "cpu_usage_percent": 10.0, "error_rate_percent": 0.1, "request_count": 500.0}


def snap(**v2):
    return {"transaction_pool": {"v1": BASE, "v2": {**BASE, **v2}}}


def at_fifty_percent():
    """An intended controller that reached 50 % at t = 7260 s."""
    ctrl = RolloutController(ControllerConfig.intended())
    t = ctrl.next_check_time
    while ctrl.percent < 50:
        ctrl.on_check(t, OK)
        t += 60.0
    assert (ctrl.percent, ctrl.last_rollout) == (50, 7_260.0)
    return ctrl


def checks(ctrl, until):
    out = []
    while ctrl.next_check_time <= until:
        out += ctrl.on_check(ctrl.next_check_time, OK)
    return [(a.time, a.percent) for a in out if isinstance(a, SetTraffic)]


@pytest.mark.parametrize(("v2", "trigger"), [
    ({"error_rate_percent": 5.1}, "error_rate"),
    ({"throughput_tps": 69.0}, "throughput_drop"),
    ({"avg_latency_ms": 20.1}, "latency_increase"),
    ({"memory_usage_mb": 150.1}, "memory_increase"),
    ({"cpu_usage_percent": 18.1}, "cpu_increase"),
    ({"processed_transactions": 80.0, "rejected_transactions": 20.0},
     "failed_transactions"),
])
def test_each_guide_trigger_rolls_back(v2, trigger):
    auto = AutoRollback()
    actions = auto.evaluate(60.0, snap(**v2))
    assert [type(a) for a in actions] == [Rollback, SetTraffic]
    assert actions[0].source == "auto_rollback"
    assert actions[1].percent == 0
    assert [v.check for v in auto.last_result.violations] == [trigger]
    assert auto.rollbacks == 1


def test_healthy_or_no_data_does_nothing_and_interval_advances():
    auto = AutoRollback(AutoRollbackConfig(interval=30.0), start=100.0)
    assert auto.next_evaluation == 130.0
    assert auto.evaluate(130.0, snap()) == []
    assert auto.evaluate(160.0, {}) == []
    assert auto.next_evaluation == 190.0
    # Evaluated late (at a sample after the tick), the next tick stays on the grid.
    assert auto.evaluate(200.0, {}) == []
    assert auto.next_evaluation == 220.0
    assert auto.rollbacks == 0
    with pytest.raises(ValueError, match="interval"):
        AutoRollbackConfig(interval=0.0)


def test_intended_rollback_pauses_the_controller_for_good():
    ctrl = at_fifty_percent()
    auto = AutoRollback(AutoRollbackConfig.for_profile("intended"))
    actions = auto.evaluate(8_000.0, snap(error_rate_percent=9.0), ctrl)
    assert [type(a) for a in actions] == [Rollback, SetTraffic, Paused]
    assert checks(ctrl, until=30_000.0) == []
    assert ctrl.percent == 0


def test_as_written_rollback_is_undone_by_the_controller_at_a_higher_split():
    ctrl = at_fifty_percent()
    auto = AutoRollback(AutoRollbackConfig.for_profile("as_written"))
    assert not auto.config.pauses_controller
    actions = auto.evaluate(8_000.0, snap(error_rate_percent=9.0), ctrl)
    assert [(type(a), getattr(a, "percent", None)) for a in actions] == [
        (Rollback, None), (SetTraffic, 0)]
    assert not ctrl.paused
    # The controller never heard of it: one hour after its own 50 % it sets 75 %.
    assert checks(ctrl, until=11_000.0) == [(10_860.0, 75)]


def test_profiles():
    assert AutoRollbackConfig.for_profile("intended").pauses_controller
    with pytest.raises(ValueError, match="profile"):
        AutoRollbackConfig.for_profile("x")


def test_low_traffic_guard_applies_to_triggers():
    auto = AutoRollback()
    assert auto.evaluate(60.0, snap(error_rate_percent=50.0, request_count=3.0)) == []
    assert auto.evaluate(120.0, snap(error_rate_percent=50.0,
                                     request_count=math.nan)) != []

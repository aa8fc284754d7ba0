import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.rollout.controller import (
    ControllerConfig,
    Crashed,
    Paused,
    Resumed,
    ResumeRefused,
    Rollback,
    RolloutController,
    SetTraffic,
    action_event,
)
from sim.rollout.health import HealthResult, Violation

OK = HealthResult(0.0, True)
BAD = HealthResult(0.0, False, (Violation("transaction_pool", "error_rate_percent",
                                          "error_rate", 9.0, math.nan, 2.0,
                                          "error_rate_percent 9 > 2"),))
INTENDED = ControllerConfig.intended()
AS_WRITTEN = ControllerConfig.as_written()
# as_written with only the stage skip on: the ladder its code would climb if checks worked.
SKIP_ONLY = replace(INTENDED, skip_first_stage=True)


def drive(ctrl, health_at, until):
    """Run every scheduled check up to `until`; health_at(t) -> HealthResult | None."""
    actions = []
    while ctrl.next_check_time <= until:
        t = ctrl.next_check_time
        actions += ctrl.on_check(t, health_at(t))
    return actions


def traffic(actions):
    return [(a.time, a.percent) for a in actions if isinstance(a, SetTraffic)]


def test_intended_timeline_under_healthy_v2_exact_to_the_check():
    ctrl = RolloutController(INTENDED)
    assert ctrl.next_check_time == 60.0
    actions = drive(ctrl, lambda t: OK, until=30_000.0)
    assert traffic(actions) == [(60.0, 5), (3_660.0, 25), (7_260.0, 50), (10_860.0, 75),
                                (14_460.0, 90), (18_060.0, 100)]
    assert (ctrl.stage_index, ctrl.percent, ctrl.last_rollout) == (5, 100, 18_060.0)
    assert ctrl.next_check_time == 30_060.0  # checks continue at 100 %


def test_stability_boundary_is_inclusive_one_check_earlier_is_not_enough():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    assert ctrl.on_check(3_659.0, OK) == []
    assert traffic(ctrl.on_check(3_660.0, OK)) == [(3_660.0, 25)]


def test_as_written_ladder_skips_five_percent():
    actions = drive(RolloutController(SKIP_ONLY), lambda t: OK, until=30_000.0)
    assert traffic(actions) == [(60.0, 25), (3_660.0, 50), (7_260.0, 75), (10_860.0, 90),
                                (14_460.0, 100)]


def test_as_written_timeline_crashes_at_every_check_and_never_advances():
    ctrl = RolloutController(AS_WRITTEN)
    actions = drive(ctrl, lambda t: OK, until=7_200.0)
    assert traffic(actions) == []
    assert [a.time for a in actions] == [60.0 * k for k in range(1, 121)]
    assert all(isinstance(a, Crashed) and a.restarted for a in actions)
    assert "WithClauseError" in actions[0].reason
    assert (ctrl.crashes, ctrl.percent, ctrl.stage_index) == (120, 0, 0)


def test_unsupervised_crash_stops_the_controller():
    ctrl = RolloutController(replace(AS_WRITTEN, supervised=False))
    actions = drive(ctrl, lambda t: OK, until=7_200.0)
    assert actions == [Crashed(60.0, actions[0].reason, False)]
    assert ctrl.next_check_time == math.inf
    assert not ctrl.checking
    assert ctrl.on_check(120.0, OK) == []


def test_nil_health_crash_vs_intended_on_the_same_check():
    assert isinstance(RolloutController(AS_WRITTEN).on_check(60.0, OK)[0], Crashed)
    assert RolloutController(INTENDED).on_check(60.0, OK) == [
        SetTraffic(60.0, 5, ("transaction_pool", "sync_service"), 0)]
    # A crash restart keeps the split set before it (it lives in the app env).
    ctrl = RolloutController(replace(INTENDED, nil_health_crash=False))
    ctrl.on_check(60.0, OK)
    assert ctrl.on_check(120.0, None)[0] == Crashed(120.0, ctrl_reason(), True)
    assert (ctrl.percent, ctrl.stage_index, ctrl.next_check_time) == (5, -1, 180.0)


def ctrl_reason():
    return RolloutController(AS_WRITTEN).on_check(0.0, None)[0].reason


def test_rollback_after_exactly_three_consecutive_failures():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)  # 5 %
    assert ctrl.on_check(120.0, BAD) == []
    assert ctrl.on_check(180.0, BAD) == []
    assert ctrl.health_failures == 2
    actions = ctrl.on_check(240.0, BAD)
    assert [type(a) for a in actions] == [Rollback, SetTraffic, Paused]
    assert actions[0].reason.startswith("3 consecutive failed health checks")
    assert "error_rate_percent 9 > 2" in actions[0].reason
    assert actions[1].percent == 0
    assert (ctrl.paused, ctrl.percent, ctrl.stage_index) == (True, 0, 0)


def test_no_rollback_after_two_failures_a_success_and_two_more():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    seq = [BAD, BAD, OK, BAD, BAD]
    actions = []
    for k, h in enumerate(seq, start=2):
        actions += ctrl.on_check(60.0 * k, h)
    assert actions == []
    assert (ctrl.health_failures, ctrl.paused, ctrl.percent) == (2, False, 5)
    # ... and the next failure makes three in a row.
    assert isinstance(ctrl.on_check(420.0, BAD)[0], Rollback)


def test_failed_checks_do_not_restart_the_stability_timer():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    ctrl.on_check(3_600.0, BAD)
    ctrl.on_check(3_630.0, BAD)
    assert traffic(ctrl.on_check(3_660.0, OK)) == [(3_660.0, 25)]


def test_paused_controller_keeps_checking_but_never_advances_intended():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    for t in (120.0, 180.0, 240.0):
        ctrl.on_check(t, BAD)
    assert ctrl.next_check_time == 300.0
    after = drive(ctrl, lambda t: BAD if t < 600 else OK, until=20_000.0)
    assert after == []  # no second rollback while paused, no advance


def test_stops_checking_after_rollback_vs_intended():
    written = RolloutController(replace(INTENDED, stops_checking_after_rollback=True))
    intended = RolloutController(INTENDED)
    for ctrl in (written, intended):
        ctrl.on_check(60.0, OK)
        for t in (120.0, 180.0, 240.0):
            ctrl.on_check(t, BAD)
    assert written.next_check_time == math.inf
    assert intended.next_check_time == 300.0


def test_resume_restarts_the_ladder_at_five_percent_vs_no_resume():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    for t in (120.0, 180.0, 240.0):
        ctrl.on_check(t, BAD)
    assert ctrl.resume(250.0) == [Resumed(250.0)]
    assert (ctrl.paused, ctrl.health_failures, ctrl.stage_index) == (False, 0, -1)
    assert traffic(ctrl.on_check(300.0, OK)) == [(300.0, 5)]
    assert ctrl.resume(310.0) == []  # not paused

    written = RolloutController(replace(INTENDED, no_resume=True))
    written.on_check(60.0, OK)
    for t in (120.0, 180.0, 240.0):
        written.on_check(t, BAD)
    (refused,) = written.resume(250.0)
    assert isinstance(refused, ResumeRefused)
    assert written.paused
    assert drive(written, lambda t: OK, until=20_000.0) == []


def test_resume_reschedules_checks_that_had_stopped():
    ctrl = RolloutController(replace(INTENDED, stops_checking_after_rollback=True))
    ctrl.on_check(60.0, OK)
    for t in (120.0, 180.0, 240.0):
        ctrl.on_check(t, BAD)
    ctrl.resume(1_000.0)
    assert ctrl.next_check_time == 1_060.0


def test_full_as_written_refuses_resume():
    assert isinstance(RolloutController(AS_WRITTEN).resume(5.0)[0], ResumeRefused)


def test_rolled_back_by_auto_pauses_once():
    ctrl = RolloutController(INTENDED)
    ctrl.on_check(60.0, OK)
    assert ctrl.rolled_back_by_auto(90.0) == [Paused(90.0, "auto-rollback")]
    assert ctrl.rolled_back_by_auto(95.0) == []
    assert ctrl.percent == 0
    assert drive(ctrl, lambda t: OK, until=20_000.0) == []


def test_config_checks_and_profiles():
    assert ControllerConfig.for_profile("intended") == INTENDED
    assert ControllerConfig.for_profile("as_written") == AS_WRITTEN
    assert AS_WRITTEN.skip_first_stage
    assert AS_WRITTEN.nil_health_crash
    assert AS_WRITTEN.no_resume
    assert AS_WRITTEN.stops_checking_after_rollback
    with pytest.raises(ValueError, match="profile"):
        ControllerConfig.for_profile("other")
    for bad in ({"stages": ()}, {"stages": (5, 5)}, {"stages": (0, 5)},
                {"check_interval": 0.0}, {"failures_to_rollback": 0}):
        with pytest.raises(ValueError, match=r"stages|interval|failures"):
            ControllerConfig(**bad)


def test_custom_stages_and_start_time():
    ctrl = RolloutController(ControllerConfig(stages=(10, 100), check_interval=30.0,
                                              stability_period=90.0), start=1_000.0)
    assert traffic(drive(ctrl, lambda t: OK, until=1_200.0)) == [(1_030.0, 10),
                                                                 (1_120.0, 100)]


def test_action_events():
    assert action_event(SetTraffic(1.0, 25, ("transaction_pool",), 1)) == {
        "kind": "stage_change", "percent": 25, "modules": ["transaction_pool"],
        "stage_index": 1}
    assert action_event(Rollback(2.0, "x"))["kind"] == "rollback"
    assert action_event(Crashed(2.0, "x", True))["restarted"] is True


@pytest.mark.property
@given(st.lists(st.booleans(), max_size=80))
def test_rollback_exactly_at_the_first_run_of_three_failures(healthy):
    ctrl = RolloutController(INTENDED)
    rollbacks = []
    for k, ok in enumerate(healthy):
        actions = ctrl.on_check(60.0 * (k + 1), OK if ok else BAD)
        rollbacks += [k for a in actions if isinstance(a, Rollback)]
    first = next((k for k in range(2, len(healthy))
                  if not any(healthy[k - 2:k + 1])), None)
    assert rollbacks == ([] if first is None else [first])


def test_one_stage_ladder_with_skip_first_stage_never_advances():
    # The guide's code with @rollout_stages [100]: current_stage 0 is already the last index,
    # so maybe_advance_rollout's first cond clause keeps the state (guide L316-318).
    ctrl = RolloutController(replace(SKIP_ONLY, stages=(100,)))
    assert ctrl.stage_index == 0
    assert drive(ctrl, lambda t: OK, until=20_000.0) == []
    assert (ctrl.percent, ctrl.stage_index) == (0, 0)
    # Intended, the one stage is applied at the first healthy check.
    one = RolloutController(replace(INTENDED, stages=(100,)))
    assert traffic(drive(one, lambda t: OK, until=20_000.0)) == [(60.0, 100)]


def test_checks_handled_late_keep_to_the_start_grid():
    # A driver sampling every 25 s handles the 60-s checks at 75, 125, 200, 250, 325, 375...
    ctrl = RolloutController(replace(INTENDED, stability_period=300.0), start=0.0)
    handled = []
    for k in range(1, 61):
        now = 25.0 * k
        if ctrl.next_check_time <= now:
            handled.append(now)
            due = ctrl.next_check_time
            ctrl.on_check(now, OK)
            assert ctrl.next_check_time == due + 60.0 * math.ceil((now - due + 1e-9) / 60.0)
            assert ctrl.next_check_time % 60.0 == 0.0
    assert len(handled) == 25  # one per grid tick in 1500 s, not one per 75 s (20)
    # The stages follow the ticks: 5 % at the 60-s check (handled at 75), 25 % 300 s later.
    ctrl = RolloutController(replace(INTENDED, stability_period=300.0))
    changes = []
    for k in range(1, 61):
        now = 25.0 * k
        if ctrl.next_check_time <= now:
            changes += traffic(ctrl.on_check(now, OK))
    assert changes == [(75.0, 5), (375.0, 25), (675.0, 50), (975.0, 75), (1275.0, 90)]


def test_crash_restart_handled_late_keeps_to_the_grid():
    ctrl = RolloutController(AS_WRITTEN)
    ctrl.on_check(75.0, None)
    assert ctrl.next_check_time == 120.0
    ctrl.on_check(130.0, None)
    assert ctrl.next_check_time == 180.0

"""The rollout model, sans I/O: health checks, alerts, controller, auto-rollback, schedules.

Everything here is driven by plain data (metric snapshots in, actions and events out) and by
time passed in as float seconds; nothing imports SimPy or the network model.

A driver (the SimPy model) wires it like this, once per due time::

    health = HealthCheck("alerts")                    # or auto_rollback/alerts_yml/...
    alerts = AlertEvaluator(interval=15.0)            # the guide's alerts.yml
    ctrl = RolloutController(ControllerConfig.for_profile(profile))
    auto = AutoRollback(AutoRollbackConfig.for_profile(profile))
    # at alerts.next_evaluation:  events = alerts.evaluate(now, snapshot)
    # at ctrl.next_check_time:     actions = ctrl.on_check(now, health.evaluate(now, snapshot))
    #                              (as_written: the result is ignored, the controller crashes)
    # at auto.next_evaluation:     actions = auto.evaluate(now, snapshot, ctrl)
    # apply every SetTraffic to the router; log action_event(a) / AlertEvent.to_event().

``snapshot[module][version][metric]`` is described in :mod:`sim.rollout.snapshot`; use
:func:`normalise_rates` before judging throughput under a split.
"""

from sim.rollout.alerts import (
    GUIDE_ALERTS_YML,
    AlertEvaluator,
    AlertEvent,
    AlertRule,
    load_alert_rules,
)
from sim.rollout.auto_rollback import AutoRollback, AutoRollbackConfig
from sim.rollout.controller import (
    GUIDE_STAGES,
    ControllerAction,
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
from sim.rollout.criteria import (
    Criterion,
    all_passed,
    error_rate_window,
    memory_increase,
    performance,
    zero_downtime,
)
from sim.rollout.health import THRESHOLD_SETS, Check, HealthCheck, HealthResult, Violation
from sim.rollout.schedule import (
    GUIDE_PHASES,
    GUIDE_SCHEDULE_END,
    RollbackScriptStep,
    ScheduleCursor,
    ScheduleStep,
    UserSchedule,
    guide_schedule,
    manual_rollback_script,
)
from sim.rollout.snapshot import Snapshot, normalise_rates

__all__ = [
    "GUIDE_ALERTS_YML", "GUIDE_PHASES", "GUIDE_SCHEDULE_END", "GUIDE_STAGES", "THRESHOLD_SETS",
    "AlertEvaluator", "AlertEvent", "AlertRule", "AutoRollback", "AutoRollbackConfig", "Check",
    "ControllerAction", "ControllerConfig", "Crashed", "Criterion", "HealthCheck",
    "HealthResult", "Paused", "ResumeRefused", "Resumed", "Rollback", "RollbackScriptStep",
    "RolloutController", "ScheduleCursor", "ScheduleStep", "SetTraffic", "Snapshot",
    "UserSchedule", "Violation", "action_event", "all_passed", "error_rate_window",
    "guide_schedule", "load_alert_rules", "manual_rollback_script", "memory_increase",
    "normalise_rates", "performance", "zero_downtime",
]

import pydantic
import pytest
import yaml

from sim.rollout.schedule import (
    GUIDE_PHASES,
    GUIDE_SCHEDULE_END,
    ScheduleCursor,
    ScheduleStep,
    UserSchedule,
    day_start,
    guide_schedule,
    manual_rollback_script,
)

DAY = 86_400.0


def test_day_numbering():
    assert day_start(1) == 0.0
    assert day_start(3) == 2 * DAY
    with pytest.raises(ValueError, match="day"):
        day_start(0)
    assert GUIDE_SCHEDULE_END == 15 * DAY


def test_guide_schedule_step_times():
    steps = guide_schedule()
    assert [(s.time / DAY + 1, s.module, s.version, s.split) for s in steps] == [
        (day, module, "v2", split)
        for day, split in ((3, 5), (6, 25), (8, 50), (10, 75), (12, 90), (13, 100))
        for module in ("transaction_pool", "sync_service")]
    assert [(p.name, p.first_day, p.last_day) for p in GUIDE_PHASES][-1] == (
        "monitoring", 14, 15)
    # The phases tile days 1..15 without gaps.
    days = [d for p in GUIDE_PHASES for d in range(p.first_day, p.last_day + 1)]
    assert days == list(range(1, 16))


def test_guide_schedule_for_one_module():
    steps = guide_schedule(("transaction_pool",))
    assert [s.split for s in steps] == [5, 25, 50, 75, 90, 100]


def test_user_schedule_from_yaml_with_durations():
    text = """
steps:
  - {time: 2h, module: transaction_pool, version: v2, split: 10}
  - {time: 30m, module: sync_service, version: v2, split: 5}
  - {time: 0, module: transaction_pool, version: v1, split: 0}
"""
    sched = UserSchedule.model_validate(yaml.safe_load(text))
    cursor = ScheduleCursor(sched.steps)
    assert [s.time for s in cursor.steps] == [0.0, 1_800.0, 7_200.0]
    assert cursor.next_time == 0.0
    assert [s.split for s in cursor.due(0.0)] == [0]
    assert cursor.due(1_799.0) == []
    assert [s.module for s in cursor.due(10_000.0)] == ["sync_service", "transaction_pool"]
    assert cursor.next_time is None
    assert cursor.due(20_000.0) == []


@pytest.mark.parametrize("step", [
    {"time": 0, "module": "transaction_pool", "version": "v2", "split": 101},
    {"time": -1, "module": "transaction_pool", "version": "v2", "split": 5},
    {"time": 0, "module": "mempool", "version": "v2", "split": 5},
    {"time": 0, "module": "transaction_pool", "version": "v3", "split": 5},
    {"time": 0, "module": "transaction_pool", "version": "v2", "split": 5, "extra": 1},
    {"time": "soon", "module": "transaction_pool", "version": "v2", "split": 5},
])
def test_bad_steps_are_refused(step):
    with pytest.raises(pydantic.ValidationError):
        UserSchedule.model_validate({"steps": [step]})


def test_cursor_keeps_given_order_for_equal_times():
    a = ScheduleStep(time=5, module="sync_service", version="v2", split=1)
    b = ScheduleStep(time=5, module="transaction_pool", version="v2", split=2)
    assert ScheduleCursor([a, b]).due(5.0) == [a, b]
    assert ScheduleCursor([b, a]).due(5.0) == [b, a]


def test_manual_rollback_script_timing():
    steps = manual_rollback_script(1_000.0)
    assert [(s.time, s.kind, s.module, s.index) for s in steps] == [
        (1_000.0, "set_split", "transaction_pool", 0),
        (1_000.0, "set_split", "sync_service", 0),
        (1_030.0, "verify", None, 0),
        *[(1_030.0 + 10.0 * i, "health_check", None, i + 1) for i in range(10)],
        (1_130.0, "completed", None, 0),
    ]
    assert steps[-2].time == 1_120.0

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.config_error import ConfigError
from sim.duration import parse_duration
from sim.rollout.alerts import (
    GUIDE_ALERTS_YML,
    AlertEvaluator,
    load_alert_rules,
    parse_condition,
)

GUIDE = Path("/work/shared/seed/V2_PRODUCTION_DEPLOYMENT_GUIDE.md")


def pool(**v2):
    return {"transaction_pool": {"v1": {"throughput_tps": 100.0}, "v2": v2}}


def run(evaluator, series, interval=15.0, start=0.0):
    """Evaluate `series` (snapshots) at start, start+interval, ...; return the events."""
    events = []
    for k, s in enumerate(series):
        events += evaluator.evaluate(start + k * interval, s)
    return events


def only(name):
    return tuple(r for r in load_alert_rules() if r.name == name)


def test_guide_file_loads_as_written():
    rules = load_alert_rules()
    assert [(r.module, r.version, r.metric, r.op, r.threshold, r.relative, r.severity,
             r.duration) for r in rules] == [
        ("transaction_pool", "v2", "avg_latency_ms", ">", 100.0, False, "warning", 120.0),
        ("transaction_pool", "v2", "throughput_tps", "<", 0.8, True, "critical", 60.0),
        ("transaction_pool", "v2", "memory_usage_mb", ">", 500.0, False, "warning", 300.0),
        ("transaction_pool", "v2", "error_rate_percent", ">", 2.0, False, "critical", 30.0),
        ("sync_service", "v2", "sync_speed_bps", "<", 10.0, False, "warning", 300.0),
        ("sync_service", "v2", "blocks_behind", ">", 100.0, False, "critical", 120.0),
        ("sync_service", "v2", "connected_peers", "<", 5.0, False, "warning", 60.0),
        ("sync_service", "v2", "memory_usage_mb", ">", 1000.0, False, "critical", 600.0),
    ]
    assert rules[3].name == "Transaction Pool Error Rate"


@pytest.mark.skipif(not GUIDE.exists(), reason="guide copy not present")
def test_embedded_text_is_the_guides_verbatim():
    lines = GUIDE.read_text(encoding="utf-8").split("\n")
    assert "\n".join(lines[497:540]) + "\n" == GUIDE_ALERTS_YML


def test_user_text_and_file(tmp_path):
    text = ("alert_rules:\n  sync_service_v2:\n    - name: peers\n"
            "      condition: 'connected_peers <= 3'\n      severity: page\n      duration: 45\n")
    (rule,) = load_alert_rules(text)
    assert (rule.module, rule.op, rule.threshold, rule.duration) == (
        "sync_service", "<=", 3.0, 45.0)
    path = tmp_path / "alerts.yml"
    path.write_text(text, encoding="utf-8")
    assert load_alert_rules(path) == (rule,)


@pytest.mark.parametrize(("text", "field"), [
    ("alert_rules:\n  transaction_pool_v2:\n    - {name: a, condition: 'x == 1', "
     "severity: w, duration: 1m}\n", "alert_rules.transaction_pool_v2.0"),
    ("alert_rules:\n  transaction_pool_v2:\n    - {name: a, condition: 'x > 1', "
     "severity: w, duration: 2 weeks}\n", "alert_rules.transaction_pool_v2.0"),
    ("alert_rules:\n  mempool_v2: []\n", "alert_rules.mempool_v2"),
    ("alert_rules:\n  transaction_pool_v2:\n    - {name: a, condition: 'x > 1', "
     "severity: w, duration: 1m, for: 2m}\n", "alert_rules.transaction_pool_v2.0.for"),
])
def test_bad_rules_are_one_line_config_errors(text, field):
    with pytest.raises(ConfigError) as info:
        load_alert_rules(text)
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_alert_rules(tmp_path / "none.yml")
    with pytest.raises(ConfigError, match="not valid YAML: line 1, column 15: ") as info:
        load_alert_rules("alert_rules: [")
    assert "\n" not in str(info.value)  # PyYAML's own text spans five lines with a caret


def test_parsers():
    assert parse_condition("throughput_tps < baseline * 0.8") == (
        "throughput_tps", "<", 0.8, True)
    assert [parse_duration(x) for x in ("30s", "2m", "1h", "500ms", "1d", 7, "15", "1e3",
                                        "1e-3", "2.5e1m")] == [
        30.0, 120.0, 3600.0, 0.5, 86400.0, 7.0, 15.0, 1000.0, 0.001, 1500.0]
    for bad in ("-1s", "2w", True, math.inf, "inf", "nan", "1e400", "e3", "1e"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_default_interval_is_15s_and_next_evaluation_advances():
    ev = AlertEvaluator()
    assert ev.interval == 15.0
    assert ev.next_evaluation == 0.0
    ev.evaluate(0.0, {})
    assert ev.next_evaluation == 15.0
    with pytest.raises(ValueError, match="interval"):
        AlertEvaluator(interval=0.0)


def test_evaluations_keep_to_the_15s_grid_when_driven_by_10s_samples():
    # The model evaluates at the first metrics sample at or after each tick: 15 s due at 20,
    # 30 at 30, 45 at 50, 60 at 60. Scheduling `now + interval` instead drifted to every 20 s
    # (20, 40, 60: the 30-s rule then fired 40 s after it became true).
    ev = AlertEvaluator(only("Transaction Pool Error Rate"))
    bad = pool(error_rate_percent=5.0)
    evaluated, fired = [], []
    for t in range(10, 130, 10):
        if ev.next_evaluation <= t:
            evaluated.append(t)
            fired += [e.time for e in ev.evaluate(float(t), bad if t >= 20 else {})]
    assert evaluated == [10, 20, 30, 50, 60, 80, 90, 110, 120]
    assert fired == [50.0]  # true from 20 s: pending at 20 and 30, firing at 50 (>= 30 s)
    # Samples sparser than the interval: one evaluation per sample, none skipped or doubled.
    ev = AlertEvaluator()
    evaluated = []
    for t in range(60, 361, 60):
        if ev.next_evaluation <= t:
            evaluated.append(t)
            ev.evaluate(float(t), {})
    assert evaluated == [60, 120, 180, 240, 300, 360]
    assert ev.next_evaluation == 375.0


def test_30s_rule_with_15s_interval_fires_at_third_true_evaluation():
    ev = AlertEvaluator(only("Transaction Pool Error Rate"))
    bad = pool(error_rate_percent=5.0)
    assert ev.evaluate(0.0, bad) == []
    assert ev.state("Transaction Pool Error Rate") == "pending"
    assert ev.evaluate(15.0, bad) == []
    (event,) = ev.evaluate(30.0, bad)
    assert (event.time, event.kind, event.rule, event.severity, event.module, event.value,
            event.active_at) == (30.0, "firing", "Transaction Pool Error Rate", "critical",
                                 "transaction_pool", 5.0, 0.0)
    assert ev.firing == ev.rules
    assert ev.evaluate(45.0, bad) == []  # firing is reported once


def test_true_for_one_interval_less_than_for_never_fires():
    # 2m rule, 15 s ticks: true at 0..105 (8 evaluations, 105 s < 120 s), false at 120.
    ev = AlertEvaluator(only("High Transaction Pool Latency"))
    events = run(ev, [pool(avg_latency_ms=150.0)] * 8 + [pool(avg_latency_ms=50.0)])
    assert events == []
    assert ev.state("High Transaction Pool Latency") == "inactive"
    # One more true evaluation (120 s) fires.
    ev = AlertEvaluator(only("High Transaction Pool Latency"))
    events = run(ev, [pool(avg_latency_ms=150.0)] * 9)
    assert [(e.time, e.kind) for e in events] == [(120.0, "firing")]


def test_a_gap_resets_pending():
    ev = AlertEvaluator(only("Transaction Pool Error Rate"))
    bad, good = pool(error_rate_percent=5.0), pool(error_rate_percent=0.0)
    events = run(ev, [bad, bad, good, bad, bad, bad])  # t = 0, 15, 30, 45, 60, 75
    assert [(e.time, e.kind, e.active_at) for e in events] == [(75.0, "firing", 45.0)]


def test_no_data_is_false_and_resets_pending():
    ev = AlertEvaluator(only("Transaction Pool Error Rate"))
    bad = pool(error_rate_percent=5.0)
    events = run(ev, [bad, bad, pool(), bad, bad])
    assert events == []
    assert ev.state("Transaction Pool Error Rate") == "pending"


def test_firing_resolves_at_first_false_evaluation():
    ev = AlertEvaluator(only("Transaction Pool Error Rate"))
    bad, good = pool(error_rate_percent=5.0), pool(error_rate_percent=1.0)
    events = run(ev, [bad, bad, bad, bad, good, good])
    assert [(e.time, e.kind, e.value) for e in events] == [
        (30.0, "firing", 5.0), (60.0, "resolved", 1.0)]
    assert events[1].to_event() == {
        "kind": "alert_resolved", "rule": "Transaction Pool Error Rate",
        "severity": "critical", "module": "transaction_pool", "value": 1.0,
        "active_at": 0.0}


def test_interval_changes_when_the_rule_fires():
    # 30 s rule with a 60 s interval fires at the second true evaluation (60 s).
    ev = AlertEvaluator(only("Transaction Pool Error Rate"), interval=60.0)
    events = run(ev, [pool(error_rate_percent=5.0)] * 3, interval=60.0)
    assert [e.time for e in events] == [60.0]


def test_zero_duration_fires_at_once_and_float_ticks_hit_the_boundary():
    rule = load_alert_rules("alert_rules:\n  transaction_pool_v2:\n"
                            "    - {name: z, condition: 'pool_size > 1', severity: w, "
                            "duration: 0s}\n"
                            "    - {name: f, condition: 'pool_size > 1', severity: w, "
                            "duration: 0.8s}\n")
    ev = AlertEvaluator(rule, interval=0.1)
    t, events = 0.0, []
    for _ in range(9):
        events += ev.evaluate(t, pool(pool_size=5.0))
        t += 0.1  # eight additions of 0.1 give 0.7999999999999999 < 0.8
    assert [(e.rule, round(e.time, 9)) for e in events] == [("z", 0.0), ("f", 0.8)]


def test_baseline_rule_uses_v1_of_the_same_window():
    ev = AlertEvaluator(only("Transaction Pool Throughput Drop"))
    assert ev.rules[0].holds(pool(throughput_tps=79.9)) == (True, 79.9)
    assert ev.rules[0].holds(pool(throughput_tps=80.0))[0] is False
    no_v1 = {"transaction_pool": {"v2": {"throughput_tps": 1.0}}}
    assert ev.rules[0].holds(no_v1)[0] is False


def test_state_of_unknown_rule():
    with pytest.raises(KeyError):
        AlertEvaluator().state("nope")


@pytest.mark.property
@given(st.lists(st.booleans(), max_size=60),
       st.sampled_from([0.0, 15.0, 30.0, 60.0, 120.0]))
def test_firing_matches_a_run_length_oracle(truths, duration):
    rules = load_alert_rules("alert_rules:\n  transaction_pool_v2:\n"
                             "    - {name: r, condition: 'pool_size > 1', severity: w, "
                             f"duration: {duration}}}\n")
    ev = AlertEvaluator(rules, interval=15.0)
    got = run(ev, [pool(pool_size=5.0 if t else 0.0) for t in truths])
    expected, run_start, firing = [], None, False
    for k, t in enumerate(truths):
        now = 15.0 * k
        if t:
            run_start = now if run_start is None else run_start
            if not firing and now - run_start >= duration:
                firing = True
                expected.append((now, "firing"))
        else:
            if firing:
                expected.append((now, "resolved"))
            run_start, firing = None, False
    assert [(e.time, e.kind) for e in got] == expected


def test_optional_low_traffic_guard_on_error_rate_rule():
    rules = only("Transaction Pool Error Rate")
    quiet = pool(error_rate_percent=50.0, request_count=5.0)
    assert run(AlertEvaluator(rules), [quiet] * 3) != []  # as written: no guard
    guarded = AlertEvaluator(rules, min_requests=20)
    assert run(guarded, [quiet] * 3) == []
    busy = pool(error_rate_percent=50.0, request_count=20.0)
    assert [e.time for e in run(AlertEvaluator(rules, min_requests=20), [busy] * 3)] == [30.0]
    with pytest.raises(ValueError, match="min_requests"):
        AlertEvaluator(rules, min_requests=-1)

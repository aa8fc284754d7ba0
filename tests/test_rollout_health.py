import math

import pytest

from sim.rollout.health import THRESHOLD_SETS, HealthCheck
from sim.rollout.snapshot import metric, normalise_rates, relative_change_percent

POOL_V1 = {"throughput_tps": 100.0, "avg_latency_ms": 10.0, "p95_latency_ms": 20.0,
           "memory_usage_mb": 100.0, "cpu_usage_percent": 10.0, "pool_size": 500.0,
           "error_rate_percent": 0.0, "processed_transactions": 1000.0,
           "rejected_transactions": 0.0, "request_count": 1000.0}
SYNC_V1 = {"sync_speed_bps": 50.0, "memory_usage_mb": 200.0, "cpu_usage_percent": 10.0,
           "avg_block_processing_ms": 5.0, "peer_disconnect_rate_percent": 0.0,
           "block_processing_delay_s": 1.0, "blocks_behind": 0.0, "connected_peers": 20.0}


def snap(pool_v2=None, sync_v2=None, pool_v1=None, sync_v1=None):
    return {"transaction_pool": {"v1": {**POOL_V1, **(pool_v1 or {})},
                                 "v2": {**POOL_V1, **(pool_v2 or {})}},
            "sync_service": {"v1": {**SYNC_V1, **(sync_v1 or {})},
                             "v2": {**SYNC_V1, **(sync_v2 or {})}}}


def test_identical_v2_is_healthy_in_every_set():
    for name in THRESHOLD_SETS:
        result = HealthCheck(name).evaluate(60.0, snap())
        assert result.healthy, (name, result.violations)
        assert result.time == 60.0


@pytest.mark.parametrize(("pool", "sync", "check", "module"), [
    ({"throughput_tps": 84.9}, {}, "throughput_drop", "transaction_pool"),
    ({"p95_latency_ms": 25.1}, {}, "latency_p95_increase", "transaction_pool"),
    ({"memory_usage_mb": 120.1}, {}, "memory_usage_increase", "transaction_pool"),
    ({"error_rate_percent": 2.1}, {}, "error_rate", "transaction_pool"),
    ({"pool_size": 10_001.0}, {}, "queue_size", "transaction_pool"),
    ({}, {"sync_speed_bps": 39.9}, "sync_speed_drop", "sync_service"),
    ({}, {"peer_disconnect_rate_percent": 30.1}, "peer_disconnect_rate", "sync_service"),
    ({}, {"memory_usage_mb": 250.1}, "memory_usage_increase", "sync_service"),
    ({}, {"block_processing_delay_s": 60.1}, "block_processing_delay", "sync_service"),
])
def test_alerts_set_each_threshold_just_over_fails(pool, sync, check, module):
    result = HealthCheck("alerts").evaluate(0.0, snap(pool, sync))
    assert not result.healthy
    assert [(v.module, v.check) for v in result.violations] == [(module, check)]
    assert result.violations[0].reason
    assert module in result.reason


def test_alerts_set_exactly_at_threshold_passes_strict_comparison():
    at = snap({"throughput_tps": 85.0, "p95_latency_ms": 25.0, "memory_usage_mb": 120.0,
               "error_rate_percent": 2.0, "pool_size": 10_000.0},
              {"sync_speed_bps": 40.0, "peer_disconnect_rate_percent": 30.0,
               "memory_usage_mb": 250.0, "block_processing_delay_s": 60.0})
    assert HealthCheck("alerts").evaluate(0.0, at).healthy


def test_violation_carries_value_baseline_threshold():
    result = HealthCheck("alerts").evaluate(0.0, snap({"throughput_tps": 50.0}))
    (v,) = result.violations
    assert (v.metric, v.value, v.baseline, v.threshold) == ("throughput_tps", 50.0, 100.0, 15.0)
    assert "50" in v.reason


def test_threshold_sets_disagree_as_the_guide_does():
    # error rate 3 %: over Alerts' 2, under AutoRollback's and the migration plan's 5.
    s = snap({"error_rate_percent": 3.0})
    assert not HealthCheck("alerts").evaluate(0, s).healthy
    assert not HealthCheck("alerts_yml").evaluate(0, s).healthy
    assert HealthCheck("auto_rollback").evaluate(0, s).healthy
    assert HealthCheck("migration_plan").evaluate(0, s).healthy
    # throughput drop 25 %: over 15 (alerts) and 20 (yml, plan), under 30 (auto_rollback).
    s = snap({"throughput_tps": 75.0})
    assert [HealthCheck(n).evaluate(0, s).healthy
            for n in ("alerts", "alerts_yml", "migration_plan", "auto_rollback")] == [
        False, False, False, True]


def test_migration_plan_reading():
    by_key = {(c.module, c.name): (c.metric, c.threshold)
              for c in THRESHOLD_SETS["migration_plan"]}
    assert by_key == {
        ("transaction_pool", "throughput_drop"): ("throughput_tps", 20.0),
        ("transaction_pool", "latency_increase"): ("avg_latency_ms", 50.0),
        ("transaction_pool", "memory_increase"): ("memory_usage_mb", 30.0),
        ("transaction_pool", "error_rate"): ("error_rate_percent", 5.0),
        ("sync_service", "sync_speed_drop"): ("sync_speed_bps", 25.0),
        ("sync_service", "peer_disconnect"): ("peer_disconnect_rate_percent", 50.0),
        ("sync_service", "memory_increase"): ("memory_usage_mb", 40.0),
    }


def test_auto_rollback_failed_transactions_share():
    # processed counts every submission, refused ones included: 11 of 100 refused is 11 %.
    s = snap({"processed_transactions": 100.0, "rejected_transactions": 11.0})
    result = HealthCheck("auto_rollback").evaluate(0, s)
    assert [v.check for v in result.violations] == ["failed_transactions"]
    assert result.violations[0].value == pytest.approx(11.0)
    # 10 of 100 is at the threshold (not above it). rejected / (processed + rejected) counted
    # each refusal twice: it showed 11 of 100 as 9.9 % and 10 of 95 (10.5 %) as 9.5 %.
    ok = snap({"processed_transactions": 100.0, "rejected_transactions": 10.0})
    assert HealthCheck("auto_rollback").evaluate(0, ok).healthy
    over = snap({"processed_transactions": 95.0, "rejected_transactions": 10.0})
    assert not HealthCheck("auto_rollback").evaluate(0, over).healthy


def test_nan_v2_is_not_judged_and_listed():
    s = snap({"throughput_tps": math.nan, "error_rate_percent": math.nan})
    result = HealthCheck("alerts").evaluate(0, s)
    assert result.healthy
    assert {(u.check, u.reason) for u in result.unjudged} >= {
        ("throughput_drop", "no V2 data"), ("error_rate", "no V2 data")}


def test_v2_without_any_data_is_healthy():
    s = {"transaction_pool": {"v1": POOL_V1, "v2": {}}, "sync_service": {"v1": SYNC_V1}}
    result = HealthCheck("alerts").evaluate(0, s)
    assert result.healthy
    assert len(result.unjudged) == len(THRESHOLD_SETS["alerts"])


def test_zero_baseline_is_not_judged():
    s = snap({"throughput_tps": 0.0}, pool_v1={"throughput_tps": 0.0})
    result = HealthCheck("alerts").evaluate(0, s)
    assert result.healthy
    assert ("throughput_drop", "no V1 baseline") in {(u.check, u.reason)
                                                      for u in result.unjudged}
    assert math.isnan(relative_change_percent(5.0, 0.0))
    assert relative_change_percent(50.0, 100.0) == -50.0


def test_last_usable_baseline_is_remembered():
    check = HealthCheck("alerts")
    assert check.evaluate(0, snap()).healthy
    # At 100 % V2, V1 has no throughput: the remembered 100 tx/s is the baseline.
    s = snap({"throughput_tps": 50.0}, pool_v1={"throughput_tps": math.nan})
    result = check.evaluate(60, s)
    assert [v.check for v in result.violations] == ["throughput_drop"]
    assert result.violations[0].baseline == 100.0
    # A fresh check has no memory: not judged.
    assert HealthCheck("alerts").evaluate(60, s).healthy


def test_low_traffic_guard_on_error_rate():
    low = snap({"error_rate_percent": 50.0, "request_count": 19.0})
    result = HealthCheck("alerts").evaluate(0, low)
    assert result.healthy
    assert any(u.check == "error_rate" and u.reason.startswith("low traffic")
               for u in result.unjudged)
    enough = snap({"error_rate_percent": 50.0, "request_count": 20.0})
    assert not HealthCheck("alerts").evaluate(0, enough).healthy
    # Configurable; and without request_count the guard cannot apply: judged.
    assert HealthCheck("alerts", min_requests=10).evaluate(0, low).violations
    no_count = snap({"error_rate_percent": 50.0, "request_count": math.nan})
    assert not HealthCheck("alerts").evaluate(0, no_count).healthy


def test_guard_does_not_touch_other_checks():
    low = snap({"throughput_tps": 10.0, "request_count": 1.0})
    assert not HealthCheck("alerts").evaluate(0, low).healthy


def test_modules_filter_and_bad_names():
    s = snap(sync_v2={"sync_speed_bps": 1.0})
    assert HealthCheck("alerts", modules=("transaction_pool",)).evaluate(0, s).healthy
    with pytest.raises(ValueError, match="threshold set"):
        HealthCheck("nope")
    with pytest.raises(ValueError, match="min_requests"):
        HealthCheck("alerts", min_requests=-1)


def test_normalise_rates_makes_split_comparable():
    # 5 % split: V2 carries 5 tx/s of 100 and is as fast as V1 per unit of share.
    s = snap({"throughput_tps": 5.0, "request_count": 300.0},
             pool_v1={"throughput_tps": 95.0})
    assert not HealthCheck("alerts").evaluate(0, s).healthy
    n = normalise_rates(s, {"transaction_pool": {"v1": 0.95, "v2": 0.05},
                            "sync_service": {"v1": 1.0, "v2": 1.0}})
    assert n["transaction_pool"]["v2"]["throughput_tps"] == pytest.approx(100.0)
    assert n["transaction_pool"]["v2"]["request_count"] == 300.0
    assert HealthCheck("alerts").evaluate(0, n).healthy
    zero = normalise_rates(s, {"transaction_pool": {"v1": 1.0, "v2": 0.0}})
    assert math.isnan(metric(zero, "transaction_pool", "v2", "throughput_tps"))
    assert math.isnan(metric(zero, "sync_service", "v2", "sync_speed_bps"))

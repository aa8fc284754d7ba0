"""The sync health checks read V2 sync's SERVING of inbound peer requests (R4-D4, R4-D5).

A ``v2_regression`` on sync_service acts on V2's serving (sim/node.py ServiceInstance), so
AutoRollback's module-agnostic error_rate, latency_increase and cpu_increase (guide L550-564)
judge the serving figures against V1 serving's in the same window."""

import math
from typing import Any

import pytest

from sim import rollout_link
from sim.rollout import HealthCheck
from sim.rollout.snapshot import metric
from sim.runner import run
from sim.scenario import Scenario, parse_scenario
from tests.small_scenario import events_of as kinds

SYNC = "sync_service"


def scenario(fault: bool, duration: float = 1500.0) -> Scenario:
    """The reviewer's e4 (base: both modules at 5 %, 50 % at 300 s, 100 % at 900 s), with
    AutoRollback's own thresholds."""
    data: dict[str, Any] = {
        "seed": 1,
        "duration": duration,
        "modules": {"transaction_pool": {"version": "v2", "traffic": 5},
                    SYNC: {"version": "v2", "traffic": 5}},
        "pool": {"cost_v2": {"signature_check_s": 1.0e-6}},
        "rollout": {
            "auto_rollback": {"threshold_set": "auto_rollback"},
            "schedule": [
                {"time": 300, "module": m, "version": "v2", "split": split}
                for m in ("transaction_pool", SYNC) for split in (50,)
            ] + [
                {"time": 900, "module": m, "version": "v2", "split": 100}
                for m in ("transaction_pool", SYNC)
            ],
        },
    }
    if fault:
        data["faults"] = [{"kind": "v2_regression", "module": SYNC, "start": 600,
                           "error_rate": 0.5, "latency_factor": 3.0}]
    return parse_scenario(data, "<test>")



@pytest.mark.e2e
def test_sync_serving_regression_trips_auto_rollback() -> None:
    result = run(scenario(fault=True, duration=900.0))
    rollbacks = kinds(result, "rollback")
    assert rollbacks, "a sync V2 serving 50 % errors, 3x slower, was never rolled back"
    first = rollbacks[0]
    assert 600.0 < first["time"] <= 720.0
    assert "sync_service: error_rate_percent" in first["reason"]


@pytest.mark.e2e
def test_healthy_v2_at_every_split_is_not_rolled_back() -> None:
    result = run(scenario(fault=False))
    assert kinds(result, "rollback", "rollback_ignored") == []


@pytest.mark.e2e
def test_sync_cpu_and_latency_are_judged_when_serving_has_traffic(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[float, dict[str, float], tuple[str, ...]]] = []
    check = HealthCheck("auto_rollback", modules=(SYNC,))
    orig = rollout_link.RolloutLink.on_sample

    def on_sample(self: rollout_link.RolloutLink, now: float, row: dict[str, float]) -> None:
        orig(self, now, row)
        if now % 60 == 0:
            snap = self._snapshot(update_baseline=False)
            result = check.evaluate(now, snap)
            figures = {f"{v}.{name}": metric(snap, SYNC, v, name) for v in ("v1", "v2")
                       for name in ("cpu_usage_percent", "avg_latency_ms",
                                    "error_rate_percent", "request_count")}
            seen.append((now, figures, tuple(u.check for u in result.unjudged)))

    monkeypatch.setattr(rollout_link.RolloutLink, "on_sample", on_sample)
    run(scenario(fault=False))
    assert len(seen) >= 20
    for now, figures, unjudged in seen:
        assert figures["v2.request_count"] >= 20, now
        assert "cpu_increase" not in unjudged, (now, figures)
        assert "latency_increase" not in unjudged, (now, figures)
        assert "error_rate" not in unjudged, (now, figures)
        # Per routed request the two busy shares agree at 5 %, 50 % and 100 % (V1's figure
        # at 100 % is its last per-request cost times today's requests).
        ratio = figures["v2.cpu_usage_percent"] / figures["v1.cpu_usage_percent"]
        assert 0.8 < ratio < 1.25, (now, figures)
        assert figures["v2.error_rate_percent"] < 5.0
    # At 100 % V2 (from 900 s; the window is 300 s) V1 serves nothing: latency comes from
    # the health check's remembered baseline, CPU from V1's last per-request figure.
    late = [f for t, f, _ in seen if t >= 1260]
    assert late
    assert all(f["v1.request_count"] == 0 for f in late)
    assert all(math.isnan(f["v1.avg_latency_ms"]) for f in late)
    assert all(not math.isnan(f["v1.cpu_usage_percent"]) for f in late)


def test_serving_figures_of_a_window_weigh_intervals_by_their_requests() -> None:
    def row(requests: float, error: float, latency: float, cpu: float) -> dict[str, float]:
        p = f"{SYNC}.serving.v2."
        return {p + "requests": requests, p + "error_rate_percent": error,
                p + "avg_latency_ms": latency, p + "cpu_usage_percent": cpu}

    rows = [row(100.0, 0.0, 2.0, 4.0), row(300.0, 50.0, 6.0, 8.0),
            row(0.0, math.nan, math.nan, 0.0)]
    snap = rollout_link.snapshot_from_rows(rows)
    v2 = snap[SYNC]["v2"]
    assert v2["error_rate_percent"] == pytest.approx(100.0 * 150.0 / 400.0)
    assert v2["avg_latency_ms"] == pytest.approx((200.0 + 1800.0) / 400.0)
    assert v2["cpu_usage_percent"] == pytest.approx(4.0)
    assert v2["request_count"] == 400.0
    window = rollout_link.HealthWindow(3)
    for r in rows:
        window.append(r)
    assert window.snapshot()[SYNC]["v2"] == pytest.approx(v2, nan_ok=True)

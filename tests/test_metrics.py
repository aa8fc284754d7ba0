import math

import numpy as np
import pytest

from sim.metrics import RequestStats, TimeSeries


def test_window_and_totals() -> None:
    s = RequestStats()
    s.record(0.010)
    s.record(0.020, ok=False)
    s.record(0.030, timed_out=True)
    w = s.roll()
    assert w["requests"] == 3
    assert w["errors"] == 2
    assert w["timeouts"] == 1
    assert w["avg_latency_ms"] == pytest.approx(20.0)
    empty = s.roll()
    assert empty["requests"] == 0
    assert math.isnan(empty["p95_latency_ms"])
    s.record_many(np.array([0.001, 0.001]))
    s.roll()
    t = s.totals()
    assert t["requests"] == 5
    assert t["error_rate_percent"] == pytest.approx(40.0)
    assert t["p99_latency_ms"] == pytest.approx(30.0, rel=0.011)


def test_timeseries_backfills_late_and_missing_columns() -> None:
    ts = TimeSeries()
    ts.sample(10.0, {"a": 1.0})
    ts.sample(20.0, {"b": 2.0})
    arrays = ts.arrays()
    assert list(arrays) == ["time", "a", "b"]
    assert arrays["time"].tolist() == [10.0, 20.0]
    assert arrays["a"][0] == 1.0
    assert math.isnan(arrays["a"][1])
    assert math.isnan(arrays["b"][0])
    assert len(ts) == 2

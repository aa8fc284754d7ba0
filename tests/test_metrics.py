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


def _fill(ts: TimeSeries, rows: int, late_at: int = -1) -> None:
    for i in range(rows):
        values = {"a": float(i) * 0.5}
        if i % 3 == 0:
            values["sparse"] = float(-i)
        if late_at >= 0 and i >= late_at:
            values["late"] = float(i) + 0.25
        ts.sample(10.0 * i, values)


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for name in want:
        # Bit-identical, NaN included (array_equal with equal_nan would miss NaN payloads).
        assert got[name].tobytes() == want[name].tobytes(), name


@pytest.mark.parametrize(("rows", "late_at"), [
    (4, -1),    # exactly one block
    (3, 1),     # partial block only
    (9, 5),     # late column after two spills
    (8, 4),     # late column appearing exactly at a block boundary
    (13, 12),   # late column in the last row
])
def test_timeseries_spill_matches_in_memory(rows: int, late_at: int) -> None:
    reference = TimeSeries(block_rows=10**6)
    spilled = TimeSeries(block_rows=4)
    _fill(reference, rows, late_at)
    _fill(spilled, rows, late_at)
    want = reference.arrays()
    assert len(spilled) == rows
    _assert_same(spilled.arrays(), want)
    for name in want:
        assert spilled.column(name).tobytes() == want[name].tobytes()
    was_spilled = spilled._spilled > 0
    final = spilled.arrays(final=True)
    _assert_same(final, want)
    for view in final.values():
        # File-backed only once the series has outgrown a block; read-only either way.
        assert isinstance(view, np.memmap) == was_spilled
        assert not view.flags.writeable
    if late_at >= 0:
        assert np.isnan(final["late"][:late_at]).all()
        assert final["late"][late_at] == late_at + 0.25


def test_timeseries_keeps_only_one_block_in_memory() -> None:
    ts = TimeSeries(block_rows=4)
    _fill(ts, 9)
    assert all(len(c) == 1 for c in ts._columns.values())
    assert ts._spilled == 8
    assert ts.column("a").tolist() == [i * 0.5 for i in range(9)]


def test_timeseries_final_views_outlive_the_series_and_sampling_goes_on() -> None:
    ts = TimeSeries(block_rows=2)
    _fill(ts, 5)
    final = ts.arrays(final=True)
    ts.sample(50.0, {"a": 99.0})
    assert len(ts) == 6
    assert ts.column("a")[-1] == 99.0
    assert final["a"].shape == (5,)
    del ts
    assert final["a"].tolist() == [i * 0.5 for i in range(5)]


def test_timeseries_empty_final() -> None:
    final = TimeSeries(block_rows=2).arrays(final=True)
    assert list(final) == ["time"]
    assert final["time"].shape == (0,)


def test_timeseries_refuses_empty_blocks() -> None:
    with pytest.raises(ValueError, match="block_rows"):
        TimeSeries(block_rows=0)


def test_a_series_that_never_spilled_opens_no_files() -> None:
    ts = TimeSeries(block_rows=100)
    _fill(ts, 10)
    final = ts.arrays(final=True)
    assert not ts._files
    assert final["time"].tolist() == ts.column("time").tolist()
    assert not final["time"].flags.writeable

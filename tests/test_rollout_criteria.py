import math

import numpy as np
import pytest

from sim.rollout.criteria import (
    all_passed,
    error_rate_window,
    memory_increase,
    performance,
    zero_downtime,
)

HOUR = 3_600.0


def test_zero_downtime():
    ok = zero_downtime(0, total=1_000)
    assert (ok.passed, ok.figure, ok.threshold) == (True, 0.0, 0.0)
    assert "of 1000" in ok.detail
    bad = zero_downtime(3)
    assert (bad.passed, bad.figure) == (False, 3.0)


def test_performance_needs_both_throughput_and_latency():
    assert performance(100.0, 100.0, 20.0, 20.0).passed is True
    slower = performance(100.0, 110.0, 20.0, 25.0)
    assert slower.passed is False
    assert slower.figure == pytest.approx(0.8)
    lower = performance(100.0, 99.0, 20.0, 10.0)
    assert (lower.passed, lower.figure) == (False, pytest.approx(0.99))
    assert performance(100.0, 99.0, 20.0, 10.0, tolerance_percent=2.0).passed is True
    missing = performance(100.0, math.nan, 20.0, 10.0)
    assert missing.passed is None
    assert missing.detail.startswith("not enough data")
    assert performance(0.0, 1.0, 20.0, 10.0).passed is None


def test_memory_increase():
    at = memory_increase(200.0, 230.0)
    assert (at.passed, at.figure) == (True, pytest.approx(15.0))
    over = memory_increase(200.0, 230.2)
    assert over.passed is False
    assert memory_increase(0.0, 5.0).passed is None
    assert memory_increase(200.0, 100.0).passed is True


def test_error_rate_shorter_than_48h_is_not_enough_data():
    c = error_rate_window([0.0] * 47, [1000.0] * 47, HOUR)
    assert c.passed is None
    assert c.name == "error_rate_48h"
    assert c.figure == 0.0
    assert "47 h from V2's first request" in c.detail
    assert "of the 48 h window" in c.detail


def test_error_rate_exactly_48h_at_the_threshold_passes():
    c = error_rate_window([1.0] * 48, [1000.0] * 48, HOUR)
    assert (c.passed, c.figure, c.threshold) == (True, pytest.approx(0.1), 0.1)
    c = error_rate_window([1.0] * 47 + [1.1], [1000.0] * 48, HOUR)
    assert c.passed is False


def test_a_burst_fails_a_window_though_the_run_average_passes():
    # 96 h: errors only in the first 24 h at 0.3 %; the run average is 0.075 %.
    errors = np.r_[np.full(24, 3.0), np.zeros(72)]
    requests = np.full(96, 1000.0)
    assert errors.sum() / requests.sum() * 100 <= 0.1
    c = error_rate_window(errors, requests, HOUR)
    assert c.passed is False
    assert c.figure == pytest.approx(0.15)
    assert "starts at 0 s" in c.detail
    # The same burst spread over 48 h sits exactly at the bound.
    errors = np.r_[np.full(48, 1.0), np.zeros(48)]
    assert error_rate_window(errors, requests, HOUR).passed is True


def test_error_rate_windows_start_when_v2_first_served():
    # 48 h before V2 took any traffic, then 2 h of V2: the windows that cover the empty hours
    # do not make 48 h of V2 service (this passed on 2 h of traffic before).
    c = error_rate_window(np.zeros(50), np.r_[np.zeros(48), [100.0, 100.0]], HOUR)
    assert c.passed is None
    assert c.detail == ("not enough data: 2 h from V2's first request (from the start of its "
                        "sampling interval) to the end of the run, of the 48 h window; V2 "
                        "carried requests in 2 h of them (error rate so far 0.0000%)")
    # V2 rolled back after its first hour: 3 h since its first request, 1 h carried
    # (review 6 R2-7c: the detail said "V2 has served for 3 h").
    c = error_rate_window(np.r_[np.zeros(48), [1.0, 0.0, 0.0]],
                          np.r_[np.zeros(48), [100.0, 0.0, 0.0]], HOUR)
    assert c.passed is None
    assert c.detail == ("not enough data: 3 h from V2's first request (from the start of its "
                        "sampling interval) to the end of the run, of the 48 h window; V2 "
                        "carried requests in 1 h of them (error rate so far 1.0000%)")
    # V2 from hour 10 for 48 h: one window, starting at 10 h, judged.
    requests = np.r_[np.zeros(10), np.full(48, 1000.0)]
    errors = np.r_[np.zeros(10), np.full(48, 2.0)]
    c = error_rate_window(errors, requests, HOUR)
    assert c.passed is False
    assert c.figure == pytest.approx(0.2)
    assert "starts at 36000 s" in c.detail
    assert "1 windows judged" in c.detail
    assert error_rate_window(np.zeros(3), np.zeros(3), HOUR).detail == (
        "not enough data: V2 served no request")


def test_error_rate_window_from_finer_intervals():
    n = 48 * 60  # one-minute samples, two days exactly, plus one more minute
    errors = np.zeros(n + 1)
    errors[-1] = 100.0  # the last minute's burst is in the second window only
    c = error_rate_window(errors, np.full(n + 1, 10.0), 60.0)
    assert c.passed is False
    assert "starts at 60 s" in c.detail
    assert "2 windows judged" in c.detail


def test_error_rate_empty_windows_and_bad_input():
    assert error_rate_window([0.0] * 48, [0.0] * 48, HOUR).passed is None
    with pytest.raises(ValueError, match="same length"):
        error_rate_window([0.0], [1.0, 2.0], HOUR)
    with pytest.raises(ValueError, match=">= 0"):
        error_rate_window([-1.0], [1.0], HOUR)
    with pytest.raises(ValueError, match="whole number"):
        error_rate_window([0.0], [1.0], 7 * HOUR)
    with pytest.raises(ValueError, match="interval"):
        error_rate_window([0.0], [1.0], 0.0)


def test_as_dict_and_overall():
    c = performance(0.0, 1.0, 1.0, 1.0)
    d = c.as_dict()
    assert d["figure"] is None
    assert d["passed"] is None
    ok, bad, unknown = zero_downtime(0), zero_downtime(1), memory_increase(0.0, 1.0)
    assert all_passed([ok, ok]) is True
    assert all_passed([ok, unknown]) is None
    assert all_passed([unknown, bad]) is False


def test_performance_figure_is_each_ratio_over_its_bound():
    # Threshold 1: the figure is the worse ratio over its own bound (capacity 1 - tol, p95
    # (1 + tol) * (1 + resolution)), so figure >= 1 is exactly the verdict.
    c = performance(100.0, 98.0, 20.0, 20.0, tolerance_percent=2.0)
    assert (c.passed, c.figure, c.threshold) == (True, pytest.approx(1.0), 1.0)
    c = performance(100.0, 100.0, 20.0, 20.0 * 1.03, p95_resolution=0.0202)
    assert c.passed is False
    assert c.figure == pytest.approx(1.0202 / 1.03)
    assert "measurement resolution 2.02%" in c.detail
    with pytest.raises(ValueError, match="tolerance"):
        performance(1.0, 1.0, 1.0, 1.0, tolerance_percent=100.0)
    with pytest.raises(ValueError, match="resolution"):
        performance(1.0, 1.0, 1.0, 1.0, p95_resolution=-0.1)

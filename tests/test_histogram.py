import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.histogram import LogHistogram


def test_quantiles_within_relative_error_of_exact() -> None:
    rng = np.random.default_rng(1)
    values = rng.lognormal(mean=-6.0, sigma=1.5, size=50_000)
    h = LogHistogram(rel_error=0.01)
    h.add_many(values)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        assert abs(h.quantile(q) - exact) <= 0.0101 * exact
    assert h.count == values.size
    assert h.mean == pytest.approx(values.mean())


def test_add_and_add_many_agree() -> None:
    values = np.array([1e-9, 1e-6, 0.003, 0.5, 2.0, 7.0, 1e6])
    a = LogHistogram()
    b = LogHistogram()
    for v in values:
        a.add(float(v))
    b.add_many(values)
    for q in (0.0, 0.2, 0.5, 0.8, 1.0):
        assert a.quantile(q) == b.quantile(q)
    assert (a.min, a.max, a.count) == (b.min, b.max, b.count)


def test_out_of_range_values_are_clamped_and_counted() -> None:
    h = LogHistogram(lo=1e-3, hi=10.0)
    h.add(1e-6)
    h.add(100.0)
    assert h.count == 2
    assert h.quantile(0.0) == 1e-3  # underflow bucket reports lo
    assert h.quantile(1.0) == 10.0  # overflow bucket reports hi


def test_empty_and_reset_and_merge() -> None:
    h = LogHistogram()
    assert math.isnan(h.quantile(0.5))
    h.add(0.01)
    other = LogHistogram()
    other.add(0.02)
    h.merge(other)
    assert h.count == 2
    h.reset()
    assert h.count == 0
    with pytest.raises(ValueError, match="different bucket layouts"):
        h.merge(LogHistogram(rel_error=0.02))


@pytest.mark.property
@given(st.lists(st.floats(min_value=1e-6, max_value=1e3), min_size=1, max_size=200),
       st.floats(min_value=0.0, max_value=1.0))
def test_quantile_bounded_by_neighbours(values: list[float], q: float) -> None:
    h = LogHistogram(rel_error=0.01)
    h.add_many(np.array(values))
    exact = sorted(values)[max(1, math.ceil(q * len(values))) - 1]
    assert abs(h.quantile(q) - exact) <= 0.0101 * exact + 1e-12

"""The no-load fast paths (histogram quantiles, sampling, sync-link scheduling) change nothing.

Each fast path is checked against the general form it replaces, written out here.
"""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.histogram import LogHistogram


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


# -- LogHistogram.quantiles over the occupied buckets only ---------------------------------

def _ref_quantiles(h: LogHistogram, *qs: float) -> tuple[float, ...]:
    # LogHistogram.quantiles as first written: cumulative counts of every bucket.
    if h.count == 0:
        return tuple(math.nan for _ in qs)
    cum = np.cumsum(h._counts)
    out = []
    for q in qs:
        rank = max(1, math.ceil(q * h.count))
        index = int(np.searchsorted(cum, rank))
        out.append(min(max(h._bucket_value(index), h.min), h.max))
    return tuple(out)


def _edges() -> list[float]:
    # Values at and next to bucket edges (where np.log and math.log may bucket differently),
    # plus the underflow and overflow sides.
    h = LogHistogram()
    xs = [0.0, -1.0, 1e-9, h.lo, h.hi, 2e5]
    for k in range(0, h.n_buckets - 2, 37):
        x = math.exp(h._log_lo + k * h._log_gamma)
        xs += [math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)]
    return xs


values = st.one_of(st.floats(min_value=-1.0, max_value=3e5, allow_nan=False),
                   st.sampled_from(_edges()))
batches = st.lists(st.tuples(st.sampled_from(["add", "extend", "add_many", "merge", "reset"]),
                             st.lists(values, max_size=40)), max_size=8)
quants = st.lists(st.sampled_from([0.0, 1e-9, 0.5, 0.9, 0.95, 0.99, 1.0]), min_size=1,
                  max_size=4)


@given(batches, quants)
def test_quantiles_equal_the_full_cumulative_count(ops: list[tuple[str, list[float]]],
                                                   qs: list[float]) -> None:
    h = LogHistogram()
    for op, xs in ops:
        if op == "add":
            for x in xs:
                h.add(x)
        elif op == "extend":
            h.extend(xs)
        elif op == "add_many":
            h.add_many(np.asarray(xs, dtype=np.float64))
        elif op == "merge":
            other = LogHistogram()
            other.add_many(np.asarray(xs, dtype=np.float64))
            h.merge(other)
        else:
            h.reset()
        got = h.quantiles(*qs)
        want = _ref_quantiles(h, *qs)
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


def test_quantiles_at_every_bucket_edge_equal_the_full_cumulative_count() -> None:
    # A lone sample per edge: the quantile's bucket is then the sample's own.
    h0 = LogHistogram()
    for k in range(h0.n_buckets - 1):
        x = math.exp(h0._log_lo + k * h0._log_gamma)
        for v in (math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)):
            for add in ("add", "add_many"):
                h = LogHistogram()
                if add == "add":
                    h.add(v)
                else:
                    h.add_many(np.array([v]))
                assert h.quantiles(0.5, 1.0) == _ref_quantiles(h, 0.5, 1.0)

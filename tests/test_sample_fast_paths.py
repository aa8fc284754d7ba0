"""The metric-sampling fast paths give exactly what the general paths give."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.histogram import _VECTOR_MIN, LogHistogram
from sim.metrics import RequestStats, TimeSeries
from sim.rollout.snapshot import POOL_METRICS, SYNC_METRICS
from sim.rollout_link import HealthWindow, _mean, snapshot_from_rows

KEYS = [f"{module}.{version}.{name}"
        for module, names in (("transaction_pool", POOL_METRICS), ("sync_service", SYNC_METRICS))
        for version in ("v1", "v2") for name in names]
# The series' count columns the snapshot derives its attempts from (with_attempts).
KEYS += [f"transaction_pool.{v}.{n}" for v in ("v1", "v2")
         for n in ("requests", "errors", "refused_by_breaker")]
KEYS += [f"sync_service.serving.{v}.{n}" for v in ("v1", "v2")
         for n in ("requests", "refused_by_breaker")]
KEYS += [f"transaction_pool.{v}.{n}_transactions_in_interval" for v in ("v1", "v2")
         for n in ("processed", "rejected")]
KEYS += [f"sync_service.{v}.{n}" for v in ("v1", "v2")
         for n in ("peer_disconnects", "peers_at_interval_start")]

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
value = st.one_of(finite, st.just(math.nan), st.just(0.0), st.just(-0.0),
                  st.integers(0, 50).map(float))
rows = st.lists(st.dictionaries(st.sampled_from(KEYS), value, max_size=len(KEYS)),
                min_size=1, max_size=12)


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def assert_same_snapshot(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for module in want:
        assert list(got[module]) == list(want[module])
        for version in want[module]:
            g, w = got[module][version], want[module][version]
            assert list(g) == list(w), (module, version)
            for name in w:
                assert same(g[name], w[name]), (module, version, name, g[name], w[name])


@given(rows, st.integers(1, 5))
def test_health_window_snapshot_equals_snapshot_from_rows(rs: list[dict[str, float]],
                                                          size: int) -> None:
    window = HealthWindow(size)
    for i, row in enumerate(rs):
        window.append(row)
        assert_same_snapshot(window.snapshot(), snapshot_from_rows(rs[max(0, i + 1 - size):i + 1]))


def test_health_window_snapshot_of_model_like_rows() -> None:
    # Every key present, some latencies NaN (a window without requests), as the model samples.
    rng = np.random.default_rng(3)
    window = HealthWindow(30)
    history = []
    for i in range(100):
        row = {k: float(rng.integers(0, 40)) if k.endswith(("requests", "errors",
                                                             "refused_by_breaker"))
               else float(rng.exponential(3.0)) for k in KEYS}
        if i % 7 == 0:
            row["transaction_pool.v2.p95_latency_ms"] = math.nan
        history.append(row)
        window.append(row)
        assert_same_snapshot(window.snapshot(), snapshot_from_rows(history[-30:]))


@given(st.lists(finite, min_size=1, max_size=300))
def test_mean_equals_numpy_mean(xs: list[float]) -> None:
    assert same(_mean(xs), float(np.mean(xs)))


in_range = st.floats(min_value=1e-7, max_value=1e5, exclude_max=True)


def _bucket_edges() -> list[float]:
    # Values at and next to the bucket edges, where a different rounding would show first.
    h = LogHistogram()
    edges = []
    for k in range(0, h.n_buckets - 2, 7):
        x = math.exp(h._log_lo + k * h._log_gamma)
        edges += [math.nextafter(x, 0.0), x, math.nextafter(x, math.inf)]
    return [x for x in edges if h.lo <= x < h.hi]


@given(st.lists(st.one_of(in_range, st.sampled_from(_bucket_edges())),
                min_size=_VECTOR_MIN, max_size=300))
def test_in_range_extend_equals_adding_one_by_one(xs: list[float]) -> None:
    one, many = LogHistogram(), LogHistogram()
    one.add(0.5)  # a running total and extremes that the batch has to extend
    many.add(0.5)
    for x in xs:
        one.add(x)
    many.extend(xs)
    assert np.array_equal(one._counts, many._counts)
    assert (one.count, one.total, one.min, one.max) == (many.count, many.total, many.min,
                                                        many.max)


def test_extend_of_all_bucket_edges_equals_adding_one_by_one() -> None:
    xs = _bucket_edges()
    one, many = LogHistogram(), LogHistogram()
    for x in xs:
        one.add(x)
    many.extend(xs)
    assert np.array_equal(one._counts, many._counts)
    assert one.total == many.total


def test_extend_with_nan_fails_as_adding_it_does() -> None:
    import pytest

    with pytest.raises(ValueError, match="NaN"):
        LogHistogram().add(math.nan)
    with pytest.raises(ValueError, match="NaN"):
        LogHistogram().extend([0.01, math.nan])
    with pytest.raises(ValueError, match="NaN"):  # a batch long enough for the numpy path
        LogHistogram().extend([0.01] * 30 + [math.nan] + [0.02] * 30)


@given(st.lists(st.floats(min_value=-1.0, max_value=1e6), max_size=100),
       st.lists(st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 1.0]), min_size=1, max_size=4))
def test_quantiles_equal_quantile_each(xs: list[float], qs: list[float]) -> None:
    h = LogHistogram()
    h.extend(xs)
    got = h.quantiles(*qs)
    assert all(same(g, h.quantile(q)) for g, q in zip(got, qs, strict=True))


def test_reset_of_an_empty_histogram_keeps_it_empty() -> None:
    h = LogHistogram()
    h.add(0.3)
    h.reset()
    h.reset()
    assert h.count == 0
    assert not h._counts.any()
    h.add(0.2)
    assert h.quantile(0.5) == 0.2


key_orders = st.sampled_from([("a", "b", "c"), ("a", "b", "c"), ("c", "a", "b"), ("a", "b"),
                              ("b",), ("a", "b", "c", "d"), ()])


@given(st.lists(key_orders, max_size=30), st.integers(1, 6))
def test_time_series_equals_naive_columns(orders: list[tuple[str, ...]], block: int) -> None:
    series = TimeSeries(block_rows=block)
    want: dict[str, list[float]] = {"time": []}
    for i, keys in enumerate(orders):
        row = {k: float(i * 10 + j) for j, k in enumerate(keys)}
        series.sample(float(i), row)
        for k in keys:
            want.setdefault(k, [math.nan] * i)
        want["time"].append(float(i))
        for k, col in want.items():
            if k != "time":
                col.append(row.get(k, math.nan))
    got = series.arrays()
    assert list(got) == ["time", *sorted(k for k in want if k != "time")]
    for k, col in want.items():
        np.testing.assert_array_equal(got[k], np.array(col, dtype=np.float64))
    assert len(series) == len(orders)


def test_rollout_window_equals_snapshot_from_rows_in_a_model_run() -> None:
    from sim.runner import Model
    from sim.scenario import load_scenario

    scenario = load_scenario("regression-rollback")
    model = Model(scenario.model_copy(update={"duration": 1800.0}), seed=1)
    link = model.rollout
    seen: list[dict[str, float]] = []
    on_sample = link.on_sample

    def checked(now: float, row: dict[str, float]) -> None:
        seen.append(row)
        on_sample(now, row)
        want = snapshot_from_rows(seen[-link._window._rows:])
        assert_same_snapshot(link._window.snapshot(), want)

    link.on_sample = checked  # type: ignore[method-assign]
    model.execute()
    assert len(seen) == 180


@given(st.lists(st.tuples(key_orders, st.booleans()), max_size=40), st.integers(1, 6))
def test_time_series_with_reads_between_rows_equals_naive_columns(
        steps: list[tuple[tuple[str, ...], bool]], block: int) -> None:
    # Rows held row-major (the same keys as the last row) must read the same whether the
    # columns are read between rows (forcing them into the columns) or only at the end.
    series = TimeSeries(block_rows=block)
    want: dict[str, list[float]] = {"time": []}
    for i, (keys, read) in enumerate(steps):
        row = {k: float(i * 10 + j) + 0.5 for j, k in enumerate(keys)}
        series.sample(float(i), row)
        for k in keys:
            want.setdefault(k, [math.nan] * i)
        want["time"].append(float(i))
        for k, col in want.items():
            if k != "time":
                col.append(row.get(k, math.nan))
        assert len(series) == i + 1
        if read:
            np.testing.assert_array_equal(series.column("time"), np.array(want["time"]))
    got = series.arrays(final=True)
    assert list(got) == ["time", *sorted(k for k in want if k != "time")]
    for k, col in want.items():
        np.testing.assert_array_equal(got[k], np.array(col, dtype=np.float64))


def test_sample_rows_equal_the_named_metrics_in_a_model_run() -> None:
    # The sampler reads the values alone (Node.pool_metric_values, service_metric_values):
    # its rows must carry each value under the name its *_METRIC_NAMES tuple gives it,
    # and the pool counters must be pool.stats()'s.
    from sim.node import (
        POOL_METRIC_NAMES,
        POOL_V2_METRIC_NAMES,
        SERVICE_METRIC_NAMES,
        SERVICE_V2_METRIC_NAMES,
    )
    from sim.runner import Model
    from sim.scenario import load_scenario

    scenario = load_scenario("canary")
    model = Model(scenario.model_copy(update={"duration": 600.0}), seed=2)
    node = model.node
    sample = model.sample
    rows = 0

    def checked(now: float, interval: float) -> dict[str, float]:
        nonlocal rows
        stats = {inst.version: inst.pool.stats() for inst in (node.pool_v1, node.pool_v2)}
        row = sample(now, interval)
        rows += 1
        for inst in (node.pool_v1, node.pool_v2):
            names = POOL_V2_METRIC_NAMES if inst.version == "v2" else POOL_METRIC_NAMES
            prefix = f"transaction_pool.{inst.version}."
            assert [k for k in row if k.startswith(prefix)] == [prefix + n for n in names]
            for name in ("processed_transactions", "rejected_transactions"):
                assert row[prefix + name] == float(stats[inst.version][name])  # type: ignore[arg-type]
            assert row[prefix + "pool_size"] == float(len(inst.pool))
        for module, versions in node.services.items():
            for version in versions:
                names = SERVICE_V2_METRIC_NAMES if version == "v2" else SERVICE_METRIC_NAMES
                prefix = ("sync_service.serving" if module == "sync_service" else module)
                prefix += f".{version}."
                assert [k for k in row if k.startswith(prefix)] == [prefix + n for n in names]
        return row

    model.sample = checked  # type: ignore[method-assign]
    model.execute()
    assert rows == 60


@given(st.lists(st.lists(finite, min_size=len(KEYS), max_size=len(KEYS)), min_size=1,
                max_size=70), st.integers(1, 31))
def test_health_window_sums_equal_each_column_reduced_alone(values: list[list[float]],
                                                            size: int) -> None:
    # The averaged columns are summed as one matrix (rows written twice, a ring slice per
    # window): each sum must be np.add.reduce of that column's window alone, oldest first,
    # as the window fills and after it wraps around.
    window = HealthWindow(size)
    history: list[dict[str, float]] = []
    for vals in values:
        row = dict(zip(KEYS, vals, strict=True))
        history.append(row)
        window.append(row)
        sums = window._window_sums()
        for i, key in enumerate(window._mean_keys):
            column = [r[key] for r in history[-size:]]
            want = np.add.reduce(np.asarray(column, dtype=np.float64))
            assert same(float(sums[i]), float(want)), (key, sums[i], want)
            assert same(float(sums[i] / len(column)), _mean(column))


def _ref_roll_figures(s: RequestStats) -> tuple[float, ...]:
    # RequestStats.roll_figures as first written (no empty-window shortcut).
    s._flush()
    h = s.window_latency
    p95, p99 = h.quantiles(0.95, 0.99) if h.count else (math.nan, math.nan)
    out = (float(s.requests), float(s.errors), float(s.timeouts), float(s.refused),
           h.mean * 1e3, p95 * 1e3, p99 * 1e3)
    s.total_requests += s.requests
    s.total_errors += s.errors
    s.total_timeouts += s.timeouts
    s.total_refused += s.refused
    if h.count:
        s.total_latency.merge(h)
    h.reset()
    s.requests = s.errors = s.timeouts = s.refused = 0
    return out


stats_ops = st.lists(st.one_of(
    st.tuples(st.just("record"), st.floats(1e-4, 5.0), st.booleans(), st.booleans()),
    st.tuples(st.just("refused")),
    st.tuples(st.just("each"), st.lists(st.floats(1e-4, 5.0), max_size=4)),
    st.tuples(st.just("many"), st.lists(st.floats(1e-4, 5.0), max_size=4)),
    st.tuples(st.just("roll"))), max_size=40)


@given(stats_ops)
def test_roll_figures_equals_the_general_path(ops: list[tuple]) -> None:
    import struct

    fast, ref = RequestStats(), RequestStats()
    for op in [*ops, ("roll",), ("roll",)]:
        for s in (fast, ref):
            if op[0] == "record":
                s.record(op[1], op[2], op[3])
            elif op[0] == "refused":
                s.record_refused()
            elif op[0] == "each":
                s.record_each(list(op[1]), [True] * len(op[1]))
            elif op[0] == "many":
                s.record_many(np.array(op[1], dtype=np.float64))
        if op[0] == "roll":
            got, want = fast.roll_figures(), _ref_roll_figures(ref)
            assert struct.pack("7d", *got) == struct.pack("7d", *want)
            assert fast.totals() == ref.totals() or all(
                same(a, b) for a, b in zip(fast.totals().values(), ref.totals().values(),
                                           strict=True))

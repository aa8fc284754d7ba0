"""The performance fast paths give exactly what the general paths give."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.control import CallOutcome, ModuleRouter
from sim.histogram import LogHistogram
from sim.metrics import RequestStats
from tests.model_compare import assert_same_results

values = st.lists(st.floats(min_value=-1.0, max_value=1e6, allow_nan=False), max_size=200)


@given(values)
def test_extend_equals_adding_one_by_one(xs: list[float]) -> None:
    one, many = LogHistogram(), LogHistogram()
    for x in xs:
        one.add(x)
    many.extend(xs)
    assert np.array_equal(one._counts, many._counts)
    assert (one.count, one.total, one.min, one.max) == (many.count, many.total, many.min,
                                                        many.max)


@given(values, values)
def test_buffered_request_stats_equal_immediate_histogram(a: list[float], b: list[float]) -> None:
    stats = RequestStats()
    ref = LogHistogram()
    for x in a:
        stats.record(x)
        ref.add(x)
    arr = np.asarray(b, dtype=np.float64)
    stats.record_many(arr)  # flushes the buffer first, so the sum keeps its order
    ref.add_many(arr)
    window = stats.roll()
    assert window["requests"] == len(a) + len(b)
    assert stats.total_latency.total == ref.total
    assert np.array_equal(stats.total_latency._counts, ref._counts)
    if a or b:
        assert window["p95_latency_ms"] == ref.quantile(0.95) * 1e3
    else:
        assert math.isnan(window["avg_latency_ms"])


@given(st.lists(st.tuples(st.booleans(), st.floats(0.0, 10.0), st.booleans()), max_size=50),
       st.sampled_from(["intended", "as_written"]))
def test_record_v1_equals_record(calls: list[tuple[bool, float, bool]], profile: str) -> None:
    fast = ModuleRouter(np.random.default_rng(0), profile=profile)  # type: ignore[arg-type]
    slow = ModuleRouter(np.random.default_rng(0), profile=profile)  # type: ignore[arg-type]
    for ok, latency, emergency in calls:
        fast.record_v1("filter_manager", ok, latency, emergency)
        slow.record("filter_manager", "v1", CallOutcome("ok" if ok else "error", latency), 0.0,
                    emergency=emergency)
    assert fast.routing_stats() == slow.routing_stats()


def test_decide_returns_the_same_decisions_as_before() -> None:
    router = ModuleRouter(np.random.default_rng(5), versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": 30})
    got = [router.decide("transaction_pool", float(i)) for i in range(2_000)]
    draws = np.random.default_rng(5).integers(1, 101, size=4096)[:2_000]
    assert [d.version for d in got] == ["v2" if x <= 30 else "v1" for x in draws]
    assert not any(d.emergency for d in got)


def test_service_draws_hand_out_sample_in_order_across_refills() -> None:
    from sim.control import GenericService
    from sim.service_draws import ServiceDraws

    service = GenericService(mean_latency=0.01, latency_cv=2.0, error_rate=0.2, timeout=0.05)
    draws = ServiceDraws(service, np.random.default_rng(9), chunk=7)
    got = [draws.next() for _ in range(30)]
    ref = np.random.default_rng(9)
    want: list[tuple[bool, float]] = []
    while len(want) < 30:
        kinds, lat = service.sample(ref, 7)
        want.extend(zip((kinds == 0).tolist(), lat.tolist(), strict=True))
    assert got == want[:30]
    assert any(not ok for ok, _ in got)
    assert max(lat for _, lat in got) == 0.05


def _execute(scenario, batched: bool, emergency: bool = False):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sim.runner import Model

    model = Model(scenario, 4)
    if emergency:
        breaker = model.router.breaker("filter_manager")
        breaker.config = replace(breaker.config, unknown_state_emergency_v1=True)
    if not batched:
        model._on_requests = lambda kind, times: False  # type: ignore[method-assign]
    return model.execute()


def test_batched_v1_requests_equal_one_by_one() -> None:
    from sim.scenario import load_scenario

    scenario = load_scenario("canary").model_copy(update={"duration": 300.0})
    batched = _execute(scenario, True)
    assert_same_results(batched, _execute(scenario, False))
    assert batched.summary["services"]["filter_manager"]["v1"]["requests"] > 1_000


def test_batched_emergency_path_equals_one_by_one() -> None:
    from sim.scenario import load_scenario

    scenario = load_scenario("canary").model_copy(update={"duration": 120.0})
    batched = _execute(scenario, True, emergency=True)
    assert_same_results(batched, _execute(scenario, False, emergency=True))
    assert batched.summary["routing"]["emergency_v1_requests"] > 500


def test_as_written_profile_is_fed_one_by_one_and_agrees() -> None:
    from sim.scenario import load_scenario

    scenario = load_scenario("canary").model_copy(
        update={"duration": 120.0, "profile": "as_written"})
    assert_same_results(_execute(scenario, True), _execute(scenario, False))


def test_module_with_pending_v2_replies_is_not_batched() -> None:
    from sim.runner import Model
    from sim.scenario import load_scenario

    model = Model(load_scenario("canary").model_copy(update={"duration": 60.0}), 1)
    node, router = model.node, model.router
    assert node.submit_requests("filter_manager", [0.5, 0.6])
    assert not node.submit_requests("sync_service", [0.7])  # the limiter goes one by one
    router.set_version("filter_manager", "v2")
    router.set_split("filter_manager", 100)
    assert not node.submit_requests("filter_manager", [1.0])
    node.submit_request("filter_manager", 7, 1.0)  # to V2: its reply is now due
    router.set_version("filter_manager", "v1")
    assert not node.submit_requests("filter_manager", [1.0])
    node.settle(5.0)  # the reply arrives
    assert node.submit_requests("filter_manager", [5.0])
    assert node.services["filter_manager"]["v1"].stats.requests == 3


def test_trace_mode_agrees_with_batched_fast_mode_on_the_canary() -> None:
    from sim.runner import run
    from sim.scenario import load_scenario

    base = load_scenario("canary").model_copy(update={"duration": 120.0})
    trace = base.model_copy(update={"run": base.run.model_copy(update={"mode": "trace"})})
    fast_result, trace_result = run(base, seed=6), run(trace, seed=6)
    fast_result.summary["run"].pop("mode")
    trace_result.summary["run"].pop("mode")
    assert_same_results(fast_result, trace_result)

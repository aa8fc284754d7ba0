"""Module router: split statistics, stickiness, rescue path, as_written behaviour, stats."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from sim.control import (
    AS_WRITTEN_BREAKER,
    MODULES,
    BreakerConfig,
    BreakerState,
    CallOutcome,
    GenericService,
    ModuleRouter,
    RoutedResult,
)

OK = CallOutcome("ok", 0.010)
ERR = CallOutcome("error", 0.020)
TIMEOUT = CallOutcome("timeout", 30.0)
Z999 = 3.2905  # two-sided 99.9 % normal quantile


def rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(seed)


def binomial_interval(n: int, p: float) -> tuple[float, float]:
    half = Z999 * math.sqrt(n * p * (1 - p))
    return n * p - half, n * p + half


@pytest.mark.parametrize("split", [0, 1, 5, 25, 50, 99, 100])
def test_intended_split_share_is_binomial(split: int) -> None:
    n = 100_000
    router = ModuleRouter(rng(split), versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": split})
    v2 = sum(router.route("transaction_pool", 0.0) == "v2" for _ in range(n))
    if split in (0, 100):
        assert v2 == n * split // 100
    else:
        lo, hi = binomial_interval(n, split / 100)
        assert lo <= v2 <= hi
    assert router.draws_made == n  # exactly one draw per request


def test_v1_version_routes_everything_to_v1_without_draws() -> None:
    router = ModuleRouter(rng(), splits={"sync_service": 100})
    assert {router.route("sync_service", float(i)) for i in range(1000)} == {"v1"}
    assert router.draws_made == 0


def test_same_seed_same_decisions_and_split_mask_matches_route() -> None:
    a = ModuleRouter(rng(7), versions={"sync_service": "v2"}, splits={"sync_service": 37})
    b = ModuleRouter(rng(7), versions={"sync_service": "v2"}, splits={"sync_service": 37})
    one_by_one = np.array([a.route("sync_service", 0.0) == "v2" for _ in range(10_000)])
    # Batches of awkward sizes draw the same values as request-by-request routing.
    parts = [b.split_mask("sync_service", k) for k in (1, 4095, 2, 5000, 902)]
    assert np.array_equal(one_by_one, np.concatenate(parts))
    assert b.admit("sync_service", 0.0)


def test_breaker_open_sends_v1_and_split_draws_continue() -> None:
    router = ModuleRouter(rng(), versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": 100})
    router.breaker("transaction_pool").force_open(0.0)
    assert all(router.route("transaction_pool", 1.0) == "v1" for _ in range(100))
    assert router.draws_made == 100
    # Guide's reset_timeout for the pool is 300 s; at the deadline the probe goes to V2.
    assert router.route("transaction_pool", 300.0) == "v2"
    assert router.breaker("transaction_pool").state is BreakerState.HALF_OPEN


# -- the rescue path ---------------------------------------------------------------------


def test_v2_failures_fall_back_once_and_no_request_is_lost() -> None:
    gen = rng(3)
    router = ModuleRouter(rng(4), versions={"filter_manager": "v2"},
                          splits={"filter_manager": 60},
                          breaker_configs={"filter_manager": BreakerConfig(
                              failure_threshold=10**9, timeout=1.0)})
    expected_fallbacks = 0
    v1_runs = 0
    results: list[RoutedResult] = []

    def v1() -> CallOutcome:
        nonlocal v1_runs
        v1_runs += 1
        return OK

    n = 5_000
    for i in range(n):
        kind = gen.integers(0, 5)
        v2_runs_before = router.routing_stats()["v2_executions"]

        def v2(kind: int = int(kind)) -> CallOutcome:
            if kind == 0:
                raise RuntimeError("V2 crashed")
            return [ERR, TIMEOUT, CallOutcome("ok", 1.5), OK, OK][kind]

        res = router.request("filter_manager", float(i), v1, v2)
        results.append(res)
        if router.routing_stats()["v2_executions"] > v2_runs_before and kind < 3:
            expected_fallbacks += 1
            assert res.fallback
            assert res.routed == "v2"
            assert res.served == "v1"
            assert res.outcome.kind == "ok"
    stats = router.routing_stats()
    assert len(results) == n == stats["total_requests"]
    assert all(r.outcome.kind == "ok" for r in results)  # every request answered
    assert stats["v2_fallbacks"] == expected_fallbacks == sum(r.fallback for r in results)
    assert stats["v2_errors"] == expected_fallbacks
    assert stats["v1_executions"] == v1_runs == stats["v1_requests"] + expected_fallbacks
    assert stats["success_rate_v1"] == stats["success_rate_v2"] == 100.0
    assert 2_000 < stats["v2_requests"] < 4_000


def test_rescued_latency_adds_both_executions_and_slow_call_is_cut_at_timeout() -> None:
    router = ModuleRouter(rng(), versions={"sync_service": "v2"}, splits={"sync_service": 100})
    # sync_service_v2 per-call timeout is 120 s (guide); a 200 s reply is cut off at 120 s.
    res = router.request("sync_service", 10.0, lambda: OK, lambda: CallOutcome("ok", 200.0))
    assert res.fallback
    assert res.outcome == CallOutcome("ok", 120.010)
    breaker = router.breaker("sync_service")
    assert breaker.total_timeouts == 1
    assert breaker.consecutive_failures == 1
    stats = router.module_stats("sync_service")
    assert stats["avg_latency_v2"] == pytest.approx(120_010.0)


def test_guide_threshold_trips_the_pool_breaker_then_v1_direct() -> None:
    router = ModuleRouter(rng(), versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": 100})
    for i in range(10):  # guide: transaction_pool_v2 failure_threshold 10
        assert router.request("transaction_pool", float(i), lambda: OK, lambda: ERR).fallback
    breaker = router.breaker("transaction_pool")
    assert breaker.state is BreakerState.OPEN
    assert breaker.transitions[0].time == pytest.approx(9.020)  # recorded at completion
    res = router.request("transaction_pool", 20.0, lambda: OK, lambda: ERR)
    assert (res.routed, res.fallback) == ("v1", False)
    assert router.routing_stats()["v2_fallbacks"] == 10


def test_record_requires_rescue_exactly_when_needed() -> None:
    router = ModuleRouter(rng(), versions={"sync_service": "v2"}, splits={"sync_service": 100})
    with pytest.raises(ValueError, match="required"):
        router.record("sync_service", "v2", ERR, 0.0)
    with pytest.raises(ValueError, match="not expected"):
        router.record("sync_service", "v2", OK, 0.0, rescue=OK)
    assert router.needs_rescue("sync_service", "v2", None)
    assert not router.needs_rescue("sync_service", "v1", ERR)


# -- as_written -----------------------------------------------------------------------------


def test_as_written_sticky_and_monotone_in_the_split() -> None:
    router = ModuleRouter(rng(), profile="as_written", versions={"transaction_pool": "v2"})
    callers = [f"peer-{i}" for i in range(2_000)] + list(range(2_000))
    previous: set[object] = set()
    for split in (1, 5, 25, 50, 75, 99):
        router.set_split("transaction_pool", split)
        first = {c for c in callers if router.route("transaction_pool", 0.0, c) == "v2"}
        again = {c for c in reversed(callers) if router.route("transaction_pool", 0.0, c) == "v2"}
        assert first == again  # same caller, same side, while the split is unchanged
        assert previous <= first  # raising the split only moves callers V1 -> V2
        lo, hi = binomial_interval(len(callers), split / 100)
        assert lo <= len(first) <= hi
        previous = first
    assert router.draws_made == 0  # sticky buckets use no randomness


def test_as_written_without_caller_draws_per_request() -> None:
    router = ModuleRouter(rng(), profile="as_written", versions={"sync_service": "v2"},
                          splits={"sync_service": 30})
    v2 = sum(router.route("sync_service", 0.0) == "v2" for _ in range(20_000))
    lo, hi = binomial_interval(20_000, 0.3)
    assert lo <= v2 <= hi


def test_as_written_v2_errors_count_as_success_and_never_open_the_breaker() -> None:
    router = ModuleRouter(rng(), profile="as_written", versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": 100})
    for i in range(1_000):
        res = router.request("transaction_pool", float(i), lambda: OK,
                             lambda i=i: ERR if i % 2 else TIMEOUT)
        assert (res.served, res.fallback) == ("v2", False)
        assert res.outcome.kind != "ok"  # the error is returned as it is
    stats = router.routing_stats()
    assert stats["success_rate_v2"] == 100.0
    assert stats["v2_fallbacks"] == 0
    assert stats["v2_errors"] == 1_000
    assert router.breaker("transaction_pool").state is BreakerState.CLOSED
    # Only a raised exception falls back.
    res = router.request("transaction_pool", 2_000.0, lambda: OK, _raise)
    assert res.fallback
    assert res.served == "v1"


def _raise() -> CallOutcome:
    raise RuntimeError("boom")


def test_as_written_v1_stats_count_errors_as_success_and_timeouts_as_failure() -> None:
    router = ModuleRouter(rng(), profile="as_written")
    for outcome in (OK, ERR, TIMEOUT, OK):
        router.request("sync_service", 0.0, lambda o=outcome: o, lambda: OK)
    assert router.routing_stats()["success_rate_v1"] == 75.0


def test_as_written_half_open_sends_ten_percent_whatever_the_version() -> None:
    router = ModuleRouter(rng(11), profile="as_written")  # every module on v1, split 0
    breaker = router.breaker("subscription_manager")
    breaker.force_open(0.0)
    assert router.route("subscription_manager", 299.9) == "v1"
    assert router.draws_made == 0
    n = 20_000
    # Eager timer: half-open at 300 s without any call.
    assert breaker.state_at(300.0) is BreakerState.HALF_OPEN
    v2 = sum(router.route("subscription_manager", 300.0) == "v2" for _ in range(n))
    lo, hi = binomial_interval(n, 0.10)
    assert lo <= v2 <= hi
    assert breaker.transitions[-1].time == 300.0


def test_as_written_double_counting_closes_after_two_probes() -> None:
    router = ModuleRouter(rng(2), profile="as_written", versions={"sync_service": "v2"},
                          splits={"sync_service": 100})
    breaker = router.breaker("sync_service")
    breaker.force_open(0.0)
    served = 0
    t = 300.0
    while breaker.state_at(t) is not BreakerState.CLOSED:
        res = router.request("sync_service", t, lambda: OK, lambda: OK)
        served += res.routed == "v2"
        t += 0.001
    assert served == 2  # success_threshold 3, each success counted twice


def test_unknown_state_takes_the_emergency_path_unrecorded() -> None:
    router = ModuleRouter(
        rng(), profile="as_written", versions={"transaction_pool": "v2"},
        splits={"transaction_pool": 100},
        breaker_configs={"transaction_pool": replace(AS_WRITTEN_BREAKER,
                                                     unknown_state_emergency_v1=True)})
    for i in range(50):
        res = router.request("transaction_pool", float(i), lambda: OK, lambda: OK)
        assert (res.served, res.emergency) == ("v1", True)
    stats = router.routing_stats()
    assert stats["total_requests"] == 0
    assert stats["emergency_v1_requests"] == 50
    assert stats["v1_executions"] == 50


# -- configuration, stats and the generic service -------------------------------------


def test_setters_validate_and_env_config_loads() -> None:
    router = ModuleRouter(rng())
    with pytest.raises(ValueError, match=r"0\.\.100"):
        router.set_split("sync_service", 101)
    with pytest.raises(ValueError, match="'v1' or 'v2'"):
        router.set_version("sync_service", "v3")
    with pytest.raises(ValueError, match="unknown module"):
        router.route("block_store", 0.0)
    env = {"TRANSACTION_POOL_VERSION": "v2", "TRANSACTION_POOL_TRAFFIC": "5",
           "SYNC_SERVICE_VERSION": "v2", "SYNC_SERVICE_TRAFFIC": "5",
           "CIRCUIT_BREAKER_ENABLED": "true", "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3",
           "CIRCUIT_BREAKER_TIMEOUT": "30000"}
    router = ModuleRouter.from_env(rng(), env)
    assert (router.version("transaction_pool"), router.split("transaction_pool")) == ("v2", 5)
    assert router.version("filter_manager") == "v1"
    pool_breaker = router.breaker("transaction_pool").config
    assert (pool_breaker.failure_threshold, pool_breaker.timeout) == (3, 30.0)
    with pytest.raises(ValueError, match="SUBSCRIPTION_MANAGER_TRAFFIC"):
        ModuleRouter.from_env(rng(), {"SUBSCRIPTION_MANAGER_TRAFFIC": "ten"})


def test_routing_stats_keys_and_breaker_states() -> None:
    router = ModuleRouter(rng(), versions=dict.fromkeys(MODULES, "v2"),
                          splits=dict.fromkeys(MODULES, 50))
    svc = GenericService(mean_latency=0.004, error_rate=0.0)
    gen = rng(9)
    for i in range(400):
        module = MODULES[i % 4]
        router.request(module, float(i), lambda: svc.call(gen), lambda: svc.call(gen))
    stats = router.routing_stats(now=500.0)
    assert stats["total_requests"] == 400 == stats["v1_requests"] + stats["v2_requests"]
    assert stats["circuit_breaker_states"] == dict.fromkeys(MODULES, "closed")
    assert 2.0 < stats["avg_latency_v1"] < 8.0  # ms
    assert sum(router.module_stats(m)["total_requests"] for m in MODULES) == 400


def test_generic_service_error_rate_timeout_and_batch() -> None:
    svc = GenericService(mean_latency=0.01, latency_cv=0.5, error_rate=0.2, timeout=0.02)
    kinds, lat = svc.sample(rng(5), 50_000)
    assert lat.max() <= 0.02
    timeouts = kinds == 2
    assert np.all(lat[timeouts] == 0.02)
    assert 0 < timeouts.mean() < 0.2
    errors = (kinds == 1).sum() / (~timeouts).sum()
    assert 0.19 < errors < 0.21
    gen = rng(6)
    single = [svc.call(gen) for _ in range(2_000)]
    assert all(o.latency <= 0.02 for o in single)
    assert {o.kind for o in single} == {"ok", "error", "timeout"}
    with pytest.raises(ValueError, match="error_rate"):
        GenericService(error_rate=1.5)


@pytest.mark.parametrize("profile", ["intended", "as_written"])
def test_same_seed_same_run(profile: str) -> None:
    def run() -> tuple[object, ...]:
        router = ModuleRouter(rng(21), profile=profile,  # type: ignore[arg-type]
                              versions=dict.fromkeys(MODULES, "v2"),
                              splits=dict.fromkeys(MODULES, 40))
        svc = GenericService(mean_latency=0.01, error_rate=0.6, timeout=0.05)
        gen = rng(22)
        results = [router.request(MODULES[i % 4], i * 0.01, lambda: svc.call(gen),
                                  lambda: svc.call(gen), caller=i % 97)
                   for i in range(3_000)]
        transitions = [router.breaker(m).transitions for m in MODULES]
        return tuple(results), tuple(transitions), tuple(sorted(router.routing_stats().items()))

    first = run()
    assert first == run()
    if profile == "intended":
        assert sum(len(t) for t in first[1]) > 0  # type: ignore[arg-type]  # breakers tripped


def test_caller_bucket_is_stable_across_processes_and_types() -> None:
    from sim.control import caller_bucket

    # Pinned values: a change here changes every as_written run's routing.
    assert [caller_bucket(x) for x in ("peer-1", "peer-2", 0, 1, 2**70, "")] == [
        31, 41, 91, 43, 17, 10]
    assert caller_bucket(np.int64(1)) == caller_bucket(1)
    with pytest.raises(TypeError, match="str or int"):
        caller_bucket(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or int"):
        caller_bucket(True)


def test_intended_half_open_probes_with_the_split_and_spends_permits_only_on_v2() -> None:
    capped = BreakerConfig(failure_threshold=1, success_threshold=2, reset_timeout=10.0,
                           half_open_max_calls=2)
    router = ModuleRouter(rng(8), versions={"sync_service": "v2"}, splits={"sync_service": 50},
                          breaker_configs={"sync_service": capped})
    breaker = router.breaker("sync_service")
    breaker.force_open(0.0)
    decisions = [router.route("sync_service", 10.0) for _ in range(200)]
    # The first two split-selected requests take the two permits; V1-bound ones take none.
    assert decisions.count("v2") == 2
    assert breaker.state is BreakerState.HALF_OPEN
    twin = ModuleRouter(rng(8), versions={"sync_service": "v2"}, splits={"sync_service": 50})
    selected = twin.split_mask("sync_service", 200)  # the same draws, without the breaker
    assert breaker.total_rejected == int(selected.sum()) - 2
    v2_at = [i for i, d in enumerate(decisions) if d == "v2"]
    assert v2_at == list(np.flatnonzero(selected)[:2])

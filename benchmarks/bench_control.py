"""Control-plane micro-benchmarks: per-request routing vs the batched split path, limiters.

Compare within one run only (ratios); see benchmarks/README.md, "Control plane".
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.control import CallOutcome, CircuitBreaker, ModuleRouter, PeerRateLimiter

N = 100_000
OK = CallOutcome("ok", 0.001)


def _router() -> ModuleRouter:
    return ModuleRouter(np.random.default_rng(1), versions={"transaction_pool": "v2"},
                        splits={"transaction_pool": 25})


@pytest.mark.benchmark(group="router")
def test_route_per_request(benchmark) -> None:
    def run() -> int:
        r = _router()
        return sum(r.route("transaction_pool", 0.0) == "v2" for _ in range(N))

    assert 20_000 < benchmark(run) < 30_000


@pytest.mark.benchmark(group="router")
def test_split_mask_batched(benchmark) -> None:
    def run() -> int:
        r = _router()
        return int(r.split_mask("transaction_pool", N).sum())

    assert 20_000 < benchmark(run) < 30_000


@pytest.mark.benchmark(group="router")
def test_request_full_path(benchmark) -> None:
    def run() -> int:
        r = _router()
        for i in range(N):
            r.request("transaction_pool", i * 1e-3, lambda: OK, lambda: OK)
        return r.routing_stats()["total_requests"]

    assert benchmark(run) == N


@pytest.mark.benchmark(group="breaker")
def test_breaker_allow_record(benchmark) -> None:
    def run() -> int:
        cb = CircuitBreaker()
        for i in range(N):
            if cb.allow(float(i)):
                cb.record_success(float(i), 0.001)
        return cb.total_calls

    assert benchmark(run) == N


@pytest.mark.benchmark(group="limiter")
def test_peer_limiter_one_peer(benchmark) -> None:
    def run() -> int:
        lim = PeerRateLimiter(60)
        for i in range(N):
            lim.allow("p", i * 0.01)
        return lim.allowed

    assert benchmark(run) > 0


@pytest.mark.benchmark(group="limiter")
def test_peer_limiter_distinct_peers_at_bound(benchmark) -> None:
    def run() -> int:
        lim = PeerRateLimiter(60, max_tracked_peers=1_000)
        for i in range(N):
            lim.allow(i, i * 1e-4)
        return lim.evicted

    assert benchmark(run) == N - 1_000

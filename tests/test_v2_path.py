"""The V2 request path's fast paths give exactly the general path's results.

PoolInstance.offer_v2 / ServiceInstance.call_v2 (used by Node.submit_inputs) against the
mailbox offer of a message (Node.submit_tx / submit_request), the closure-free V2 reply and
ModuleRouter.record_v2_ok against ModuleRouter.record, and the rate limiter's cached head
against the plain expiry loop.
"""

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.control import CallOutcome, ModuleRouter, PeerRateLimiter
from sim.runner import Model
from sim.scenario import RegressionFault, load_scenario
from tests.model_compare import assert_same_results, feed_one_by_one


def _all_v2(env: str, timeout_ms: str | None = None) -> str:
    env = env.replace('TRANSACTION_POOL_TRAFFIC="5"', 'TRANSACTION_POOL_TRAFFIC="100"')
    env = env.replace('SYNC_SERVICE_TRAFFIC="5"', 'SYNC_SERVICE_TRAFFIC="100"')
    if timeout_ms is not None:
        env = env.replace('CIRCUIT_BREAKER_TIMEOUT="30000"',
                          f'CIRCUIT_BREAKER_TIMEOUT="{timeout_ms}"')
    return env


def _run(seconds: float, stretch: bool, *, timeout_ms: str | None = None,
         faults: tuple = (), profile: str = "intended"):  # type: ignore[no-untyped-def, type-arg]
    sc = load_scenario("canary")
    assert 'TRAFFIC="5"' in sc.env
    assert 'CIRCUIT_BREAKER_TIMEOUT="30000"' in sc.env
    sc = sc.model_copy(update={"duration": seconds, "env": _all_v2(sc.env, timeout_ms),
                               "faults": faults, "profile": profile})
    model = Model(sc, 5)
    if not stretch:
        feed_one_by_one(model)
    return model, model.execute()


# Regressions of both V2 modules: errors (retries on V1, the breaker opening and refusing),
# and a latency factor that keeps V2's pool mailbox busy (offers that must queue).
_REGRESSIONS = (
    RegressionFault(module="transaction_pool", start=100.0, end=300.0, error_rate=0.3,
                    latency_factor=400.0),
    RegressionFault(module="sync_service", start=150.0, end=350.0, error_rate=0.3,
                    latency_factor=5.0),
)


@pytest.mark.parametrize("case", ["plain", "regression", "timeouts", "slow_sync", "as_written"])
def test_v2_direct_paths_equal_mailbox_offers(case: str) -> None:
    kwargs: dict = {  # type: ignore[type-arg]
        "plain": {},
        "regression": {"faults": _REGRESSIONS},
        # A 1 ms breaker timeout: sync calls time out on call_v2's general branch, and a
        # slowed V2 pool times out too (retry on V1 / double execution).
        "timeouts": {"timeout_ms": "1", "faults": (RegressionFault(
            module="transaction_pool", start=100.0, end=200.0, latency_factor=50.0),)},
        # Slow V2 sync replies (no errors): ok replies due after later inputs and samples,
        # which must not be delivered early (Node.schedule_ok's early-delivery conditions).
        "slow_sync": {"faults": (RegressionFault(module="sync_service", start=100.0, end=300.0,
                                                 latency_factor=20.0),)},
        "as_written": {"profile": "as_written", "faults": _REGRESSIONS},
    }[case]
    model, fast = _run(420.0, True, **kwargs)
    _, slow = _run(420.0, False, **kwargs)
    assert_same_results(fast, slow)
    assert fast.summary["ledger"]["node"]["arrived"] > 1_000
    if case == "regression":
        assert fast.summary["routing"]["v2_fallbacks"] > 0
        assert fast.summary["transaction_pool"]["v2"]["refused_by_breaker"] > 0
    if case == "timeouts":
        assert fast.summary["ledger"]["node"]["double_executions"] > 0
        assert model.node.services["sync_service"]["v2"].stats.total_timeouts > 0


@given(st.lists(st.tuples(st.floats(0.0, 2.0), st.floats(0.0, 5.0), st.sampled_from(
    ["ok", "error", "timeout"])), max_size=60),
       st.sampled_from(["intended", "as_written"]))
def test_record_v2_ok_equals_record(calls: list[tuple[float, float, str]], profile: str) -> None:
    def router() -> ModuleRouter:
        return ModuleRouter(np.random.default_rng(0), profile=profile,  # type: ignore[arg-type]
                            versions={"transaction_pool": "v2"},
                            splits={"transaction_pool": 100})

    ref, fast = router(), router()
    timeout = ref.breaker("transaction_pool").config.timeout
    now = 0.0
    for dt, latency, kind in calls:
        now += dt
        for r in (ref, fast):
            r.breaker("transaction_pool").allow(now)  # half-open permits move alike
        outcome = CallOutcome(kind, latency)  # type: ignore[arg-type]
        if kind == "ok" and latency <= timeout:
            ref.record("transaction_pool", "v2", outcome, now)
            fast.record_v2_ok("transaction_pool", latency, now)
            continue
        for r in (ref, fast):
            rescue = (CallOutcome("ok", 0.001)
                      if r.needs_rescue("transaction_pool", "v2", outcome) else None)
            r.record("transaction_pool", "v2", outcome, now, rescue=rescue)
    assert ref.routing_stats(now) == fast.routing_stats(now)
    a, b = ref.breaker("transaction_pool"), fast.breaker("transaction_pool")
    assert a.transitions == b.transitions
    assert (a.total_calls, a.total_successes, a.total_failures, a.consecutive_failures) == (
        b.total_calls, b.total_successes, b.total_failures, b.consecutive_failures)


class _RefLimiter:
    """PeerRateLimiter.allow as it was: the expiry loop reads the head on every call."""

    def __init__(self, limit: int, window: float, cap: int) -> None:
        self.limit, self.window, self.cap = limit, window, cap
        self.table: OrderedDict[int, list[float]] = OrderedDict()
        self.allowed = self.refused = self.evicted = self.expired = 0

    def allow(self, peer: int, now: float) -> bool:
        table = self.table
        while table:
            head = next(iter(table.values()))
            if now < head[1] + self.window:
                break
            table.popitem(last=False)
            self.expired += 1
        row = table.get(peer)
        if row is None or now >= row[1] + self.window:
            if row is None:
                table[peer] = [1, now]
                if len(table) > self.cap:
                    table.popitem(last=False)
                    self.evicted += 1
            else:
                row[0] = 1
                row[1] = now
                table.move_to_end(peer)
            self.allowed += 1
            return True
        table.move_to_end(peer)
        if row[0] < self.limit:
            row[0] += 1
            self.allowed += 1
            return True
        self.refused += 1
        return False


@given(st.lists(st.tuples(st.integers(0, 7), st.sampled_from([0.0, 0.0, 0.3, 1.0, 2.5, 3.0, 4.0])),
                max_size=200),
       st.integers(1, 4), st.integers(1, 6))
def test_rate_limiter_equals_plain_expiry_loop(calls: list[tuple[int, float]], limit: int,
                                               cap: int) -> None:
    ref = _RefLimiter(limit, 3.0, cap)
    fast = PeerRateLimiter(limit, window=3.0, max_tracked_peers=cap)
    now = 0.0
    for peer, dt in calls:
        now += dt
        assert fast.allow(peer, now) == ref.allow(peer, now)
        # The limiter stores each window's end (start + window), the reference its start.
        assert list(fast._table.items()) == [(k, [c, s + 3.0]) for k, (c, s) in ref.table.items()]
    assert (fast.allowed, fast.refused, fast.evicted, fast.expired) == (
        ref.allowed, ref.refused, ref.evicted, ref.expired)


def test_empty_stretch_is_a_no_op() -> None:
    model = Model(load_scenario("canary"), 1)
    node = model.node
    node.submit_inputs([], [], [], [], [])
    assert node.ledger.arrived == 0
    assert node.now == 0.0

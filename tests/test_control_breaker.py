"""Circuit breaker: transitions at their boundaries, the pybreaker trace, switches, config."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sim.control import (
    AS_WRITTEN_BREAKER,
    GUIDE_BREAKER_CONFIGS,
    ROUTER_DEFAULT_BREAKER,
    BreakerConfig,
    BreakerState,
    CircuitBreaker,
    apply_breaker_env,
    default_breaker_configs,
)

CLOSED, OPEN, HALF = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def cfg(**kw: object) -> BreakerConfig:
    base = {"failure_threshold": 3, "success_threshold": 2, "timeout": 5.0, "reset_timeout": 30.0}
    base.update(kw)
    return BreakerConfig(**base)  # type: ignore[arg-type]


def step(cb: CircuitBreaker, t: float, op: str) -> str:
    """Drive one call like pybreaker's call(): classify its result."""
    before = cb.state
    if not cb.allow(t):
        return "rejected"
    was = cb.state  # may have become half-open inside allow()
    if op == "S":
        cb.record_success(t)
        return "ok"
    if op == "E":  # pybreaker's excluded exception: handled as a success
        cb.record_success(t)
        return "excluded"
    cb.record_failure(t)
    if cb.state is OPEN:
        return "trip" if was is CLOSED else "trial-fail"
    assert before is not OPEN
    return "fail"


# -- boundaries ------------------------------------------------------------------------


def test_nth_consecutive_failure_trips_exactly() -> None:
    cb = CircuitBreaker(cfg())
    for t in (1.0, 2.0):
        assert cb.allow(t)
        cb.record_failure(t)
        assert cb.state is CLOSED
    assert cb.allow(3.0)
    cb.record_failure(3.0)
    assert cb.state is OPEN
    assert cb.opened_at == 3.0
    assert cb.transitions == ((3.0, CLOSED, OPEN, "failure_threshold"),)
    assert cb.total_opens == 1


def test_success_between_failures_resets_the_run() -> None:
    cb = CircuitBreaker(cfg())
    for t, op in enumerate("FFSFF"):
        assert step(cb, float(t), op) in ("ok", "fail")
    assert cb.state is CLOSED
    assert cb.consecutive_failures == 2
    assert step(cb, 5.0, "F") == "trip"


def test_reset_timeout_boundary_is_inclusive_and_lazy() -> None:
    cb = CircuitBreaker(cfg())
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert cb.state is OPEN
    deadline = 2.0 + 30.0
    assert not cb.would_allow(math.nextafter(deadline, 0.0))
    assert not cb.allow(math.nextafter(deadline, 0.0))
    assert cb.total_rejected == 1
    # Lazy: no call, no transition, even long after the deadline.
    assert cb.state_at(1000.0) is OPEN
    assert cb.would_allow(deadline)
    assert cb.allow(deadline)
    assert cb.state is HALF
    assert cb.transitions[-1] == (deadline, OPEN, HALF, "reset_timeout")


def test_failure_in_half_open_reopens_with_fresh_timer() -> None:
    cb = CircuitBreaker(cfg())
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert step(cb, 40.0, "F") == "trial-fail"
    assert cb.state is OPEN
    assert cb.opened_at == 40.0
    assert not cb.allow(69.999)
    assert cb.allow(70.0)
    assert cb.state is HALF


def test_success_threshold_closes_half_open() -> None:
    cb = CircuitBreaker(cfg(success_threshold=3))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert step(cb, 32.0, "S") == "ok"
    assert step(cb, 33.0, "S") == "ok"
    assert cb.state is HALF
    assert step(cb, 34.0, "S") == "ok"
    assert cb.state is CLOSED
    assert cb.transitions[-1] == (34.0, HALF, CLOSED, "success_threshold")
    assert (cb.consecutive_failures, cb.consecutive_successes) == (0, 0)


def test_probe_cap_rejects_beyond_the_permits() -> None:
    cb = CircuitBreaker(cfg(half_open_max_calls=2))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert cb.allow(32.0)
    assert cb.allow(32.1)
    assert not cb.allow(32.2)  # third probe in the same episode
    assert not cb.would_allow(32.3)
    cb.record_success(32.5)
    assert not cb.allow(32.6)  # permits are per episode, not returned on completion
    cb.record_success(32.7)
    assert cb.state is CLOSED
    assert cb.allow(33.0)


def test_probe_cap_renews_after_reopen() -> None:
    cb = CircuitBreaker(cfg(half_open_max_calls=2))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert cb.allow(32.0)
    cb.record_failure(32.0)
    assert cb.state is OPEN
    assert cb.allow(62.0)
    assert cb.allow(62.0)
    assert not cb.allow(62.0)


def test_uncapped_half_open_admits_everything() -> None:
    cb = CircuitBreaker(cfg(success_threshold=5))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert all(cb.allow(32.0 + i) for i in range(100))


def test_slow_call_counts_as_failure_and_equal_duration_does_not() -> None:
    cb = CircuitBreaker(cfg())
    cb.record_success(1.0, duration=5.0)  # exactly the timeout: a success
    assert cb.consecutive_failures == 0
    for t in (2.0, 3.0, 4.0):
        cb.record_success(t, duration=5.0001)
    assert cb.state is OPEN
    assert cb.total_timeouts == 3
    assert cb.total_failures == 3
    assert cb.total_successes == 1


def test_outcomes_while_open_only_count() -> None:
    cb = CircuitBreaker(cfg())
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    cb.record_failure(5.0)
    cb.record_success(6.0)
    assert cb.state is OPEN
    assert cb.opened_at == 2.0
    assert len(cb.transitions) == 1


def test_force_open_and_close() -> None:
    cb = CircuitBreaker(cfg())
    cb.force_open(1.0, "manual_fallback")
    assert cb.state is OPEN
    assert not cb.allow(2.0)
    cb.force_close(3.0)
    assert cb.state is CLOSED
    assert cb.allow(3.0)
    assert [tr.reason for tr in cb.transitions] == ["manual_fallback", "manual"]
    assert cb.transitions_since(1) == cb.transitions[1:]
    assert cb.transition_count == 2


def test_disabled_breaker_never_opens() -> None:
    cb = CircuitBreaker(cfg(enabled=False))
    for t in range(50):
        assert cb.allow(float(t))
        cb.record_failure(float(t))
    assert cb.state is CLOSED
    assert cb.transitions == ()
    assert cb.total_failures == 50


# -- the pybreaker 1.4.1 reference trace (control-plane-anchors.md §1.7) --------------

PYBREAKER_TRACE = [
    # t, input, result, state after, fail counter, success counter
    (0, "S", "ok", CLOSED, 0, 0),
    (1, "F", "fail", CLOSED, 1, 0),
    (2, "F", "fail", CLOSED, 2, 0),
    (3, "S", "ok", CLOSED, 0, 0),
    (4, "F", "fail", CLOSED, 1, 0),
    (5, "F", "fail", CLOSED, 2, 0),
    (6, "F", "trip", OPEN, 3, 0),
    (10, "S", "rejected", OPEN, 3, 0),
    (35.999, "S", "rejected", OPEN, 3, 0),
    (36, "S", "ok", HALF, 0, 1),
    (37, "F", "trial-fail", OPEN, 1, 0),
    (66, "S", "rejected", OPEN, 1, 0),
    (67, "S", "ok", HALF, 0, 1),
    (68, "S", "ok", CLOSED, 0, 0),
    (69, "F", "fail", CLOSED, 1, 0),
    (70, "E", "excluded", CLOSED, 0, 0),
    (71, "F", "fail", CLOSED, 1, 0),
    (72, "F", "fail", CLOSED, 2, 0),
    (73, "F", "trip", OPEN, 3, 0),
]
PYBREAKER_TRANSITIONS = [
    (6, CLOSED, OPEN), (36, OPEN, HALF), (37, HALF, OPEN),
    (67, OPEN, HALF), (68, HALF, CLOSED), (73, CLOSED, OPEN),
]


def test_pybreaker_reference_trace() -> None:
    cb = CircuitBreaker(BreakerConfig(failure_threshold=3, success_threshold=2,
                                      timeout=math.inf, reset_timeout=30.0))
    for t, op, result, after, fails, succ in PYBREAKER_TRACE:
        got = step(cb, float(t), op)
        assert (got, cb.state, cb.consecutive_failures, cb.consecutive_successes) == (
            result, after, fails, succ), f"t={t}"
    assert [(tr.time, tr.from_state, tr.to_state) for tr in cb.transitions] == [
        (float(t), a, b) for t, a, b in PYBREAKER_TRANSITIONS]
    # t=200 with no call: pybreaker (lazy) still reports open; the eager variant half-open.
    assert cb.state_at(200.0) is OPEN
    eager = CircuitBreaker(replace(cb.config, eager_half_open=True))
    for t, op, *_ in PYBREAKER_TRACE:
        step(eager, float(t), op)
    assert eager.state_at(200.0) is HALF


# -- as_written switches ---------------------------------------------------------------


def test_double_counted_successes_close_after_two_calls() -> None:
    cb = CircuitBreaker(cfg(success_threshold=3, double_count_successes=True))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    step(cb, 40.0, "S")
    assert cb.state is HALF
    assert cb.consecutive_successes == 2
    step(cb, 41.0, "S")
    assert cb.state is CLOSED


def test_errors_and_timeouts_count_as_successes_but_exceptions_fail() -> None:
    cb = CircuitBreaker(cfg(errors_count_as_successes=True))
    for i in range(100):
        cb.record_failure(float(i), "error")
        cb.record_failure(float(i), "timeout")
        cb.record_success(float(i), duration=999.0)
    assert cb.state is CLOSED
    assert cb.total_failures == 0
    assert cb.total_successes == 300
    assert cb.total_timeouts == 200
    for t in (200.0, 201.0, 202.0):
        cb.record_failure(t, "exception")
    assert cb.state is OPEN


def test_eager_half_open_is_timestamped_at_the_deadline() -> None:
    cb = CircuitBreaker(cfg(eager_half_open=True))
    for t in (0.0, 1.0, 2.0):
        step(cb, t, "F")
    assert cb.state_at(31.999) is OPEN
    assert cb.state_at(32.0) is HALF
    assert cb.state is OPEN  # state_at does not mutate
    cb.record_success(50.0)  # an outcome observed after the timer fired
    assert cb.transitions[-1] == (32.0, OPEN, HALF, "reset_timeout")
    assert cb.consecutive_successes == 1


# -- configs -----------------------------------------------------------------------------


def test_guide_and_router_presets() -> None:
    tp, ss = GUIDE_BREAKER_CONFIGS["transaction_pool_v2"], GUIDE_BREAKER_CONFIGS["sync_service_v2"]
    assert (tp.failure_threshold, tp.success_threshold, tp.timeout, tp.reset_timeout) == (
        10, 3, 60.0, 300.0)
    assert (ss.failure_threshold, ss.success_threshold, ss.timeout, ss.reset_timeout) == (
        5, 2, 120.0, 600.0)
    r = ROUTER_DEFAULT_BREAKER
    assert (r.failure_threshold, r.success_threshold, r.timeout, r.reset_timeout) == (
        5, 3, 60.0, 300.0)
    assert AS_WRITTEN_BREAKER.double_count_successes
    assert AS_WRITTEN_BREAKER.errors_count_as_successes
    assert default_breaker_configs("intended")["sync_service"] == ss
    assert set(default_breaker_configs("as_written").values()) == {AS_WRITTEN_BREAKER}


def test_env_overrides_from_the_canary_block() -> None:
    env = {"CIRCUIT_BREAKER_ENABLED": "true", "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3",
           "CIRCUIT_BREAKER_TIMEOUT": "30000"}
    out = apply_breaker_env(GUIDE_BREAKER_CONFIGS["transaction_pool_v2"], env)
    assert (out.enabled, out.failure_threshold, out.timeout, out.reset_timeout) == (
        True, 3, 30.0, 300.0)
    assert apply_breaker_env(out, {"CIRCUIT_BREAKER_ENABLED": "FALSE"}).enabled is False
    assert apply_breaker_env(out, {}) is out


@pytest.mark.parametrize(
    ("var", "value", "allowed"),
    [
        ("CIRCUIT_BREAKER_ENABLED", "yes", "'true' or 'false'"),
        ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "0", "positive integer"),
        ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "three", "positive integer"),
        ("CIRCUIT_BREAKER_TIMEOUT", "30s", "milliseconds"),
        ("CIRCUIT_BREAKER_TIMEOUT", "-5", "positive integer"),
    ],
)
def test_env_override_errors_name_variable_and_allowed_values(
    var: str, value: str, allowed: str
) -> None:
    with pytest.raises(ValueError, match=var) as info:
        apply_breaker_env(BreakerConfig(), {var: value})
    assert allowed in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"success_threshold": 0},
        {"timeout": 0.0},
        {"timeout": float("nan")},
        {"reset_timeout": -1.0},
        {"half_open_max_calls": 1, "success_threshold": 2},
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        BreakerConfig(**kwargs)  # type: ignore[arg-type]


# -- state machine against a brute-force replay model -------------------------------------


def replay(config: BreakerConfig, history: list[tuple[float, str]]) -> tuple[list[str], str, int,
                                                                                  int, float]:
    """Recompute every result from the whole history (pybreaker rules + optional cap)."""
    state, fails, succ, opened, admitted = "closed", 0, 0, -math.inf, 0
    results: list[str] = []
    for t, op in history:
        if state == "open":
            if t < opened + config.reset_timeout:
                results.append("rejected")
                continue
            state, succ, admitted = "half_open", 0, 0
        if state == "half_open":
            if config.half_open_max_calls is not None and admitted >= config.half_open_max_calls:
                results.append("rejected")
                continue
            admitted += 1
        if op in ("F", "T"):  # T = a success slower than the timeout
            fails, succ = fails + 1, 0
            if state == "half_open" or fails >= config.failure_threshold:
                results.append("trip" if state == "closed" else "trial-fail")
                state, opened = "open", t
            else:
                results.append("fail")
        else:
            fails = 0
            if state == "half_open":
                succ += 1
                if succ >= config.success_threshold:
                    state, succ = "closed", 0
            results.append("ok")
    return results, state, fails, succ, opened


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.config: BreakerConfig | None = None
        self.cb: CircuitBreaker | None = None
        self.t = 0.0
        self.history: list[tuple[float, str]] = []
        self.results: list[str] = []

    @precondition(lambda self: self.cb is None)
    @rule(fail_max=st.integers(1, 4), succ=st.integers(1, 3), cap=st.sampled_from([None, 0, 1]),
          reset=st.sampled_from([1.0, 5.0, 30.0]))
    def configure(self, fail_max: int, succ: int, cap: int | None, reset: float) -> None:
        self.config = BreakerConfig(failure_threshold=fail_max, success_threshold=succ,
                                    timeout=2.0, reset_timeout=reset,
                                    half_open_max_calls=None if cap is None else succ + cap)
        self.cb = CircuitBreaker(self.config)

    @precondition(lambda self: self.cb is not None)
    @rule(dt=st.sampled_from([0.0, 0.25, 1.0, 4.0, 29.0]))
    def wait(self, dt: float) -> None:
        self.t += dt

    @precondition(lambda self: self.cb is not None and self.cb.state is OPEN)
    @rule(before=st.booleans())
    def jump_to_deadline(self, before: bool) -> None:
        assert self.cb is not None
        assert self.config is not None
        deadline = self.cb.opened_at + self.config.reset_timeout
        target = math.nextafter(deadline, -math.inf) if before else deadline
        self.t = max(self.t, target)

    @precondition(lambda self: self.cb is not None)
    @rule(op=st.sampled_from(["S", "F", "T"]))
    def call(self, op: str) -> None:
        assert self.cb is not None
        self.history.append((self.t, op))
        if not self.cb.allow(self.t):
            self.results.append("rejected")
            return
        was = self.cb.state
        if op == "S":
            self.cb.record_success(self.t, duration=2.0)
            self.results.append("ok")
            return
        if op == "T":
            self.cb.record_success(self.t, duration=2.5)
        else:
            self.cb.record_failure(self.t)
        if self.cb.state is OPEN:
            self.results.append("trip" if was is CLOSED else "trial-fail")
        else:
            self.results.append("fail")

    @invariant()
    def matches_model(self) -> None:
        if self.cb is None or self.config is None:
            return
        results, state, fails, succ, opened = replay(self.config, self.history)
        assert self.results == results
        assert self.cb.state.value == state
        assert (self.cb.consecutive_failures, self.cb.consecutive_successes) == (fails, succ)
        if state == "open":
            assert self.cb.opened_at == opened
        assert self.cb.total_rejected == results.count("rejected")
        assert self.cb.total_opens == results.count("trip") + results.count("trial-fail")


BreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
TestBreakerMachine = pytest.mark.property(BreakerMachine.TestCase)

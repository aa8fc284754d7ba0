"""A three-state circuit breaker with time passed in.

Intended semantics (the default :class:`~sim.control.breaker_config.BreakerConfig`), each rule
with its source (``reference/control-plane-anchors.md`` §1, §5 items 1-8):

* **closed**: each counted failure increments ``consecutive_failures``; the breaker opens when
  it reaches ``failure_threshold`` (``>=``: the N-th consecutive failure trips, as pybreaker
  ``fail_max`` [PB:689-700] and Mana ``circuit_breaker.ex`` L368-394). Any success resets the
  count to 0 (pybreaker [PB:702-707]): consecutive failures, not a rate over a window.
  pybreaker's *excluded* exceptions map to :meth:`CircuitBreaker.record_success` (they reset
  the run and count as successes, [PB:231-244]; trace §1.7, t=70).
* **what counts as a failure**: :meth:`CircuitBreaker.record_failure` (cause ``exception``,
  ``error`` or ``timeout``) and a :meth:`CircuitBreaker.record_success` whose ``duration``
  exceeds ``timeout`` (strictly slower than the per-call timeout; Hystrix counts timeouts as
  failures [HYX-PR]). The as_written switch ``errors_count_as_successes`` turns ``error`` and
  ``timeout`` into successes (Mana ``module_router.ex`` L449-471).
* **open -> half_open**: lazy, decided when :meth:`CircuitBreaker.allow` is called at or after
  ``opened_at + reset_timeout`` (inclusive ``>=``, pybreaker [PB:841-852] and Polly; not
  resilience4j's strict ``isAfter``). That call is admitted as the first probe. No timer runs,
  so :attr:`CircuitBreaker.state` stays ``open`` until a call arrives (pybreaker trace §1.7,
  t=200). The as_written switch ``eager_half_open`` instead makes the change happen at the
  deadline itself, like the real ``:check_reset`` timer (``circuit_breaker.ex`` L270-285).
* **half_open**: each success adds to ``consecutive_successes`` (two with
  ``double_count_successes``); reaching ``success_threshold`` closes the breaker (pybreaker
  ``success_threshold`` [PB:892-897]). Any counted failure re-opens it at once with a fresh
  ``opened_at`` (pybreaker [PB:861-890], Mana, Polly, Hystrix). Probes are unlimited unless
  ``half_open_max_calls`` is set, in which case at most that many calls are admitted per
  half-open episode and the rest are rejected (resilience4j [R4J-SM:1100-1108]). There is no
  half-open timeout (§5 item 8): with a cap, probes whose outcome is never recorded keep the
  breaker half-open (resilience4j#935).
* **counters** follow pybreaker: entering open or half-open resets ``consecutive_successes``;
  entering closed resets both; ``consecutive_failures`` is *not* reset on open (trace §1.7:
  ``fails=3`` while open). Outcomes recorded while open change counters only, never the state
  (Mana: "Open: counters only"; Polly counts late outcomes in metrics only).
* ``enabled=False``: every call is admitted and the state never changes.

Times are float seconds and should be non-decreasing for a readable event log; an earlier
time is accepted and simply compared as given.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final, Literal, NamedTuple

from sim.control.breaker_config import BreakerConfig

FailureCause = Literal["exception", "error", "timeout"]
"""Why a call failed: a raised exception, an ``{:error, _}`` reply, or a timeout."""


class BreakerState(enum.StrEnum):
    """The three breaker states; values are the names the real code reports."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerTransition(NamedTuple):
    """One state change.

    Attributes:
        time: When it happened, in seconds.
        from_state: State before.
        to_state: State after.
        reason: Why (e.g. ``"failure_threshold"``, ``"reset_timeout"``, ``"half_open_failure"``,
            ``"success_threshold"``).
    """

    time: float
    from_state: BreakerState
    to_state: BreakerState
    reason: str


_CLOSED: Final = BreakerState.CLOSED
_OPEN: Final = BreakerState.OPEN
_HALF_OPEN: Final = BreakerState.HALF_OPEN


class CircuitBreaker:
    """A circuit breaker driven by explicit times (see the module docstring for the rules).

    Use: ``if breaker.allow(now):`` run the call, then ``record_success(t, duration)`` or
    ``record_failure(t)``. A rejected call must not be recorded.

    Attributes:
        config: The settings.
        consecutive_failures: Current run of counted failures (pybreaker ``fail_counter``).
        consecutive_successes: Current run of half-open successes (pybreaker
            ``success_counter``).
        total_calls: Outcomes recorded (successes plus failures).
        total_successes: Outcomes counted as successes.
        total_failures: Outcomes counted as failures (slow calls included).
        total_timeouts: Calls counted as failures because ``duration > timeout`` or with cause
            ``"timeout"``.
        total_rejected: Calls refused by :meth:`allow`.
        total_opens: Times the breaker entered ``open``.
    """

    __slots__ = (
        "_half_open_admitted",
        "_opened_at",
        "_state",
        "_transitions",
        "config",
        "consecutive_failures",
        "consecutive_successes",
        "total_calls",
        "total_failures",
        "total_opens",
        "total_rejected",
        "total_successes",
        "total_timeouts",
    )

    def __init__(self, config: BreakerConfig | None = None) -> None:
        """Create a closed breaker.

        Args:
            config: Settings; defaults to ``BreakerConfig()`` (5 / 3 / 60 s / 300 s).
        """
        self.config = config if config is not None else BreakerConfig()
        self._state = _CLOSED
        self._opened_at = 0.0
        self._half_open_admitted = 0
        self._transitions: list[BreakerTransition] = []
        self.consecutive_failures = 0
        self.consecutive_successes = 0
        self.total_calls = 0
        self.total_successes = 0
        self.total_failures = 0
        self.total_timeouts = 0
        self.total_rejected = 0
        self.total_opens = 0

    # -- reads -------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The stored state (lazy: an expired ``open`` stays ``open`` until a call)."""
        return self._state

    @property
    def opened_at(self) -> float:
        """When the breaker last entered ``open`` (0.0 if it never did)."""
        return self._opened_at

    @property
    def transitions(self) -> Sequence[BreakerTransition]:
        """Every state change so far, oldest first (read-only view)."""
        return tuple(self._transitions)

    def transitions_since(self, start: int) -> Sequence[BreakerTransition]:
        """The state changes from index ``start`` on, for draining into an event log.

        Args:
            start: Index of the first transition wanted (e.g. a previous ``transition_count``).

        Returns:
            Those transitions, oldest first.
        """
        return tuple(self._transitions[start:])

    @property
    def transition_count(self) -> int:
        """Number of state changes so far (cheaper than ``len(transitions)``)."""
        return len(self._transitions)

    def state_at(self, now: float) -> BreakerState:
        """The state as of ``now``, without changing anything.

        With ``eager_half_open`` an expired ``open`` reads as ``half_open`` (the real timer has
        fired); otherwise this equals :attr:`state` (pybreaker reports ``open`` until a call).

        Args:
            now: Current time in seconds.

        Returns:
            The state.
        """
        if self._state is _OPEN and self.config.eager_half_open and self._reset_due(now):
            return _HALF_OPEN
        return self._state

    def would_allow(self, now: float) -> bool:
        """Whether :meth:`allow` at ``now`` would admit a call, without changing anything.

        Args:
            now: Current time in seconds.

        Returns:
            True if a call would be admitted.
        """
        cfg = self.config
        if not cfg.enabled or self._state is _CLOSED:
            return True
        if self._state is _OPEN:
            if not self._reset_due(now):
                return False
            return cfg.half_open_max_calls is None or cfg.half_open_max_calls >= 1
        cap = cfg.half_open_max_calls
        return cap is None or self._half_open_admitted < cap

    # -- mutations -----------------------------------------------------------------------

    def allow(self, now: float) -> bool:
        """Ask to run one call at ``now``.

        Args:
            now: Current time in seconds.

        Returns:
            True if the call may run (its outcome must then be recorded); False if rejected
            (counted in :attr:`total_rejected`).
        """
        state = self._state
        if state is _CLOSED:  # the common case; a disabled breaker also admits everything
            return True
        cfg = self.config
        if not cfg.enabled:
            return True
        if state is _OPEN:
            if not self._reset_due(now):
                self.total_rejected += 1
                return False
            self._enter_half_open(now)
        cap = cfg.half_open_max_calls
        if cap is not None and self._half_open_admitted >= cap:
            self.total_rejected += 1
            return False
        self._half_open_admitted += 1
        return True

    def record_success(self, now: float, duration: float = 0.0) -> None:
        """Record a call that replied normally.

        Args:
            now: Time the reply arrived, in seconds.
            duration: How long the call took, in seconds. Longer than ``config.timeout``
                means it counts as a (timeout) failure instead.
        """
        if duration > self.config.timeout:
            self.record_failure(now, "timeout")
            return
        self._count_success(now)

    def record_failure(self, now: float, cause: FailureCause = "exception") -> None:
        """Record a failed call.

        Args:
            now: Time the failure was observed, in seconds.
            cause: ``"exception"`` (always a failure), ``"error"`` or ``"timeout"`` (successes
                under the as_written ``errors_count_as_successes`` switch).
        """
        if cause == "timeout":
            self.total_timeouts += 1
        if cause != "exception" and self.config.errors_count_as_successes:
            self._count_success(now)
            return
        self.total_calls += 1
        self.total_failures += 1
        self.consecutive_successes = 0
        self.consecutive_failures += 1
        cfg = self.config
        if not cfg.enabled:
            return
        state = self._advance(now)
        if state is _CLOSED:
            if self.consecutive_failures >= cfg.failure_threshold:
                self._enter_open(now, "failure_threshold")
        elif state is _HALF_OPEN:
            self._enter_open(now, "half_open_failure")

    def force_open(self, now: float, reason: str = "manual") -> None:
        """Open the breaker now with a fresh timer (the real ``open/2``, ``trigger_fallback``).

        Args:
            now: Current time in seconds.
            reason: Recorded on the transition.
        """
        self._enter_open(now, reason)

    def force_close(self, now: float, reason: str = "manual") -> None:
        """Close the breaker now (the real ``close/1``).

        Args:
            now: Current time in seconds.
            reason: Recorded on the transition.
        """
        if self._state is not _CLOSED:
            self._enter_closed(now, reason)

    # -- internals -----------------------------------------------------------------------

    def _reset_due(self, now: float) -> bool:
        return now >= self._opened_at + self.config.reset_timeout

    def _advance(self, now: float) -> BreakerState:
        # Only the eager switch moves state outside allow(); the lazy default waits for a call.
        if self._state is _OPEN and self.config.eager_half_open and self._reset_due(now):
            self._enter_half_open(now)
        return self._state

    def _count_success(self, now: float) -> None:
        self.total_calls += 1
        self.total_successes += 1
        self.consecutive_failures = 0
        cfg = self.config
        # A closed breaker stays closed on a success (_advance moves only an open one).
        if self._state is _CLOSED or not cfg.enabled:
            return
        step = 2 if cfg.double_count_successes else 1
        if self._advance(now) is _HALF_OPEN:
            self.consecutive_successes += step
            if self.consecutive_successes >= cfg.success_threshold:
                self._enter_closed(now, "success_threshold")

    def _transition(self, now: float, to: BreakerState, reason: str) -> None:
        self._transitions.append(BreakerTransition(now, self._state, to, reason))
        self._state = to

    def _enter_open(self, now: float, reason: str) -> None:
        self._transition(now, _OPEN, reason)
        self._opened_at = now
        self.consecutive_successes = 0
        self.total_opens += 1

    def _enter_half_open(self, now: float) -> None:
        # Eager mode timestamps the change at the timer's deadline, not at the observing call.
        when = self._opened_at + self.config.reset_timeout if self.config.eager_half_open else now
        self._transition(when, _HALF_OPEN, "reset_timeout")
        self.consecutive_successes = 0
        self._half_open_admitted = 0

    def _enter_closed(self, now: float, reason: str) -> None:
        self._transition(now, _CLOSED, reason)
        self.consecutive_failures = 0
        self.consecutive_successes = 0

"""The module router: V1 or V2 per request, with breakers, V1 rescue and routing stats.

Two profiles (``reference/mana-source-facts.md`` §2.1, §2.5, §10):

**intended** (the guide's router, guide L43-69, plus DESIGN's breaker and rescue path):

* V2 iff the module's version is ``"v2"`` and ``split >= draw``, where ``draw`` is uniform in
  1..100, one per request from the router's own stream (guide L45, L69: ``:rand.uniform(100)``),
  so P(V2) = split/100 and routing is not sticky. A module on ``"v1"`` makes no draw.
* The draw comes first; only a request the split sends to V2 asks the breaker
  (:meth:`CircuitBreaker.allow`). So a half-open breaker is probed by the split's share of
  traffic (open question §5 item 6 answered "the split"), probe permits are spent only on
  requests that really go to V2, and the draw sequence does not depend on breaker state
  (common random numbers across breaker settings). Breaker refuses -> V1.
* A V2 ``error`` or ``timeout`` (or an ``ok`` slower than the breaker's per-call ``timeout``,
  cut off at that timeout), or a raised exception, is recorded on the breaker and the request
  is retried on V1 (the guide's ``rescue error -> route_to_v1``, L48-53): a second execution,
  counted once in ``v2_fallbacks``. The request is never lost; its final outcome is V1's and
  its latency is the sum of both executions.

**as_written** (the real ``module_router.ex`` with its compile errors ignored):

* Breaker state first (``select_version``, L206-326): ``open`` -> V1; ``half_open`` -> V2 for
  10 % of requests (uniform 1..100 ``<= 10``) *whatever the version and split*; ``closed`` ->
  if the version is ``"v2"``: split >= 100 -> V2, <= 0 -> V1, else a sticky bucket
  (:func:`~sim.control.caller_bucket.caller_bucket` of the caller id, or a uniform draw when
  there is no caller), V2 iff ``bucket <= split``.
* Breaker transitions follow its config (the as_written preset is eager, counts successes
  twice and counts timeouts/errors as successes).
* ``apply_with_timeout`` wraps every module reply in ``{:ok, _}`` (L449-471): a V2 ``error``
  or ``timeout`` is returned to the caller as it is, with no fallback, and counts as a
  *success* in the stats; a V1 ``error`` also counts as a success, a V1 ``timeout`` as a
  failure. Only a raised exception falls back to V1 (L328-362).
* ``unknown_state_emergency_v1`` on a module's breaker config (either profile): the state
  lookup fails, so every request takes the rescue's emergency V1 path, which records no
  metrics (counted only in ``emergency_v1_requests``).

**The filter_manager / subscription_manager gap.** The guide configures both (L101-111) but
routes neither (its ``route_to_v1/2``/``route_to_v2/2`` cover only the pool and sync, §7 item
5); the real router comments them out. Here all four modules are routable; the node backs the
two extra ones with :class:`~sim.control.generic_service.GenericService`.

Times are float seconds; breaker outcomes are recorded at completion time
(``now + latency``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from sim.control.breaker import BreakerState, CircuitBreaker
from sim.control.breaker_config import (
    BreakerConfig,
    apply_breaker_env,
    default_breaker_configs,
)
from sim.control.call_outcome import CallOutcome
from sim.control.caller_bucket import CallerId, caller_bucket
from sim.control.module_types import MODULES, Version
from sim.control.percent_draws import PercentDraws
from sim.control.profile import Profile, check_profile
from sim.control.routing_stats import RoutingStats, VersionStats, build_stats

HALF_OPEN_V2_PERCENT: Final = 10
"""as_written: percent of requests sent to V2 while the breaker is half-open (module_router.ex)."""

_V1: Final[Version] = "v1"
_V2: Final[Version] = "v2"


class RouteDecision(NamedTuple):
    """Where the router sends one request.

    Attributes:
        version: ``"v1"`` or ``"v2"``.
        emergency: True if it took the as_written emergency V1 path (unrecorded in stats).
        refused: intended only: the split chose V2 but V2's breaker refused the call, so the
            request goes to V1. For V2's own metrics such a call is a failed attempt
            (pybreaker raises ``CircuitBreakerError`` to its caller).
    """

    version: Version
    emergency: bool
    refused: bool = False


# decide() returns one of these shared immutable values instead of building a tuple per request.
_TO_V1: Final = RouteDecision(_V1, False)
_TO_V2: Final = RouteDecision(_V2, False)
_EMERGENCY_V1: Final = RouteDecision(_V1, True)
_REFUSED_V1: Final = RouteDecision(_V1, False, True)
_CLOSED: Final = BreakerState.CLOSED


class RoutedResult(NamedTuple):
    """What became of one request.

    Attributes:
        module: Module type.
        routed: Version the router chose first.
        served: Version whose reply is final (``"v1"`` after a fallback).
        outcome: Final outcome; its latency is the total over both executions.
        fallback: True if a failed V2 call was rescued on V1.
        emergency: True if it took the emergency V1 path.
    """

    module: str
    routed: Version
    served: Version
    outcome: CallOutcome
    fallback: bool
    emergency: bool


class _Module:
    __slots__ = ("breaker", "emergency", "fallbacks", "split", "v1", "v2", "v2_errors", "version")

    def __init__(self, version: Version, split: int, breaker: CircuitBreaker) -> None:
        self.version = version
        self.split = split
        self.breaker = breaker
        self.v1 = VersionStats()
        self.v2 = VersionStats()
        self.fallbacks = 0
        self.v2_errors = 0
        self.emergency = 0


def _check_version(value: str, what: str = "version") -> Version:
    if value not in (_V1, _V2):
        raise ValueError(f"{what} must be 'v1' or 'v2'; got {value!r}")
    return value  # narrowed to the Literal by the membership test


def _check_split(value: int, what: str = "split") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 100:
        raise ValueError(f"{what} must be an integer in 0..100; got {value!r}")
    return int(value)


def _safe_call(call: Callable[[], CallOutcome]) -> CallOutcome | None:
    # A raised exception is a failed call, never a lost request (guide L48-53 rescue).
    try:
        return call()
    except Exception:
        return None


class ModuleRouter:
    """Routes requests per module to V1 or V2 (rules and sources in the module docstring)."""

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        profile: Profile = "intended",
        versions: Mapping[str, str] | None = None,
        splits: Mapping[str, int] | None = None,
        breaker_configs: Mapping[str, BreakerConfig] | None = None,
    ) -> None:
        """Create a router; every module starts on ``"v1"`` with split 0 unless given.

        Args:
            rng: The router's own random stream (split draws and the half-open 10 % draw).
            profile: ``"intended"`` or ``"as_written"``.
            versions: Module -> ``"v1"``/``"v2"`` (default ``"v1"``, as both the guide and
                the real router default).
            splits: Module -> integer 0..100 (default 0).
            breaker_configs: Module -> breaker config; missing modules get
                :func:`~sim.control.breaker_config.default_breaker_configs` for the profile.

        Raises:
            ValueError: On an unknown module, version or split.
        """
        self.profile: Profile = check_profile(profile)
        self.rule_changes = 0
        """How many times a version or split was set (loops that cache a rule compare it)."""
        self._draws = PercentDraws(rng)
        defaults = default_breaker_configs(profile)
        for name, given in (("versions", versions), ("splits", splits),
                            ("breaker_configs", breaker_configs)):
            for key in given or {}:
                if key not in MODULES:
                    raise ValueError(f"{name}: unknown module {key!r}; known: {', '.join(MODULES)}")
        self._modules: dict[str, _Module] = {}
        for name in MODULES:
            cfg = (breaker_configs or {}).get(name, defaults[name])
            self._modules[name] = _Module(
                _check_version((versions or {}).get(name, _V1), f"version of {name}"),
                _check_split((splits or {}).get(name, 0), f"split of {name}"),
                CircuitBreaker(cfg),
            )

    @classmethod
    def from_env(
        cls,
        rng: np.random.Generator,
        env: Mapping[str, str],
        *,
        profile: Profile = "intended",
        breaker_configs: Mapping[str, BreakerConfig] | None = None,
    ) -> ModuleRouter:
        """Build a router from the guide's environment variables (guide L93-111, L214-227).

        ``<TYPE>_VERSION`` (``v1``/``v2``, default ``v1``) and ``<TYPE>_TRAFFIC`` (integer
        0..100, default 0) per module, e.g. ``TRANSACTION_POOL_TRAFFIC``; the
        ``CIRCUIT_BREAKER_*`` overrides apply to every module's breaker.

        Args:
            rng: The router's random stream.
            env: Environment-like mapping.
            profile: ``"intended"`` or ``"as_written"``.
            breaker_configs: Base breaker configs before the env overrides.

        Returns:
            The router.

        Raises:
            ValueError: On a malformed value, naming the variable and the allowed values.
        """
        base = default_breaker_configs(profile)
        base.update(breaker_configs or {})
        versions: dict[str, str] = {}
        splits: dict[str, int] = {}
        for name in MODULES:
            var = f"{name.upper()}_VERSION"
            raw = env.get(var, "v1").strip()
            if raw not in (_V1, _V2):
                raise ValueError(f"{var} must be 'v1' or 'v2'; got {raw!r}")
            versions[name] = raw
            var = f"{name.upper()}_TRAFFIC"
            text = env.get(var, "0").strip()
            if not (text.isascii() and text.isdigit()) or int(text) > 100:
                raise ValueError(f"{var} must be an integer in 0..100; got {text!r}")
            splits[name] = int(text)
        configs = {name: apply_breaker_env(cfg, env) for name, cfg in base.items()}
        return cls(rng, profile=profile, versions=versions, splits=splits,
                   breaker_configs=configs)

    # -- configuration -----------------------------------------------------------------

    def _get(self, module: str) -> _Module:
        try:
            return self._modules[module]
        except KeyError:
            raise ValueError(f"unknown module {module!r}; known: {', '.join(MODULES)}") from None

    def set_version(self, module: str, version: str) -> None:
        """Set a module's version.

        Args:
            module: Module type.
            version: ``"v1"`` or ``"v2"``.

        Raises:
            ValueError: On an unknown module or version.
        """
        self._get(module).version = _check_version(version)
        self.rule_changes += 1

    def set_split(self, module: str, split: int) -> None:
        """Set a module's traffic split.

        Args:
            module: Module type.
            split: Integer percentage 0..100 sent to V2.

        Raises:
            ValueError: On an unknown module or a split outside 0..100.
        """
        self._get(module).split = _check_split(split)
        self.rule_changes += 1

    def version(self, module: str) -> Version:
        """A module's configured version.

        Args:
            module: Module type.

        Returns:
            ``"v1"`` or ``"v2"``.
        """
        return self._get(module).version

    def split(self, module: str) -> int:
        """A module's traffic split.

        Args:
            module: Module type.

        Returns:
            The percentage 0..100.
        """
        return self._get(module).split

    def breaker(self, module: str) -> CircuitBreaker:
        """A module's V2 circuit breaker (for its transitions and counters).

        Args:
            module: Module type.

        Returns:
            The breaker.
        """
        return self._get(module).breaker

    @property
    def draws_made(self) -> int:
        """Uniform 1..100 draws consumed from the router's stream so far."""
        return self._draws.drawn

    # -- decisions ---------------------------------------------------------------------

    def decide(self, module: str, now: float, caller: CallerId | None = None) -> RouteDecision:
        """Decide where one request goes; a V2 decision has been admitted by the breaker.

        Args:
            module: Module type.
            now: Request time in seconds.
            caller: Caller id (as_written sticky bucket; ignored by ``intended``).

        Returns:
            The decision. A ``"v2"`` decision must be followed by :meth:`record`.
        """
        st = self._modules.get(module) or self._get(module)
        breaker = st.breaker
        if breaker.config.unknown_state_emergency_v1:
            return _EMERGENCY_V1
        if self.profile == "intended":
            if st.version != _V2 or st.split < self._draws.next():
                return _TO_V1
            return _TO_V2 if breaker.allow(now) else _REFUSED_V1
        state = breaker.state_at(now)
        if state is BreakerState.OPEN:
            return _TO_V1
        if state is BreakerState.HALF_OPEN:
            to_v2 = self._draws.next() <= HALF_OPEN_V2_PERCENT
        elif st.version != _V2 or st.split <= 0:
            to_v2 = False
        elif st.split >= 100:
            to_v2 = True
        else:
            bucket = caller_bucket(caller) if caller is not None else self._draws.next()
            to_v2 = bucket <= st.split
        # A capped half-open breaker can still refuse; the request then stays on V1.
        return _TO_V2 if to_v2 and breaker.allow(now) else _TO_V1

    def route(self, module: str, now: float, caller: CallerId | None = None) -> Version:
        """Decide where one request goes (see :meth:`decide`).

        Args:
            module: Module type.
            now: Request time in seconds.
            caller: Caller id (as_written only).

        Returns:
            ``"v1"`` or ``"v2"``.
        """
        return self.decide(module, now, caller).version

    def split_mask(self, module: str, n: int) -> npt.NDArray[np.bool_]:
        """The intended split decision for ``n`` requests at once (the batched fast path).

        Consumes exactly the draws ``n`` calls of :meth:`route` would (none if the module is
        on ``"v1"``) and returns which requests the split sends to V2. It does not consult the
        breaker: the caller must call :meth:`admit` for each selected request, in time order,
        and record its outcome, exactly as :meth:`route` would have.

        Args:
            module: Module type.
            n: Number of requests.

        Returns:
            Boolean array, True where the split selects V2.

        Raises:
            ValueError: In the ``as_written`` profile (its decision is per caller).
        """
        if self.profile != "intended":
            raise ValueError("split_mask is only defined for the intended profile")
        st = self._get(module)
        if st.version != _V2:
            return np.zeros(n, dtype=np.bool_)
        return self._draws.take(n) <= st.split

    def admit(self, module: str, now: float) -> bool:
        """Ask a module's breaker to admit one V2 call (for :meth:`split_mask` users).

        Args:
            module: Module type.
            now: Request time in seconds.

        Returns:
            True if the call may go to V2.
        """
        return self._get(module).breaker.allow(now)

    # -- outcomes ----------------------------------------------------------------------

    def needs_rescue(self, module: str, version: str, outcome: CallOutcome | None) -> bool:
        """Whether a call's outcome must be retried on V1.

        Args:
            module: Module type.
            version: Version that ran the call.
            outcome: Its outcome; ``None`` means the call raised an exception.

        Returns:
            True for a V2 exception (both profiles) or, in ``intended``, a V2 error, timeout
            or call slower than the breaker's timeout.
        """
        if version != _V2:
            return False
        if outcome is None:
            return True
        if self.profile != "intended":
            return False
        return not outcome.ok or outcome.latency > self._get(module).breaker.config.timeout

    def record(
        self,
        module: str,
        version: str,
        outcome: CallOutcome | None,
        now: float,
        *,
        rescue: CallOutcome | None = None,
        emergency: bool = False,
    ) -> RoutedResult:
        """Account one routed request: breaker outcome, fallback, stats.

        Args:
            module: Module type.
            version: The decision's version.
            outcome: The call's outcome on that version; ``None`` if it raised.
            now: Request time in seconds (outcomes reach the breaker at ``now + latency``).
            rescue: The V1 rescue's outcome; required exactly when :meth:`needs_rescue`.
            emergency: The decision took the emergency V1 path.

        Returns:
            What became of the request.

        Raises:
            ValueError: If ``rescue`` is missing although needed, or given although not.
        """
        st = self._get(module)
        ver = _check_version(version)
        need = self.needs_rescue(module, ver, outcome)
        if need != (rescue is not None):
            raise ValueError(
                f"rescue outcome {'required' if need else 'not expected'} for this {ver} call"
            )
        if ver == _V1:
            final = outcome if outcome is not None else CallOutcome("error", 0.0)
            st.v1.executions += 1
            if emergency:
                st.emergency += 1
            else:
                # as_written wraps {:error, _} in {:ok, _}: only a V1 timeout is a failure.
                st.v1.add(final.ok if self.profile == "intended" else final.kind != "timeout",
                          final.latency)
            return RoutedResult(module, _V1, _V1, final, False, emergency)
        st.v2.executions += 1
        breaker = st.breaker
        if outcome is None:
            breaker.record_failure(now, "exception")
            return self._rescued(st, module, 0.0, rescue)
        if need:
            # The per-call timeout cuts a slow call off at `timeout`.
            spent = min(outcome.latency, breaker.config.timeout)
            kind = outcome.kind if outcome.kind != "ok" else "timeout"
            breaker.record_failure(now + spent, kind)
            return self._rescued(st, module, spent, rescue)
        done = now + outcome.latency
        if outcome.kind == "ok":
            breaker.record_success(done, outcome.latency)
        else:
            breaker.record_failure(done, outcome.kind)
            st.v2_errors += 1
        st.v2.add(True, outcome.latency)  # intended: an ok; as_written: every reply is {:ok, _}
        return RoutedResult(module, _V2, _V2, outcome, False, False)

    def record_v1(self, module: str, ok: bool, latency: float, emergency: bool = False) -> None:
        """Account one request that a V1 decision sent to V1 (the hot path of :meth:`record`).

        Same effect as ``record(module, "v1", CallOutcome("ok" if ok else "error", latency),
        now, emergency=emergency)`` without building the outcome and the result: the node
        calls it for every V1 reply, the bulk of all traffic.

        Args:
            module: Module type.
            ok: Whether V1 replied normally (False: an ``error`` reply).
            latency: Its latency in seconds.
            emergency: The decision took the emergency V1 path.
        """
        st = self._modules.get(module) or self._get(module)
        v1 = st.v1
        v1.executions += 1
        if emergency:
            st.emergency += 1
        else:
            # as_written wraps {:error, _} in {:ok, _}: an error reply is still a success there.
            v1.add(ok or self.profile != "intended", latency)

    def record_v2_ok(self, module: str, latency: float, now: float) -> None:
        """Account one V2 call that replied ``ok`` within the breaker's timeout (hot path).

        Same effect as ``record(module, "v2", CallOutcome("ok", latency), now)`` when
        ``latency <= timeout``: then :meth:`needs_rescue` is False in both profiles, so
        :meth:`record` counts an execution, records a success on the breaker at
        ``now + latency`` and adds an ok to the V2 stats, in that order (:func:`count_v2_ok`).
        The node's V2 instances call :func:`count_v2_ok` on :meth:`v2_ok_targets` directly
        for replies they deliver at once.

        Args:
            module: Module type.
            latency: Its latency in seconds (at most the breaker's ``timeout``).
            now: Request time in seconds.
        """
        st = self._modules.get(module) or self._get(module)
        count_v2_ok(st.v2, st.breaker, latency, now)

    def v2_ok_targets(self, module: str) -> tuple[VersionStats, CircuitBreaker]:
        """A module's V2 routing counters and breaker, for :func:`count_v2_ok` (hot path).

        :meth:`record_v2_ok` is :func:`count_v2_ok` on these objects, which live as long as
        the router, so a caller may keep them.

        Args:
            module: Module type.

        Returns:
            The live V2 counters and the module's breaker.
        """
        st = self._get(module)
        return st.v2, st.breaker

    def record_v1_many(self, module: str, oks: list[bool], latencies: list[float],
                       emergency: bool = False) -> None:
        """:meth:`record_v1` for many requests in order (same counters, same float sums).

        Args:
            module: Module type.
            oks: Per request, whether V1 replied normally.
            latencies: Their latencies in seconds.
            emergency: The decisions took the emergency V1 path.
        """
        st = self._modules.get(module) or self._get(module)
        v1 = st.v1
        v1.executions += len(latencies)
        if emergency:
            st.emergency += len(latencies)
            return
        v1.requests += len(latencies)
        v1.successes += len(oks) if self.profile != "intended" else oks.count(True)
        total = v1.total_latency
        for latency in latencies:
            total += latency
        v1.total_latency = total

    def fixed_v1(self, module: str) -> RouteDecision | None:
        """The decision every request of ``module`` gets with no draw and no breaker call.

        For the batched path of V1-only traffic: the emergency V1 path when the breaker
        config has ``unknown_state_emergency_v1`` (either profile), or V1 in the ``intended``
        profile while the module's version is ``"v1"``; else None (``as_written`` can send a
        V1 module's requests to a half-open V2).

        Args:
            module: Module type.

        Returns:
            The fixed decision, or None when decisions depend on draws or breaker state.
        """
        st = self._modules.get(module) or self._get(module)
        if st.breaker.config.unknown_state_emergency_v1:
            return _EMERGENCY_V1
        if self.profile == "intended" and st.version != _V2:
            return _TO_V1
        return None

    def split_rule(self, module: str) -> tuple[bool, int] | None:
        """How :meth:`decide` picks the version, when it is one draw against the split.

        For a node's per-stretch loop: in the ``intended`` profile without the emergency path,
        :meth:`decide` sends a request to V1 with no draw while the module's version is
        ``"v1"``, and otherwise makes one draw (:meth:`next_draw`) and sends it to V1 iff
        ``split < draw``, else asks the breaker (:meth:`admit`). The rule holds until the
        version, split, profile or breaker config changes (only the rollout does that).

        Args:
            module: Module type.

        Returns:
            ``(draws, split)``, or None when :meth:`decide` must be called instead.
        """
        st = self._modules.get(module) or self._get(module)
        if self.profile != "intended" or st.breaker.config.unknown_state_emergency_v1:
            return None
        return st.version == _V2, st.split

    def v1_counters(self, module: str) -> VersionStats:
        """A module's V1 routing counters, for a loop that inlines :meth:`record_v1`.

        In the ``intended`` profile, ``record_v1(module, ok, latency)`` (not emergency) is
        exactly ``executions += 1`` then :meth:`VersionStats.add` ``(ok, latency)`` on them.

        Args:
            module: Module type.

        Returns:
            The live counters (mutating them is recording).
        """
        return self._get(module).v1

    @property
    def next_draw(self) -> Callable[[], int]:
        """The shared draw stream's next value, as :meth:`decide` takes it (see split_rule)."""
        return self._draws.next

    def _rescued(
        self, st: _Module, module: str, spent: float, rescue: CallOutcome | None
    ) -> RoutedResult:
        assert rescue is not None  # checked by record()
        st.v2_errors += 1
        st.fallbacks += 1
        st.v1.executions += 1
        final = CallOutcome(rescue.kind, spent + rescue.latency)
        success = final.ok if self.profile == "intended" else final.kind != "timeout"
        st.v2.add(success, final.latency)  # the real router records a fallen-back request as v2
        return RoutedResult(module, _V2, _V1, final, True, False)

    def request(
        self,
        module: str,
        now: float,
        call_v1: Callable[[], CallOutcome],
        call_v2: Callable[[], CallOutcome],
        caller: CallerId | None = None,
    ) -> RoutedResult:
        """Route and run one request synchronously: the full path the node uses.

        The chosen version's callable runs; a failed V2 call (see :meth:`needs_rescue`) is
        rescued by running ``call_v1``. A callable that raises counts as a failed call.

        Args:
            module: Module type.
            now: Request time in seconds.
            call_v1: Runs the request on V1 and returns its outcome.
            call_v2: Runs the request on V2 and returns its outcome.
            caller: Caller id (as_written sticky bucket).

        Returns:
            What became of the request.
        """
        decision = self.decide(module, now, caller)
        if decision.version == _V1:
            return self.record(module, _V1, _safe_call(call_v1), now,
                               emergency=decision.emergency)
        first = _safe_call(call_v2)
        rescue = None
        if self.needs_rescue(module, _V2, first):
            rescue = _safe_call(call_v1) or CallOutcome("error", 0.0)
        return self.record(module, _V2, first, now, rescue=rescue)

    # -- stats -------------------------------------------------------------------------

    def module_stats(self, module: str, now: float | None = None) -> RoutingStats:
        """Routing stats of one module.

        Args:
            module: Module type.
            now: If given, breaker states are read as of ``now`` (see ``state_at``).

        Returns:
            The stats with the real router's keys.
        """
        st = self._get(module)
        return build_stats(st.v1, st.v2, fallbacks=st.fallbacks, v2_errors=st.v2_errors,
                           emergency=st.emergency,
                           breaker_states={module: self._state_value(st, now)})

    def routing_stats(self, now: float | None = None) -> RoutingStats:
        """Routing stats over all modules, like the real ``get_routing_stats/0``.

        Args:
            now: If given, breaker states are read as of ``now``.

        Returns:
            The stats; ``circuit_breaker_states`` maps each module to its breaker state.
        """
        v1, v2 = VersionStats(), VersionStats()
        fallbacks = errors = emergency = 0
        states: dict[str, str] = {}
        for name, st in self._modules.items():
            for total, part in ((v1, st.v1), (v2, st.v2)):
                total.requests += part.requests
                total.successes += part.successes
                total.total_latency += part.total_latency
                total.executions += part.executions
            fallbacks += st.fallbacks
            errors += st.v2_errors
            emergency += st.emergency
            states[name] = self._state_value(st, now)
        return build_stats(v1, v2, fallbacks=fallbacks, v2_errors=errors, emergency=emergency,
                           breaker_states=states)

    @staticmethod
    def _state_value(st: _Module, now: float | None) -> str:
        state = st.breaker.state if now is None else st.breaker.state_at(now)
        return state.value


def count_v2_ok(v2: VersionStats, breaker: CircuitBreaker, latency: float, now: float) -> None:
    """Count one V2 call that replied ``ok`` within the breaker's timeout.

    The body of :meth:`ModuleRouter.record_v2_ok` on its targets
    (:meth:`ModuleRouter.v2_ok_targets`): ``executions += 1``, the breaker's success at
    ``now + latency``, then ``requests`` and ``successes`` + 1 and ``total_latency +=
    latency``, in that order.

    Args:
        v2: The module's V2 routing counters.
        breaker: The module's breaker.
        latency: The call's latency in seconds (at most the breaker's ``timeout``).
        now: Request time in seconds.
    """
    v2.executions += 1
    if breaker._state is _CLOSED:
        # CircuitBreaker.record_success with duration <= timeout is _count_success, which on
        # a closed breaker only counts (a success never moves a closed breaker), so the
        # common case skips its two calls (tests/test_v2_fast_checks.py pins it).
        breaker.total_calls += 1
        breaker.total_successes += 1
        breaker.consecutive_failures = 0
    else:
        breaker.record_success(now + latency, latency)
    v2.requests += 1
    v2.successes += 1
    v2.total_latency += latency

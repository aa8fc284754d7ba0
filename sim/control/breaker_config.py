"""Circuit-breaker settings: the guide's per-module values, the real router's, env overrides.

Sources (``reference/mana-source-facts.md`` §2.1, §2.2, §2.5, §7 item 8):

* The guide's ``config :mana, :circuit_breakers`` (guide L115-127): ``transaction_pool_v2``
  10 / 3 / 60_000 ms / 300_000 ms and ``sync_service_v2`` 5 / 2 / 120_000 ms / 600_000 ms
  (``failure_threshold / success_threshold / timeout / reset_timeout``). It configures no
  breaker for ``filter_manager`` or ``subscription_manager``; mana-sim gives those the real
  router's values.
* The real router ignores that config and hard-codes 5 / 3 / 60_000 / 300_000
  (``Hydepwns/mana apps/mana/lib/mana/module_router.ex`` L43-48).
* The canary environment (guide L224-226): ``CIRCUIT_BREAKER_ENABLED="true"``,
  ``CIRCUIT_BREAKER_FAILURE_THRESHOLD="3"``, ``CIRCUIT_BREAKER_TIMEOUT="30000"`` (ms). The real
  code reads none of them; mana-sim applies them with :func:`apply_breaker_env`.

Times are float seconds here; the guide's millisecond values are converted once, in this
module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from sim.control.module_types import MODULES
from sim.control.profile import Profile, check_profile

ENV_ENABLED: Final = "CIRCUIT_BREAKER_ENABLED"
"""Environment variable switching every breaker on or off (``true``/``false``)."""
ENV_FAILURE_THRESHOLD: Final = "CIRCUIT_BREAKER_FAILURE_THRESHOLD"
"""Environment variable overriding ``failure_threshold`` (integer >= 1)."""
ENV_TIMEOUT: Final = "CIRCUIT_BREAKER_TIMEOUT"
"""Environment variable overriding the per-call ``timeout``, in **milliseconds** (integer >= 1)."""


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Settings of one circuit breaker.

    Intended semantics (pybreaker 1.4.1 with a per-call timeout; see
    :class:`~sim.control.breaker.CircuitBreaker` for the rules and their sources):

    Attributes:
        failure_threshold: Consecutive counted failures in ``closed`` that open the breaker,
            compared with ``>=`` (the N-th failure trips: pybreaker ``fail_max``, Mana
            ``circuit_breaker.ex`` L368-394).
        success_threshold: Consecutive successes in ``half_open`` that close it (``>=``).
        timeout: Per-call timeout in seconds: a call that took longer counts as a failure
            (Hystrix ``execution.isolation.thread.timeoutInMilliseconds``). The guide gives it
            in ms (``timeout: 60_000``).
        reset_timeout: Seconds spent ``open`` before a call is let through as a probe
            (guide ``reset_timeout``, ms in the guide).
        half_open_max_calls: Probe cap: at most this many calls are admitted per half-open
            episode (resilience4j ``permittedNumberOfCallsInHalfOpenState``). ``None`` (the
            default) admits every call, as pybreaker and the Mana breaker do. When set it must
            be at least ``success_threshold``, or the breaker could never close.
        enabled: ``False`` makes the breaker admit everything and never change state
            (``CIRCUIT_BREAKER_ENABLED=false``); outcomes are still counted.
        double_count_successes: as_written switch. Each success counts twice, because the
            real breaker runs ``handle_success`` inside ``call`` and again on the router's
            ``record_success`` cast (``module_router.ex`` L328-362, ``circuit_breaker.ex``
            L296-366): half-open closes after ``ceil(success_threshold / 2)`` calls.
        errors_count_as_successes: as_written switch. Timeouts and ``{:error, _}`` replies
            count as successes, because ``apply_with_timeout`` wraps them in ``{:ok, _}``
            before the breaker sees them (``module_router.ex`` L449-471). Only raised
            exceptions (cause ``"exception"``) remain failures.
        unknown_state_emergency_v1: as_written switch. The breaker's registry is started only
            in its own ``init`` (``circuit_breaker.ex`` L491-497), so the router's state lookup
            fails (``:unknown`` or a raise) and ``route_request`` rescues into the emergency
            V1 path, which records no metrics: every request goes to V1 and V2 is never
            reached (mana-source-facts.md §1 item 3).
        eager_half_open: as_written switch. Open -> half-open happens at exactly
            ``opened_at + reset_timeout`` (the real ``:check_reset`` timer, ``circuit_breaker.ex``
            L270-285), visible to state reads without any call; the default is pybreaker's
            lazy transition on the first call at or after that instant.
    """

    failure_threshold: int = 5
    success_threshold: int = 3
    timeout: float = 60.0
    reset_timeout: float = 300.0
    half_open_max_calls: int | None = None
    enabled: bool = True
    double_count_successes: bool = False
    errors_count_as_successes: bool = False
    unknown_state_emergency_v1: bool = False
    eager_half_open: bool = False

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1; got {self.failure_threshold}")
        if self.success_threshold < 1:
            raise ValueError(f"success_threshold must be >= 1; got {self.success_threshold}")
        if not self.timeout > 0:  # math.inf allowed: no per-call timeout
            raise ValueError(f"timeout must be > 0 seconds; got {self.timeout}")
        if not (self.reset_timeout >= 0 and math.isfinite(self.reset_timeout)):
            raise ValueError(f"reset_timeout must be finite and >= 0 s; got {self.reset_timeout}")
        cap = self.half_open_max_calls
        if cap is not None and cap < self.success_threshold:
            raise ValueError(
                f"half_open_max_calls must be None or >= success_threshold "
                f"({self.success_threshold}); got {cap}"
            )

    @classmethod
    def from_guide_ms(
        cls,
        failure_threshold: int,
        success_threshold: int,
        timeout_ms: int,
        reset_timeout_ms: int,
    ) -> BreakerConfig:
        """Build a config from the guide's keys and units (milliseconds).

        Args:
            failure_threshold: Guide ``failure_threshold``.
            success_threshold: Guide ``success_threshold``.
            timeout_ms: Guide ``timeout``, in ms.
            reset_timeout_ms: Guide ``reset_timeout``, in ms.

        Returns:
            The config with times in seconds.
        """
        return cls(
            failure_threshold=failure_threshold,
            success_threshold=success_threshold,
            timeout=timeout_ms / 1000.0,
            reset_timeout=reset_timeout_ms / 1000.0,
        )


GUIDE_BREAKER_CONFIGS: Final[Mapping[str, BreakerConfig]] = MappingProxyType(
    {
        "transaction_pool_v2": BreakerConfig.from_guide_ms(10, 3, 60_000, 300_000),
        "sync_service_v2": BreakerConfig.from_guide_ms(5, 2, 120_000, 600_000),
    }
)
"""The guide's ``config :mana, :circuit_breakers`` (guide L115-127), keyed by its names."""

ROUTER_DEFAULT_BREAKER: Final = BreakerConfig.from_guide_ms(5, 3, 60_000, 300_000)
"""The real router's hard-coded breaker config (``module_router.ex`` L43-48)."""

AS_WRITTEN_BREAKER: Final = replace(
    ROUTER_DEFAULT_BREAKER,
    double_count_successes=True,
    errors_count_as_successes=True,
    eager_half_open=True,
)
"""The real router's breaker with the real code's counting quirks.

``unknown_state_emergency_v1`` is left off: with it on, V2 is never reached at all, which
hides every other as_written difference. Turn it on explicitly to see that effect.
"""


def default_breaker_configs(profile: Profile) -> dict[str, BreakerConfig]:
    """Breaker config per routable module for a profile.

    ``intended``: the guide's per-module values for ``transaction_pool`` and ``sync_service``;
    the real router's 5/3/60 s/300 s for ``filter_manager`` and ``subscription_manager``, which
    the guide leaves without a breaker config. ``as_written``: :data:`AS_WRITTEN_BREAKER` for
    all four (the real router ignores the guide's config, mana-source-facts.md §7 item 8).

    Args:
        profile: ``"intended"`` or ``"as_written"``.

    Returns:
        A new dict module name -> config.
    """
    check_profile(profile)
    if profile == "as_written":
        return dict.fromkeys(MODULES, AS_WRITTEN_BREAKER)
    return {
        "transaction_pool": GUIDE_BREAKER_CONFIGS["transaction_pool_v2"],
        "sync_service": GUIDE_BREAKER_CONFIGS["sync_service_v2"],
        "filter_manager": ROUTER_DEFAULT_BREAKER,
        "subscription_manager": ROUTER_DEFAULT_BREAKER,
    }


def _parse_positive_int(env: Mapping[str, str], name: str, meaning: str) -> int | None:
    raw = env.get(name)
    if raw is None:
        return None
    text = raw.strip()
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
        ok = False
    else:
        ok = value >= 1
    if not ok:
        raise ValueError(f"{name} must be a positive integer ({meaning}); got {raw!r}")
    return value


def apply_breaker_env(config: BreakerConfig, env: Mapping[str, str]) -> BreakerConfig:
    """Apply the guide's ``CIRCUIT_BREAKER_*`` environment overrides to one config.

    The variables are global (guide L224-226), so the caller applies them to every module's
    breaker. Unset variables leave the field unchanged.

    * ``CIRCUIT_BREAKER_ENABLED``: ``true`` or ``false`` (case-insensitive) -> ``enabled``.
    * ``CIRCUIT_BREAKER_FAILURE_THRESHOLD``: integer >= 1 -> ``failure_threshold``.
    * ``CIRCUIT_BREAKER_TIMEOUT``: integer >= 1, in **ms** -> ``timeout`` (seconds). It maps to
      the per-call ``timeout`` key of the same name in the guide's breaker config, not to
      ``reset_timeout``: the canary value 30000 halves the 60_000 ms default.

    Args:
        config: The config to start from.
        env: Environment-like mapping (e.g. ``os.environ`` or a scenario's env block).

    Returns:
        A new config with the overrides applied.

    Raises:
        ValueError: On a malformed value; the message names the variable and what it allows.
    """
    changes: dict[str, object] = {}
    raw_enabled = env.get(ENV_ENABLED)
    if raw_enabled is not None:
        flag = raw_enabled.strip().lower()
        if flag not in ("true", "false"):
            raise ValueError(f"{ENV_ENABLED} must be 'true' or 'false'; got {raw_enabled!r}")
        changes["enabled"] = flag == "true"
    threshold = _parse_positive_int(env, ENV_FAILURE_THRESHOLD, "consecutive failures")
    if threshold is not None:
        changes["failure_threshold"] = threshold
    timeout_ms = _parse_positive_int(env, ENV_TIMEOUT, "per-call timeout in milliseconds")
    if timeout_ms is not None:
        changes["timeout"] = timeout_ms / 1000.0
    if not changes:
        return config
    return replace(config, **changes)  # type: ignore[arg-type]

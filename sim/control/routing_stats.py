"""Routing statistics with the real router's keys.

``get_routing_stats/0`` (``Hydepwns/mana apps/mana/lib/mana/module_router.ex`` L125-138,
``reference/mana-source-facts.md`` §2.1) returns ``total_requests``, ``v1_requests``,
``v2_requests``, ``v2_fallbacks``, ``success_rate_v1/_v2`` (percent), ``avg_latency_v1/_v2``
(ms) and ``circuit_breaker_states``. mana-sim adds counters the real code lacks, under names
that cannot clash: executions per version (a V1 rescue is a second execution), V2 errors seen,
and requests that took the emergency V1 path (which the real router does not record).

A request that fell back is counted once, as a V2 request (the real router records it as
``:v2``), with the final outcome's success and the total latency of both executions. A rate or
average over zero requests is reported as 0.0.
"""

from __future__ import annotations

from typing import TypedDict


class VersionStats:
    """Counters for one module version.

    Attributes:
        requests: Requests accounted to this version.
        successes: Of those, how many counted as successful.
        total_latency: Sum of their latencies, in seconds.
        executions: Calls actually executed on this version (rescues included).
    """

    __slots__ = ("executions", "requests", "successes", "total_latency")

    def __init__(self) -> None:
        self.requests = 0
        self.successes = 0
        self.total_latency = 0.0
        self.executions = 0

    def add(self, success: bool, latency: float) -> None:
        """Account one request.

        Args:
            success: Whether it counts as successful.
            latency: Its latency in seconds.
        """
        self.requests += 1
        self.successes += success
        self.total_latency += latency

    @property
    def success_rate_percent(self) -> float:
        """Successful share in percent (0.0 with no requests)."""
        return 100.0 * self.successes / self.requests if self.requests else 0.0

    @property
    def avg_latency_ms(self) -> float:
        """Mean latency in milliseconds (0.0 with no requests)."""
        return 1000.0 * self.total_latency / self.requests if self.requests else 0.0


class RoutingStats(TypedDict):
    """The real router's ``get_routing_stats`` keys plus mana-sim's extra counters."""

    total_requests: int
    v1_requests: int
    v2_requests: int
    v2_fallbacks: int
    success_rate_v1: float
    success_rate_v2: float
    avg_latency_v1: float
    avg_latency_v2: float
    circuit_breaker_states: dict[str, str]
    v1_executions: int
    v2_executions: int
    v2_errors: int
    emergency_v1_requests: int


def build_stats(
    v1: VersionStats,
    v2: VersionStats,
    *,
    fallbacks: int,
    v2_errors: int,
    emergency: int,
    breaker_states: dict[str, str],
) -> RoutingStats:
    """Assemble a :class:`RoutingStats` from per-version counters.

    Args:
        v1: V1 counters.
        v2: V2 counters.
        fallbacks: V2 requests rescued on V1.
        v2_errors: V2 executions that failed (error, timeout or too slow).
        emergency: Requests sent down the emergency V1 path (not in the other counters).
        breaker_states: Module name -> breaker state value.

    Returns:
        The stats mapping.
    """
    return RoutingStats(
        total_requests=v1.requests + v2.requests,
        v1_requests=v1.requests,
        v2_requests=v2.requests,
        v2_fallbacks=fallbacks,
        success_rate_v1=v1.success_rate_percent,
        success_rate_v2=v2.success_rate_percent,
        avg_latency_v1=v1.avg_latency_ms,
        avg_latency_v2=v2.avg_latency_ms,
        circuit_breaker_states=breaker_states,
        v1_executions=v1.executions,
        v2_executions=v2.executions,
        v2_errors=v2_errors,
        emergency_v1_requests=emergency,
    )

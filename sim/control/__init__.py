"""The control plane: circuit breakers, module router, rate limiters, input validation.

Pure logic with time passed in (float seconds); no SimPy. Randomness comes only from the
``numpy.random.Generator`` given to :class:`ModuleRouter` (and to
:class:`GenericService` calls).
"""

from sim.control.breaker import BreakerState, BreakerTransition, CircuitBreaker, FailureCause
from sim.control.breaker_config import (
    AS_WRITTEN_BREAKER,
    GUIDE_BREAKER_CONFIGS,
    ROUTER_DEFAULT_BREAKER,
    BreakerConfig,
    apply_breaker_env,
    default_breaker_configs,
)
from sim.control.call_outcome import CallOutcome, OutcomeKind
from sim.control.caller_bucket import caller_bucket
from sim.control.generic_service import GenericService
from sim.control.module_types import MODULES, Version
from sim.control.profile import PROFILES, Profile
from sim.control.rate_limiter import PeerRateLimiter
from sim.control.router import ModuleRouter, RouteDecision, RoutedResult
from sim.control.routing_stats import RoutingStats
from sim.control.token_bucket import TokenBucketLimiter
from sim.control.validation import (
    VALIDATION_REASONS,
    InputLimits,
    validate_transaction_input,
)

__all__ = [
    "AS_WRITTEN_BREAKER",
    "GUIDE_BREAKER_CONFIGS",
    "MODULES",
    "PROFILES",
    "ROUTER_DEFAULT_BREAKER",
    "VALIDATION_REASONS",
    "BreakerConfig",
    "BreakerState",
    "BreakerTransition",
    "CallOutcome",
    "CircuitBreaker",
    "FailureCause",
    "GenericService",
    "InputLimits",
    "ModuleRouter",
    "OutcomeKind",
    "PeerRateLimiter",
    "Profile",
    "RouteDecision",
    "RoutedResult",
    "RoutingStats",
    "TokenBucketLimiter",
    "Version",
    "apply_breaker_env",
    "caller_bucket",
    "default_breaker_configs",
    "validate_transaction_input",
]

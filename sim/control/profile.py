"""The two simulation profiles of the control plane.

``intended`` simulates what the V2 guide means; ``as_written`` simulates what the Elixir code
would do (``reference/mana-source-facts.md`` §7-§10). Each behavioural difference is one named
switch, documented where it lives: breaker switches on
:class:`~sim.control.breaker_config.BreakerConfig`, routing differences in
:class:`~sim.control.router.ModuleRouter`, the token-bucket refill on
:class:`~sim.control.token_bucket.TokenBucketLimiter`.
"""

from __future__ import annotations

from typing import Final, Literal

Profile = Literal["intended", "as_written"]
"""A control-plane profile name."""

PROFILES: Final[tuple[Profile, ...]] = ("intended", "as_written")
"""All profile names, default first."""


def check_profile(value: str) -> Profile:
    """Validate a profile name.

    Args:
        value: The name to check.

    Returns:
        The same name, typed as :data:`Profile`.

    Raises:
        ValueError: If ``value`` is not one of :data:`PROFILES`.
    """
    if value not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {value!r}")
    return value  # narrowed to the Literal by the membership test

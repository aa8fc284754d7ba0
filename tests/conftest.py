"""Shared test configuration: hypothesis profiles."""

import os

from hypothesis import HealthCheck, settings

# Deterministic by default so CI never flakes; `HYPOTHESIS_PROFILE=explore` searches more.
settings.register_profile(
    "default",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=5_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

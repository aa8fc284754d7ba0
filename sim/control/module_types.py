"""The routable module types and their versions.

The guide's runtime config names four module types (guide L97-111: ``module_versions`` and
``traffic_splits`` for ``transaction_pool``, ``sync_service``, ``filter_manager``,
``subscription_manager``), each at version ``"v1"`` or ``"v2"`` (default ``"v1"``).
"""

from __future__ import annotations

from typing import Final, Literal

Version = Literal["v1", "v2"]
"""A module version."""

MODULES: Final[tuple[str, ...]] = (
    "transaction_pool",
    "sync_service",
    "filter_manager",
    "subscription_manager",
)
"""The four module types of the guide's runtime config, in the guide's order."""

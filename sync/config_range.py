"""Range checks of the sync configs: one ValueError naming the field, the rule and the value.

The scenario layer validates these dataclasses in place and turns a ``ValueError`` whose
message starts with a field name into ``FILE: sync.v2.FIELD: ...`` (``sim/config_error.py``),
so every message here starts with the field's name.
"""

from __future__ import annotations

import math


def require(ok: bool, field: str, rule: str, value: object) -> None:
    """Raise unless ``ok``.

    Args:
        ok: Whether the value is allowed.
        field: The config field's name (first word of the message).
        rule: What is allowed, e.g. ``"> 0"`` or ``"an integer >= 1"``.
        value: The value given, shown in the message.

    Raises:
        ValueError: ``"FIELD must be RULE; got VALUE"``.
    """
    if not ok:
        raise ValueError(f"{field} must be {rule}; got {value!r}")


def positive(field: str, value: float) -> None:
    """Require a finite number > 0 (a time or size where 0 would hang or mean nothing).

    Raises:
        ValueError: Naming the field.
    """
    require(math.isfinite(value) and value > 0, field, "a finite number > 0", value)


def non_negative(field: str, value: float) -> None:
    """Require a finite number >= 0.

    Raises:
        ValueError: Naming the field.
    """
    require(math.isfinite(value) and value >= 0, field, "a finite number >= 0", value)


def at_least(field: str, value: int, low: int) -> None:
    """Require a count >= ``low``.

    Raises:
        ValueError: Naming the field.
    """
    require(value >= low, field, f">= {low}", value)


def fraction(field: str, value: float) -> None:
    """Require a weight in (0, 1] (an EMA weight of 0 would never move).

    Raises:
        ValueError: Naming the field.
    """
    require(0.0 < value <= 1.0, field, "in (0, 1]", value)

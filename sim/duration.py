"""Durations as the guide writes them: ``"30s"``, ``"2m"``, ``"1h"``, ``"15d"``, or seconds.

:data:`Seconds` and :data:`PositiveSeconds` are the pydantic field types of every time in a
scenario (the scenario sections and the workload's rate profiles), so one parser serves all.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
# A plain or exponent float ("90", "1.5", "1e3", "1e-3") with an optional unit.
_DURATION: Final = re.compile(
    r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(text: str | float) -> float:
    """A duration in seconds: ``"30s"``, ``"2m"``, ``"1h"``, ``"500ms"``, or seconds (``"1e3"``).

    Args:
        text: The duration as written.

    Returns:
        Seconds.

    Raises:
        ValueError: Not a non-negative duration.
    """
    if isinstance(text, bool):
        raise ValueError(f"duration {text!r}: use e.g. 30s, 2m, 1h or seconds")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if match is None:
            raise ValueError(f"duration {text!r}: use e.g. 30s, 2m, 1h or seconds")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not seconds >= 0.0 or math.isinf(seconds):
        raise ValueError(f"duration {text!r}: must be a finite number >= 0")
    return seconds


def _duration_field(value: Any) -> Any:
    """Strings like ``"2m"`` become seconds; anything else is left for pydantic to check."""
    return parse_duration(value) if isinstance(value, str) else value


# allow_inf_nan=False: YAML's ``.inf`` would otherwise pass ``ge``/``gt`` and a run would
# never end (or die in ``round(inf)``).
Seconds = Annotated[float, BeforeValidator(_duration_field), Field(ge=0.0, allow_inf_nan=False)]
"""A finite non-negative duration in seconds (number or ``"2m"``-style string)."""
PositiveSeconds = Annotated[float, BeforeValidator(_duration_field),
                            Field(gt=0.0, allow_inf_nan=False)]
"""A finite positive duration in seconds."""

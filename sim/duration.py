"""Durations as the guide writes them: ``"30s"``, ``"2m"``, ``"1h"``, ``"15d"``, or seconds."""

from __future__ import annotations

import math
import re
from typing import Final

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
_DURATION: Final = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(text: str | float) -> float:
    """A duration in seconds: ``"30s"``, ``"2m"``, ``"1h"``, ``"500ms"``, or seconds.

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

"""The run's event log: fallbacks, breaker transitions, alerts, stage changes, faults.

Each event is a flat record ``{"time": seconds, "kind": ..., **fields}``. High-volume kinds
(fallbacks and rate-limit refusals under a flood can reach millions in a long run) are capped
per kind at ``max_per_kind`` stored records, while :attr:`EventLog.counts` keeps the exact
number of every kind, so memory stays bounded and the totals stay honest.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


class EventLog:
    """An append-only, per-kind capped list of events.

    Args:
        max_per_kind: Most records kept per kind; further ones are only counted.
    """

    def __init__(self, max_per_kind: int = 10_000) -> None:
        self.max_per_kind = max_per_kind
        self.records: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    def emit(self, time: float, kind: str, **fields: Any) -> None:
        """Record one event.

        Args:
            time: Simulated time, seconds.
            kind: Event kind, e.g. ``"breaker_transition"``.
            **fields: JSON-serialisable details.
        """
        self.counts[kind] += 1
        if self.counts[kind] <= self.max_per_kind:
            self.records.append({"time": round(time, 6), "kind": kind, **fields})

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """The stored events of one kind, in time order of emission."""
        return [r for r in self.records if r["kind"] == kind]

    @property
    def truncated(self) -> dict[str, int]:
        """Per kind, how many events were counted but not stored."""
        return {k: n - self.max_per_kind for k, n in sorted(self.counts.items())
                if n > self.max_per_kind}

    def write_jsonl(self, path: Path) -> None:
        """Write the stored events, one JSON object per line, sorted by time (stable).

        Args:
            path: Output file.
        """
        ordered = sorted(self.records, key=lambda r: r["time"])
        with path.open("w", encoding="utf-8") as fh:
            for record in ordered:
                fh.write(json.dumps(record, sort_keys=True) + "\n")

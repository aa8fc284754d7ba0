"""What a run returns and writes: summary, time series, events, ledger.

``Result.write(out_dir)`` leaves ``summary.json`` (sorted keys, floats rounded to 9 significant
digits, NaN as ``null``: byte-identical for the same seed and scenario), ``timeseries.csv``
(one row per metrics sample) and ``events.jsonl``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def clean_json(value: Any) -> Any:
    """Make a value JSON-safe and stable: NaN/inf → None, floats to 9 significant digits.

    Args:
        value: Nested dicts, lists, tuples, numbers, strings, numpy scalars.

    Returns:
        The cleaned value.
    """
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.9g}")
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


@dataclass
class Result:
    """The outcome of one run.

    Attributes:
        summary: The guide's metrics per module and version, the ledger, verdicts.
        timeseries: Column name to float64 array; ``time`` (seconds) first.
        events: The stored event records (see :class:`~sim.events.EventLog`).
        ledger: The transaction ledger (counts by final state and rejection reason).
    """

    summary: dict[str, Any]
    timeseries: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[str, Any] = field(default_factory=dict)

    def summary_json(self) -> str:
        """The summary as stable, indented JSON text."""
        return json.dumps(clean_json(self.summary), sort_keys=True, indent=2) + "\n"

    def to_pandas(self) -> Any:
        """The time series as a ``pandas.DataFrame`` (needs pandas installed).

        Raises:
            ImportError: If pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # optional
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas() needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.timeseries)

    def write(self, out_dir: Path) -> list[Path]:
        """Write ``summary.json``, ``timeseries.csv`` and ``events.jsonl`` into ``out_dir``.

        Args:
            out_dir: Output folder (created if missing).

        Returns:
            The written files.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        summary = out_dir / "summary.json"
        summary.write_text(self.summary_json(), encoding="utf-8")
        series = out_dir / "timeseries.csv"
        names = list(self.timeseries)
        with series.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            if names:
                columns = [self.timeseries[n] for n in names]
                for row in zip(*columns, strict=True):
                    writer.writerow(["" if math.isnan(v) else f"{v:.9g}" for v in row])
        events = out_dir / "events.jsonl"
        with events.open("w", encoding="utf-8") as fh:
            for record in sorted(self.events, key=lambda r: r["time"]):
                fh.write(json.dumps(clean_json(record), sort_keys=True) + "\n")
        return [summary, series, events]

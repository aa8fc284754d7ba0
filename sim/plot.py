"""A picture of a run: ``mana-sim plot RUN_DIR`` (the ``[plot]`` extra, matplotlib).

Reads what ``mana-sim run --out RUN_DIR`` wrote (``timeseries.csv`` and ``events.jsonl``) and
draws one PNG of the rollout, four panels over simulated time:

1. the V2 traffic split of every module whose split ever leaves 0 % (the rollout itself);
2. transaction-pool throughput, V1 and V2 (transactions a second, per metrics sample);
3. transaction-pool p95 request latency, V1 and V2 (ms);
4. error rates of the transaction pool and of sync request serving, V1 and V2 (%).

The run's events are drawn across every panel: stage changes (controller or AutoRollback
actions; thin grey lines), schedule steps (the guide's day-by-day schedule or a user's; thin
cyan, dash-dot), V1 deprecation (brown), rollbacks (red), alerts firing (orange, dotted),
breakers opening (black, dashed) and faults (a shaded span from start to end). The picture
is made from the files alone, so it can be drawn again for any earlier output folder without
running the scenario again.

matplotlib is imported only when a picture is drawn, so the core install stays light;
without it :func:`plot_run` raises :class:`RunFolderError` with the install command.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_SPLIT = "traffic_split"
# (title, y label, [(column, legend label)]) of panels 2-4; columns a run lacks are skipped.
_PANELS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("transaction pool throughput", "tx/s", (
        ("transaction_pool.v1.throughput_tps", "V1"),
        ("transaction_pool.v2.throughput_tps", "V2"))),
    ("transaction pool p95 latency", "ms", (
        ("transaction_pool.v1.p95_latency_ms", "V1"),
        ("transaction_pool.v2.p95_latency_ms", "V2"))),
    ("error rate", "%", (
        ("transaction_pool.v1.error_rate_percent", "pool V1"),
        ("transaction_pool.v2.error_rate_percent", "pool V2"),
        ("sync_service.serving.v1.error_rate_percent", "sync serving V1"),
        ("sync_service.serving.v2.error_rate_percent", "sync serving V2"))),
)


class RunFolderError(Exception):
    """A run folder that cannot be read, drawn or reported, or no matplotlib (one line)."""


@dataclass(frozen=True)
class RunFiles:
    """The parts of a run's output folder a picture needs.

    Attributes:
        series: Column name -> values per metrics sample (NaN where the CSV cell is empty).
        events: The event records, in time order.
    """

    series: dict[str, FloatArray]
    events: list[dict[str, Any]]


def read_run(run_dir: Path) -> RunFiles:
    """Read ``timeseries.csv`` and ``events.jsonl`` of an output folder.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.

    Returns:
        The series and events.

    Raises:
        RunFolderError: When a file is missing or not what ``run --out`` writes.
    """
    series_path = run_dir / "timeseries.csv"
    events_path = run_dir / "events.jsonl"
    for path in (series_path, events_path):
        if not path.is_file():
            raise RunFolderError(f"{path}: not found (write a run folder with "
                            f"`mana-sim run --out {run_dir}`)")
    try:
        with series_path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        names = rows[0] if rows else []
        if "time" not in names:
            raise RunFolderError(f"{series_path}: no 'time' column: not a mana-sim time series")
        cells = np.array([[math.nan if c == "" else float(c) for c in row] for row in rows[1:]],
                         dtype=np.float64).reshape(len(rows) - 1, len(names))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{series_path}: unreadable: {exc}") from None
    events: list[dict[str, Any]] = []
    try:
        with events_path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    record = json.loads(line)
                    if not isinstance(record, dict) or "time" not in record:
                        raise RunFolderError(f"{events_path}: line {number}: not an event record")
                    events.append(record)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{events_path}: unreadable: {exc}") from None
    return RunFiles({name: cells[:, i] for i, name in enumerate(names)}, events)


def split_columns(series: dict[str, FloatArray]) -> list[str]:
    """The traffic-split columns worth drawing: those whose split is ever above 0 %.

    Args:
        series: The run's time series.

    Returns:
        Column names, in the series' order.
    """
    return [name for name, values in series.items()
            if name.endswith("." + _SPLIT) and bool(np.nanmax(values, initial=0.0) > 0.0)]


def time_unit(duration: float) -> tuple[float, str]:
    """Seconds per axis unit and its name: hours up to three days, days beyond.

    Args:
        duration: The run's simulated length, seconds.

    Returns:
        (seconds per unit, unit name).
    """
    return (86_400.0, "days") if duration > 3 * 86_400.0 else (3_600.0, "hours")


def marks(events: Sequence[dict[str, Any]]) -> dict[str, list[float]]:
    """Times of the events drawn as lines, by kind of line.

    Args:
        events: The run's event records.

    Returns:
        ``stage``, ``schedule``, ``deprecation``, ``rollback``, ``alert`` and
        ``breaker_open`` -> event times, seconds.
    """
    out: dict[str, list[float]] = {"stage": [], "schedule": [], "deprecation": [],
                                   "rollback": [], "alert": [], "breaker_open": []}
    for event in events:
        kind = event.get("kind")
        t = float(event["time"])
        if kind == "stage_change":
            out["stage"].append(t)
        elif kind == "schedule_step":
            out["schedule"].append(t)
        elif kind == "v1_deprecated":
            out["deprecation"].append(t)
        elif kind == "rollback":
            out["rollback"].append(t)
        elif kind == "alert_firing":
            out["alert"].append(t)
        elif kind == "breaker_transition" and event.get("to_state") == "open":
            out["breaker_open"].append(t)
    return out


def fault_spans(events: Sequence[dict[str, Any]], end: float) -> list[tuple[float, float, str]]:
    """Each fault's (start, end, name); a fault still active at the end runs to ``end``.

    Args:
        events: The run's event records (``fault_start`` / ``fault_end`` carry ``index``).
        end: The last sample's time, seconds.

    Returns:
        Spans in start order.
    """
    open_at: dict[Any, tuple[float, str]] = {}
    spans: list[tuple[float, float, str]] = []
    for event in events:
        kind = event.get("kind")
        if kind == "fault_start":
            open_at[event.get("index")] = (float(event["time"]), str(event.get("fault", "")))
        elif kind == "fault_end" and event.get("index") in open_at:
            start, name = open_at.pop(event.get("index"))
            spans.append((start, float(event["time"]), name))
    spans.extend((start, max(start, end), name) for start, name in open_at.values())
    return sorted(spans)


def run_title(run_dir: Path) -> str:
    """The scenario name and seed from the folder's ``summary.json``, else the folder's name.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.

    Returns:
        A short title.
    """
    try:
        run = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["run"]
        return f"{run['scenario']} (seed {run['seed']})"
    except (OSError, ValueError, KeyError, TypeError):
        return run_dir.name


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Draw a run's rollout picture (the module docstring says what it shows) into a file.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.
        out: The PNG to write (default ``RUN_DIR/rollout.png``).

    Returns:
        The written file.

    Raises:
        RunFolderError: When the folder cannot be read, the time series is empty, matplotlib is
            missing or the file cannot be written.
    """
    out = run_dir / "rollout.png" if out is None else out
    draw_run(run_dir, out)
    return out


def png_bytes(run_dir: Path) -> bytes:
    """A run's rollout picture as PNG bytes (for embedding, e.g. in the HTML report).

    Args:
        run_dir: A folder written by ``mana-sim run --out``.

    Returns:
        The PNG file's bytes.

    Raises:
        RunFolderError: As :func:`plot_run`.
    """
    buffer = io.BytesIO()
    draw_run(run_dir, buffer)
    return buffer.getvalue()


def draw_run(run_dir: Path, target: Path | BinaryIO) -> None:
    """Draw a run's rollout picture as PNG into a file or a binary stream.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.
        target: Where the PNG goes.

    Raises:
        RunFolderError: As :func:`plot_run`.
    """
    files = read_run(run_dir)
    times = files.series["time"]
    if times.size == 0:
        raise RunFolderError(f"{run_dir / 'timeseries.csv'}: no samples to draw")
    try:
        import matplotlib  # the [plot] extra: imported only to draw
    except ImportError:
        raise RunFolderError("plot needs matplotlib: pip install matplotlib (or the [plot] extra: "
                        "pip install '.[plot]' in a mana-sim checkout)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    unit, unit_name = time_unit(float(times[-1]))
    x = times / unit
    fig, axes = plt.subplots(1 + len(_PANELS), 1, figsize=(10, 9), sharex=True,
                             constrained_layout=True)
    top = axes[0]
    for name in split_columns(files.series):
        top.step(x, files.series[name], where="post", label=name.removesuffix("." + _SPLIT))
    top.set(title="V2 traffic split", ylabel="%", ylim=(-3, 103))
    for ax, (title, label, columns) in zip(axes[1:], _PANELS, strict=True):
        for column, legend in columns:
            if column in files.series:
                ax.plot(x, files.series[column], linewidth=0.9, label=legend)
        ax.set(title=title, ylabel=label)
        ax.set_ylim(bottom=0)
    lines = marks(files.events)
    spans = fault_spans(files.events, float(times[-1]))
    for ax in axes:
        for start, end, _ in spans:
            ax.axvspan(start / unit, end / unit, color="tab:purple", alpha=0.12, linewidth=0)
        for t in lines["stage"]:
            ax.axvline(t / unit, color="grey", linewidth=0.5)
        for t in sorted(set(lines["schedule"])):  # steps at one time: one line
            ax.axvline(t / unit, color="tab:cyan", linewidth=0.8, linestyle="-.")
        for t in lines["deprecation"]:
            ax.axvline(t / unit, color="tab:brown", linewidth=1.5)
        for t in lines["alert"]:
            ax.axvline(t / unit, color="tab:orange", linewidth=0.8, linestyle=":")
        for t in lines["breaker_open"]:
            ax.axvline(t / unit, color="black", linewidth=0.8, linestyle="--")
        for t in lines["rollback"]:
            ax.axvline(t / unit, color="tab:red", linewidth=1.5)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize="small")
    axes[-1].set_xlabel(f"simulated time ({unit_name}); lines: grey stage change, cyan "
                        "dash-dot schedule step, brown V1 deprecation, orange alert firing,\n"
                        "black dashed breaker open, red rollback; shaded: fault")
    fig.suptitle(f"mana-sim run: {run_title(run_dir)}")
    try:
        fig.savefig(target, dpi=100, format="png")
    except OSError as exc:
        raise RunFolderError(f"{target}: cannot write: {exc.strerror}") from None
    finally:
        plt.close(fig)

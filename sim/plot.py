"""A picture of a run: ``mana-sim plot RUN_DIR`` (the ``[plot]`` extra, matplotlib).

Reads what ``mana-sim run --out RUN_DIR`` wrote (``timeseries.csv``, ``events.jsonl`` and,
for the title and the incident, ``summary.json``) and draws one PNG of the rollout, panels
over simulated time (ticks ``h:mm``; ``m:ss`` for runs of up to six minutes; days
elapsed, ``N d``, beyond three days):

1. the V2 traffic split of every module whose split ever leaves 0 %, one colour per module
   in every run; a module whose split equals an earlier one's is dashed over it;
2. transaction-pool throughput, V1 and V2 (transactions a second, per metrics sample);
3. transactions the pool rejected a second (pool full, invalid...), V1 and V2, only when they
   are more than 5 % of those processed (tx-spam: not errors, so not in the error panel);
4. transaction-pool p95 request latency, V1 and V2 (ms);
5. error rates of the transaction pool and of sync request serving, V1 and V2 (%; at least
   0-5 %, with "0 % throughout" written in when every rate is 0);
6. memory of the pool and sync processes, V1 and V2 (MiB; a V2 regression's leak shows; V2
   dashed, as it lies on V1 until then);
7. when a fault other than a V2 regression happened, or a sync engine fell more than 2 blocks
   behind after reaching the head: sync's blocks behind the head, V1 and V2 (log scale; V2
   dashed over V1);
8. when ``summary.json`` has an ``incident``: a zoom from 60 s before the regression to 120 s
   after the rollback (seconds after the regression), the module's V2 error rate and split,
   each line labelled with its delay (``breaker open +1.7 s``).

The run's events are drawn across panels 1-7: stage changes (thin grey lines), schedule
steps (dark cyan, dash-dot), V1 deprecation (saddle brown), rollbacks (crimson), alerts
firing (magenta, dotted), breakers opening (black, dashed) and faults (a gold span from start
to end, named in the split panel); their colours are none of the data colours, and a key
under the panels lists each kind drawn. Legends sit right of their panel, off the data, and
each panel's top is 15 % above its highest value. The picture is made from the files alone,
so it can be drawn again for any earlier output folder without running the scenario again.

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
# Data colours: V1 / V2 of the pool (and of sync in the sync panel), sync serving V1 / V2.
_V1, _V2, _S1, _S2 = "tab:blue", "tab:orange", "tab:green", "tab:red"
# A split line's colour per module, the same in every run and none of the data colours.
_MODULE_COLOURS = {"transaction_pool": "tab:purple", "sync_service": "tab:olive",
                   "filter_manager": "tab:pink", "subscription_manager": "tab:cyan"}
# Event lines: (legend label, line style), colours outside the data and module colours.
_EVENT_LINES: dict[str, tuple[str, dict[str, Any]]] = {
    "stage": ("stage change", {"color": "grey", "linewidth": 0.6, "linestyle": "-"}),
    "schedule": ("schedule step", {"color": "darkcyan", "linewidth": 0.8, "linestyle": "-."}),
    "deprecation": ("V1 deprecation", {"color": "saddlebrown", "linewidth": 1.5,
                                       "linestyle": "-"}),
    "alert": ("alert firing", {"color": "magenta", "linewidth": 1.0, "linestyle": ":"}),
    "breaker_open": ("breaker open", {"color": "black", "linewidth": 0.9, "linestyle": "--"}),
    "rollback": ("rollback", {"color": "crimson", "linewidth": 1.6, "linestyle": "-"}),
}
_FAULT_COLOUR = "gold"  # a fault's shaded span
_TICK_STEPS = (10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1_800.0, 3_600.0, 7_200.0,
               10_800.0, 21_600.0, 43_200.0, 86_400.0)
# (title, y label, [(column, legend label, colour)]) of the data panels; columns a run lacks
# are skipped.
_PANELS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("transaction pool throughput", "tx/s", (
        ("transaction_pool.v1.throughput_tps", "V1", _V1),
        ("transaction_pool.v2.throughput_tps", "V2", _V2))),
    ("transaction pool p95 latency", "ms", (
        ("transaction_pool.v1.p95_latency_ms", "V1", _V1),
        ("transaction_pool.v2.p95_latency_ms", "V2", _V2))),
    ("error rate", "%", (
        ("transaction_pool.v1.error_rate_percent", "pool V1", _V1),
        ("transaction_pool.v2.error_rate_percent", "pool V2", _V2),
        ("sync_service.serving.v1.error_rate_percent", "sync serving V1", _S1),
        ("sync_service.serving.v2.error_rate_percent", "sync serving V2", _S2))),
    ("memory", "MiB", (
        ("transaction_pool.v1.memory_usage_mb", "pool V1", _V1),
        ("transaction_pool.v2.memory_usage_mb", "pool V2", _V2),
        ("sync_service.v1.memory_usage_mb", "sync V1", _S1),
        ("sync_service.v2.memory_usage_mb", "sync V2", _S2))),
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


def time_step(duration: float) -> float:
    """Seconds between two labelled ticks of the time axis: a round clock step, <= ~12 ticks.

    Args:
        duration: The run's simulated length, seconds.

    Returns:
        The step (10, 15 or 30 seconds, a minute, 2, 5, 10, 15 or 30 minutes, 1, 2, 3, 6 or 12
        hours, or whole days).
    """
    for step in _TICK_STEPS:
        if duration / step <= 12:
            return step
    return 86_400.0 * math.ceil(duration / 86_400.0 / 12)


def clock(t: float, step: float) -> str:
    """A tick label of the time axis: ``h:mm`` (the report's clock), ``N d`` for day steps.

    Days are elapsed days (``2 d`` is the start of the guide's day 3), as hours are. Steps
    under a minute (runs of up to six minutes) label ``m:ss``.

    Args:
        t: Simulated time, seconds.
        step: The tick step (:func:`time_step`).

    Returns:
        The label.
    """
    if step >= 86_400.0:
        return f"{t / 86_400.0:g} d"
    if step < 60.0:
        seconds = round(abs(t))
        return f"{'-' if t < 0 and seconds else ''}{seconds // 60}:{seconds % 60:02d}"
    minutes = round(abs(t) / 60.0)
    return f"{'-' if t < 0 and minutes else ''}{minutes // 60}:{minutes % 60:02d}"


def _incident(run_dir: Path) -> dict[str, Any] | None:
    """The summary's ``incident`` (a V2 regression's timeline), or None without one."""
    try:
        incident = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["incident"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(incident, dict) or incident.get("regression_start_s") is None:
        return None
    return incident


def incident_window(incident: dict[str, Any], end: float) -> tuple[float, float]:
    """The zoom panel's span: 60 s before the regression to 120 s after the rollback.

    Without a rollback, 120 s after the incident's last delay (at least 5 minutes of it).

    Args:
        incident: The summary's ``incident``.
        end: The last sample's time, seconds.

    Returns:
        (start, end) in seconds of simulated time.
    """
    t0 = float(incident["regression_start_s"])
    delays = [float(v) for k, v in incident.items()
              if k.endswith("_after_s") and isinstance(v, (int, float))]
    last = float(incident["rollback_after_s"]) if isinstance(
        incident.get("rollback_after_s"), (int, float)) else max([180.0, *delays])
    return max(0.0, t0 - 60.0), min(end, t0 + last + 120.0)


def incident_marks(events: Sequence[dict[str, Any]], incident: dict[str, Any],
                   window: tuple[float, float]) -> list[tuple[float, str, str]]:
    """The labelled lines of the zoom panel: (time, line kind, label), in time order.

    The regression's start, the incident module's breaker opening, each alert firing, the
    first failed health check and the rollback, each labelled with its delay after the start.

    Args:
        events: The run's event records.
        incident: The summary's ``incident``.
        window: The zoom panel's span (:func:`incident_window`).

    Returns:
        The marks inside the window.
    """
    t0 = float(incident["regression_start_s"])
    module = incident.get("module")
    out: list[tuple[float, str, str]] = [(t0, "fault", "regression starts")]
    health_seen = False
    for event in events:
        t = float(event["time"])
        if not window[0] <= t <= window[1]:
            continue
        kind = event.get("kind")
        after = f"+{t - t0:.3g} s"
        if (kind == "breaker_transition" and event.get("to_state") == "open"
                and event.get("module") == module):
            out.append((t, "breaker_open", f"breaker open {after}"))
        elif kind == "alert_firing":
            out.append((t, "alert", f"alert: {event.get('rule', '')} {after}"))
        elif kind == "health_check_failed" and not health_seen and t >= t0:
            health_seen = True
            out.append((t, "health", f"1st failed health check {after}"))
        elif kind == "rollback":
            out.append((t, "rollback", f"rollback {after}"))
    return sorted(out, key=lambda m: m[0])


_AT_HEAD_BLOCKS = 2.0
"""Blocks behind that still count as at the head (a block can arrive between samples)."""


def _falls_behind(values: FloatArray) -> bool:
    """Whether an engine, once at the head, falls more than a couple of blocks behind."""
    finite = np.nan_to_num(values, nan=0.0)
    at_head = np.flatnonzero(finite <= _AT_HEAD_BLOCKS)
    return at_head.size > 0 and bool(np.any(finite[at_head[0]:] > _AT_HEAD_BLOCKS))


def _panels(series: dict[str, FloatArray], events: Sequence[dict[str, Any]],
            dt: FloatArray) -> list[tuple[str, str, list[tuple[str, FloatArray, str]], bool]]:
    """The data panels under the split: (title, y label, [(label, values, colour)], log y)."""
    def pick(cols: Sequence[tuple[str, str, str]]) -> list[tuple[str, FloatArray, str]]:
        return [(label, series[col], colour) for col, label, colour in cols if col in series]

    panels = [(title, ylabel, pick(cols), False) for title, ylabel, cols in _PANELS]
    rejected = pick([(f"transaction_pool.{v}.rejected_transactions_in_interval", name, colour)
                     for v, name, colour in (("v1", "V1", _V1), ("v2", "V2", _V2))])
    processed = sum(float(np.nansum(series[f"transaction_pool.{v}.throughput_tps"] * dt))
                    for v in ("v1", "v2") if f"transaction_pool.{v}.throughput_tps" in series)
    if sum(float(np.nansum(values)) for _, values, _ in rejected) > 0.05 * processed:
        # tx-spam's main effect, V1's full pool refusing transactions, is not an error; the
        # few invalid transactions of a normal run (well under 5 %) are left out as noise.
        panels.insert(1, ("transaction pool: transactions rejected (pool full, invalid...)",
                          "tx/s", [(label, values / dt, c) for label, values, c in rejected],
                          False))
    peer_fault = any(e.get("kind") == "fault_start" and e.get("fault") != "v2_regression"
                     for e in events)
    fell_behind = any(_falls_behind(series[f"sync_service.{v}.blocks_behind"])
                      for v in ("v1", "v2") if f"sync_service.{v}.blocks_behind" in series)
    if peer_fault or fell_behind:
        # Only when there is something to see: a synced engine swings between 0 and 1 block
        # behind every slot, which on a log scale fills the panel with a comb.
        panels.append(("sync: blocks behind the head (log scale)", "blocks", pick([
            ("sync_service.v1.blocks_behind", "V1", _V1),
            ("sync_service.v2.blocks_behind", "V2", _V2)]), True))
    return panels


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
    from matplotlib.figure import Figure

    fig = build_figure(run_dir, files)
    try:
        fig.savefig(target, dpi=100, format="png")
    except OSError as exc:
        raise RunFolderError(f"{target}: cannot write: {exc.strerror}") from None
    finally:
        assert isinstance(fig, Figure)
        plt.close(fig)


def build_figure(run_dir: Path, files: RunFiles) -> Any:
    """The rollout picture as a matplotlib ``Figure`` (needs matplotlib; see the module doc).

    Args:
        run_dir: The run's folder (for ``summary.json``: title and incident).
        files: Its series and events (:func:`read_run`), at least one sample.

    Returns:
        The figure, not yet saved or closed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    series = files.series
    times = series["time"]
    end = float(times[-1])
    dt = np.diff(times, prepend=0.0)
    dt[dt <= 0] = math.nan
    panels = _panels(series, files.events, dt)
    incident = _incident(run_dir)
    n_main = 1 + len(panels)
    n = n_main + (1 if incident is not None else 0)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.1 * n + 1.2), constrained_layout=True)
    main = list(axes[:n_main])
    for ax in main[1:]:
        ax.sharex(main[0])
    step = time_step(end)
    for ax in main:
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _pos: clock(t, step)))
    for ax in main[:-1]:
        ax.tick_params(labelbottom=False)
    main[0].set_xlim(0.0, end)

    # The split: the row's value is the split just before the row's time (a rollout step at a
    # sample time runs after that sample: sim/runner.py _sample_step), so it held over the
    # interval that ends at the row: drawn "pre", from the previous sample's time.
    top = main[0]
    x_split = np.concatenate(([0.0], times))
    drawn: list[tuple[str, FloatArray]] = []
    for name in split_columns(series):
        module = name.removesuffix("." + _SPLIT)
        values = series[name]
        same = next((m for m, v in drawn if np.array_equal(v, values, equal_nan=True)), None)
        label = module if same is None else f"{module} (same as {same})"
        top.step(x_split, np.concatenate((values[:1], values)), where="pre", label=label,
                 color=_MODULE_COLOURS.get(module, "tab:gray"),
                 linewidth=1.2 if same is not None else 2.2,
                 linestyle="--" if same is not None else "-")
        drawn.append((module, values))
    top.set(title="V2 traffic split", ylabel="%", ylim=(-3, 110))

    for ax, (title, ylabel, lines, log) in zip(main[1:], panels, strict=True):
        peak = 0.0
        for label, values, colour in lines:
            # Memory (until a leak) and blocks behind (at the head) are equal for V1 and V2:
            # V2 dashed over V1, so both lines listed in the legend can be seen.
            dashed = ylabel in ("MiB", "blocks") and label.endswith("V2")
            ax.plot(times, values, linewidth=1.2 if dashed else 0.9, label=label, color=colour,
                    linestyle="--" if dashed else "-")
            peak = max(peak, float(np.nanmax(values, initial=0.0)))
        ax.set(title=title, ylabel=ylabel)
        if log:
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(0.0, max(10.0, peak * 3.0))
        elif ylabel == "%":
            # Error rates: at least 0-5 %, and a zero line held clear of the axis.
            top_y = max(5.0, peak * 1.15)
            ax.set_ylim(-0.04 * top_y, top_y)
            if peak == 0.0:
                ax.text(0.5, 0.5, "0 % throughout", transform=ax.transAxes, ha="center",
                        va="center", color="dimgrey")
        else:
            top_y = peak * 1.15 if peak > 0 else 1.0
            ax.set_ylim(-0.03 * top_y, top_y)

    event_lines = marks(files.events)
    spans = fault_spans(files.events, end)
    for ax in main:
        for start, stop, _ in spans:
            ax.axvspan(start, stop, color=_FAULT_COLOUR, alpha=0.2, linewidth=0)
        for kind, (_, style) in _EVENT_LINES.items():
            at = event_lines[kind]
            for t in sorted(set(at)) if kind == "schedule" else at:  # a step per module
                ax.axvline(t, **style)
    for start, _stop, name in spans:
        top.text(start, 0.97, f" {name}", transform=top.get_xaxis_transform(), va="top",
                 fontsize="small", clip_on=True)
    for ax in main:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      fontsize="small")
    main[-1].set_xlabel("simulated time (m:ss)" if step < 60.0
                        else "simulated time (h:mm)" if step < 86_400.0
                        else "simulated time (days elapsed)")

    kinds: list[Any] = [Line2D([], [], label=label, **style)
                        for kind, (label, style) in _EVENT_LINES.items() if event_lines[kind]]
    if spans:
        kinds.append(Patch(color=_FAULT_COLOUR, alpha=0.4, label="fault"))
    if incident is not None:
        _draw_incident(axes[-1], series, files.events, incident, end)
    if kinds:
        fig.legend(handles=kinds, loc="outside lower center", ncols=len(kinds),
                   fontsize="small", title="event lines", title_fontsize="small")
    fig.suptitle(f"mana-sim run: {run_title(run_dir)}")
    return fig


def _draw_incident(ax: Any, series: dict[str, FloatArray], events: Sequence[dict[str, Any]],
                   incident: dict[str, Any], end: float) -> None:
    """The zoom on the incident: V2's error rate and split, each event line labelled."""
    t0 = float(incident["regression_start_s"])
    window = incident_window(incident, end)
    module = str(incident.get("module", "transaction_pool"))
    times = series["time"]
    shown = (times >= window[0] - 10.0) & (times <= window[1] + 10.0)
    x = times[shown] - t0
    errors = series.get(f"{module}.v2.error_rate_percent")
    if errors is not None:
        ax.plot(x, errors[shown], color=_V2, marker=".", markersize=3, linewidth=1.0,
                label="V2 error rate (per 10-s sample)")
    split = series.get(f"{module}.{_SPLIT}")
    # No sample in the window (a regression in the run's last seconds): no split to draw.
    if split is not None and shown.any():
        xs = np.concatenate(([window[0] - 10.0 - t0], x))
        ys = split[shown]
        ax.step(xs, np.concatenate((ys[:1], ys)), where="pre", linewidth=2.0,
                color=_MODULE_COLOURS.get(module, "tab:gray"), label="V2 split")
    ax.set_xlim(window[0] - t0, window[1] - t0)
    ax.set_ylim(-4.0, 125.0)
    ax.set(title=f"incident on {module}: seconds after the regression starts at "
                 f"{clock(t0 - t0 % 60.0, 60.0)}:{t0 % 60.0:04.1f}",
           ylabel="%", xlabel="seconds after the regression starts")
    marks_ = incident_marks(events, incident, window)
    styles = dict(_EVENT_LINES)
    styles["fault"] = ("", {"color": "black"})  # the fault's span starts here: no line
    styles["health"] = ("", {"color": "dimgrey", "linewidth": 0.8, "linestyle": "-."})
    ax.axvspan(0.0, window[1] - t0, color=_FAULT_COLOUR, alpha=0.2, linewidth=0)
    for i, (t, kind, label) in enumerate(marks_):
        style = styles[kind][1]
        if kind != "fault":
            ax.axvline(t - t0, **style)
        # Labels stepped down the panel, so lines 2 s apart still read in order.
        ax.text(t - t0, 118.0 - 15.0 * (i % 7), f" {label}", fontsize="small", va="top",
                color=style["color"], clip_on=True,
                bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1})
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              fontsize="small")

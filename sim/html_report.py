"""A run's HTML report: ``mana-sim report RUN_DIR`` writes ``RUN_DIR/report.html``.

One self-contained page (no scripts, no external files) made from what ``mana-sim run --out``
wrote: the set-up (the scenario's description, each module's version and V2 split at the
start and at the end, the faults injected), the guide's success criteria with the figure
behind each verdict (the performance criterion's with the measured ratio that decides it),
the incident as a timeline in time order, the rollout (split changes, rollbacks with their
modules, ignored rollback requests and refused split changes, V1 deprecation with the
migration and the sync hand-over, and any other rollout field the summary carries, shown as
is), the rollout
picture of :mod:`sim.plot` embedded as a PNG (only when matplotlib, the ``[plot]`` extra, is
installed; the page says so otherwise), the summary tables ``run`` prints (per version: the
pool, sync, sync's serving and, when their V2 ran, the filter and subscription managers:
:func:`sim.report.summary_table`), and the event log
(the summary's exact counts by kind, then up to :data:`MAX_EVENT_ROWS_PER_KIND` events of
each kind in time order, at most :data:`MAX_EVENT_ROWS` in all; the summary block wraps its
long lines). Simulated times read h:mm:ss as in the printed summary, durations in seconds
with their unit, measured figures to :data:`SIGNIFICANT_DIGITS` significant digits, each
criterion's figure and threshold with its unit (:data:`CRITERION_UNITS`), splits in % and
each guide alert's value with its metric's unit.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sim.plot import RunFolderError, png_bytes, read_run
from sim.report import clock, seconds, summary_table
from sim.rollout.alerts import load_alert_rules

MAX_EVENT_ROWS = 500
"""Events listed one per row; the rest are only counted (a 15-day run logs many)."""
MAX_RECORD_ROWS = 100
"""Rows of a rollout list the page has no own section for (e.g. alerts) listed at most."""
MAX_EVENT_ROWS_PER_KIND = 50
"""Events of one kind listed at most, so a frequent kind does not hide the rare ones."""
CRITERION_UNITS = {"zero_downtime": "requests unserved", "performance": "(ratio, V2 vs V1)",
                   "error_rate_48h": "%", "memory_increase": "%"}
"""The unit of each success criterion's figure and threshold (docs/summary-json.md,
``success_criteria[].figure``); a criterion's own ``unit`` field, if it has one, wins."""
_TIME_KEYS = frozenset({"time", "at", "regression_start_s", "v1_deprecated_at",
                        "v1_sync_retired_at", "retired_at", "active_at"})
"""Record fields that are simulated times: shown as h:mm:ss, as the printed summary does."""
_TIME_MAP_KEYS = frozenset({"driven_from"})
"""Record fields that map names to simulated times (the controller's ``driven_from``)."""
_FIELD_UNITS = {"split": "%", "percent": "%"}
"""Record fields that are percentages: the header (``split (%)``) or the value says so."""
_METRIC_UNITS = (("_percent", "%"), ("_tps", "tx/s"), ("_mbps", "Mbit/s"),
                 ("_bps", "blocks/s"), ("_ms", "ms"), ("_mb", "MiB"), ("blocks_behind", "blocks"),
                 ("_peers", "peers"))
"""The unit of an alert's ``value`` by its rule's metric name (its suffix); none for others."""
SIGNIFICANT_DIGITS = 3
"""Measured figures (alert values, criteria figures) are shown to this many significant
digits, as the printed summary rounds them; summary.json keeps them exact."""

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         white-space: nowrap; }
.passed { color: #1a7f37; font-weight: bold; }
.failed { color: #cf222e; font-weight: bold; }
.open { color: #9a6700; font-weight: bold; }
pre { background: #f6f8fa; padding: 1em; white-space: pre-wrap; overflow-wrap: anywhere; }
img { max-width: 100%; }
"""


def _esc(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] = frozenset()
           ) -> str:
    """An HTML table; cells are already-escaped HTML, ``numeric`` columns align right."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return '<span class="open">not enough data</span>'
    return '<span class="passed">passed</span>' if passed else '<span class="failed">failed</span>'


def number(value: Any) -> str:
    """A figure for the page: a float to :data:`SIGNIFICANT_DIGITS` significant digits.

    Integers (counts) stay exact; a float of 1,000 or more is shown whole with thousands
    separators (``35,317``), a smaller one to three significant digits (``20.3``,
    ``0.0117``), so a measured figure does not print eight digits the model cannot vouch for.

    Args:
        value: Anything; only finite floats are rounded.

    Returns:
        The text (``-`` for None).
    """
    if value is None:
        return "-"
    if isinstance(value, float) and math.isfinite(value):
        if abs(value) >= 10 ** SIGNIFICANT_DIGITS:
            return f"{value:,.0f}"
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    return str(value)


def _with_unit(value: Any, unit: str) -> str:
    """A figure with its unit (``0.1 %``); ``-`` for none."""
    if value is None:
        return "-"
    return f"{number(value)} {unit}".strip()


_PERFORMANCE_DETAIL = re.compile(
    r"vs V1 alone(?: within (?P<tol>[0-9.]+)%)?: capacity V2/V1 (?P<cap>[0-9.]+) .*?"
    r"p95 latency V1/V2 (?P<lat>[0-9.]+) .*?measurement resolution (?P<res>[0-9.]+)%")
"""The measured ratios in the performance criterion's detail (:func:`sim.rollout.criteria.
performance` writes it)."""


def _performance_figure(criterion: dict[str, Any], unit: str) -> str:
    """The performance figure cell: the measured ratio that decides it, not only the figure.

    The criterion's figure is the worse ratio divided by its bound, and the p95 bound allows
    one histogram bucket (the resolution, :func:`sim.rollout.criteria.performance`): a p95
    ratio of 0.980 with a 2.02 % resolution gives the figure 1. The cell shows the measured
    ratio and says that it counts as 1, so a pass is not read as a pass on the threshold.
    """
    figure = criterion.get("figure")
    found = _PERFORMANCE_DETAIL.search(str(criterion.get("detail") or ""))
    if not isinstance(figure, (int, float)) or found is None:
        return _esc(_with_unit(figure, unit))
    tol = float(found["tol"] or 0.0) / 100.0
    cap, lat, res = float(found["cap"]), float(found["lat"]), float(found["res"])
    if cap / (1.0 - tol) <= lat * (1.0 + tol) * (1.0 + res / 100.0):
        lines = [f"{cap:.3f} capacity V2/V1", "(the worse ratio)"]
    elif lat >= 1.0:
        lines = [f"{lat:.3f} p95 latency V1/V2", "(the worse ratio)"]
    elif figure >= 1.0:
        lines = [f"{lat:.3f} p95 latency V1/V2", f"(within the {res:g} % resolution:",
                 "counts as 1)"]
    else:
        lines = [f"{lat:.3f} p95 latency V1/V2", f"(below 1 by more than the {res:g} %",
                 "resolution)"]
    shown = number(float(figure))
    if shown == "1" and figure != 1.0:  # just off the threshold: rounding would hide it
        shown = f"{figure:.9g}"
    return "<br>".join(_esc(line) for line in [*lines, f"figure {shown} {unit}"])


def _criteria(summary: dict[str, Any]) -> str:
    rows = []
    for c in summary.get("success_criteria", []):
        unit = str(c.get("unit") or CRITERION_UNITS.get(str(c.get("name")), "")).strip()
        figure = (_performance_figure(c, unit) if c.get("name") == "performance"
                  else _esc(_with_unit(c.get("figure"), unit)))
        rows.append([_esc(c.get("name")), _verdict(c.get("passed")), figure,
                     _esc(_with_unit(c.get("threshold"), unit)), _esc(c.get("detail"))])
    if not rows:
        return "<p>No success criteria in this summary.</p>"
    return _table(["criterion", "verdict", "figure", "threshold", "detail"], rows,
                  frozenset({2, 3}))


_INCIDENT_LABELS = {"regression_start_s": "regression started",
                    "breaker_open_after_s": "breaker opened",
                    "first_failed_health_check_after_s": "first failed health check",
                    "first_alert_after_s": "first alert firing",
                    "rollback_after_s": "rolled back"}
"""Plain labels of the incident's times (summary.json ``incident``, docs/summary-json.md)."""


def _incident(summary: dict[str, Any]) -> str:
    """The incident as a timeline: each step in time order, after the start and h:mm:ss."""
    incident = summary.get("incident")
    if not incident:
        return "<p>No regression during this run.</p>"
    start = incident.get("regression_start_s")
    steps: list[tuple[float, str, Any]] = []
    others = []
    for key, value in incident.items():
        if key == "regression_start_s":
            steps.append((0.0, key, 0.0))
        elif key.endswith("_after_s"):  # a duration from the regression's start
            at = value if isinstance(value, (int, float)) else math.inf  # never: last
            steps.append((float(at), key, value))
        elif key != "module":
            others.append([_esc(key.replace("_", " ")), _cell(value)])
    rows = []
    for _, key, after in sorted(steps, key=lambda step: step[0]):
        label = _INCIDENT_LABELS.get(key, key.removesuffix("_after_s").replace("_", " "))
        when = (clock(start + after) if isinstance(start, (int, float))
                and isinstance(after, (int, float)) else "-")
        rows.append([_esc(label), _esc("+" + seconds(after) if after is not None else "never"),
                     _esc(when)])
    module = incident.get("module")
    lead = (f"<p>A regression of {_esc(module)}: each step after the regression's start "
            "and at its simulated time.</p>" if module else "")
    return lead + _table(["step", "after the start", "time (h:mm:ss)"], rows + others,
                         frozenset({1, 2}))


def _setup(summary: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """What the run was set to do, before what came of it.

    The scenario's description (summary.json ``run.description``), each module's version and
    V2 split at the start and at the end (``modules``), and the faults it injected (their
    ``fault_start`` and ``fault_end`` events).
    """
    description = str((summary.get("run") or {}).get("description") or "")
    parts = [f"<p>{_esc(description)}</p>" if description else ""]
    modules = summary.get("modules") or {}
    rows = [[_esc(m), _esc(f.get("version_start")), _esc(number(f.get("traffic_split_start"))),
             _esc(f.get("version")), _esc(number(f.get("traffic_split_final")))]
            for m, f in modules.items() if isinstance(f, dict)]
    if rows:
        parts.append(_table(["module", "version at start", "V2 split at start (%)",
                             "version at end", "V2 split at end (%)"], rows,
                            frozenset({2, 4})))
    ends = {(e.get("fault"), e.get("index")): e.get("time") for e in events
            if e.get("kind") == "fault_end"}
    faults = []
    for event in events:
        if event.get("kind") != "fault_start":
            continue
        key = (event.get("fault"), event.get("index"))
        rest = {k: (len(v) if isinstance(v, list) else v) for k, v in event.items()
                if k not in ("kind", "fault", "index", "time")}
        faults.append([_esc(event.get("fault")), _esc(clock(event.get("time"))),
                       _esc(clock(ends[key]) if key in ends else "end of run"),
                       _esc(", ".join(f"{k} {number(v)}" for k, v in sorted(rest.items())))])
    parts.append(_table(["fault", "start (h:mm:ss)", "end (h:mm:ss)", "details"], faults,
                        frozenset({1, 2})) if faults else "<p>No fault injected.</p>")
    return "".join(parts)


def _columns(rows: list[dict[str, Any]], first: tuple[str, ...]) -> list[str]:
    """``first`` (those present), then every other key the rows carry, sorted."""
    keys = {k for row in rows for k in row}
    return [k for k in first if k in keys] + sorted(keys - set(first))


def _time_cell(key: str, value: Any) -> str:
    """A record's field as a cell: a simulated time as h:mm:ss, a percentage with ``%``."""
    if key in _TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _esc(clock(value))
    if key in _TIME_MAP_KEYS and isinstance(value, dict):
        return _esc(", ".join(f"{k} {clock(v)}" for k, v in value.items()) or "none")
    return _cell(value)


def _header(key: str) -> str:
    if key in _TIME_KEYS:
        return f"{key} (h:mm:ss)"
    if key in _TIME_MAP_KEYS:
        return f"{key} (h:mm:ss)"
    if key == "split":
        return "V2 split (%)"
    if key in _FIELD_UNITS:
        return f"{key} ({_FIELD_UNITS[key]})"
    return key


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)) and not value:
        return "none"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return _esc(", ".join(value))
    if isinstance(value, (dict, list, tuple)):
        return _esc(json.dumps(value, sort_keys=True))
    return _esc(number(value))


def _metric_unit(metric: str) -> str:
    """The unit of a metric by its name (:data:`_METRIC_UNITS`), ``""`` when unknown."""
    return next((unit for suffix, unit in _METRIC_UNITS if metric.endswith(suffix)), "")


def _rule_units() -> dict[str, str]:
    """The unit of each guide alert rule's value (``config/alerts.yml``, guide L498-540)."""
    return {rule.name: _metric_unit(rule.metric) for rule in load_alert_rules()}


def _records(rows: list[Any], first: tuple[str, ...]) -> str:
    """A list of records as a table; keys beyond ``first`` get their own columns too.

    An alert's ``value`` carries the unit of its rule's metric (guide rules only).
    """
    dicts = [r for r in rows if isinstance(r, dict)]
    columns = _columns(dicts, first)
    units = _rule_units() if any("rule" in r for r in dicts) else {}

    def cell(record: dict[str, Any], column: str) -> str:
        value = record.get(column)
        unit = units.get(str(record.get("rule")), "")
        if column == "value" and unit and value is not None:
            return _esc(_with_unit(value, unit))
        return _time_cell(column, value)

    return _table([_header(c) for c in columns], [[cell(r, c) for c in columns] for r in dicts])


def _deprecation(rollout: dict[str, Any], events: list[dict[str, Any]]) -> str:
    record = rollout.get("deprecation")
    if not isinstance(record, dict):
        record = next((e for e in events if e.get("kind") == "v1_deprecated"), None)
    at = rollout.get("v1_deprecated_at")
    if record is None:
        return ("<p>V1 was not deprecated.</p>" if at is None
                else f"<p>V1 deprecated at {_esc(clock(at))} (no details in "
                "events.jsonl).</p>")
    rows = [[_esc(_header(k)), _time_cell(k, v)] for k, v in record.items() if k != "kind"]
    if not record.get("sync_retired", True):
        late = next((e for e in events if e.get("kind") == "v1_sync_retired"), None)
        if late is None:
            rows.append([_esc("sync hand-over"),
                         _esc("none: sync never fully on V2, V1 sync kept running")])
        else:
            # Sync reached 100 % on V2 after the deprecation: V1 sync retired then.
            rows += [[_esc(f"later, V1 sync retired: {_header(k)}"), _time_cell(k, v)]
                     for k, v in late.items() if k != "kind"]
    return _table(["measure", "value"], rows)


def _rollout(summary: dict[str, Any], events: list[dict[str, Any]]) -> str:
    rollout = summary.get("rollout") or {}
    splits = list(rollout.get("splits") or [])
    rollbacks = list(rollout.get("rollbacks") or [])
    counts = summary.get("events") or {}
    ignored = rollout.get("rollback_requests_ignored_by_reason") or {}
    refused = [["rollback requests ignored (no split changed)",
                _esc(rollout.get("rollback_requests_ignored", 0))],
               *[[_esc(f"ignored: {why}"), _esc(n)] for why, n in ignored.items()],
               ["split changes refused (split_refused events)",
                _esc(counts.get("split_refused", 0))]]
    if counts.get("resume_ignored"):
        refused.append(["resume commands ignored", _esc(counts["resume_ignored"])])
    parts = ["<h3>Traffic split changes</h3>",
             _records(splits, ("time", "module", "split", "version", "source"))
             if splits else "<p>The split never changed.</p>",
             "<h3>Rollbacks</h3>",
             _records(rollbacks, ("time", "modules", "source", "reason"))
             if rollbacks else "<p>No rollback changed a split.</p>",
             "<h3>Refused and ignored requests</h3>",
             _table(["request", "count"], refused, frozenset({1})),
             "<h3>V1 deprecation and sync hand-over</h3>",
             _deprecation(rollout, events)]
    known = {"splits", "rollbacks", "rollback_requests_ignored",
             "rollback_requests_ignored_by_reason", "v1_deprecated_at", "deprecation",
             "v1_sync_retired_at"}
    scalars = [[_esc(_header(k)), _time_cell(k, v)] for k, v in sorted(rollout.items())
               if k not in known and not isinstance(v, (dict, list, tuple))]
    if scalars:
        parts += ["<h3>Other rollout figures</h3>",
                  _table(["figure", "value"], scalars, frozenset({1}))]
    for key in sorted(rollout):
        value = rollout[key]
        if (key in known or value in (None, [], {})
                or not isinstance(value, (dict, list, tuple))):
            continue
        parts.append(f"<h3>{_esc(key)}</h3>")
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            parts.append(_records(value[:MAX_RECORD_ROWS], ("time", "what")))
            if len(value) > MAX_RECORD_ROWS:
                parts.append(f"<p>The first {MAX_RECORD_ROWS} of {len(value)} "
                             "(summary.json has them all).</p>")
        elif isinstance(value, dict):
            parts.append(_table(["field", "value"],
                                [[_esc(_header(k)), _time_cell(k, v)]
                                 for k, v in value.items()]))
        else:
            parts.append(f"<p>{_cell(value)}</p>")
    return "".join(parts)


def _events(events: list[dict[str, Any]], counted: dict[str, Any] | None) -> str:
    # The summary's counts are exact; events.jsonl keeps only the first records of each kind
    # (sim/events.py), so its own count is the fallback for a summary without them.
    counts = dict(counted) if counted else Counter(str(e.get("kind")) for e in events)
    count_rows = [[_esc(kind), _esc(n)] for kind, n in sorted(counts.items())]
    # At most MAX_EVENT_ROWS_PER_KIND of each kind, so one kind (e.g. thousands of
    # `fallback` events) cannot fill the table and hide the rare ones.
    rows: list[list[str]] = []
    listed: Counter[str] = Counter()
    for event in events:
        if len(rows) >= MAX_EVENT_ROWS:
            break
        kind = str(event.get("kind"))
        if listed[kind] >= MAX_EVENT_ROWS_PER_KIND:
            continue
        listed[kind] += 1
        rest = {k: v for k, v in event.items() if k not in ("time", "kind")}
        rows.append([_esc(clock(event.get("time"))), _esc(event.get("kind")),
                     _esc(json.dumps(rest, sort_keys=True))])
    more = (f"<p>Listed: the first {MAX_EVENT_ROWS_PER_KIND} events of each kind in time "
            f"order, at most {MAX_EVENT_ROWS} in all ({len(rows)} of the {len(events)} in "
            "events.jsonl, which keeps the first 10,000 of each kind; the counts above are "
            "exact).</p>" if len(rows) < len(events) else "")
    return (_table(["kind", "count"], count_rows, frozenset({1}))
            + more + _table(["time (h:mm:ss)", "kind", "details"], rows, frozenset({0})))


def _picture(run_dir: Path) -> str:
    try:
        data = png_bytes(run_dir)
    except RunFolderError as exc:
        return f"<p>No picture: {_esc(exc)}</p>"
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="the rollout over simulated time" src="data:image/png;base64,{encoded}">'


def render_report(run_dir: Path) -> str:
    """The report page of a run folder, as HTML text.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.

    Returns:
        The page.

    Raises:
        RunFolderError: When ``summary.json``, ``timeseries.csv`` or ``events.jsonl`` is missing or
            unreadable.
    """
    files = read_run(run_dir)
    summary_path = run_dir / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        run = summary["run"]
        table = summary_table(summary, files.events)
    except FileNotFoundError:
        raise RunFolderError(f"{summary_path}: not found (write a run folder with "
                        f"`mana-sim run --out {run_dir}`)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{summary_path}: unreadable: {exc!r}") from None
    title = f"mana-sim run: {run.get('scenario')} (seed {run.get('seed')})"
    hours = float(run.get("duration_s", 0.0)) / 3600.0
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f"<p>{hours:.2f} simulated hours, profile {_esc(run.get('profile'))}, "
        f"{_esc(run.get('mode'))} mode. Ledger balanced: "
        f"{_esc((summary.get('ledger') or {}).get('balanced'))}.</p>",
        "<h2>Set-up</h2>", _setup(summary, files.events),
        "<h2>Success criteria</h2>", _criteria(summary),
        "<h2>Incident</h2>", _incident(summary),
        "<h2>Rollout</h2>", _rollout(summary, files.events),
        "<h2>Over time</h2>", _picture(run_dir),
        "<h2>Summary</h2>", f"<pre>{_esc(table)}</pre>",
        "<h2>Events</h2>", _events(files.events, summary.get("events")),
        "</body></html>\n",
    ])


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write a run folder's report page.

    Args:
        run_dir: A folder written by ``mana-sim run --out``.
        out: The HTML file (default ``RUN_DIR/report.html``).

    Returns:
        The written file.

    Raises:
        RunFolderError: When the folder cannot be read or the file cannot be written.
    """
    out = run_dir / "report.html" if out is None else out
    page = render_report(run_dir)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise RunFolderError(f"{out}: cannot write: {exc.strerror}") from None
    return out

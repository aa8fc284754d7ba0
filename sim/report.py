"""The short summary table ``mana-sim run`` prints.

After the per-version tables and the success criteria, a run with rollout activity (a split
changed, a rollback or a refused/ignored request, a schedule step or V1 deprecation), an
alert that fired, or an incident (a regression fault) gets a short rollout block
(:func:`rollout_lines`): the split timeline, rollbacks, ignored rollback requests, the alerts
fired and resolved, the incident's detection and rollback times, and V1 deprecation with the
sync hand-over. The rollout summary is read with ``.get`` throughout, so fields it gains later
print generically and an older ``summary.json`` still prints. Before it, a run with peer faults
or partitions gets one line per fault (:func:`peer_fault_lines`): the peers hit and how many of
each sync engine's connected peers they were; and a run with node restarts one line per
restart (:func:`restart_lines`): its time and what it lost.

Each table's title names its window (:data:`WHOLE_RUN`) and a row that is not over the whole
run says so in its label: gauges "at end", and the sync speed "last 30 s" (each engine's
``sync_speed_window_s``, its ``metrics_window_s``), so a recent rate is not read as a run's
average. The controller's line names the modules it drove and those it left on V1.

The pool table ends with each version's top rejection reason and the ledgers' evictions (and
restart losses, when any); a second table after the sync engines' gives sync's serving of
inbound peer requests per version (``services.sync_service``), and the filter and
subscription managers get one each, with V2's memory at the end, when their V2 ran
(:func:`manager_tables`); the rate limiter's line splits
its counts by peer class and names the refusals of peers that are no configured flooder
(unserved requests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MAX_SPLIT_LINES = 12
"""Split-timeline lines printed; the rest are counted (``summary.json`` has them all)."""
MAX_ROLLBACK_LINES = 6
"""Rollback lines printed; the rest are counted."""
MAX_GENERIC_ITEMS = 6
"""Items of an unfamiliar rollout list printed; the rest are counted."""
MAX_ALERT_RULES = 4
"""Names of the rules that fired printed on the alerts line; the rest are counted."""

# Event kinds that mean the rollout did something (a run with none prints no rollout block).
_ACTIVITY_KINDS = ("stage_change", "schedule_step", "rollback", "rollback_ignored",
                   "split_refused", "manual_rollback_step", "v1_deprecated", "resume_ignored",
                   "controller_paused", "controller_resumed", "deprecation_refused")
# Rollout summary fields the block shows by name; any other non-empty field is shown as is.
_KNOWN_FIELDS = frozenset({
    "splits", "rollbacks", "rollback_requests_ignored", "rollback_requests_ignored_by_reason",
    "alerts", "alert_events_total", "alerts_fired", "alerts_listed_max", "health_checks",
    "failed_health_checks", "controller",
    "v1_deprecated_at", "deprecation", "not_reached", "schedule_steps_refused",
    "v1_sync_retired_at", "deprecation_refused"})
# The v1_deprecated event's fields the deprecation line words itself.
_DEPRECATION_FIELDS = frozenset({
    "time", "kind", "migrated", "admitted_by_v2", "refused_by_v2", "sync_retired",
    "sync_handover", "sync_blocks_adopted", "v1_sync_checkpoint", "v2_sync_tip",
    "v2_sync_tip_before"})


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


_AT_RETIREMENT = frozenset({"memory_usage_mb", "sync_speed_bps", "blocks_behind",
                            "connected_peers"})
"""The table's live gauges that a retired V1's summary gives at retirement (the runner's
``RETIRED_POOL_GAUGES`` and ``RETIRED_SYNC_GAUGES``; docs/summary-json.md)."""
WHOLE_RUN = "counts and averages over the whole run, unless the label says otherwise"
"""The per-version tables' window, named in their titles (docs/summary-json.md, Windows)."""
AT_RETIREMENT_MARK = "*"
"""Follows a retired V1's figure read at its retirement; a note under the table says when."""


def _live(entry: dict[str, Any], value: Any, digits: int = 2, key: str = "") -> str:
    """A version's figure; a retired V1's live gauge is marked as read at its retirement.

    An older ``summary.json`` left such a gauge ``None``: "retired".
    """
    if entry.get("retired_at") is not None and key in _AT_RETIREMENT:
        return "retired" if value is None else _fmt(value, digits) + AT_RETIREMENT_MARK
    return _fmt(value, digits)


def _retirement_note(entries: dict[str, Any]) -> list[str]:
    """The note under a table with a retired version: its gauges are at retirement."""
    return [f"{AT_RETIREMENT_MARK} {version}: at its retirement ({clock(e['retired_at'])})"
            for version, e in sorted(entries.items())
            if isinstance(e, dict) and e.get("retired_at") is not None]


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    out = [title, line, "-" * len(line)]
    out.extend("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows)
    return out


def summary_table(summary: dict[str, Any],
                  events: Sequence[dict[str, Any]] | None = None) -> str:
    """Render the key figures of a run summary as plain-text tables.

    Args:
        summary: ``Result.summary``.
        events: The run's event records (``Result.events``), for the V1 deprecation's
            details (migration and sync hand-over); without them that line names the time
            only, unless the summary carries them.

    Returns:
        The text, ending with a newline.
    """
    run = summary["run"]
    lines = [
        f"mana-sim: scenario {run['scenario']!r}, seed {run['seed']}, profile "
        f"{run['profile']}, {run['duration_s'] / 3600:.2f} h simulated ({run['mode']} mode)",
        "",
    ]
    pool = summary["transaction_pool"]
    rows = []
    for label, key, digits in (
        ("requests", "requests", 0),
        # Breaker refusals are not requests the version served, but its error rate counts them
        # as errors (a broken V2 stays visible): shown so the error rate can be read.
        ("refused by breaker", "refused_by_breaker", 0),
        ("requests/s (run average)", "avg_request_rate_tps", 2),
        ("avg latency (ms)", "avg_latency_ms", 3), ("p95 latency (ms)", "p95_latency_ms", 3),
        ("p99 latency (ms)", "p99_latency_ms", 3),
        ("error rate (%, refusals included)", "error_rate_percent", 3),
        ("pool size at end", "pool_size", 0), ("memory at end (MiB)", "memory_usage_mb", 2),
        ("cpu (%, run average)", "avg_cpu_usage_percent", 3),
        ("rejected", "rejected_transactions", 0),
        ("included in blocks", "included_transactions", 0),
    ):
        v1, v2 = pool["v1"][key], pool["v2"][key]
        if digits == 0:
            v1, v2 = (None if v is None else int(v) for v in (v1, v2))
        rows.append([label, _live(pool["v1"], v1, digits, key),
                     _live(pool["v2"], v2, digits, key)])
        if key == "rejected_transactions":
            rows.append(["  top rejection reason",
                         *(_top_reason(pool[v].get("rejected_by_reason")) for v in ("v1", "v2"))])
    rows += _ledger_rows(summary.get("ledger") or {})
    lines += _table(f"transaction_pool ({WHOLE_RUN})", ["metric", "v1", "v2"], rows)
    lines += _retirement_note(pool)
    inc = summary["inclusion"]
    lines += ["", f"blocks {inc['blocks']:,}, transactions included {inc['included']:,}, "
              f"inclusion delay avg {_fmt(inc['avg_delay_s'])} s, "
              f"p95 {_fmt(inc['p95_delay_s'])} s", ""]
    sync = summary["sync_service"]
    versions = sorted(sync)
    rows = []
    for label, key in (("blocks imported", "blocks_imported"),
                       (_speed_label(sync), "sync_speed_bps"),
                       ("blocks behind at end", "blocks_behind"),
                       ("connected peers at end", "connected_peers"),
                       ("requests sent", "requests_sent"),
                       ("requests timed out", "requests_timed_out"),
                       ("bans", "bans"),
                       ("imported chain canonical at end", "imported_chain_is_canonical")):
        values = [sync[v].get(key) for v in versions]
        # Counters arrive as floats from the engines' metrics; show them as integers.
        if key != "sync_speed_bps":
            values = [int(x) if isinstance(x, float) and x.is_integer() else x for x in values]
        rows.append([label, *(_live(sync[v], x, 2, key) for v, x in zip(versions, values,
                                                                         strict=True))])
    lines += _table(f"sync_service ({WHOLE_RUN})", ["metric", *versions], rows)
    lines += _retirement_note(sync)
    lines += _serving_table(summary)
    lines += manager_tables(summary)
    routing = summary["routing"]
    lines += ["", "routing: " + ", ".join(
        f"{k} {_fmt(routing.get(k))}" for k in ("total_requests", "v1_requests", "v2_requests",
                                              "v2_fallbacks"))]
    lines.append("breakers at end: " + ", ".join(
        f"{m} {b['state']} ({b['transitions']} transitions)"
        for m, b in summary["breakers"].items()))
    lines += _limiter_lines(summary["rate_limit"])
    ledger = summary["ledger"]
    node = ledger["node"]
    lost = sum(int(ledger.get(v, {}).get("lost_in_restart", 0)) for v in ("v1", "v2"))
    lines.append(f"ledger: balanced ({node['arrived']:,} transactions arrived; "
                 f"dropped {sum(node['dropped'].values()):,}"
                 + (f"; lost in node restarts {lost:,} pending" if lost else "") + ")")
    for criterion in summary.get("success_criteria", []):
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[criterion["passed"]]
        lines.append(f"success criterion {criterion['name']}: {verdict} "
                     f"({criterion['detail']})")
    faults = peer_fault_lines(events) + restart_lines(summary, events)
    if faults:
        lines += ["", *faults]
    block = rollout_lines(summary, events)
    if block:
        lines += ["", *block]
    return "\n".join(lines) + "\n"


def _speed_label(sync: dict[str, Any]) -> str:
    """The sync speed row's label with its window: ``sync speed, last 30 s (blocks/s)``.

    ``sync_speed_bps`` is each engine's rate over its last ``metrics_window_s`` seconds
    (``sync_speed_window_s``), not a whole-run average: two engines that imported the same
    blocks can differ there. Windows that differ are named per version; an older summary
    without the field says "recent window".
    """
    windows = [(v, e.get("sync_speed_window_s")) for v, e in sorted(sync.items())
               if isinstance(e, dict)]
    values = {w for _, w in windows}
    if not values or not all(isinstance(w, (int, float)) for w in values):
        return "sync speed, recent window (blocks/s)"
    if len(values) == 1:
        return f"sync speed, last {values.pop():g} s (blocks/s)"
    return ("sync speed, last " + " / ".join(f"{w:g} s ({v})" for v, w in windows)
            + " (blocks/s)")


def _top_reason(by_reason: Any) -> str:
    """A pool's most frequent rejection reason and its count (ties: the first by name)."""
    if not isinstance(by_reason, dict) or not by_reason:
        return "-"
    reason, n = min(by_reason.items(), key=lambda item: (-item[1], str(item[0])))
    return f"{reason}: {_fmt(int(n))}"


def _ledger_rows(ledger: dict[str, Any]) -> list[list[str]]:
    """The pool ledgers' evictions, and restart losses when a restart lost any."""
    v1, v2 = (entry if isinstance(entry := ledger.get(v), dict) else {} for v in ("v1", "v2"))
    rows = [["evicted", _fmt(v1.get("evicted")), _fmt(v2.get("evicted"))]]
    if v1.get("lost_in_restart") or v2.get("lost_in_restart"):
        rows.append(["lost in node restart", _fmt(v1.get("lost_in_restart")),
                     _fmt(v2.get("lost_in_restart"))])
    return rows


_SERVICE_ROWS = (("requests", "requests", 0), ("errors", "errors", 0),
                 ("refused by breaker", "refused_by_breaker", 0),
                 ("error rate (%, refusals included)", "error_rate_percent", 3),
                 ("avg latency (ms)", "avg_latency_ms", 3),
                 ("p95 latency (ms)", "p95_latency_ms", 3))
"""A request/response module's rows (label, ``services.<module>.<version>`` field, digits)."""
MANAGERS = ("filter_manager", "subscription_manager")
"""The request/response modules with a table of their own when their V2 ran."""
_MANAGER_ROWS = (*_SERVICE_ROWS,
                 # The model gives these services no memory but V2's leak (none for V1).
                 ("memory at end (MiB, V2's leak)", "memory_usage_mb", 2))


def _service_table(title: str, entries: Any,
                   rows_spec: Sequence[tuple[str, str, int]]) -> list[str]:
    """One request/response module's table, a column per version (``services.<module>``)."""
    if not isinstance(entries, dict) or not entries:
        return []
    versions = sorted(entries)
    rows = []
    for label, key, digits in rows_spec:
        values = [entries[v].get(key) for v in versions]
        if digits == 0:
            values = [None if x is None else int(x) for x in values]
        rows.append([label, *(_fmt(x, digits) for x in values)])
    return ["", *_table(title, ["metric", *versions], rows)]


def _serving_table(summary: dict[str, Any]) -> list[str]:
    """Sync's serving of inbound peer requests per version (``services.sync_service``)."""
    return _service_table("sync serving (inbound peer requests), whole run",
                          (summary.get("services") or {}).get("sync_service"), _SERVICE_ROWS)


def _v2_ran(entries: Any) -> bool:
    """Whether a module's V2 had an attempt (a request or a breaker refusal) or leaked memory."""
    v2 = entries.get("v2") if isinstance(entries, dict) else None
    return isinstance(v2, dict) and any(
        isinstance(v2.get(key), (int, float)) and v2[key] > 0
        for key in ("requests", "refused_by_breaker", "memory_usage_mb"))


def manager_tables(summary: dict[str, Any]) -> list[str]:
    """The filter and subscription managers' tables, each only when its V2 ran.

    A manager whose V2 had a request, a breaker refusal or leaked memory (a ``v2_regression``)
    gets the sync serving table's rows and V2's memory at the end; one whose V2 had nothing
    gets none (its V1 alone has nothing to compare: the default canary keeps them on V1).

    Args:
        summary: ``Result.summary``.

    Returns:
        The tables' lines, each table after an empty line; empty when no manager's V2 ran.
    """
    services = summary.get("services") or {}
    lines: list[str] = []
    for module in MANAGERS:
        if _v2_ran(services.get(module)):
            lines += _service_table(f"{module} (requests, whole run)", services[module],
                                    _MANAGER_ROWS)
    return lines


def _limiter_lines(rl: dict[str, Any]) -> list[str]:
    """The per-peer limiter's counts, and by peer class (peers: allowed / refused)."""
    lines = [f"peer rate limiter: {rl['allowed']:,} allowed, {rl['refused']:,} refused"]
    classes = rl.get("by_peer_class")
    if isinstance(classes, dict) and classes:
        lines[0] += ("; by peer class (peers: allowed / refused): " + ", ".join(
            f"{name} {_fmt(c.get('peers'))}: {_fmt(c.get('allowed'))} / "
            f"{_fmt(c.get('refused'))}" for name, c in classes.items()))
    other = rl.get("refused_non_flooding")
    if other:
        lines.append(f"  refused from peers that are no configured flooder: {other:,} "
                     "(unserved: counted by zero_downtime)")
    return lines


def restart_lines(summary: dict[str, Any],
                  events: Sequence[dict[str, Any]] | None) -> list[str]:
    """Each node restart: its time and what it lost (its ``restart_losses`` event).

    Without events, one line with the restart count and the pools' ``lost_in_restart``.

    Args:
        summary: ``Result.summary``.
        events: The run's event records (``Result.events``).

    Returns:
        The block's lines (no trailing newline); empty for a run with no restart.
    """
    losses = [e for e in events or [] if e.get("kind") == "restart_losses"]
    if not losses:
        count = (summary.get("events") or {}).get("node_restart")
        if not count:
            return []
        ledger = summary.get("ledger") or {}
        return [f"node restarts: {_fmt(count)} (pending pool transactions lost: " + ", ".join(
            f"{v} {_fmt((ledger.get(v) or {}).get('lost_in_restart'))}"
            for v in ("v1", "v2")) + ")"]
    lines = ["node restarts (time h:mm:ss; what each lost):"]
    for e in losses:
        sync = [f"sync {k[5:-7]} {_fmt(v)} imported blocks (rewound to its checkpoint)"
                for k, v in e.items() if k.startswith("sync_") and k.endswith("_blocks")]
        lines.append(
            f"  {clock(e.get('time')):>10}  pending pool transactions "
            f"{_fmt(e.get('pool_transactions'))} (v1 {_fmt(e.get('pool_transactions_v1'))}, "
            f"v2 {_fmt(e.get('pool_transactions_v2'))}), queued transactions "
            f"{_fmt(e.get('queued_transactions'))}, pending replies "
            f"{_fmt(e.get('pending_replies'))}, queued requests "
            f"{_fmt(e.get('queued_requests'))}" + ("; " + ", ".join(sync) if sync else ""))
    return lines


MAX_NAMED_PEERS = 4
"""A peer fault's targets named on its line when there are at most this many."""


def peer_fault_lines(events: Sequence[dict[str, Any]] | None) -> list[str]:
    """The damage each peer fault and partition did, from its ``fault_start`` event.

    One line per fault that started: the peers it hit (and how many it asked for, when a
    count above the honest peers hit fewer) and, per sync engine running then, how many of
    the peers that engine was connected to they were (``v1_hit`` of ``v1_connected``).
    Empty without events or such faults.

    Args:
        events: The run's event records (``Result.events``).

    Returns:
        The block's lines (no trailing newline).
    """
    starts = [e for e in events or [] if e.get("kind") == "fault_start"
              and isinstance(e.get("peers"), list)]
    if not starts:
        return []
    lines = ["peer faults (start h:mm:ss, kind, peers hit; of each sync engine's connected "
             "peers):"]
    for event in starts:
        peers = event["peers"]
        named = f" ({', '.join(map(str, peers))})" if 0 < len(peers) <= MAX_NAMED_PEERS else ""
        engines = [f"{v} {_fmt(event.get(f'{v}_hit'))} of its {_fmt(event.get(f'{v}_connected'))}"
                   for v in ("v1", "v2") if f"{v}_connected" in event]
        requested = event.get("requested")
        asked = (f" (of {_fmt(requested)} asked: no more honest peers)"
                 if isinstance(requested, int) and requested > len(peers) else "")
        lines.append(f"  {clock(event.get('time')):>10}  {_fmt(event.get('fault'))}  "
                     f"{len(peers)} peers{asked}{named}; "
                     + (", ".join(engines) or "no sync engine"))
    return lines


def clock(t: Any) -> str:
    """Simulated time as h:mm:ss (hours run on past 24: a 15-day run reads 360:00:00).

    Args:
        t: Seconds since the run's start; anything else (None, NaN) reads ``-``.

    Returns:
        The text, with tenths of a second when there are any (``0:01:00.5``).
    """
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        return "-"
    whole = int(t)
    frac = t - whole
    text = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return text + (f"{frac:.1f}".removeprefix("0") if frac >= 0.05 else "")


def seconds(value: Any) -> str:
    """A duration in seconds with its unit (``12.0 s``), ``never`` for None.

    Args:
        value: Seconds, or None for something that never happened.

    Returns:
        The text.
    """
    if value is None:
        return "never"
    return f"{_fmt(value, 1)} s"


def _compact(value: Any) -> str:
    """A dict/list/value on one line (keys sorted), for fields the block has no words for."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_compact(v)}" for k, v in sorted(value.items(), key=str))
    if isinstance(value, (list, tuple)):
        return "[" + "; ".join(_compact(v) for v in value) + "]"
    return _fmt(value)


def _modules(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(m) for m in value) or "-"
    return "-" if value is None else str(value)


def _split_rows(splits: list[Any]) -> list[tuple[Any, ...]]:
    """Split changes grouped: one line per (time, split, version, source) with its modules."""
    rows: list[tuple[Any, ...]] = []
    for entry in splits:
        if not isinstance(entry, dict):
            continue
        key = (entry.get("time"), entry.get("split"), entry.get("version"),
               entry.get("source"))
        if rows and rows[-1][0] == key:
            rows[-1][1].append(entry.get("module"))
        else:
            rows.append((key, [entry.get("module")]))
    return rows


def _reasons(events: Sequence[dict[str, Any]] | None, kind: str, total: Any) -> str:
    """" (reason: n; ...)" of one kind's events, when every one is stored with a reason.

    The event log keeps only the first records of each kind: a partial tally is not shown.
    """
    if events is None:
        return ""
    by: dict[str, int] = {}
    for event in events:
        if event.get("kind") == kind and event.get("reason") is not None:
            by[str(event["reason"])] = by.get(str(event["reason"]), 0) + 1
    return (" (" + "; ".join(f"{why}: {n:,}" for why, n in sorted(by.items())) + ")"
            if by and sum(by.values()) == total else "")


def _alert_counts(summary: dict[str, Any], rollout: dict[str, Any]) -> tuple[int, int]:
    """Alerts fired and resolved: the event counts, else the (capped) alert list's."""
    counts = summary.get("events") or {}
    if "alert_firing" in counts or "alert_resolved" in counts:
        return int(counts.get("alert_firing") or 0), int(counts.get("alert_resolved") or 0)
    alerts = [a for a in rollout.get("alerts") or [] if isinstance(a, dict)]
    return (sum(a.get("event") == "alert_firing" for a in alerts),
            sum(a.get("event") == "alert_resolved" for a in alerts))


def _alerts_line(summary: dict[str, Any], rollout: dict[str, Any]) -> list[str]:
    """``alerts: N fired, M resolved (rule xK, ...)``; nothing when no alert fired."""
    fired, resolved = _alert_counts(summary, rollout)
    if not fired and not resolved:
        return []
    by_rule: dict[str, int] = {}  # in order of first firing
    for alert in rollout.get("alerts") or []:
        if isinstance(alert, dict) and alert.get("event") == "alert_firing":
            rule = str(alert.get("rule"))
            by_rule[rule] = by_rule.get(rule, 0) + 1
    names = [f"{rule}{'' if n == 1 else f' x{n}'}"
             for rule, n in list(by_rule.items())[:MAX_ALERT_RULES]]
    if len(by_rule) > MAX_ALERT_RULES:
        names.append(f"{len(by_rule) - MAX_ALERT_RULES} more rules")
    return [f"alerts: {fired:,} fired, {resolved:,} resolved"
            + (f" ({'; '.join(names)})" if names else "")]


def _controller_modules(controller: dict[str, Any]) -> list[str]:
    """Which modules the controller set a split of (and from when), and which it did not.

    The controller and AutoRollback set only the splits of modules on ``v2``: a split of a
    module on ``v1`` would move no traffic (``sim.rollout_link`` module doc). A module on
    ``v2`` at the end that it never set is listed apart, so is one on ``v1`` at the end.
    """
    if "modules_driven" not in controller and "modules_left_on_v1" not in controller:
        return []  # an older summary.json
    driven = list(controller.get("modules_driven") or [])
    since = controller.get("driven_from") or {}
    shown = [f"{m} (from {clock(since[m])})" if m in since else str(m) for m in driven]
    lines = ["    drove (modules whose split it set): "
             + (", ".join(shown) if shown else "none")]
    not_driven = list(controller.get("modules_not_driven") or [])
    if not_driven:
        lines.append(f"    on V2 at the end, its split never set by the controller: "
                     f"{_modules(not_driven)}")
    left = list(controller.get("modules_left_on_v1") or [])
    if left:
        lines.append(f"    on V1 at the end, not rolled out (its splits untouched, health "
                     f"checks n/a): {_modules(left)}")
    return lines


def _has_activity(summary: dict[str, Any], rollout: dict[str, Any]) -> bool:
    counts = summary.get("events") or {}
    controller = rollout.get("controller")
    return bool(isinstance(summary.get("incident"), dict) or any(_alert_counts(summary, rollout))
                or (isinstance(controller, dict) and (controller.get("modules_left_on_v1")
                                                      or controller.get("modules_not_driven")))
                or rollout.get("splits") or rollout.get("rollbacks")
                or rollout.get("rollback_requests_ignored")
                or rollout.get("v1_deprecated_at") is not None
                or rollout.get("not_reached") or rollout.get("schedule_steps_refused")
                or any(counts.get(kind) for kind in _ACTIVITY_KINDS)
                or any(rollout.get(k) for k in rollout if k not in _KNOWN_FIELDS))


def _handover(record: dict[str, Any]) -> str:
    """The sync checkpoint hand-over of a ``v1_deprecated`` or ``v1_sync_retired`` record."""
    return (f"checkpoint hand-over {record.get('sync_handover', '-')} (V1 checkpoint "
            f"{_fmt(record.get('v1_sync_checkpoint'))}, V2 tip "
            f"{_fmt(record.get('v2_sync_tip_before'))} -> {_fmt(record.get('v2_sync_tip'))}, "
            f"{_fmt(record.get('sync_blocks_adopted'))} blocks adopted)")


def _deprecation_line(rollout: dict[str, Any],
                      events: Sequence[dict[str, Any]] | None) -> list[str]:
    refused = rollout.get("deprecation_refused")
    if isinstance(refused, dict):  # a deprecation.at with the pool not at 100 % on V2
        return [f"V1 deprecation refused at {clock(refused.get('time'))}: "
                f"{_fmt(refused.get('reason'))}"]
    at = rollout.get("v1_deprecated_at")
    record: dict[str, Any] = {}
    if isinstance(rollout.get("deprecation"), dict):
        record = dict(rollout["deprecation"])
    elif events is not None:
        record = next((dict(e) for e in events if e.get("kind") == "v1_deprecated"), {})
    if at is None:
        at = record.get("time")
    if at is None and not record:
        return []
    line = f"V1 deprecated at {clock(at)}"
    if "migrated" in record:
        line += (f": {_fmt(record.get('migrated'))} pending transactions migrated "
                 f"({_fmt(record.get('admitted_by_v2'))} admitted by V2, "
                 f"{_fmt(record.get('refused_by_v2'))} refused by V2)")
    out = [line]
    if "sync_retired" in record:
        late = next((e for e in events or [] if e.get("kind") == "v1_sync_retired"), None)
        if record.get("sync_retired"):
            out.append("  sync: V1 retired, " + _handover(record))
        elif late is not None:
            # Sync was not fully on V2 at deprecation; V1 sync retired when it got there.
            out.append(f"  sync: V1 retired later, at {clock(late.get('time'))} when sync "
                       "reached 100 % on V2, " + _handover(late))
        elif rollout.get("v1_sync_retired_at") is not None:
            out.append(f"  sync: V1 retired later, at {clock(rollout['v1_sync_retired_at'])}"
                       " when sync reached 100 % on V2")
        else:
            out.append("  sync: V1 not retired (sync never fully on V2), no hand-over")
    extra = {k: v for k, v in record.items() if k not in _DEPRECATION_FIELDS}
    if extra:
        out.append(f"  also: {_compact(extra)}")
    return out


def rollout_lines(summary: dict[str, Any],
                  events: Sequence[dict[str, Any]] | None = None) -> list[str]:
    """The printed rollout block; empty for a run with no rollout activity, alert or incident.

    Args:
        summary: ``Result.summary``.
        events: The run's event records, for the deprecation's details (optional).

    Returns:
        The block's lines (no trailing newline).
    """
    rollout = summary.get("rollout") or {}
    if not isinstance(rollout, dict) or not _has_activity(summary, rollout):
        return []
    lines = ["rollout"]
    rows = _split_rows(list(rollout.get("splits") or []))
    if rows:
        lines.append("  split changes (time h:mm:ss, module(s), V2 split, by):")
        for (t, split, version, source), modules in rows[:MAX_SPLIT_LINES]:
            shown = f"{_fmt(split)} %" + ("" if version is None else f" on {version}")
            lines.append(f"    {clock(t):>10}  {_modules(modules)}  {shown}  "
                         f"{_fmt(source)}")
        if len(rows) > MAX_SPLIT_LINES:
            lines.append(f"    ... {len(rows) - MAX_SPLIT_LINES} more (summary.json "
                         "rollout.splits)")
    else:
        lines.append("  split changes: none")
    rollbacks = [r for r in rollout.get("rollbacks") or [] if isinstance(r, dict)]
    lines.append(f"  rollbacks: {len(rollbacks)}")
    lines.extend(f"    {clock(r.get('time')):>10}  {_modules(r.get('modules'))}  by "
                 f"{_fmt(r.get('source'))} ({_fmt(r.get('reason'))})"
                 for r in rollbacks[:MAX_ROLLBACK_LINES])
    if len(rollbacks) > MAX_ROLLBACK_LINES:
        lines.append(f"    ... {len(rollbacks) - MAX_ROLLBACK_LINES} more")
    ignored = rollout.get("rollback_requests_ignored") or 0
    if ignored:
        reasons = rollout.get("rollback_requests_ignored_by_reason") or {}
        lines.append(f"  rollback requests ignored: {_fmt(ignored)} ("
                     + "; ".join(f"{why}: {_fmt(n)}" for why, n in reasons.items()) + ")")
    counts = summary.get("events") or {}
    for kind, words in (("split_refused", "split changes refused"),
                        ("resume_ignored", "resume commands ignored")):
        if counts.get(kind):
            lines.append(f"  {words}: {_fmt(counts[kind])}"
                         f"{_reasons(events, kind, counts[kind])}")
    controller = rollout.get("controller")
    if isinstance(controller, dict):
        at = (f"{_fmt(controller.get('percent'))} % (stage "
              f"{_fmt(controller.get('stage_index'))})")
        if controller.get("modules_driven") == []:
            at = "drove no module (no split set)"
        lines.append(f"  controller at the end: {at}, paused "
                     f"{_fmt(controller.get('paused'))}, crashes "
                     f"{_fmt(controller.get('crashes'))}")
        lines += _controller_modules(controller)
    lines += ["  " + line for line in _alerts_line(summary, rollout)]
    incident = summary.get("incident")
    if isinstance(incident, dict):
        lines.append(
            f"  incident: {_fmt(incident.get('module'))} regression from "
            f"{clock(incident.get('regression_start_s'))}; after it: first alert "
            f"{seconds(incident.get('first_alert_after_s'))}, first failed health check "
            f"{seconds(incident.get('first_failed_health_check_after_s'))}, breaker open "
            f"{seconds(incident.get('breaker_open_after_s'))}, rolled back "
            f"{seconds(incident.get('rollback_after_s'))}")
    lines += ["  " + line for line in _deprecation_line(rollout, events)]
    for module, info in sorted((summary.get("modules") or {}).items()):
        # A module whose version changed during the run.
        info = info if isinstance(info, dict) else {}
        start, final = info.get("version_start"), info.get("version")
        if isinstance(start, str) and isinstance(final, str) and start != final:
            lines.append(f"  {module}: {start} at the start, {final} at the end")
    refused_steps = rollout.get("schedule_steps_refused") or 0
    if refused_steps:
        lines.append(f"  schedule steps refused (V1 deprecated): {_fmt(refused_steps)}")
    not_reached = [n for n in rollout.get("not_reached") or [] if isinstance(n, dict)]
    if not_reached:
        lines.append(f"  not reached (timed after the run's end): {len(not_reached)}")
        for item in not_reached[:MAX_GENERIC_ITEMS]:
            if item.get("what") == "fault":  # timed at or after the end: it never started
                on = f" on {item['module']}" if item.get("module") else ""
                lines.append(f"    {clock(item.get('time')):>10}  fault "
                             f"{_fmt(item.get('fault'))} (faults[{_fmt(item.get('index'))}])"
                             f"{on}: never started")
                continue
            details = {k: v for k, v in item.items() if k not in ("time", "what")}
            lines.append(f"    {clock(item.get('time')):>10}  {_fmt(item.get('what'))}"
                         + (f"  {_compact(details)}" if details else ""))
        if len(not_reached) > MAX_GENERIC_ITEMS:
            lines.append(f"    ... {len(not_reached) - MAX_GENERIC_ITEMS} more")
    for key in sorted(rollout):
        value = rollout[key]
        if key in _KNOWN_FIELDS or not value:
            continue
        if isinstance(value, list):
            lines.append(f"  {key}: {len(value)}")
            lines += [f"    {_compact(item)}" for item in value[:MAX_GENERIC_ITEMS]]
            if len(value) > MAX_GENERIC_ITEMS:
                lines.append(f"    ... {len(value) - MAX_GENERIC_ITEMS} more")
        else:
            lines.append(f"  {key}: {_compact(value)}")
    return lines

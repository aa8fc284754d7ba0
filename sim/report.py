"""The short summary table ``mana-sim run`` prints."""

from __future__ import annotations

import math
from typing import Any


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


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    out = [title, line, "-" * len(line)]
    out.extend("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows)
    return out


def summary_table(summary: dict[str, Any]) -> str:
    """Render the key figures of a run summary as plain-text tables.

    Args:
        summary: ``Result.summary``.

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
        ("throughput (tx/s)", "throughput_tps", 2),
        ("avg latency (ms)", "avg_latency_ms", 3), ("p95 latency (ms)", "p95_latency_ms", 3),
        ("p99 latency (ms)", "p99_latency_ms", 3),
        ("error rate (%, refusals included)", "error_rate_percent", 3),
        ("pool size at end", "pool_size", 0), ("memory (MiB)", "memory_usage_mb", 2),
        ("cpu (%)", "cpu_usage_percent", 3), ("rejected", "rejected_transactions", 0),
        ("included in blocks", "included_transactions", 0),
    ):
        v1, v2 = pool["v1"][key], pool["v2"][key]
        if digits == 0:
            v1, v2 = int(v1), int(v2)
        rows.append([label, _fmt(v1, digits), _fmt(v2, digits)])
    lines += _table("transaction_pool", ["metric", "v1", "v2"], rows)
    inc = summary["inclusion"]
    lines += ["", f"blocks {inc['blocks']:,}, transactions included {inc['included']:,}, "
              f"inclusion delay avg {_fmt(inc['avg_delay_s'])} s, "
              f"p95 {_fmt(inc['p95_delay_s'])} s", ""]
    sync = summary["sync_service"]
    versions = sorted(sync)
    rows = []
    for label, key in (("blocks imported", "blocks_imported"),
                       ("sync speed (blocks/s)", "sync_speed_bps"),
                       ("blocks behind", "blocks_behind"),
                       ("connected peers", "connected_peers"),
                       ("requests sent", "requests_sent"),
                       ("requests timed out", "requests_timed_out"),
                       ("bans", "bans"),
                       ("imported chain canonical", "imported_chain_is_canonical")):
        values = [sync[v].get(key) for v in versions]
        # Counters arrive as floats from the engines' metrics; show them as integers.
        if key != "sync_speed_bps":
            values = [int(x) if isinstance(x, float) and x.is_integer() else x for x in values]
        rows.append([label, *(_fmt(x) for x in values)])
    lines += _table("sync_service", ["metric", *versions], rows)
    routing = summary["routing"]
    lines += ["", "routing: " + ", ".join(
        f"{k} {_fmt(routing.get(k))}" for k in ("total_requests", "v1_requests", "v2_requests",
                                              "v2_fallbacks"))]
    lines.append("breakers: " + ", ".join(
        f"{m} {b['state']} ({b['transitions']} transitions)"
        for m, b in summary["breakers"].items()))
    rl = summary["rate_limit"]
    lines.append(f"peer rate limiter: {rl['allowed']:,} allowed, {rl['refused']:,} refused")
    ledger = summary["ledger"]
    node = ledger["node"]
    lines.append(f"ledger: balanced ({node['arrived']:,} transactions arrived; "
                 f"dropped {sum(node['dropped'].values()):,})")
    for criterion in summary.get("success_criteria", []):
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[criterion["passed"]]
        lines.append(f"success criterion {criterion['name']}: {verdict} "
                     f"({criterion['detail']})")
    return "\n".join(lines) + "\n"

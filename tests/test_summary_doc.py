"""docs/summary-json.md documents every field of summary.json, and nothing else.

Four short runs cover every section: a rollout (controller, AutoRollback, alerts firing and
resolving, a V2 regression so ``incident`` is a block, rollbacks and ignored rollback
requests, a manual script, and timed steps left after the end for ``not_reached``), a V1
deprecation that retires V1's pool and sync engine, one refused (the pool not at 100 % on
V2), and a plain canary run (``incident`` and
``rollout.controller`` null). Every key path of their summaries must match a path the page
lists, and every path it lists must occur in at least one of them: the page cannot miss a
field, nor keep one the code no longer writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sim.report import _AT_RETIREMENT
from sim.result import Result
from sim.runner import RETIRED_POOL_GAUGES, RETIRED_SYNC_GAUGES, run
from sim.scenario import load_scenario
from sync.peers import PROFILES as PEER_PROFILES
from tests.small_scenario import deprecation_scenario, small_scenario

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parent.parent / "docs" / "summary-json.md"
POOL, SYNC = "transaction_pool", "sync_service"
MODULES = (POOL, SYNC, "filter_manager", "subscription_manager")


def _tables(text: str, first_header: str) -> list[list[str]]:
    """The rows (cells stripped) of every Markdown table whose first header cell is given."""
    rows: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not inside:
            inside = cells[0] == first_header
            continue
        if set(cells[0]) <= {"-", ":"}:
            continue  # the header's rule
        rows.append(cells)
    return rows


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"first cell {cell!r} is not one `code` span"
    return match.group(1)


def documented() -> tuple[dict[str, list[str]], list[str]]:
    """The page's field rows by path, and its event kinds."""
    text = DOC.read_text(encoding="utf-8")
    fields: dict[str, list[str]] = {}
    for cells in _tables(text, "path"):
        path = _code(cells[0])
        assert path not in fields, f"{path} is listed twice"
        assert len(cells) == 5, f"{path}: needs path, unit, window, null when, meaning"
        fields[path] = cells
    kinds = [_code(cells[0]) for cells in _tables(text, "kind")]
    return fields, kinds


def pattern(path: str, kinds: list[str]) -> re.Pattern[str]:
    """A documented path as a regex over concrete key paths."""
    places = {
        "<version>": "(?:v1|v2)",
        "<module>": "(?:" + "|".join(MODULES) + ")",
        "<service>": "(?:sync_service|filter_manager|subscription_manager)",
        "<reason>": "[^.]+",
        "<peer_class>": "(?:" + "|".join(["flooding", *PEER_PROFILES]) + ")",
        "<kind>": "(?:" + "|".join(map(re.escape, kinds)) + ")",
    }
    out = re.escape(path)
    for name, regex in places.items():
        out = out.replace(re.escape(name), regex)
    return re.compile(out)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every leaf's path (a scalar or null); list items as ``[]``; empty containers none."""
    if isinstance(value, dict):
        out: set[str] = set()
        for key, item in value.items():
            out |= key_paths(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        return set().union(*(key_paths(item, prefix + "[]") for item in value))
    return {prefix}


def _rollout() -> Any:
    return small_scenario({
        "duration": 1500,
        "modules": {POOL: {"version": "v2", "traffic": 0}, SYNC: {"version": "v2", "traffic": 0}},
        "breakers": {"transaction_pool_v2": {"failure_threshold": 3}},
        "faults": [{"kind": "v2_regression", "module": POOL, "start": 120, "error_rate": 0.5,
                    "latency_factor": 3.0, "memory_leak_mb_per_hour": 100},
                   # After the end: never starts, listed in rollout.not_reached.
                   {"kind": "node_restart", "at": 1600}],
        "rollout": {
            "health_window": 60,
            "controller": {"stages": [50, 100], "stability_period": 120,
                           "resume_at": [1450, 2000]},
            "auto_rollback": {},
            # After the end: listed in rollout.not_reached, as are the script's last steps.
            "schedule": [{"time": 1600, "module": "filter_manager", "version": "v2",
                          "split": 10}],
            "manual_rollback_at": 1400,
            "deprecation": {"at": 1800},
        },
    })



def _refused() -> Any:
    # The pool at 50 % when the deprecation is due: refused (it never moves a split). Sync
    # stays on v1: the controller leaves it alone (rollout.controller.modules_left_on_v1).
    return small_scenario({
        "duration": 200,
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "rollout": {"deprecation": {"at": 100}, "controller": {"stages": [50]}},
    })


def _joined() -> Any:
    # Sync comes on v2 (a schedule step) after the controller's only stage: the controller
    # never sets its split (rollout.controller.modules_not_driven).
    return small_scenario({
        "duration": 150,
        "modules": {POOL: {"version": "v2", "traffic": 0}},
        "rollout": {"controller": {"stages": [50]},
                    "schedule": [{"time": 90, "module": SYNC, "version": "v2", "split": 0}]},
    })


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict[str, Any]]:
    """The five runs' summaries as summary.json holds them."""
    canary = load_scenario("canary").model_copy(update={"duration": 300.0})
    out: dict[str, dict[str, Any]] = {}
    for name, scenario in (("rollout", _rollout()), ("deprecation", deprecation_scenario()),
                           ("refused", _refused()), ("joined", _joined()),
                           ("canary", canary)):
        result: Result = run(scenario)
        out[name] = json.loads(result.summary_json())
    # The premises: each section the page describes has its content in some run.
    rollout, deprecation, plain = out["rollout"], out["deprecation"], out["canary"]
    assert rollout["incident"] is not None
    assert plain["incident"] is None
    assert rollout["rollout"]["controller"] is not None
    assert plain["rollout"]["controller"] is None
    assert rollout["rollout"]["rollbacks"]
    assert rollout["rollout"]["alerts_fired"]
    assert rollout["rollout"]["rollback_requests_ignored"]
    assert {item["what"] for item in rollout["rollout"]["not_reached"]} == {
        "schedule_step", "manual_rollback_step", "resume", "deprecation", "fault"}
    assert out["refused"]["rollout"]["controller"]["modules_left_on_v1"] == [SYNC]
    assert out["joined"]["rollout"]["controller"]["modules_not_driven"] == [SYNC]
    assert deprecation["transaction_pool"]["v1"]["retired_at"] == 100.0
    assert deprecation["sync_service"]["v1"]["retired_at"] == 100.0
    assert out["refused"]["rollout"]["deprecation_refused"] is not None
    assert deprecation["rollout"]["deprecation_refused"] is None
    return out


def test_every_field_of_the_summaries_is_documented(
        summaries: dict[str, dict[str, Any]]) -> None:
    fields, kinds = documented()
    patterns = [pattern(path, kinds) for path in fields]
    missing = sorted(
        f"{name}: {path}" for name, summary in summaries.items()
        for path in key_paths(summary)
        if not any(p.fullmatch(path) for p in patterns))
    assert not missing, "not in docs/summary-json.md:\n" + "\n".join(missing)


def test_every_documented_field_occurs_in_a_summary(
        summaries: dict[str, dict[str, Any]]) -> None:
    fields, kinds = documented()
    seen = set().union(*(key_paths(s) for s in summaries.values()))
    stale = sorted(path for path in fields
                   if not any(pattern(path, kinds).fullmatch(p) for p in seen))
    assert not stale, "documented but in no summary:\n" + "\n".join(stale)


def test_the_fields_said_to_be_at_retirement_are_those_the_runner_gives_so() -> None:
    fields, _ = documented()
    at_retirement = {path for path, cells in fields.items() if "at retirement" in cells[2]}
    assert at_retirement == (
        {f"transaction_pool.<version>.{g}" for g in RETIRED_POOL_GAUGES}
        | {f"sync_service.<version>.{g}" for g in RETIRED_SYNC_GAUGES})
    # The table printed by `mana-sim run` marks only such gauges.
    assert {*RETIRED_POOL_GAUGES, *RETIRED_SYNC_GAUGES} >= _AT_RETIREMENT


def test_the_path_patterns_match_only_what_they_name() -> None:
    kinds = ["rollback"]
    assert pattern("transaction_pool.<version>.requests", kinds).fullmatch(
        "transaction_pool.v1.requests")
    assert not pattern("transaction_pool.<version>.requests", kinds).fullmatch(
        "transaction_pool.v3.requests")
    assert not pattern("events.<kind>", kinds).fullmatch("events.rollback_ignored")
    assert pattern("ledger.node.dropped.<reason>", kinds).fullmatch(
        "ledger.node.dropped.v2_error")
    assert not pattern("ledger.node.dropped.<reason>", kinds).fullmatch("ledger.node.arrived.x")
    assert key_paths({"a": [{"b": 1}, {"c": None}], "d": {}, "e": None}) == {
        "a[].b", "a[].c", "e"}

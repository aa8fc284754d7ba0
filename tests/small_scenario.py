"""A small scenario for rollout tests: 8 peers, light load, a V2 pool whose signature check
does not fail the latency check; a V1 deprecation built on it; the events of a run by kind;
the summary and events of an output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.result import Result
from sim.scenario import Scenario, parse_scenario


def small_scenario(data: dict[str, Any], duration: float = 600.0) -> Scenario:
    """A validated scenario: the small base with ``data``'s top-level sections over it."""
    base: dict[str, Any] = {
        "duration": duration,
        "network": {"peers": {"honest": 8}, "inbound_rate": 0.2, "initial_chain": 50},
        "filter_manager": {"rate": 1.0},
        "subscription_manager": {"rate": 1.0},
        "pool": {"cost_v2": {"signature_check_s": 1.0e-6}},
    }
    base.update(data)
    return parse_scenario(base, "<test>")


def deprecation_scenario() -> Scenario:
    """Both modules to V2 at 100 % at 100 s and V1 deprecated then; 300 s, a 5,000-block chain."""
    steps = [{"time": 100, "module": "sync_service", "version": "v2", "split": 100},
             {"time": 100, "module": "transaction_pool", "version": "v2", "split": 100}]
    return small_scenario({
        "duration": 300,
        "network": {"peers": {"honest": 8}, "inbound_rate": 0.2, "initial_chain": 5_000},
        "rollout": {"schedule": steps, "deprecation": {"at": 100}},
    })


def summary_and_events(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``summary.json`` and the ``events.jsonl`` records of a ``run --out`` folder."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    events = [json.loads(line) for line in
              (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    return summary, events


def events_of(result: Result, *kinds: str) -> list[dict[str, Any]]:
    """The run's event records of the given kinds, in log order."""
    return [e for e in result.events if e["kind"] in kinds]


def pool_snapshot_after(windows: list[list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The rollout link's pool snapshot after feeding these windows of sample rows in turn.

    Each window's rows go into the link's health window, then the link takes its snapshot
    (with its V1 baselines updated), as a sample-time evaluation does.
    """
    from sim.runner import Model  # local: the helpers above need no model

    model = Model(parse_scenario({"duration": 600, "rollout": {
        "auto_rollback": {"threshold_set": "alerts"}}}, "<test>"), seed=1)
    link = model.rollout
    snap: dict[str, dict[str, float]] = {}
    for window in windows:
        for row in window:
            link._window.append(row)
        snap = link._snapshot()["transaction_pool"]
    return snap

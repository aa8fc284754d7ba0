"""The rollout block of the printed summary (``mana-sim run``; review 6, R2-5).

A run with rollout activity prints its split timeline, rollbacks with their modules and
source, ignored rollback requests and refused splits by reason, the incident's times and V1
deprecation with the sync hand-over; a run with none prints no block. The summary is read
defensively: fields added later print generically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.report import MAX_SPLIT_LINES, rollout_lines, summary_table
from sim.runner import run
from sim.scenario import load_scenario, parse_scenario


def _split(t: float, module: str, split: int, source: str) -> dict[str, Any]:
    return {"time": t, "module": module, "split": split, "source": source}


SUMMARY: dict[str, Any] = {
    "events": {"split_refused": 1, "rollback": 1, "v1_deprecated": 1},
    "rollout": {
        "splits": [_split(60.0, "transaction_pool", 5, "controller"),
                   _split(60.0, "sync_service", 5, "controller"),
                   _split(7_320.0, "transaction_pool", 0, "controller"),
                   _split(90_000.0, "transaction_pool", 100, "deprecation")],
        "rollbacks": [{"time": 7_320.0, "modules": ["transaction_pool"],
                       "source": "controller", "reason": "3 consecutive failed health checks"}],
        "rollback_requests_ignored": 3,
        "rollback_requests_ignored_by_reason": {"V1 deprecated": 1, "already at 0 %": 2},
        "controller": {"percent": 0, "stage_index": 2, "paused": True, "crashes": 0},
        "v1_deprecated_at": 90_000.0,
    },
    "incident": {"module": "transaction_pool", "regression_start_s": 7_300.0,
                 "first_alert_after_s": 60.0, "first_failed_health_check_after_s": 20.0,
                 "breaker_open_after_s": None, "rollback_after_s": 20.0},
}
EVENTS: list[dict[str, Any]] = [
    {"time": 90_000.0, "kind": "v1_deprecated", "migrated": 109, "admitted_by_v2": 90,
     "refused_by_v2": 19, "sync_retired": True, "sync_handover": "adopted",
     "v1_sync_checkpoint": 2_000, "v2_sync_tip_before": 1_500, "v2_sync_tip": 2_000,
     "sync_blocks_adopted": 500},
    {"time": 95_000.0, "kind": "split_refused", "module": "transaction_pool", "split": 0,
     "source": "manual_rollback", "reason": "V1 deprecated"},
]


def test_the_rollout_block_golden() -> None:
    assert rollout_lines(SUMMARY, EVENTS) == [
        "rollout",
        "  split changes (time h:mm:ss, module(s), V2 split, by):",
        "       0:01:00  transaction_pool, sync_service  5 %  controller",
        "       2:02:00  transaction_pool  0 %  controller",
        "      25:00:00  transaction_pool  100 %  deprecation",
        "  rollbacks: 1",
        "       2:02:00  transaction_pool  by controller (3 consecutive failed health checks)",
        "  rollback requests ignored: 3 (V1 deprecated: 1; already at 0 %: 2)",
        "  split changes refused: 1 (V1 deprecated: 1)",
        "  controller at the end: 0 % (stage 2), paused yes, crashes 0",
        "  incident: transaction_pool regression from 2:01:40; after it: first alert 60.0 s, "
        "first failed health check 20.0 s, breaker open never, rolled back 20.0 s",
        "  V1 deprecated at 25:00:00: 109 pending transactions migrated (90 admitted by V2, "
        "19 refused by V2)",
        "    sync: V1 retired, checkpoint hand-over adopted (V1 checkpoint 2,000, V2 tip "
        "1,500 -> 2,000, 500 blocks adopted)",
    ]


def test_without_events_the_deprecation_names_its_time_and_sync_not_retired_is_said() -> None:
    lines = rollout_lines(SUMMARY)
    assert "  V1 deprecated at 25:00:00" in lines
    assert "  split changes refused: 1" in lines  # no events: no reasons
    no_sync = [dict(EVENTS[0], sync_retired=False)]
    assert ("    sync: V1 not retired (sync never fully on V2), no hand-over"
            in rollout_lines(SUMMARY, no_sync))


def test_versions_refused_steps_and_unreached_steps_are_worded() -> None:
    summary = {
        "events": {"resume_ignored": 1},
        "modules": {"transaction_pool": {"version_start": "v1", "version": "v2"},
                    "sync_service": {"version_start": "v2", "version": "v2"}},
        "rollout": {
            "splits": [dict(_split(30.0, "transaction_pool", 50, "schedule"), version="v2")],
            "schedule_steps_refused": 2,
            "not_reached": [{"what": "schedule_step", "time": 9_000.0,
                             "module": "sync_service", "split": 100}],
            "a_later_field": {"b": 1},
        },
    }
    lines = rollout_lines(summary, [{"time": 10.0, "kind": "resume_ignored",
                                     "reason": "controller not paused"}])
    assert "       0:00:30  transaction_pool  50 % on v2  schedule" in lines
    assert "  resume commands ignored: 1 (controller not paused: 1)" in lines
    assert lines[-5:] == [
        "  transaction_pool: v1 at the start, v2 at the end",
        "  schedule steps refused (V1 deprecated): 2",
        "  not reached (timed after the run's end): 1",
        "       2:30:00  schedule_step  module sync_service, split 100",
        "  a_later_field: b 1"]


def test_a_long_timeline_is_cut_and_counted() -> None:
    splits = [_split(60.0 * i, "transaction_pool", i % 100, "schedule") for i in range(20)]
    lines = rollout_lines({"rollout": {"splits": splits}})
    shown = [line for line in lines if line.startswith("    ") and " % " in line]
    assert len(shown) == MAX_SPLIT_LINES
    assert f"    ... {20 - MAX_SPLIT_LINES} more (summary.json rollout.splits)" in lines


def test_a_run_without_rollout_activity_prints_no_block() -> None:
    result = run(load_scenario("canary").model_copy(update={"duration": 120.0}), seed=1)
    assert result.summary["rollout"]["splits"] == []
    assert rollout_lines(result.summary, result.events) == []
    text = summary_table(result.summary, result.events)
    assert "\nrollout\n" not in text
    assert text == summary_table(result.summary)


def test_run_prints_the_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "duration: 3m\nworkload:\n  - rate: {kind: constant, rate: 5}\n"
        "network:\n  peers: {honest: 3}\n  initial_chain: 10\n"
        "rollout:\n  schedule:\n"
        "    - {time: 30, module: transaction_pool, version: v2, split: 40}\n"
        "  manual_rollback_at: 90\n", encoding="utf-8")
    assert main(["run", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("\nrollout\n"):]
    assert "       0:00:30  transaction_pool  40 % on v2  schedule\n" in block
    assert "       0:01:30  transaction_pool  0 % on v2  manual_rollback\n" in block
    assert ("       0:01:30  transaction_pool  by manual_rollback (scripts/rollback_v2.sh)\n"
            in block)


def test_v1_sync_retired_after_the_deprecation_is_worded_with_its_hand_over() -> None:
    summary = {"events": {"v1_deprecated": 1, "v1_sync_retired": 1},
               "rollout": {"v1_deprecated_at": 300.0, "v1_sync_retired_at": 500.0}}
    events = [{"time": 300.0, "kind": "v1_deprecated", "migrated": 2, "admitted_by_v2": 2,
               "refused_by_v2": 0, "sync_retired": False},
              {"time": 500.0, "kind": "v1_sync_retired", "v1_sync_checkpoint": 1_100,
               "sync_handover": "adopted", "v2_sync_tip_before": 61, "v2_sync_tip": 1_100,
               "sync_blocks_adopted": 1_039}]
    lines = rollout_lines(summary, events)
    assert lines[-1] == ("    sync: V1 retired later, at 0:08:20 when sync reached 100 % on "
                         "V2, checkpoint hand-over adopted (V1 checkpoint 1,100, V2 tip 61 -> "
                         "1,100, 1,039 blocks adopted)")
    assert not any("v1_sync_retired_at" in line for line in lines)
    # Without the later event: sync never reached V2, so V1 sync was never retired.
    summary["rollout"]["v1_sync_retired_at"] = None
    lines = rollout_lines(summary, events[:1])
    assert lines[-1] == "    sync: V1 not retired (sync never fully on V2), no hand-over"


def test_alerts_and_the_incident_print_without_any_split_change() -> None:
    # Review R3-11: a regression and an alert that fired and resolved, no split changed: the
    # block used to be left out, saying nothing of either.
    summary = {
        "events": {"alert_firing": 3, "alert_resolved": 2},
        "rollout": {"splits": [], "rollbacks": [], "alerts": [
            {"time": 90.0, "event": "alert_firing", "rule": "Transaction Pool Error Rate"},
            {"time": 200.0, "event": "alert_resolved", "rule": "Transaction Pool Error Rate"},
            {"time": 250.0, "event": "alert_firing", "rule": "Transaction Pool Error Rate"},
            {"time": 260.0, "event": "alert_firing", "rule": "High Blocks Behind"},
            {"time": 300.0, "event": "alert_resolved", "rule": "High Blocks Behind"}]},
        "incident": {"module": "transaction_pool", "regression_start_s": 60.0,
                     "first_alert_after_s": 30.0, "first_failed_health_check_after_s": None,
                     "breaker_open_after_s": None, "rollback_after_s": None},
    }
    assert rollout_lines(summary) == [
        "rollout",
        "  split changes: none",
        "  rollbacks: 0",
        "  alerts: 3 fired, 2 resolved (Transaction Pool Error Rate x2; High Blocks Behind)",
        "  incident: transaction_pool regression from 0:01:00; after it: first alert 30.0 s, "
        "first failed health check never, breaker open never, rolled back never",
    ]
    # Alerts alone (no fault, so no incident) print the block too.
    del summary["incident"]
    assert "  alerts: 3 fired, 2 resolved (Transaction Pool Error Rate x2; High Blocks Behind)" \
        in rollout_lines(summary)


def test_many_alert_rules_are_cut_and_counted() -> None:
    alerts = [{"event": "alert_firing", "rule": f"r{i}"} for i in range(6)]
    lines = rollout_lines({"rollout": {"alerts": alerts}})
    assert "  alerts: 6 fired, 0 resolved (r0; r1; r2; r3; 2 more rules)" in lines


def test_a_run_whose_alert_fires_and_resolves_prints_it_and_the_incident() -> None:
    # The regression ends at 120 s; the 5-minute window forgets it by 420 s.
    scenario = load_scenario("canary").model_copy(update={"duration": 600.0})
    data = scenario.model_dump(mode="json", exclude_unset=True)
    data.update({
        # The canary's env block set the pool split too, and silently won: this ran at 5 %
        # until a setting given twice was refused (review 8, U-1). The block's breaker
        # lines stay; the modules are said here, once.
        "env": {"CIRCUIT_BREAKER_ENABLED": "true", "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3",
                "CIRCUIT_BREAKER_TIMEOUT": "30000"},
        "modules": {"transaction_pool": {"version": "v2", "traffic": 50},
                    "sync_service": {"version": "v2", "traffic": 5}},
        "faults": [{"kind": "v2_regression", "module": "transaction_pool", "start": 30,
                    "end": 120, "error_rate": 0.5}],
    })
    result = run(parse_scenario(data, "<test>"))
    assert result.summary["rollout"]["splits"] == []  # no split changed
    text = summary_table(result.summary, result.events)
    block = text[text.index("\nrollout\n"):]
    fired = [e["rule"] for e in result.events if e["kind"] == "alert_firing"]
    resolved = [e for e in result.events if e["kind"] == "alert_resolved"]
    assert "Transaction Pool Error Rate" in fired
    assert resolved
    assert (f"  alerts: {len(fired)} fired, {len(resolved)} resolved "
            "(Transaction Pool Error Rate" in block)
    assert "  incident: transaction_pool regression from 0:00:30; after it: first alert" in block

"""The HTML report and the plot show what the rollout recorded (review 6, R2-5).

One short run with a schedule, a fixed-time V1 deprecation and a manual rollback that the
deprecated pool refuses: the page lists the rollback with its modules, the refused split
change, the deprecation with its migration and sync hand-over fields; the event table cannot
be swamped by one kind; the picture marks the schedule steps and the deprecation.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.html_report import MAX_EVENT_ROWS_PER_KIND, render_report
from sim.plot import png_bytes

SCENARIO = """\
description: >
  A short schedule test:
  pool to 100 %, sync to 50 %.
duration: 5m
workload:
  - rate: {kind: constant, rate: 5}
network:
  peers: {honest: 3}
  initial_chain: 10
rollout:
  schedule:
    - {time: 30, module: transaction_pool, version: v2, split: 50}
    - {time: 30, module: sync_service, version: v2, split: 50}
    - {time: 100, module: transaction_pool, version: v2, split: 100}
  deprecation: {at: 120}
  manual_rollback_at: 200
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rollout_report")
    path = base / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    out = base / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-progress"]) == 0
    return out


def _section(page: str, title: str) -> str:
    start = page.index(f"<h3>{title}</h3>")
    end = page.find("<h", start + 4)
    return page[start:end]


def _rows(table: str) -> list[list[str]]:
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_the_page_shows_rollbacks_with_modules_refusals_and_the_hand_over(
        run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    rollout = summary["rollout"]
    # What the run did (the premise of the page checks below).
    assert [r["modules"] for r in rollout["rollbacks"]] == [["sync_service"]]
    assert summary["events"]["split_refused"] == 1
    page = render_report(run_dir)
    rollbacks = _rows(_section(page, "Rollbacks"))
    assert rollbacks[0] == ["time (h:mm:ss)", "modules", "source", "reason"]
    assert rollbacks[1] == ["0:03:20", "sync_service", "manual_rollback",
                            "scripts/rollback_v2.sh"]
    refused = dict(tuple(r) for r in _rows(_section(page, "Refused and ignored requests"))[1:])
    assert refused["split changes refused (split_refused events)"] == "1"
    assert refused["rollback requests ignored (no split changed)"] == "0"
    deprecation = dict(tuple(r) for r in
                       _rows(_section(page, "V1 deprecation and sync hand-over"))[1:])
    assert deprecation["time (h:mm:ss)"] == "0:02:00"
    assert deprecation["sync_retired"] == "False"
    assert deprecation["sync hand-over"].startswith("none: sync never fully on V2")
    assert {"migrated", "admitted_by_v2", "refused_by_v2"} <= set(deprecation)


def test_one_kind_of_event_cannot_fill_the_event_table(run_dir: Path, tmp_path: Path) -> None:
    for name in ("timeseries.csv", "summary.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    events: list[dict[str, Any]] = [{"time": float(i), "kind": "fallback"} for i in range(600)]
    events.append({"time": 700.0, "kind": "v1_deprecated", "migrated": 0})
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    page = render_report(tmp_path)
    table = page[page.index("<th>details</th>"):]
    kinds = [row[1] for row in _rows(table)]  # (the header row is cut off)
    assert kinds.count("fallback") == MAX_EVENT_ROWS_PER_KIND
    assert kinds[-1] == "v1_deprecated"


def test_the_picture_marks_schedule_steps_and_the_deprecation(
        run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.axes import Axes

    drawn: list[tuple[float, str]] = []
    original = Axes.axvline

    def record(self: Axes, x: float = 0, *args: Any, **kwargs: Any) -> Any:
        drawn.append((round(float(x), 6), str(kwargs.get("color"))))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Axes, "axvline", record)
    png_bytes(run_dir)
    # One line per panel (the time axis is in seconds, review 10 P-10; the event colours are
    # outside the data colours, P-5); two steps at 30 s make one schedule line.
    panels = drawn.count((30.0, "darkcyan"))
    assert panels >= 5
    assert drawn.count((120.0, "saddlebrown")) == panels
    assert drawn.count((200.0, "crimson")) == panels


def test_rollout_fields_added_later_are_shown_as_they_are(run_dir: Path, tmp_path: Path) -> None:
    for name in ("timeseries.csv", "events.jsonl"):
        shutil.copy(run_dir / name, tmp_path / name)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    summary["rollout"]["not_reached"] = [{"time": 9_000.0, "what": "schedule step"}]
    summary["rollout"]["resumes"] = 2
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    page = render_report(tmp_path)
    assert _rows(_section(page, "not_reached")) == [["time (h:mm:ss)", "what"],
                                                    ["2:30:00", "schedule step"]]
    figures = dict(tuple(r) for r in _rows(_section(page, "Other rollout figures"))[1:])
    assert figures["resumes"] == "2"
    assert figures["health_checks"] == str(summary["rollout"]["health_checks"])


def test_v1_sync_retired_after_the_deprecation_shows_its_hand_over(tmp_path: Path) -> None:
    path = tmp_path / "late.yaml"
    path.write_text(SCENARIO.replace("  manual_rollback_at: 200\n", "").replace(
        "    - {time: 30, module: sync_service, version: v2, split: 50}\n",
        "    - {time: 30, module: sync_service, version: v2, split: 50}\n"
        "    - {time: 200, module: sync_service, version: v2, split: 100}\n"),
        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rollout"]["v1_sync_retired_at"] == 200.0  # the premise
    deprecation = dict(tuple(r) for r in
                       _rows(_section(render_report(out), "V1 deprecation and sync hand-over"))[1:])
    assert deprecation["sync_retired"] == "False"
    assert "sync hand-over" not in deprecation
    assert deprecation["later, V1 sync retired: time (h:mm:ss)"] == "0:03:20"
    assert deprecation["later, V1 sync retired: sync_handover"] in ("adopted", "not_behind")


# Review 10 (session 7): the page reads correctly (P-6 to P-9, P-11).

def _edited(run_dir: Path, tmp_path: Path, summary_edit: Any = None,
            events: list[dict[str, Any]] | None = None) -> str:
    """The page of a copy of the run, its summary (and events) edited."""
    for name in ("timeseries.csv", "events.jsonl"):
        shutil.copy(run_dir / name, tmp_path / name)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    if summary_edit is not None:
        summary_edit(summary)
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if events is not None:
        with (tmp_path / "events.jsonl").open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(e) + "\n" for e in events)
    return render_report(tmp_path)


def test_the_summary_block_wraps_its_long_lines(run_dir: Path) -> None:
    page = render_report(run_dir)
    style = re.search(r"\bpre \{([^}]*)\}", page)
    assert style is not None
    # P-6: a scroll bar at the bottom of a 60-line box hid the criteria and incident lines.
    assert "white-space: pre-wrap" in style.group(1)
    assert "overflow-x" not in style.group(1)


def test_times_figures_and_units_read_plainly(run_dir: Path, tmp_path: Path) -> None:
    def edit(summary: dict[str, Any]) -> None:
        summary["rollout"]["alerts"] = [
            {"active_at": 7310.0, "event": "alert_firing", "module": "transaction_pool",
             "rule": "Transaction Pool Error Rate", "severity": "critical", "time": 7340.0,
             "value": 20.3433923},
            {"active_at": 20.0, "event": "alert_firing", "module": "sync_service",
             "rule": "High Blocks Behind", "severity": "critical", "time": 140.0,
             "value": 8840.0}]
        summary["rollout"]["controller"] = {
            "driven_from": {"sync_service": 60.0, "transaction_pool": 3660.0},
            "modules_left_on_v1": [], "percent": 0}
        criteria = {c["name"]: c for c in summary["success_criteria"]}
        criteria["memory_increase"]["figure"] = 0.011692
        criteria["error_rate_48h"]["figure"] = -0.0788614

    page = _edited(run_dir, tmp_path, edit)
    alerts = _rows(_section(page, "alerts"))
    assert alerts[0] == ["time (h:mm:ss)", "active_at (h:mm:ss)", "event", "module", "rule",
                         "severity", "value"]
    assert [r[1] for r in alerts[1:]] == ["2:01:50", "0:00:20"]
    assert [r[-1] for r in alerts[1:]] == ["20.3 %", "8,840 blocks"]
    controller = dict(tuple(r) for r in _rows(_section(page, "controller"))[1:])
    assert controller["driven_from (h:mm:ss)"] == "sync_service 0:01:00, transaction_pool 1:01:00"
    assert controller["modules_left_on_v1"] == "none"
    assert controller["percent (%)"] == "0"
    assert _rows(_section(page, "Traffic split changes"))[0][2] == "V2 split (%)"
    start = page.index("<h2>Success criteria</h2>")
    criteria = {r[0]: r for r in _rows(page[start:page.index("</table>", start)])[1:]}
    assert criteria["memory_increase"][2] == "0.0117 %"
    assert criteria["error_rate_48h"][2] == "-0.0789 %"


def test_the_incident_is_a_timeline_in_time_order(run_dir: Path, tmp_path: Path) -> None:
    def edit(summary: dict[str, Any]) -> None:
        summary["incident"] = {"breaker_open_after_s": 1.65825104, "first_alert_after_s": 40.0,
                               "first_failed_health_check_after_s": 20.0,
                               "module": "transaction_pool", "regression_start_s": 7300.0,
                               "rollback_after_s": 140.0, "second_rollback_after_s": None}

    page = _edited(run_dir, tmp_path, edit)
    start = page.index("<h2>Incident</h2>")
    assert "A regression of transaction_pool" in page[start:page.index("<table>", start)]
    rows = _rows(page[start:page.index("</table>", start)])
    assert rows == [["step", "after the start", "time (h:mm:ss)"],
                    ["regression started", "+0.0 s", "2:01:40"],
                    ["breaker opened", "+1.7 s", "2:01:41.7"],
                    ["first failed health check", "+20.0 s", "2:02:00"],
                    ["first alert firing", "+40.0 s", "2:02:20"],
                    ["rolled back", "+140.0 s", "2:04:00"],
                    ["second rollback", "never", "-"]]


@pytest.mark.parametrize(("v2_tps", "v2_p95", "resolution", "verdict", "cell"), [
    (30000.0, 0.0214891, 0.021, "failed", "0.850 capacity V2/V1 (the worse ratio) figure 0.85"),
    # One histogram bucket apart: the figure is 1, the measured ratio 0.980 (automated-rollout).
    (40670.3, 0.0219232, 0.0219232 / 0.0214891 - 1.0, "passed",
     "0.980 p95 latency V1/V2 (within the 2.02 % resolution: counts as 1) figure 1 (ratio, "
     "V2 vs V1)"),
    (40670.3, 0.0219232, 0.021, "passed",
     "0.980 p95 latency V1/V2 (within the 2.1 % resolution: counts as 1) figure 1.00078324"),
    (40670.3, 0.025, 0.021, "failed",
     "0.860 p95 latency V1/V2 (below 1 by more than the 2.1 % resolution) figure 0.878"),
    (40670.3, 0.0214891, 0.021, "passed", "1.000 p95 latency V1/V2 (the worse ratio) figure 1.02"),
    (40670.3, 0.0219232, 0.0202, "failed",
     "0.980 p95 latency V1/V2 (below 1 by more than the 2.02 % resolution) figure 0.99999908"),
])
def test_the_performance_figure_shows_the_measured_ratio(
        run_dir: Path, tmp_path: Path, v2_tps: float, v2_p95: float, resolution: float,
        verdict: str, cell: str) -> None:
    from sim.rollout.criteria import performance

    judged = performance(35310.8, v2_tps, 0.0214891, v2_p95,
                         p95_resolution=resolution).as_dict()

    def edit(summary: dict[str, Any]) -> None:
        summary["success_criteria"] = [
            {**judged, "detail": f"transaction_pool: {judged['detail']}"}]

    page = _edited(run_dir, tmp_path, edit)
    start = page.index("<h2>Success criteria</h2>")
    row = _rows(page[start:page.index("</table>", start)])[1]
    assert verdict in row[1]
    assert row[2].replace("<br>", " ").startswith(cell)


def test_the_set_up_says_what_ran_at_which_split_and_the_faults(
        run_dir: Path, tmp_path: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["description"] == "A short schedule test: pool to 100 %, sync to 50 %."
    page = render_report(run_dir)
    start = page.index("<h2>Set-up</h2>")
    assert start < page.index("<h2>Success criteria</h2>")
    setup = page[start:page.index("<h2>Success criteria</h2>")]
    assert "A short schedule test: pool to 100 %, sync to 50 %." in setup
    rows = _rows(setup)
    assert rows[0] == ["module", "version at start", "V2 split at start (%)", "version at end",
                       "V2 split at end (%)"]
    by_module = {r[0]: r[1:] for r in rows[1:]}
    assert by_module["transaction_pool"] == ["v1", "0", "v2", "100"]
    assert by_module["sync_service"] == ["v1", "0", "v2", "0"]  # rolled back at 200 s
    assert "No fault injected." in setup
    page = _edited(run_dir, tmp_path, events=[
        {"fault": "partition", "index": 0, "kind": "fault_start", "time": 60.0,
         "peers": ["a", "b"], "v2_hit": 2},
        {"fault": "partition", "index": 0, "kind": "fault_end", "time": 900.0},
        {"fault": "v2_regression", "index": 0, "kind": "fault_start", "time": 7300.0}])
    faults = _rows(page[page.index("<th>fault</th>") - 11:])
    assert faults[:3] == [["fault", "start (h:mm:ss)", "end (h:mm:ss)", "details"],
                          ["partition", "0:01:00", "0:15:00", "peers 2, v2_hit 2"],
                          ["v2_regression", "2:01:40", "end of run", ""]]

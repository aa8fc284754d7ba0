"""Printed and HTML figures say their window and unit (review 8 U-7, U-8's HTML bullet).

The printed sync speed is each engine's rate over its last ``metrics_window_s`` seconds, not
a whole-run average: its label names that window. Gauges read at the end say so. The HTML
report gives simulated times as h:mm:ss, as the printed summary does, and the success
criteria's figures and thresholds with their units.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.html_report import render_report
from sim.report import summary_table
from sim.runner import run
from tests.small_scenario import small_scenario as custom

pytestmark = pytest.mark.e2e

SYNC = "sync_service"


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    result = run(custom({"duration": 120, "modules": {SYNC: {"version": "v2", "traffic": 10}},
                         "sync": {"v1": {"metrics_window_s": 60.0},
                                  "v2": {"metrics_window_s": 60.0}}}))
    return json.loads(result.summary_json())


def _row(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


def test_the_sync_speed_label_names_the_configured_window(summary: dict[str, Any]) -> None:
    assert {e["sync_speed_window_s"] for e in summary[SYNC].values()} == {60.0}
    text = summary_table(summary)
    row = _row(text, "sync speed, last 60 s (blocks/s)")
    assert row.split()[-2:] == [f"{summary[SYNC][v]['sync_speed_bps']:.2f}"
                                for v in ("v1", "v2")]
    assert "sync speed (blocks/s)" not in text


def test_the_default_window_is_30_s() -> None:
    s = run(custom({"duration": 60})).summary
    assert s[SYNC]["v1"]["sync_speed_window_s"] == 30.0
    assert "sync speed, last 30 s (blocks/s)" in summary_table(s)


def test_windows_that_differ_are_named_per_version(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    s[SYNC]["v2"]["sync_speed_window_s"] = 20.0
    assert "sync speed, last 60 s (v1) / 20 s (v2) (blocks/s)" in summary_table(s)
    for entry in s[SYNC].values():  # an older summary.json without the field
        del entry["sync_speed_window_s"]
    assert "sync speed, recent window (blocks/s)" in summary_table(s)


def test_gauges_say_they_are_at_the_end_and_tables_their_window(
        summary: dict[str, Any]) -> None:
    text = summary_table(summary)
    for label in ("memory at end (MiB)", "pool size at end", "blocks behind at end",
                  "connected peers at end", "imported chain canonical at end",
                  "requests/s (run average)", "cpu (%, run average)", "breakers at end: "):
        _row(text, label)
    assert "transaction_pool (counts and averages over the whole run" in text
    assert "sync_service (counts and averages over the whole run" in text
    assert "sync serving (inbound peer requests), whole run" in text


# -- the HTML report ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("html_windows")
    path = base / "s.yaml"
    path.write_text(
        "duration: 5m\nnetwork: {peers: {honest: 3}, initial_chain: 10}\n"
        "modules: {transaction_pool: {version: v2, traffic: 20}}\n"
        "faults: [{kind: v2_regression, module: transaction_pool, start: 90, "
        "error_rate: 0.5}]\n"
        "rollout: {manual_rollback_at: 150}\n", encoding="utf-8")
    out = base / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return render_report(out), summary


def _rows(page: str, after: str) -> list[list[str]]:
    start = page.index(after)
    table = page[page.index("<table>", start):page.index("</table>", start)]
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_html_criteria_give_figures_and_thresholds_with_units(
        page: tuple[str, dict[str, Any]]) -> None:
    html, _ = page
    rows = {r[0]: r for r in _rows(html, "<h2>Success criteria</h2>")[1:]}
    assert rows["zero_downtime"][3] == "0 requests unserved"
    assert rows["performance"][3] == "1 (ratio, V2 vs V1)"
    assert rows["error_rate_48h"][3] == "0.1 %"
    assert rows["memory_increase"][3] == "15 %"
    assert rows["error_rate_48h"][2].endswith(" %")


def test_html_times_are_h_mm_ss(page: tuple[str, dict[str, Any]]) -> None:
    html, summary = page
    assert summary["incident"]["regression_start_s"] == 90.0  # the premises
    assert summary["rollout"]["rollbacks"][0]["time"] == 150.0
    incident = {r[0]: r[1:] for r in _rows(html, "<h2>Incident</h2>")[1:]}
    assert incident["regression started"] == ["+0.0 s", "0:01:30"]
    assert incident["rolled back"] == ["+60.0 s", "0:02:30"]
    assert incident["first alert firing"][0] in (
        "never", *(f"+{t:.1f} s" for t in range(300)))
    rollbacks = _rows(html, "<h3>Rollbacks</h3>")
    assert rollbacks[0][0] == "time (h:mm:ss)"
    assert rollbacks[1][0] == "0:02:30"
    splits = _rows(html, "<h3>Traffic split changes</h3>")
    assert splits[0][0] == "time (h:mm:ss)"
    assert splits[1][0] == "0:02:30"
    events = html[html.index("<th>time (h:mm:ss)</th><th>kind</th>"):]
    times = re.findall(r'<tr><td class="num">([^<]*)</td>', events)
    assert times
    assert all(re.fullmatch(r"\d+:\d\d:\d\d(\.\d)?", t) for t in times)
    assert "<th>time (s)</th>" not in html


def test_a_regression_after_the_end_reads_as_none_during_the_run(tmp_path: Path) -> None:
    path = tmp_path / "late.yaml"
    path.write_text("duration: 2m\nnetwork: {peers: {honest: 3}, initial_chain: 10}\n"
                    "faults: [{kind: v2_regression, start: 2h, error_rate: 0.2}]\n",
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-progress"]) == 0
    html = render_report(out)
    assert "<p>No regression during this run.</p>" in html
    not_reached = _rows(html, "<h3>not_reached</h3>")
    assert not_reached[0][:2] == ["time (h:mm:ss)", "what"]
    assert not_reached[1][:2] == ["2:00:00", "fault"]

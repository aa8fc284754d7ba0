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

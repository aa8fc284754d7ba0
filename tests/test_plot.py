"""``mana-sim plot RUN_DIR``: the rollout picture drawn from a run folder (sim/plot.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.html_report import render_report
from sim.plot import (
    RunFolderError,
    fault_spans,
    marks,
    plot_run,
    read_run,
    run_title,
    split_columns,
    time_unit,
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plot") / "canary"
    assert main(["run", "canary", "--duration", "10m", "--seed", "3", "--out", str(out),
                 "--quiet", "--no-progress"]) == 0
    return out


def test_read_run_gives_the_csv_columns_and_the_events(run_dir: Path) -> None:
    files = read_run(run_dir)
    header = (run_dir / "timeseries.csv").read_text(encoding="utf-8").splitlines()[0]
    assert list(files.series) == header.split(",")
    np.testing.assert_array_equal(files.series["time"], np.arange(10.0, 601.0, 10.0))
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert files.events == [json.loads(line) for line in lines]
    # An empty CSV cell (a V2 latency with no V2 request in the sample) reads as NaN.
    assert all(np.isnan(v) or v >= 0 for v in files.series["transaction_pool.v2.avg_latency_ms"])


def test_only_splits_that_leave_zero_are_drawn(run_dir: Path) -> None:
    # The canary sends 5 % of the pool and sync traffic to V2; filter and subscription stay V1.
    assert split_columns(read_run(run_dir).series) == [
        "sync_service.traffic_split", "transaction_pool.traffic_split"]


def test_title_names_the_scenario_and_seed(run_dir: Path, tmp_path: Path) -> None:
    assert run_title(run_dir) == "canary (seed 3)"
    assert run_title(tmp_path) == tmp_path.name  # no summary.json: the folder's name


def test_time_axis_in_hours_up_to_three_days() -> None:
    assert time_unit(3 * 86_400.0) == (3_600.0, "hours")
    assert time_unit(3 * 86_400.0 + 1.0) == (86_400.0, "days")


def test_marks_pick_the_drawn_kinds() -> None:
    events = [
        {"kind": "stage_change", "time": 60.0, "percent": 5},
        {"kind": "breaker_transition", "time": 70.0, "to_state": "open"},
        {"kind": "breaker_transition", "time": 100.0, "to_state": "half_open"},
        {"kind": "alert_firing", "time": 80.0},
        {"kind": "alert_resolved", "time": 90.0},
        {"kind": "rollback", "time": 95.0},
        {"kind": "fallback", "time": 71.0},
        # A schedule step (the guide's schedule or a user's) and the deprecation cut-over are
        # marked too (review 6, R2-5: guide-schedule had no line at all).
        {"kind": "schedule_step", "time": 259_200.0, "module": "transaction_pool"},
        {"kind": "v1_deprecated", "time": 1_036_800.0},
        {"kind": "split_refused", "time": 1_040_000.0},
    ]
    assert marks(events) == {"stage": [60.0], "schedule": [259_200.0],
                             "deprecation": [1_036_800.0], "rollback": [95.0],
                             "alert": [80.0], "breaker_open": [70.0]}


def test_fault_spans_pair_start_and_end_by_index() -> None:
    events = [
        {"kind": "fault_start", "time": 10.0, "index": 0, "fault": "v2_regression"},
        {"kind": "fault_start", "time": 20.0, "index": 1, "fault": "partition"},
        {"kind": "fault_end", "time": 30.0, "index": 0, "fault": "v2_regression"},
        {"kind": "fault_end", "time": 40.0, "index": 7, "fault": "stray"},  # no start: ignored
    ]
    # Fault 1 never ends: it is drawn to the last sample.
    assert fault_spans(events, 50.0) == [(10.0, 30.0, "v2_regression"),
                                         (20.0, 50.0, "partition")]


def test_plot_writes_a_png_of_the_run(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from matplotlib import image  # the [plot] extra; the dev extra installs it too

    assert main(["plot", str(run_dir)]) == 0
    out = run_dir / "rollout.png"
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(str(out))
    assert pixels.shape[:2] == (900, 1000)  # 10 x 9 inches at 100 dpi
    # Not a blank canvas: the curves and labels leave many distinct colours.
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 50
    other = run_dir / "elsewhere.png"
    assert plot_run(run_dir, other) == other
    assert other.is_file()


def test_a_folder_that_is_not_a_run_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "timeseries.csv: not found" in err
    assert "mana-sim run --out" in err


def test_a_foreign_csv_or_event_line_is_refused(tmp_path: Path) -> None:
    (tmp_path / "timeseries.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "events.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(RunFolderError, match="no 'time' column"):
        read_run(tmp_path)
    (tmp_path / "timeseries.csv").write_text("time,b\n10,2\n", encoding="utf-8")
    (tmp_path / "events.jsonl").write_text('{"time": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(RunFolderError, match="line 2: not an event record"):
        read_run(tmp_path)
    (tmp_path / "timeseries.csv").write_text("time,b\nten,2\n", encoding="utf-8")
    with pytest.raises(RunFolderError, match="unreadable"):
        read_run(tmp_path)


def test_without_matplotlib_it_says_how_to_install(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["plot", str(run_dir), "--out", str(run_dir / "never.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "plot needs matplotlib: pip install matplotlib" in err
    assert not (run_dir / "never.png").exists()


# --------------------------------------------------------------------------------------------
# mana-sim report RUN_DIR (sim/html_report.py)


def _parse(page: str) -> list[str]:
    """The page's tags, checked to open and close in order (void tags aside)."""
    from html.parser import HTMLParser

    stack: list[str] = []
    seen: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            seen.append(tag)
            if tag not in ("meta", "img", "br"):
                stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert stack, tag
            assert stack.pop() == tag, tag

    Checker().feed(page)
    assert stack == []
    return seen


def test_report_page_shows_criteria_rollout_picture_and_events(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(run_dir)]) == 0
    out = run_dir / "report.html"
    assert capsys.readouterr().out == f"wrote {out}\n"
    page = out.read_text(encoding="utf-8")
    tags = _parse(page)
    assert "img" in tags
    assert "script" not in tags
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert "<h1>mana-sim run: canary (seed 3)</h1>" in page
    for criterion in summary["success_criteria"]:
        assert f"<td>{criterion['name']}</td>" in page
    # The canary's two stage changes (5 % on both modules at the first check).
    for split in summary["rollout"]["splits"]:
        assert f"<td>{split['module']}</td>" in page
    assert 'src="data:image/png;base64,' in page
    events = [json.loads(line) for line in
              (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    for kind in {e["kind"] for e in events}:
        assert f"<td>{kind}</td>" in page


def test_report_escapes_what_it_shows(run_dir: Path, tmp_path: Path) -> None:
    for name in ("timeseries.csv", "summary.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    summary["run"]["scenario"] = "<script>alert(1)</script>"
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(
        '{"time": 1.0, "kind": "<b>x</b>", "note": "a & b"}\n', encoding="utf-8")
    page = render_report(tmp_path)
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page
    assert "&amp;" in page
    _parse(page)
    # A summary the text table cannot render is refused with the file's name.
    del summary["transaction_pool"]
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(RunFolderError, match=r"summary\.json: unreadable"):
        render_report(tmp_path)


def test_report_without_matplotlib_says_why_there_is_no_picture(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = render_report(run_dir)
    assert "<p>No picture: plot needs matplotlib" in page
    assert "data:image/png" not in page
    assert "<h2>Success criteria</h2>" in page


def test_report_of_a_folder_without_summary_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "timeseries.csv").write_text("time\n10\n", encoding="utf-8")
    (tmp_path / "events.jsonl").write_text("", encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "summary.json: not found" in err

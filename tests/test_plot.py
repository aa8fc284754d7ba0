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
    build_figure,
    clock,
    fault_spans,
    marks,
    plot_run,
    read_run,
    run_title,
    split_columns,
    time_step,
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
    # 11 inches wide at 100 dpi; 2.1 inches a panel (7 here: split, throughput, latency,
    # error rate, memory, sync, as the canary runs sync on V2) and 1.2 for titles.
    assert pixels.shape[:2] == (round(100 * (2.1 * 6 + 1.2)), 1100)
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


# --------------------------------------------------------------------------------------------
# What the picture shows (review 10, P-1 to P-5, P-10, P-12): asserted on the figure's structure


def _write_run(folder: Path, rows: dict[str, list[float]], events: list[dict[str, object]],
               incident: dict[str, object] | None = None) -> Path:
    """A small hand-made run folder: the columns given (time first), events, a summary."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ["time", *sorted(k for k in rows if k != "time")]
    cell = {n: ["" if np.isnan(v) else repr(float(v)) for v in rows[n]] for n in names}
    lines = [",".join(names), *(",".join(cell[n][i] for n in names)
                                for i in range(len(rows["time"])))]
    (folder / "timeseries.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    summary = {"run": {"scenario": folder.name, "seed": 1}, "incident": incident}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def _regression(folder: Path, rejected: float = 1.0) -> Path:
    """A regression at 7300 s on the pool at 50 %: breaker, alert, health check, rollback."""
    t = np.arange(10.0, 9001.0, 10.0)
    split = np.where(t <= 7440.0, 50.0, 0.0)  # the 7440-s row is taken before the rollback
    split[t <= 7260.0] = 25.0
    err = np.where((t > 7300.0) & (t <= 7440.0), 100.0, 0.0)
    err[t > 7440.0] = np.nan  # V2 serves nothing after the rollback
    leak = np.where(t > 7300.0, 32.0 + (t - 7300.0) * 0.1, 32.0)
    rows = {"time": list(t),
            "transaction_pool.traffic_split": list(split),
            "sync_service.traffic_split": list(split),
            "transaction_pool.v1.throughput_tps": list(20.0 - split / 10.0),
            "transaction_pool.v2.throughput_tps": list(split / 10.0),
            "transaction_pool.v1.error_rate_percent": [0.0] * len(t),
            "transaction_pool.v2.error_rate_percent": list(err),
            "transaction_pool.v1.memory_usage_mb": [32.0] * len(t),
            "transaction_pool.v2.memory_usage_mb": list(leak),
            "transaction_pool.v1.rejected_transactions_in_interval": [rejected] * len(t)}
    events: list[dict[str, object]] = [
        {"time": 3660.0, "kind": "stage_change", "percent": 25},
        {"time": 7260.0, "kind": "stage_change", "percent": 50},
        {"time": 7300.0, "kind": "fault_start", "index": 0, "fault": "v2_regression"},
        {"time": 7301.7, "kind": "breaker_transition", "module": "transaction_pool",
         "to_state": "open"},
        {"time": 7320.0, "kind": "health_check_failed"},
        {"time": 7340.0, "kind": "alert_firing", "rule": "Transaction Pool Error Rate"},
        {"time": 7380.0, "kind": "health_check_failed"},
        {"time": 7440.0, "kind": "rollback"},
        {"time": 7440.0, "kind": "stage_change", "percent": 0},
    ]
    incident = {"module": "transaction_pool", "regression_start_s": 7300.0,
                "breaker_open_after_s": 1.7, "first_alert_after_s": 40.0,
                "first_failed_health_check_after_s": 20.0, "rollback_after_s": 140.0}
    return _write_run(folder, rows, events, incident)


@pytest.fixture
def figures(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Figures built by the test, closed after it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[object] = []

    def build(folder: Path) -> object:
        fig = build_figure(folder, read_run(folder))
        made.append(fig)
        return fig

    yield build
    for fig in made:
        plt.close(fig)  # type: ignore[arg-type]


def _by_title(fig: object) -> dict[str, object]:
    return {ax.get_title(): ax for ax in fig.axes}  # type: ignore[attr-defined]


def _texts(ax: object) -> list[str]:
    return [t.get_text().strip() for t in ax.texts]  # type: ignore[attr-defined]


def test_an_incident_gets_a_zoom_panel_with_labelled_event_lines(tmp_path: Path,
                                                                 figures) -> None:  # type: ignore[no-untyped-def]
    # P-1: 8 px of a 3-h axis held the regression, breaker, alert, checks and rollback.
    fig = figures(_regression(tmp_path / "rr"))
    zoom = fig.axes[-1]
    assert zoom.get_title().startswith("incident on transaction_pool")
    assert "2:01:40.0" in zoom.get_title()
    assert zoom.get_xlim() == (-60.0, 260.0)  # regression -60 s to rollback +120 s
    assert _texts(zoom) == ["regression starts", "breaker open +1.7 s",
                            "1st failed health check +20 s",
                            "alert: Transaction Pool Error Rate +40 s", "rollback +140 s"]
    # The lines sit at the delays, in seconds after the start; the fault's span starts at 0.
    assert [round(line.get_xdata()[0], 6) for line in zoom.lines
            if line.get_label().startswith("_")] == [1.7, 20.0, 40.0, 140.0]
    assert [round(patch.get_x(), 6) for patch in zoom.patches] == [0.0]
    labels = [line.get_label() for line in zoom.lines if not line.get_label().startswith("_")]
    assert labels == ["V2 error rate (per 10-s sample)", "V2 split"]


def test_an_incident_with_no_sample_in_its_window_still_draws(tmp_path: Path,
                                                               figures) -> None:  # type: ignore[no-untyped-def]
    # A regression in the run's last seconds (here after the last sample): the zoom has no
    # row to draw a split from; it must still draw its panel, not crash.
    folder = _regression(tmp_path / "late")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary["incident"]["regression_start_s"] = 9500.0
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    zoom = figures(folder).axes[-1]
    assert zoom.get_title().startswith("incident on transaction_pool")
    assert "V2 split" not in [line.get_label() for line in zoom.lines]


def test_no_incident_no_zoom_and_memory_is_drawn(tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    folder = _regression(tmp_path / "rr")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary["incident"] = None
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    fig = figures(folder)
    assert not any(ax.get_title().startswith("incident") for ax in fig.axes)
    # P-1: the V2 pool's leak (32 -> 200 MiB) is drawn.
    memory = _by_title(fig)["memory"]
    assert [line.get_label() for line in memory.lines if line.get_label()[0] != "_"] == [
        "pool V1", "pool V2"]
    assert memory.get_ylim()[1] >= 1.15 * (32.0 + 1700 * 0.1) - 1e-9
    # V2 lies on V1 until the leak: dashed over it, so both can be seen.
    assert [line.get_linestyle() for line in memory.lines[:2]] == ["-", "--"]


def _partition(folder: Path, fault: bool) -> Path:
    t = np.arange(10.0, 1801.0, 10.0)
    rows = {"time": list(t), "sync_service.traffic_split": [5.0] * len(t),
            "sync_service.v1.blocks_behind": list(np.linspace(20_000.0, 10_648.0, len(t))),
            "transaction_pool.v1.error_rate_percent": [0.0] * len(t)}
    events: list[dict[str, object]] = []
    if fault:
        rows["sync_service.v2.blocks_behind"] = list(np.maximum(0.0, 20_000.0 - t * 100.0))
        events = [{"time": 60.0, "kind": "fault_start", "index": 0, "fault": "partition"},
                  {"time": 900.0, "kind": "fault_end", "index": 0, "fault": "partition"}]
    return _write_run(folder, rows, events)


def test_sync_panel_shows_blocks_behind_on_a_log_scale(tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    # P-2: the partition picture showed nothing of what the partition did to sync.
    fig = figures(_partition(tmp_path / "partition", fault=True))
    sync = _by_title(fig)["sync: blocks behind the head (log scale)"]
    assert sync.get_yscale() == "symlog"
    assert [line.get_label() for line in sync.lines if line.get_label()[0] != "_"] == [
        "V1", "V2"]
    assert sync.get_ylim()[1] >= 20_000.0
    # Neither V2 sync nor a fault: no sync panel.
    quiet = figures(_partition(tmp_path / "quiet", fault=False))
    assert not any(ax.get_title().startswith("sync:") for ax in quiet.axes)


def test_sync_panel_only_when_an_engine_falls_behind_and_v2_is_dashed(
        tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    # Review 12 W-3: a synced engine swings 0 <-> 1 block behind every slot; on a log scale
    # that drew a comb over the whole panel and V2's line hid V1's.
    t = np.arange(10.0, 3601.0, 10.0)
    swing = np.where(np.arange(t.size) % 2 == 0, 0.0, 1.0)
    caught_up = np.concatenate(([500.0, 40.0], swing[2:]))  # the first catch-up is no fall
    healthy = {"time": list(t), "sync_service.v1.blocks_behind": list(caught_up),
               "sync_service.v2.blocks_behind": list(swing)}
    fig = figures(_write_run(tmp_path / "healthy", healthy, []))
    assert not any(ax.get_title().startswith("sync:") for ax in fig.axes)
    lag = swing.copy()
    lag[200:230] = 60.0  # V2 falls 60 blocks behind for 5 minutes
    behind = dict(healthy, **{"sync_service.v2.blocks_behind": list(lag)})
    sync = _by_title(figures(_write_run(tmp_path / "behind", behind, [])))[
        "sync: blocks behind the head (log scale)"]
    styles = {line.get_label(): line.get_linestyle() for line in sync.lines}
    assert styles["V1"] == "-"
    assert styles["V2"] == "--"


def test_an_all_zero_error_panel_says_so_and_holds_the_line_off_the_axis(
        tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    # P-3: the panel looked empty (0-0.05 %, the line on the spine).
    errors = _by_title(figures(_partition(tmp_path / "p", fault=True)))["error rate"]
    bottom, top = errors.get_ylim()
    assert top == 5.0
    assert bottom < 0.0
    assert "0 % throughout" in _texts(errors)
    regression = _by_title(figures(_regression(tmp_path / "rr")))["error rate"]
    assert regression.get_ylim()[1] == pytest.approx(115.0)
    assert "0 % throughout" not in _texts(regression)


def test_rejections_get_a_panel_when_they_are_more_than_noise(tmp_path: Path,
                                                              figures) -> None:  # type: ignore[no-untyped-def]
    # P-3: tx-spam's V1 refusing transactions (pool full) is not an error.
    title = "transaction pool: transactions rejected (pool full, invalid...)"
    assert title not in _by_title(figures(_regression(tmp_path / "few")))  # 1 in 10 s: noise
    panel = _by_title(figures(_regression(tmp_path / "spam", rejected=800.0)))[title]
    v1 = next(line for line in panel.lines if line.get_label() == "V1")
    assert np.nanmax(v1.get_ydata()) == pytest.approx(80.0)  # 800 in 10 s: per second


def test_legends_sit_outside_the_data_and_lines_clear_the_top(tmp_path: Path,
                                                              figures) -> None:  # type: ignore[no-untyped-def]
    # P-4: the legend covered V1's first 0.3 h; the p95 lines ran along the top spine.
    fig = figures(_regression(tmp_path / "rr"))
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            box, frame = legend.get_window_extent(), ax.get_window_extent()
            assert box.x0 >= frame.x1, ax.get_title()
    throughput = _by_title(fig)["transaction pool throughput"]
    assert throughput.get_ylim()[1] == pytest.approx(20.0 * 1.15)


def test_the_split_step_starts_at_the_sample_before_the_row(tmp_path: Path,
                                                            figures) -> None:  # type: ignore[no-untyped-def]
    # P-12: a row's split is the split just before its time (the sample is taken before the
    # rollout steps due then), so the rollback at 7440 s shows first in the 7450-s row and
    # must be drawn from 7440 s, not from 7450 s.
    from matplotlib.cbook import pts_to_prestep

    top = _by_title(figures(_regression(tmp_path / "rr")))["V2 traffic split"]
    line = next(line for line in top.lines if line.get_label() == "sync_service")
    assert line.get_drawstyle() == "steps-pre"
    xs, ys = pts_to_prestep(line.get_xdata(), line.get_ydata())
    drops = [x for x, y0, y1 in zip(xs[1:], ys[:-1], ys[1:], strict=True) if y0 == 50 and y1 == 0]
    assert drops == [7440.0]
    rises = [x for x, y0, y1 in zip(xs[1:], ys[:-1], ys[1:], strict=True) if y0 == 25 and y1 == 50]
    assert rises == [7260.0]
    assert xs[0] == 0.0  # the first interval is drawn from time 0


def test_time_ticks_read_as_a_clock() -> None:
    # P-10: the axis was in decimal hours (2.03 for 2:01:40).
    assert time_step(600.0) == 60.0
    assert time_step(3_600.0) == 300.0
    assert time_step(3 * 3_600.0) == 900.0
    assert time_step(15 * 86_400.0) == 2 * 86_400.0
    assert clock(7_200.0, 900.0) == "2:00"
    assert clock(8_100.0, 900.0) == "2:15"
    assert clock(60 * 3_600.0, 3_600.0) == "60:00"
    assert clock(3 * 86_400.0, 86_400.0) == "3 d"  # elapsed: the guide's day 4 starts here
    assert clock(-300.0, 300.0) == "-0:05"
    # Review 12 W-4: a 30-s run had one tick, "0:00"; short runs tick in m:ss.
    assert time_step(30.0) == 10.0
    assert time_step(120.0) == 10.0
    assert time_step(300.0) == 30.0
    assert [clock(t, 10.0) for t in (0.0, 10.0, 30.0, 70.0)] == ["0:00", "0:10", "0:30", "1:10"]


def test_the_figure_uses_clock_ticks_and_names_the_faults(tmp_path: Path,
                                                          figures) -> None:  # type: ignore[no-untyped-def]
    fig = figures(_partition(tmp_path / "p", fault=True))
    fig.canvas.draw()
    bottom = fig.axes[-1]
    low, high = bottom.get_xlim()
    assert (low, high) == (0.0, 1800.0)
    shown = [t.get_text() for t in bottom.get_xticklabels() if low <= t.get_position()[0] <= high]
    assert shown == ["0:00", "0:05", "0:10", "0:15", "0:20", "0:25", "0:30"]
    assert bottom.get_xlabel() == "simulated time (h:mm)"
    assert "partition" in _texts(fig.axes[0])


def test_event_lines_have_their_own_colours_and_a_legend_entry_each(
        tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    # P-5: alert lines were the V2 orange, the rollback the sync-serving-V2 red.
    from matplotlib.colors import to_hex

    fig = figures(_regression(tmp_path / "rr"))
    data, events = set(), set()
    for ax in fig.axes[:-1]:
        for line in ax.lines:
            xs = line.get_xdata()
            vertical = len(xs) == 2 and xs[0] == xs[1] and line.get_label().startswith("_")
            (events if vertical else data).add(to_hex(line.get_color()))
    assert events
    assert not events & data
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "stage change", "alert firing", "breaker open", "rollback", "fault"]
    # The modules keep one colour in every run; a second module on the same split is dashed.
    top = fig.axes[0]
    sync, pool = top.lines[:2]
    assert (sync.get_label(), to_hex(sync.get_color()), sync.get_linestyle()) == (
        "sync_service", to_hex("tab:olive"), "-")
    assert (pool.get_label(), to_hex(pool.get_color()), pool.get_linestyle()) == (
        "transaction_pool (same as sync_service)", to_hex("tab:purple"), "--")

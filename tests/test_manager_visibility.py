"""The filter and subscription managers' V2 is visible (review 9, V-1).

A regression on a manager's V2 (errors and a memory leak) used to show only inside a
criterion's detail: the printed summary and the HTML report had no table for the managers,
and the memory criterion said "V2 ran in no module (pool or sync)" though V2 ran in both
managers. Now each manager whose V2 ran gets a table (requests, errors, breaker refusals,
error rate, latency, V2's leaked memory at the end; ``services.<module>.v2.memory_usage_mb``)
and the memory criterion names each such manager as not judged, with why and V2's leak.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.html_report import render_report
from sim.report import summary_table
from sim.rollout.criteria import Criterion, per_module
from sim.runner import run
from sim.scenario import load_scenario
from tests.small_scenario import summary_and_events

POOL, FM, SM = "transaction_pool", "filter_manager", "subscription_manager"

# The reviewer's repro (/tmp/review9/fm.yaml) at a third of its length: both managers on V2 at
# 100 %, filter_manager's V2 breaker off so every failure reaches V2's figures.
FM_YAML = """\
name: fm-regress
duration: 300
modules:
  filter_manager: {version: v2, traffic: 100}
  subscription_manager: {version: v2, traffic: 100}
breakers:
  filter_manager_v2: {enabled: false}
faults:
  - {kind: v2_regression, module: filter_manager, start: 100, error_rate: 0.5,
     memory_leak_mb_per_hour: 400}
"""
LEAK_MB = 400.0 * 200.0 / 3600.0  # 400 MiB/h from 100 s to the end at 300 s


def _criterion(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in summary["success_criteria"] if c["name"] == name)


def _row(text: str, label: str) -> list[str]:
    """The cells after ``label`` on the first printed table row that starts with it."""
    line = next(ln for ln in text.splitlines() if ln.startswith(label + "  "))
    return re.split(r"\s{2,}", line[len(label):].strip())


@pytest.fixture(scope="module")
def fm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fm")
    (folder / "fm.yaml").write_text(FM_YAML, encoding="utf-8")
    assert main(["run", str(folder / "fm.yaml"), "--out", str(folder / "out"), "--quiet",
                 "--no-progress"]) == 0
    return folder / "out"



@pytest.mark.e2e
def test_v2_memory_of_a_manager_is_in_the_summary(fm_dir: Path) -> None:
    summary, _ = summary_and_events(fm_dir)
    services = summary["services"]
    assert services[FM]["v2"]["memory_usage_mb"] == pytest.approx(LEAK_MB, rel=1e-9)
    assert services[SM]["v2"]["memory_usage_mb"] == 0.0  # no regression there
    # V1 has no memory in the model: no such field (docs/summary-json.md).
    assert "memory_usage_mb" not in services[FM]["v1"]
    # The series' column at its last sample (the end: 300 s is a sample time) is the same.
    header, *rows = (fm_dir / "timeseries.csv").read_text(encoding="utf-8").splitlines()
    column = header.split(",").index(f"{FM}.v2.memory_usage_mb")
    assert float(rows[-1].split(",")[column]) == pytest.approx(LEAK_MB, rel=1e-9)


@pytest.mark.e2e
def test_each_manager_whose_v2_ran_gets_a_table_printed_and_in_html(fm_dir: Path) -> None:
    summary, events = summary_and_events(fm_dir)
    text = summary_table(summary, events)
    for module in (FM, SM):
        title = f"{module} (requests, whole run)"
        assert title in text, module
        section = text[text.index(title):]
        entries = summary["services"][module]
        for label, key, digits in (("requests", "requests", 0), ("errors", "errors", 0),
                                   ("refused by breaker", "refused_by_breaker", 0),
                                   ("error rate (%, refusals included)",
                                    "error_rate_percent", 3),
                                   ("avg latency (ms)", "avg_latency_ms", 3),
                                   ("p95 latency (ms)", "p95_latency_ms", 3)):
            want = []
            for v in ("v1", "v2"):
                x = entries[v][key]
                want.append("-" if x is None else f"{int(x):,}" if digits == 0
                            else f"{x:.3f}")
            assert _row(section, label) == want, (module, label)
        memory = _row(section, "memory at end (MiB, V2's leak)")
        assert memory == ["-", f"{entries['v2']['memory_usage_mb']:.2f}"]
    fm = summary["services"][FM]["v2"]
    assert fm["errors"] > 0.3 * fm["requests"]  # the regression is what the table shows
    page = render_report(fm_dir)
    assert f"{FM} (requests, whole run)" in page
    assert re.search(r"memory at end \(MiB, V2&#x27;s leak\) +- +"
                     + re.escape(f"{LEAK_MB:.2f}"), page)


@pytest.mark.e2e
def test_memory_criterion_names_the_managers_it_does_not_judge(fm_dir: Path) -> None:
    summary, _ = summary_and_events(fm_dir)
    memory = _criterion(summary, "memory_increase")
    assert memory["passed"] is None
    assert memory["modules"] == {}  # neither pool nor sync ran V2
    detail = memory["detail"]
    assert "V2 ran in no module" not in detail
    assert detail.startswith("not enough data: memory is judged for the transaction pool and "
                             "sync only, and V2 ran in neither; ")
    assert f"{FM}: not judged (V2 ran; no V1 baseline" in detail
    assert f"{LEAK_MB:.1f} MiB at the end" in detail
    assert f"{SM}: not judged (" in detail


def test_a_manager_not_judged_leaves_the_judged_verdict_alone() -> None:
    ok = Criterion("memory_increase", True, 3.0, 15.0, "V2 33 MiB vs V1 32 MiB")
    both = per_module("memory_increase", 15.0, {POOL: ok}, "none", {FM: "no baseline"})
    assert (both.passed, both.figure) == (True, 3.0)
    assert list(both.modules or {}) == [POOL]
    assert both.detail == f"{POOL}: V2 33 MiB vs V1 32 MiB; {FM}: not judged (no baseline)"
    nothing = per_module("memory_increase", 15.0, {}, "none ran", {FM: "no baseline"})
    assert nothing.passed is None
    assert math.isnan(nothing.figure)
    assert nothing.detail == f"not enough data: none ran; {FM}: not judged (no baseline)"


@pytest.mark.e2e
def test_the_default_canary_prints_no_manager_table() -> None:
    # Both managers stay on V1 in the canary: nothing of V2 to show, no extra table.
    scenario = load_scenario("canary").model_copy(update={"duration": 120.0})
    summary = run(scenario).summary
    assert all(summary["services"][m]["v2"]["requests"] == 0 for m in (FM, SM))
    text = summary_table(summary)
    assert "(requests, whole run)" not in text
    assert "not judged" not in _criterion(summary, "memory_increase")["detail"]

"""Review 11 B-2: the README's small example does what its text says.

The example (a 25 % split, the controller, a V2 regression at 1 h) used to run under twice
the default load, where V2's per-sender cap refused enough of the busiest senders'
transactions for the controller's throughput check to roll the HEALTHY V2 back at 0:05:00;
the regression was never seen ("rolled back never"). This runs the README's YAML block as
written, through the CLI, and checks the README's sentence about it.
"""

import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.runner import run
from sim.scenario import load_scenario

pytestmark = pytest.mark.e2e

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def example_yaml() -> str:
    start = README.index("A small example:")
    match = re.search(r"```yaml\n(.*?)```", README[start:], re.S)
    assert match, "no YAML block after 'A small example:'"
    return match.group(1)


def test_readme_example_rolls_back_its_regression(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "my.yaml"
    path.write_text(example_yaml(), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    # "the controller moving it to 50 % after 30 minutes"; the regression "at 1 h"; "roll
    # V2 back to 0 % three minutes later"; the incident's times printed.
    assert re.search(r"0:31:00 +transaction_pool +50 % on v2 +controller", printed)
    assert re.search(r"1:03:00 +transaction_pool +0 % on v2 +controller", printed)
    assert "rollbacks: 1\n" in printed
    assert re.search(r"incident: transaction_pool regression from 1:00:00; after it: first "
                     r"alert [\d.]+ s, first failed health check 60.0 s, .*rolled back "
                     r"180.0 s", printed), printed[-800:]

    scenario = load_scenario(path)
    summary = run(scenario).summary
    rollbacks = summary["rollout"]["rollbacks"]
    assert len(rollbacks) == 1
    assert rollbacks[0]["time"] == 3600.0 + 180.0
    assert rollbacks[0]["source"] == "controller"
    assert "error_rate_percent" in rollbacks[0]["reason"]
    assert "throughput" not in rollbacks[0]["reason"]
    assert summary["incident"]["rollback_after_s"] == 180.0
    assert summary["transaction_pool"]["v2"]["rejected_by_reason"]["sender_limit"] > 0

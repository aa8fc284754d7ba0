"""Alert rules naming a metric the model does not sample are config errors (review R3-3).

A rule on an unknown metric never has data, so it was silently dead: ``error_rate > 0`` on
a V2 pool failing 55 % of its calls raised no alert. The rules are loaded when the scenario
is validated, so ``mana-sim validate`` refuses it with exit 2 and one line naming the file,
the rule and the allowed metric names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config_error import ConfigError
from sim.rollout.alerts import RULE_METRICS, load_alert_rules
from sim.rollout.snapshot import POOL_METRICS, SYNC_METRICS
from tests.test_cli import cli

TYPO = ("alert_rules:\n  transaction_pool_v2:\n    - name: typo\n"
        "      condition: 'error_rate > 0'\n      severity: warning\n      duration: 0\n")


def test_unknown_metric_is_refused_naming_rule_and_allowed_names() -> None:
    with pytest.raises(ConfigError) as info:
        load_alert_rules(TYPO)
    message = str(info.value)
    assert info.value.field == "alert_rules.transaction_pool_v2.0"
    assert "'typo'" in message
    assert "'error_rate'" in message
    assert "error_rate_percent" in message
    assert "throughput_tps" in message
    assert "\n" not in message


def test_a_sync_metric_in_a_pool_section_is_refused() -> None:
    text = TYPO.replace("error_rate > 0", "blocks_behind > 100")
    with pytest.raises(ConfigError, match="unknown transaction_pool metric 'blocks_behind'"):
        load_alert_rules(text)
    sync = text.replace("transaction_pool_v2", "sync_service_v2")
    assert load_alert_rules(sync)[0].metric == "blocks_behind"


def test_allowed_names_are_the_sampled_ones_and_the_guide_file_uses_only_them() -> None:
    assert set(RULE_METRICS["transaction_pool"]) == {*POOL_METRICS,
                                                     "failed_transactions_percent"}
    assert RULE_METRICS["sync_service"] == SYNC_METRICS
    assert all(r.metric in RULE_METRICS[r.module] for r in load_alert_rules())


def test_unknown_comparison_names_the_allowed_operators() -> None:
    with pytest.raises(ConfigError, match=">, <, >=, <="):
        load_alert_rules(TYPO.replace("error_rate > 0", "error_rate_percent != 2"))



@pytest.mark.parametrize("command", ["validate", "run"])
def test_validate_and_run_exit_2_on_a_rules_file_with_an_unknown_metric(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    rules = tmp_path / "typo.yml"
    rules.write_text(TYPO, encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"duration: 5m\nrollout:\n  alerts: {{rules: {rules}}}\n",
                        encoding="utf-8")
    code, out, err = cli(capsys, command, str(scenario))
    assert code == 2, (out, err)
    assert err.count("\n") == 1
    assert str(scenario) in err
    assert str(rules) in err
    assert "rule 'typo'" in err
    assert "allowed: throughput_tps" in err


def test_validate_loads_the_guide_rules_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No `rules:` setting: the built-in guide text is loaded (and checked) at validation.
    # (The section's default instance is built, so checked, when sim.scenario is imported.)
    monkeypatch.setattr("sim.rollout.alerts.GUIDE_ALERTS_YML", TYPO)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("duration: 5m\nrollout: {alerts: {interval: 15s}}\n",
                        encoding="utf-8")
    code, _, err = cli(capsys, "validate", str(scenario))
    assert code == 2
    assert "<guide alerts.yml>" in err
    assert "rule 'typo'" in err

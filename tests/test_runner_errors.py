"""``sim.run`` raises what its docstring says, and its docstring says what it raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config_error import ConfigError
from sim.envfile import EnvError
from sim.rollout.alerts import GUIDE_ALERTS_YML
from sim.runner import run
from sim.scenario import load_scenario, parse_scenario


def _raises_section() -> str:
    doc = run.__doc__ or ""
    return doc[doc.index("Raises:"):]


def test_negative_seed_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        run(load_scenario("canary").model_copy(update={"duration": 1.0}), seed=-1)
    assert "ValueError:" in _raises_section()


def test_unknown_extra_env_is_an_env_error() -> None:
    with pytest.raises(EnvError, match="FOO: unknown variable"):
        run(load_scenario("canary").model_copy(update={"duration": 1.0}),
            extra_env={"FOO": "1"})
    assert "EnvError:" in _raises_section()


def test_rules_file_gone_at_run_time_is_a_config_error(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yml"
    rules.write_text(GUIDE_ALERTS_YML, encoding="utf-8")
    scenario = parse_scenario({"duration": 1.0, "rollout": {"alerts": {"rules": str(rules)}}},
                              "x.yaml")
    rules.unlink()
    with pytest.raises(ConfigError, match="cannot read"):
        run(scenario)
    assert "ConfigError:" in _raises_section()
    assert "LedgerError:" in _raises_section()

"""``sim.run`` takes a Scenario, or a built-in name / YAML path loaded as the CLI does."""

import json
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.config_error import ConfigError

pytestmark = pytest.mark.e2e

YAML = ("duration: 60\n"
        "network: {peers: {honest: 4}, initial_chain: 10}\n"
        "filter_manager: {rate: 1.0}\n"
        "subscription_manager: {rate: 1.0}\n")


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    # NaN != NaN: compare the JSON forms (NaN is written as NaN in both).
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                    default=str)


def test_run_takes_a_yaml_path_as_str_or_path_like_the_loaded_scenario(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(YAML)
    loaded = sim.run(sim.load_scenario(path), seed=3)
    for arg in (path, str(path)):
        result = sim.run(arg, seed=3)
        assert same(result.summary, loaded.summary)


def test_run_takes_a_builtin_name() -> None:
    result = sim.run("canary")  # the AttributeError of issue 6's review, defect 13
    assert result.summary["run"]["scenario"] == "canary"
    assert same(result.summary, sim.run(sim.load_scenario("canary")).summary)
    with pytest.raises(ConfigError, match="no-such-scenario"):
        sim.run("no-such-scenario")


def test_run_refuses_anything_else_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="Scenario, a built-in scenario name or a YAML path"):
        sim.run({"duration": 60})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        sim.run(7)  # type: ignore[arg-type]

"""A scenario says each thing once (review 8, U-1).

A module's version or split given both under ``modules:`` and in ``env:``, or a breaker
setting both under ``breakers:`` and by its ``CIRCUIT_BREAKER_*`` variable, used to be
resolved silently in env's favour: a copy of the canary that tuned its breakers did
nothing. It is now refused (exit 2, one line naming both fields). ``--env-file`` stays an
override from outside the file. ``Scenario.resolved_modules`` shows what a run uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.config_error import ConfigError
from sim.scenario import (
    ModuleSettings,
    ModulesSection,
    builtin_names,
    load_scenario,
    parse_scenario,
    resolve_control,
    setting_clashes,
)
from tests.test_cli import assert_one_line_error, cli, write


@pytest.mark.parametrize(("text", "fragments"), [
    # bad/e4.yaml: modules says 50 %, env 5 %; the run used to give V2 5 %.
    ("modules:\n  transaction_pool: {version: v2, traffic: 50}\n"
     "env:\n  TRANSACTION_POOL_TRAFFIC: '5'\n",
     ("clash.yaml", "modules.transaction_pool.traffic", "env.TRANSACTION_POOL_TRAFFIC",
      "one place")),
    ("modules:\n  sync_service: {version: v2}\n"
     "env: |\n  export SYNC_SERVICE_VERSION=\"v1\"\n",
     ("modules.sync_service.version", "env.SYNC_SERVICE_VERSION")),
    # t_envbr.yaml: threshold 50 under breakers, 3 in env; the run used threshold 3.
    ("breakers:\n  transaction_pool_v2: {failure_threshold: 50}\n"
     "env: {CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3'}\n",
     ("breakers.transaction_pool_v2.failure_threshold",
      "env.CIRCUIT_BREAKER_FAILURE_THRESHOLD")),
    ("breakers:\n  sync_service_v2: {timeout: 1000}\n"
     "env: {CIRCUIT_BREAKER_TIMEOUT: '30000'}\n",
     ("breakers.sync_service_v2.timeout", "env.CIRCUIT_BREAKER_TIMEOUT")),
    ("breakers:\n  filter_manager_v2: {enabled: false}\n"
     "env: {CIRCUIT_BREAKER_ENABLED: 'true'}\n",
     ("breakers.filter_manager_v2.enabled", "env.CIRCUIT_BREAKER_ENABLED")),
    # Both fields of one module: the first is named, the count of the rest given.
    ("modules:\n  transaction_pool: {version: v2, traffic: 50}\n"
     "env: {TRANSACTION_POOL_VERSION: v2, TRANSACTION_POOL_TRAFFIC: '5'}\n",
     ("modules.transaction_pool.version", "[and 1 more setting(s) given twice]")),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_setting_given_twice_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str,
        fragments: tuple[str, ...]) -> None:
    path = write(tmp_path, "clash.yaml", text)
    code, _, err = cli(capsys, command, str(path), *(["--quiet"] if command == "run" else []))
    assert_one_line_error(code, err, *fragments)


def test_settings_of_different_fields_are_not_a_clash() -> None:
    # The version under modules, the split in env: two settings, each said once.
    sc = parse_scenario({"modules": {"transaction_pool": {"version": "v2"}},
                         "env": {"TRANSACTION_POOL_TRAFFIC": "20",
                                 "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3"},
                         "breakers": {"transaction_pool_v2": {"reset_timeout": 5000}}},
                        "<test>")
    assert sc.resolved_modules.transaction_pool == ModuleSettings(version="v2", traffic=20)
    breaker = resolve_control(sc).breakers["transaction_pool"]
    assert (breaker.failure_threshold, breaker.reset_timeout) == (3, 5.0)


@pytest.mark.parametrize("name", builtin_names())
def test_no_builtin_says_a_thing_twice(name: str) -> None:
    assert setting_clashes(load_scenario(name)) == []


def test_canary_resolved_modules_show_what_it_runs() -> None:
    canary = load_scenario("canary")
    # `modules` is the section as written (the canary sets its modules in env) ...
    assert canary.modules.transaction_pool == ModuleSettings()
    # ... and resolved_modules what the run starts with.
    resolved = canary.resolved_modules
    assert resolved.transaction_pool == ModuleSettings(version="v2", traffic=5)
    assert resolved.sync_service == ModuleSettings(version="v2", traffic=5)
    assert resolved.filter_manager == ModuleSettings()


def test_python_edit_of_canary_modules_is_refused_not_ignored() -> None:
    # The review's repro: this ran at the env block's 5 % (traffic_split_final 5).
    edited = load_scenario("canary").model_copy(update={"modules": ModulesSection(
        transaction_pool=ModuleSettings(version="v2", traffic=50))})
    with pytest.raises(ConfigError) as info:
        sim.run(edited)
    message = str(info.value)
    assert message.startswith("scenario 'canary': ")
    assert "modules.transaction_pool.version and env.TRANSACTION_POOL_VERSION" in message
    # Without the env block the edit stands.
    fixed = edited.model_copy(update={"env": None})
    assert resolve_control(fixed).traffic["transaction_pool"] == 50


def test_env_file_overrides_modules_and_breakers() -> None:
    # --env-file is an outside override (README): it wins over modules and breakers.
    sc = parse_scenario({"modules": {"transaction_pool": {"version": "v2", "traffic": 50}},
                         "breakers": {"transaction_pool_v2": {"failure_threshold": 50}}},
                        "<test>")
    control = resolve_control(sc, {"TRANSACTION_POOL_TRAFFIC": "5",
                                   "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3"})
    assert control.traffic["transaction_pool"] == 5
    assert control.breakers["transaction_pool"].failure_threshold == 3

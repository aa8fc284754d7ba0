"""``validate`` warns of a fixed-time deprecation that will certainly be refused (review 9 V-4).

A ``deprecation.at`` is refused unless the pool is at 100 % on V2 then (R5-1). Only a schedule
step or the controller raises a split, so when neither can take the pool there by ``at`` the
refusal is certain and ``validate`` says so; anything that might reach 100 % gives no warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.rollout_link import rollout_warnings
from sim.runner import run
from sim.scenario import builtin_names, load_scenario
from tests.small_scenario import small_scenario

POOL = "transaction_pool"
LADDER = {"stages": [50, 100], "stability_period": 60}  # earliest 100 %: 120 s


def _warnings(data: dict[str, Any], duration: float = 200.0) -> list[str]:
    return [w for w in rollout_warnings(small_scenario(data, duration))
            if w.startswith("rollout.deprecation")]


def test_the_reviewers_depforce_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    # /tmp/review7/depforce.yaml: a 5 % canary, no controller, no step to 100 %.
    path = tmp_path / "depforce.yaml"
    path.write_text("duration: 600\nmodules:\n  transaction_pool: {version: v2, traffic: 5}\n"
                    "rollout:\n  deprecation: {at: 300}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: warning: rollout.deprecation.at (300 s): transaction_pool will be on v2 at "
        "5 % then, and no schedule step or controller stage can take it to 100 % on v2 by "
        "then: the deprecation will be refused (V1 keeps running; a deprecation never moves "
        "a split)"]


def test_a_manual_rollback_before_the_deprecation_is_followed() -> None:
    # depforce2.yaml: at 50 %, the manual rollback at 200 s sets 0 % before the 400-s deprecation.
    (warning,) = _warnings({"modules": {POOL: {"version": "v2", "traffic": 50}},
                            "rollout": {"manual_rollback_at": 100, "deprecation": {"at": 150}}})
    assert "on v2 at 0 % then" in warning
    # A step to 100 % after the rollback, before the deprecation: no warning.
    assert not _warnings({"modules": {POOL: {"version": "v2", "traffic": 50}},
                          "rollout": {"manual_rollback_at": 100, "deprecation": {"at": 150},
                                      "schedule": [{"time": 120, "module": POOL,
                                                    "version": "v2", "split": 100}]}})


@pytest.mark.parametrize(("rollout", "modules", "warns"), [
    ({"schedule": [{"time": 100, "module": POOL, "version": "v2", "split": 100}]}, {}, False),
    ({"schedule": [{"time": 130, "module": POOL, "version": "v2", "split": 100}]}, {}, True),
    ({"schedule": [{"time": 100, "module": POOL, "version": "v1", "split": 100}]}, {}, True),
    ({"controller": LADDER}, {POOL: {"version": "v2", "traffic": 0}}, False),
    ({"controller": {**LADDER, "start": 1}}, {POOL: {"version": "v2", "traffic": 0}}, True),
    ({"controller": {**LADDER, "stages": [50]}}, {POOL: {"version": "v2", "traffic": 0}}, True),
    ({"controller": {**LADDER, "nil_health_crash": True}},
     {POOL: {"version": "v2", "traffic": 0}}, True),
    ({"controller": LADDER}, {}, True),  # the pool stays on v1: the controller cannot drive it
    ({}, {POOL: {"version": "v2", "traffic": 100}}, False),
], ids=["step_in_time", "step_too_late", "step_to_v1", "controller_in_time",
        "controller_too_late", "controller_below_100", "controller_crashes", "pool_on_v1",
        "already_full"])
def test_a_warning_only_when_nothing_can_reach_100_percent_by_then(
        rollout: dict[str, Any], modules: dict[str, Any], warns: bool) -> None:
    data = {"modules": modules, "rollout": {**rollout, "deprecation": {"at": 120}}}
    assert bool(_warnings(data)) == warns


def test_a_deprecation_after_the_end_is_not_warned_of() -> None:
    assert not _warnings({"rollout": {"deprecation": {"at": 300}}}, duration=200.0)


@pytest.mark.parametrize(("at", "refused"), [(120, False), (119, True)])
def test_the_warning_agrees_with_the_run_at_the_controllers_earliest_time(
        at: float, refused: bool) -> None:
    # The controller's earliest 100 % (120 s) is reached in the run: no warning, no refusal;
    # a second earlier, the warning and the run's refusal agree.
    data = {"modules": {POOL: {"version": "v2", "traffic": 0}},
            "rollout": {"health_window": 60, "controller": LADDER, "deprecation": {"at": at}}}
    assert bool(_warnings(data, duration=150.0)) == refused
    result = run(small_scenario(data, 150.0))
    assert (result.summary["rollout"]["deprecation_refused"] is not None) == refused
    assert (result.summary["rollout"]["v1_deprecated_at"] is None) == refused


@pytest.mark.parametrize("name", builtin_names())
def test_no_builtin_is_warned_of(name: str) -> None:
    assert rollout_warnings(load_scenario(name)) == []

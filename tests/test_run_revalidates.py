"""``sim.run`` validates a Scenario it is given, and the README's Python edits (review 8, U-2).

``model_copy(update=...)`` stores values unchecked: ``{"duration": "10m"}`` crashed deep in
the runner with a TypeError and ``{"duration": -5.0}`` ran and reported a negative duration.
``sim.run`` now validates a Scenario again as it would a file. The pool and sync settings are
frozen dataclasses (no ``model_copy``): ``Scenario.with_changes`` edits them by dotted path,
and ``dataclasses.replace`` works as the README shows.
"""

from __future__ import annotations

import dataclasses

import pytest

import sim
from sim.config_error import ConfigError
from sim.scenario import load_scenario, revalidate
from tests.small_scenario import small_scenario


@pytest.mark.parametrize(("update", "fragments"), [
    ({"duration": -5.0}, ("scenario 'canary': duration:", "greater than 0", "(got -5.0)")),
    ({"duration": "ten minutes"}, ("scenario 'canary': duration:", "ten minutes")),
    ({"seed": -1}, ("seed:", "greater than or equal to 0")),
    ({"pool": {"v2": {"max_pool_size": 0}}}, ("pool.v2.max_pool_size:", ">= 1")),
    ({"workload": {"rate": 5}}, ("workload:", "a list")),
])
def test_run_refuses_a_bad_edit_with_a_config_error(
        update: dict[str, object], fragments: tuple[str, ...]) -> None:
    edited = load_scenario("canary").model_copy(update=update)
    with pytest.raises(ConfigError) as info:
        sim.run(edited)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_run_validates_an_edit_as_a_file_would() -> None:
    # A duration written as in YAML is read as YAML reads it (the run used to crash).
    sc = small_scenario({}).model_copy(update={"duration": "30s"})
    assert revalidate(sc).duration == 30.0
    result = sim.run(sc)
    assert result.summary["run"]["duration_s"] == 30.0


@pytest.mark.parametrize("name", ["canary", "as-written", "peer-flood"])
def test_revalidating_a_valid_scenario_changes_nothing(name: str) -> None:
    sc = load_scenario(name)
    again = revalidate(sc)
    assert again == sc
    assert again.model_fields_set == sc.model_fields_set


def test_with_changes_reaches_the_dataclass_sections() -> None:
    # The README's edit: nested pool settings, a duration written as in YAML.
    sc = load_scenario("canary").with_changes(
        {"pool.v2.max_pool_size": 20_000, "duration": "10m", "sync.v1.max_peers": 5,
         "workload.0.rate.rate": 30})
    assert (sc.pool.v2.max_pool_size, sc.duration, sc.sync.v1.max_peers) == (20_000, 600.0, 5)
    assert sc.workload[0].rate.rate == 30  # type: ignore[union-attr]
    assert sc.pool.v2.cleanup_interval == load_scenario("canary").pool.v2.cleanup_interval


@pytest.mark.parametrize(("changes", "fragments"), [
    ({"pool.v2.max_pool_size": -1}, ("scenario 'canary': pool.v2.max_pool_size:", ">= 1")),
    ({"pool.v2.max_pool": 1}, ("pool.v2.max_pool: unknown key 'max_pool'", "max_pool_size")),
    ({"workload.3.rate.rate": 1}, ("workload.3.rate.rate", "list of 1", "index 0-0")),
    ({"duration.x": 1}, ("duration.x", "duration holds no settings (it is 3600.0)")),
])
def test_with_changes_refuses_what_a_file_would(
        changes: dict[str, object], fragments: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario("canary").with_changes(changes)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_readme_dataclasses_replace_edit_runs() -> None:
    # The README's other path: dataclasses.replace on the frozen pool config, put back
    # with model_copy; sim.run validates the result and runs it.
    sc = small_scenario({"modules": {"transaction_pool": {"version": "v2", "traffic": 50}}},
                        duration=60.0)
    new_v2 = dataclasses.replace(sc.pool.v2, max_per_sender=1)
    edited = sc.model_copy(update={"pool": sc.pool.model_copy(update={"v2": new_v2})})
    result = sim.run(edited)
    # max_per_sender 1 makes V2 refuse a sender's second pending transaction.
    rejected = result.summary["transaction_pool"]["v2"]
    assert edited.pool.v2.max_per_sender == 1
    assert rejected["requests"] > 0
    with pytest.raises(ValueError, match="max_pool_size"):
        dataclasses.replace(sc.pool.v2, max_pool_size=0)


def test_python_built_sections_keep_their_kind() -> None:
    # A fault made in Python leaves its default `kind` unset; revalidating keeps it, so
    # the tagged union still knows which member it is (as the pinned busy run builds them).
    from sim.scenario import FloodSection, RegressionFault, RestartFault
    from sim.workload import TxStream

    sc = load_scenario("canary").model_copy(update={
        "faults": (RegressionFault(module="filter_manager", start=5.0), RestartFault(at=9.0)),
        "workload": (TxStream(),),
        "network": load_scenario("canary").network.model_copy(update={"floods": (
            FloodSection(peers=1, rate=5.0),)})})
    again = revalidate(sc)
    assert again == sc
    assert [f.kind for f in again.faults] == ["v2_regression", "node_restart"]

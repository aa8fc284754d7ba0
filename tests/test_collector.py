"""The run's collector policy: raised while a run executes, restored afterwards, harmless."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator

import pytest

import sim.runner
from sim.collector import YOUNG_THRESHOLD, fewer_collections
from sim.runner import run
from sim.scenario import parse_scenario


@pytest.fixture(autouse=True)
def default_threshold() -> Iterator[tuple[int, int, int]]:
    """Each test starts from CPython's default thresholds and leaves the interpreter as found."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield (700, 10, 10)
    finally:
        gc.set_threshold(*saved)


def test_threshold_is_raised_inside_and_restored_after() -> None:
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_threshold_is_restored_when_the_block_raises() -> None:
    inside: list[int] = []

    def fail_inside() -> None:
        with fewer_collections(5_000):
            inside.append(gc.get_threshold()[0])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_inside()
    assert inside == [5_000]
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("young", [0, 10 * YOUNG_THRESHOLD])
def test_a_disabled_or_higher_threshold_is_left_alone(young: int) -> None:
    gc.set_threshold(young, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (young, 10, 10)
    assert gc.get_threshold() == (young, 10, 10)


def test_a_run_executes_under_the_policy_and_restores_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    scenario = parse_scenario({"name": "gc", "duration": 120, "seed": 1}, "gc (test)")
    result = run(scenario, progress=lambda _t: seen.append(gc.get_threshold()[0]))
    assert seen
    assert set(seen) == {YOUNG_THRESHOLD}
    assert gc.get_threshold() == (700, 10, 10)
    # The same run under the default collector gives the same result: nothing in the model
    # depends on when cycles are collected.
    monkeypatch.setattr(sim.runner, "fewer_collections", contextlib.nullcontext)
    again = run(scenario, progress=lambda _t: seen.append(gc.get_threshold()[0]))
    assert seen[-1] == 700
    assert json.dumps(again.summary, sort_keys=True) == json.dumps(result.summary, sort_keys=True)

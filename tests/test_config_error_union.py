"""A value the user meant as one member of a union is reported against that member only.

``rollout.schedule`` is ``'guide'`` or a list of steps: a bad step is one problem, not one
plus "[and 1 more problem(s)]" from the ``'guide'`` member the list was never meant to be
(review 6, R2-7d).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main


def _validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    _out, err = capsys.readouterr()
    return err.replace(str(path), "S")


def test_a_bad_step_is_one_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate(tmp_path, capsys, "rollout:\n  schedule:\n"
                    "    - {time: 60, module: transaction_pool, version: v2, split: 101}\n")
    assert err == ("mana-sim: error: S: rollout.schedule.0.split: Input should be less than or "
                   "equal to 100; expected a whole number in 0-100 (percent of requests to V2) "
                   "(got 101)\n")


def test_a_bad_version_in_a_step_is_one_problem(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate(tmp_path, capsys, "rollout:\n  schedule:\n"
                    "    - {time: 60, module: transaction_pool, version: V2, split: 10}\n")
    assert err == ("mana-sim: error: S: rollout.schedule.0.version: Input should be 'v1' or "
                   "'v2' (got 'V2')\n")


def test_two_bad_steps_count_the_other_step_only(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate(tmp_path, capsys, "rollout:\n  schedule:\n"
                    "    - {time: 60, module: transaction_pool, version: v2, split: 101}\n"
                    "    - {time: 90, module: transaction_pool, version: V2, split: 10}\n")
    assert err == ("mana-sim: error: S: rollout.schedule.0.split: Input should be less than or "
                   "equal to 100; expected a whole number in 0-100 (percent of requests to V2) "
                   "(got 101) [and 1 more problem(s)]\n")


def test_a_value_that_fits_no_member_names_both_forms_and_nothing_more(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate(tmp_path, capsys, "rollout:\n  schedule: guid\n")
    assert err == ("mana-sim: error: S: rollout.schedule: Input should be 'guide'; or Input "
                   "should be a list (one `- item` line per entry) (got 'guid')\n")


def test_a_problem_outside_the_union_is_still_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate(tmp_path, capsys, "duration: -5\nrollout:\n  schedule:\n"
                    "    - {time: 60, module: transaction_pool, version: v2, split: 101}\n")
    assert err.endswith(" [and 1 more problem(s)]\n"), err

"""README claims that code can check (review R3-12)."""

import re
from pathlib import Path

from sim.duration import parse_duration
from sim.runner import run
from sim.scenario import builtin_names, load_scenario, parse_scenario

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_a_shorter_duration_example_is_shorter_than_its_builtin() -> None:
    examples = re.findall(r"^mana-sim run (\S+) .*--duration (\S+) +# .*shorter", README,
                          re.MULTILINE)
    assert examples
    for name, duration in examples:
        assert name in builtin_names()  # a scenario the reader has at that point
        assert parse_duration(duration) < load_scenario(name).duration


def test_the_threshold_set_keys_named_are_the_scenarios() -> None:
    # Both keys take the same four set names; a scenario setting them validates.
    assert "`rollout.controller.health`" in README
    assert "`rollout.auto_rollback.threshold_set`" in README
    # exclude_unset: the canary as written (a full dump would set its modules both under
    # `modules` and in its env block, which a scenario may not: U-1).
    scenario = load_scenario("canary").model_dump(mode="json", exclude_unset=True)
    scenario["rollout"] = {"controller": {"health": "migration_plan"},
                           "auto_rollback": {"threshold_set": "alerts_yml"}}
    parsed = parse_scenario(scenario, "<test>")
    assert parsed.rollout.controller is not None
    assert parsed.rollout.auto_rollback is not None
    assert parsed.rollout.controller.health == "migration_plan"
    assert parsed.rollout.auto_rollback.threshold_set == "alerts_yml"


def test_every_summary_section_is_named_in_the_summary_json_paragraph() -> None:
    start = README.index("`summary.json` has one section per part")
    paragraph = README[start:README.index("\n\n", start)]
    summary = run(load_scenario("canary").model_copy(update={"duration": 60.0})).summary
    for section in summary:
        assert f"`{section}`" in paragraph, section

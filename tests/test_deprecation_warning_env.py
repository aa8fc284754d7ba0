"""``V1_DEPRECATION_WARNING`` is accepted and has no effect (review R3-6; README's env text).

No code in the guide reads it (its V1Deprecation module logs its warnings unconditionally);
the model's deprecation is ``rollout.deprecation``.
"""

import json

import pytest

from sim.config_error import ConfigError
from sim.runner import run
from sim.scenario import parse_scenario


def summary(env: dict[str, str]) -> str:
    # As JSON text: the summary holds NaNs (no data), which never compare equal as floats.
    result = run(parse_scenario({"duration": 120, "env": env}, "<test>"))
    return json.dumps(result.summary, sort_keys=True)


def test_the_variable_is_validated_and_changes_nothing() -> None:
    base = summary({})
    assert summary({"V1_DEPRECATION_WARNING": "true"}) == base
    assert summary({"V1_DEPRECATION_WARNING": "false"}) == base
    with pytest.raises(ConfigError, match="V1_DEPRECATION_WARNING"):
        parse_scenario({"env": {"V1_DEPRECATION_WARNING": "maybe"}}, "<test>")

"""Error messages say what is expected (review 8, U-8).

Each bad input exits 2 with one line naming the file and the field and no traceback (the
bar of tests/test_cli.py); here, each message also says what the field takes: the unit of a
ms key (which refuses "30s" while the seconds keys accept it), the range of a split, "a list"
or "a mapping" instead of pydantic's type words, the bad value of an alert rule rather than
the rules file's name. ``validate --env-file`` checks an env file without a run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import load_scenario
from tests.test_cli import assert_one_line_error, cli, write

RULE = ("alert_rules:\n  transaction_pool_v2:\n    - {name: My Rule, condition: "
        "\"error_rate_percent > 1\", severity: critical, duration: %s}\n")


@pytest.mark.parametrize(("text", "fragments", "absent"), [
    # ms keys: the unit, and how to write 30 s.
    ("pool:\n  v2: {cleanup_interval: 5s}\n",
     ("pool.v2.cleanup_interval:", "a whole number of milliseconds", "30 s is 30000",
      "(got '5s')"), ()),
    ("breakers:\n  transaction_pool_v2: {timeout: 30s}\n",
     ("breakers.transaction_pool_v2.timeout:", "a whole number of milliseconds >= 1",
      "(got '30s')"), ()),
    ("sync:\n  v2: {peer_timeout_ms: 2s}\n",
     ("sync.v2.peer_timeout_ms:", "milliseconds"), ()),
    # The split: 0-100, percent.
    ("modules:\n  transaction_pool: {version: v2, traffic: 100.5}\n",
     ("modules.transaction_pool.traffic:", "a whole number in 0-100",
      "percent of requests to V2", "(got 100.5)"), ()),
    ("modules:\n  transaction_pool: {version: v2, traffic: '5%'}\n",
     ("a whole number in 0-100", "(got '5%')"), ()),
    ("modules:\n  transaction_pool: {version: v2, traffic: 150}\n",
     ("less than or equal to 100", "0-100"), ()),
    ("workload:\n  - rate: {kind: constant, rate: 5/s}\n",
     ("workload.0.rate.rate:", "a number >= 0"), ()),
    # A list or a mapping, in a YAML user's words.
    ("workload: {rate: {kind: constant, rate: 40}}\n",
     ("workload:", "should be a list"), ("tuple",)),
    ("faults:\n  kind: v2_regression\n", ("faults:", "should be a list"), ("tuple",)),
    ("modules:\n  - transaction_pool: {version: v2, traffic: 5}\n",
     ("modules:", "should be a mapping"), ("instance of", "ModulesSection")),
    ("pool: [1, 2]\n", ("pool:", "should be a mapping"), ("instance of", "PoolSection")),
    ("pool:\n  v2: [1]\n", ("pool.v2:", "should be a mapping"), ("PoolV2Config",)),
    # Inline rules as a list (Prometheus's shape): the shape mana-sim reads.
    ("rollout:\n  alerts:\n    rules:\n      - {alert: X, expr: error_rate > 1}\n",
     ("rollout.alerts.rules:", "alert_rules:", "transaction_pool_v2:",
      "{name, condition, severity, duration}"), ("valid string",)),
])
def test_a_bad_value_says_what_is_expected(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
        fragments: tuple[str, ...], absent: tuple[str, ...]) -> None:
    path = write(tmp_path, "bad.yaml", text)
    code, _, err = cli(capsys, "validate", str(path))
    assert_one_line_error(code, err, str(path), *fragments)
    for word in absent:
        assert word not in err, (word, err)


def test_a_bad_rule_duration_shows_the_value_not_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "myrules.yml", RULE % "2 hours")
    path = write(tmp_path, "s.yaml", "rollout:\n  alerts: {rules: myrules.yml}\n")
    code, _, err = cli(capsys, "validate", str(path))
    assert_one_line_error(code, err, "rollout.alerts.rules:", "myrules.yml:",
                          "duration '2 hours'")
    assert "(got 'myrules.yml')" not in err


def test_inline_rules_mapping_is_read_like_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.rollout.alerts import load_alert_rules
    from sim.scenario import alert_rules_source

    inline = ("rollout:\n  alerts:\n    rules:\n      alert_rules:\n"
              "        transaction_pool_v2:\n          - {name: My Rule, condition: "
              "\"error_rate_percent > 1\", severity: critical, duration: 30s}\n")
    path = write(tmp_path, "inline.yaml", inline)
    code, _, err = cli(capsys, "validate", str(path))
    assert (code, err) == (0, ""), err
    rules = load_scenario(path).rollout.alerts.rules
    assert rules is not None
    loaded = load_alert_rules(alert_rules_source(rules))
    assert [r.name for r in loaded] == ["My Rule"]
    bad = write(tmp_path, "bad.yaml", inline.replace("30s", "2 hours"))
    code, _, err = cli(capsys, "validate", str(bad))
    assert_one_line_error(code, err, "rollout.alerts.rules:", "duration '2 hours'")


def test_validate_checks_an_env_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.env", 'export TRANSACTION_POOL_TRAFFIC="25"\n')
    code, out, err = cli(capsys, "validate", "canary", "--env-file", str(good))
    assert (code, err) == (0, "")
    assert out.startswith(f"canary with {good}: ok")
    for text, fragment in [('export TRANSACTION_POOL_TRAFFIC="150"\n', "integers 0-100"),
                           ('export TRANSACTION_POOL_VERSON="v2"\n', "did you mean"),
                           ('export CIRCUIT_BREAKER_TIMEOUT="30s"\n', "milliseconds"),
                           ("this is not an export line\n", "line 1")]:
        bad = write(tmp_path, "bad.env", text)
        code, _, err = cli(capsys, "validate", "canary", "--env-file", str(bad))
        assert_one_line_error(code, err, str(bad), fragment)
    code, _, err = cli(capsys, "validate", "canary", "--env-file", str(tmp_path / "none.env"))
    assert_one_line_error(code, err, "none.env", "cannot read file")

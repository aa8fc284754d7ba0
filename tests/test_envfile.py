import pytest

from sim.envfile import EnvError, interpret_env, parse_env_text

# Pasted verbatim from the guide's "Canary Configuration" block.
CANARY = '''# Environment variables for canary deployment
export TRANSACTION_POOL_VERSION="v2"
export TRANSACTION_POOL_TRAFFIC="5"  # 5% of traffic to V2

export SYNC_SERVICE_VERSION="v2"{trailing_space}
export SYNC_SERVICE_TRAFFIC="5"     # 5% of traffic to V2

# Circuit breaker settings for canary
export CIRCUIT_BREAKER_ENABLED="true"
export CIRCUIT_BREAKER_FAILURE_THRESHOLD="3"
export CIRCUIT_BREAKER_TIMEOUT="30000"
'''.format(trailing_space=" ")  # the guide's line has a trailing space


def test_guide_canary_block_parses_as_pasted() -> None:
    env = parse_env_text(CANARY)
    assert env == {
        "TRANSACTION_POOL_VERSION": "v2",
        "TRANSACTION_POOL_TRAFFIC": "5",
        "SYNC_SERVICE_VERSION": "v2",
        "SYNC_SERVICE_TRAFFIC": "5",
        "CIRCUIT_BREAKER_ENABLED": "true",
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "3",
        "CIRCUIT_BREAKER_TIMEOUT": "30000",
    }
    s = interpret_env(env)
    assert s.versions == {"transaction_pool": "v2", "sync_service": "v2"}
    assert s.traffic == {"transaction_pool": 5, "sync_service": 5}
    assert s.breaker["CIRCUIT_BREAKER_TIMEOUT"] == "30000"


def test_quotes_bare_values_and_later_lines_win() -> None:
    env = parse_env_text("A=1\nexport B='x y'\nA=\"2\"\nV1_DEPRECATION_WARNING=true\n")
    assert env == {"A": "2", "B": "x y", "V1_DEPRECATION_WARNING": "true"}
    s = interpret_env({k: v for k, v in env.items() if k == "V1_DEPRECATION_WARNING"})
    assert s.v1_deprecation_warning is True


@pytest.mark.parametrize(("name", "hint"), [
    ("TRANSACTION_POOL_TRAFIC", "did you mean TRANSACTION_POOL_TRAFFIC?"),
    ("CIRCUIT_BREAKER_RESET_TIMEOUT", "did you mean CIRCUIT_BREAKER_TIMEOUT?"),
    ("FOO_BAR", None),
    ("A", None),
])
def test_unknown_variable_is_refused_with_the_allowed_names(name: str, hint: str | None) -> None:
    # A misspelt variable used to be ignored, so the run silently kept its default split.
    with pytest.raises(EnvError) as info:
        interpret_env({"TRANSACTION_POOL_VERSION": "v2", name: "50"})
    message = str(info.value)
    assert info.value.variable == name
    assert message.startswith(f"{name}: unknown variable")
    assert "allowed: CIRCUIT_BREAKER_ENABLED, CIRCUIT_BREAKER_FAILURE_THRESHOLD, " in message
    assert "TRANSACTION_POOL_VERSION, V1_DEPRECATION_WARNING" in message
    if hint is None:
        assert "did you mean" not in message
    else:
        assert hint in message


def test_malformed_line_names_its_number() -> None:
    with pytest.raises(EnvError, match="line 2"):
        parse_env_text("A=1\nthis is not an assignment\n")


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("TRANSACTION_POOL_TRAFFIC", "101", "0-100"),
        ("TRANSACTION_POOL_TRAFFIC", "five", "0-100"),
        ("SYNC_SERVICE_TRAFFIC", "-1", "0-100"),
        ("FILTER_MANAGER_VERSION", "v3", "v1 or v2"),
        ("V1_DEPRECATION_WARNING", "maybe", "true or false"),
    ],
)
def test_bad_values_are_refused_with_variable_and_range(
    name: str, value: str, allowed: str
) -> None:
    with pytest.raises(EnvError, match=allowed) as info:
        interpret_env({name: value})
    assert info.value.variable == name
    assert name in str(info.value)

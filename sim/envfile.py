"""Reading the guide's environment-variable blocks.

The guide configures the rollout with shell lines such as::

    # Environment variables for canary deployment
    export TRANSACTION_POOL_VERSION="v2"
    export TRANSACTION_POOL_TRAFFIC="5"  # 5% of traffic to V2

(``V2_PRODUCTION_DEPLOYMENT_GUIDE.md``, "Canary Configuration"). :func:`parse_env_text` reads
such a block exactly as pasted: blank lines and ``#`` comments are skipped, ``export`` is
optional, values may be double-quoted, single-quoted or bare, and a trailing ``# comment``
after the value is ignored. Anything else is an error naming the line.

:func:`interpret_env` turns the variables the guide defines into typed settings. The guide's
``runtime.exs`` would crash at boot on a malformed ``*_TRAFFIC`` value (``String.to_integer``;
mana-source-facts.md §7 items 6-7); here such a value is refused with a clear message instead.
A variable the guide does not define is refused too, with the allowed names and the closest
one: a misspelt ``TRANSACTION_POOL_TRAFIC`` silently left the split at its default.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sim.control.breaker_config import ENV_ENABLED, ENV_FAILURE_THRESHOLD, ENV_TIMEOUT

MODULES = ("transaction_pool", "sync_service", "filter_manager", "subscription_manager")
"""The four module types the guide's ``runtime.exs`` configures."""

DEPRECATION_WARNING = "V1_DEPRECATION_WARNING"
"""The guide's switch for V1 deprecation warnings (guide L385-387, "Prepare for V1
deprecation"): checked as a boolean and otherwise without effect. No code in the guide reads
it (``Mana.Migration.V1Deprecation`` logs its warnings unconditionally, L413-421), and the
model's deprecation is ``rollout.deprecation`` (sim/scenario.py ``DeprecationSection``)."""

ALLOWED_NAMES: tuple[str, ...] = tuple(sorted(
    [f"{m.upper()}_{kind}" for m in MODULES for kind in ("VERSION", "TRAFFIC")]
    + [ENV_ENABLED, ENV_FAILURE_THRESHOLD, ENV_TIMEOUT, DEPRECATION_WARNING]))
"""Every environment variable the guide defines (and mana-sim reads), sorted."""

_LINE = re.compile(
    r"""^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=
        (?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s#'"]*))
        \s*(?:\#.*)?$""",
    re.VERBOSE,
)


class EnvError(ValueError):
    """A malformed environment block or value; ``str()`` is ``"VARIABLE: PROBLEM"``.

    Attributes:
        variable: The variable (or ``"line N"``) the problem is about.
        problem: What is wrong and what is allowed, without the variable's name (a caller
            that names the variable itself, as a config error's field, shows this).
    """

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


def parse_env_text(text: str) -> dict[str, str]:
    """Parse shell ``export NAME="value"`` lines into a dict (later lines win).

    Args:
        text: The block, as pasted from the guide or read from an env file.

    Returns:
        The variables in the order first defined.

    Raises:
        EnvError: If a non-comment line is not a simple assignment.
    """
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise EnvError(
                f"line {number}",
                f"expected `export NAME=\"value\"`, got {raw.strip()!r}",
            )
        value = match.group("dq")
        if value is None:
            value = match.group("sq")
        if value is None:
            value = match.group("bare") or ""
        env[match.group("name")] = value
    return env


@dataclass(frozen=True, slots=True)
class EnvSettings:
    """The guide's environment variables, typed.

    Attributes:
        versions: ``<MODULE>_VERSION`` per module that set one ("v1" or "v2").
        traffic: ``<MODULE>_TRAFFIC`` per module that set one (0-100).
        breaker: The ``CIRCUIT_BREAKER_*`` variables, raw, for the breaker layer to apply.
        v1_deprecation_warning: ``V1_DEPRECATION_WARNING`` when set (read by nothing:
            see :data:`DEPRECATION_WARNING`).
    """

    versions: dict[str, str] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    breaker: dict[str, str] = field(default_factory=dict)
    v1_deprecation_warning: bool | None = None


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise EnvError(name, f"value {value!r}: allowed values are true or false")


def interpret_env(env: Mapping[str, str]) -> EnvSettings:
    """Type the guide's variables; refuse bad values with a message naming the variable.

    Args:
        env: Variables from :func:`parse_env_text` or a scenario's ``env:`` mapping.

    Returns:
        The typed settings.

    Raises:
        EnvError: On a variable not in :data:`ALLOWED_NAMES`, a bad version, a traffic
            value that is not an integer in 0-100, or a bad boolean.
    """
    versions: dict[str, str] = {}
    traffic: dict[str, int] = {}
    breaker: dict[str, str] = {}
    deprecation: bool | None = None
    known_version = {f"{m.upper()}_VERSION": m for m in MODULES}
    known_traffic = {f"{m.upper()}_TRAFFIC": m for m in MODULES}
    for name in sorted(env):
        value = env[name]
        if name in known_version:
            v = value.strip()
            if v not in ("v1", "v2"):
                raise EnvError(name, f"value {value!r}: allowed values are v1 or v2")
            versions[known_version[name]] = v
        elif name in known_traffic:
            text = value.strip()
            if not re.fullmatch(r"[0-9]+", text) or not 0 <= int(text) <= 100:
                raise EnvError(name, f"value {value!r}: allowed values are integers 0-100")
            traffic[known_traffic[name]] = int(text)
        elif name in (ENV_ENABLED, ENV_FAILURE_THRESHOLD, ENV_TIMEOUT):
            breaker[name] = value
        elif name == DEPRECATION_WARNING:
            deprecation = _parse_bool(name, value)
        else:
            raise EnvError(name, unknown_variable_message(name))
    return EnvSettings(versions, traffic, breaker, deprecation)


def unknown_variable_message(name: str) -> str:
    """The refusal of an unknown variable: a close allowed name, then every allowed name.

    Args:
        name: The variable as written.

    Returns:
        ``"unknown variable (did you mean X?); allowed: ..."`` (the problem of its EnvError).
    """
    close = difflib.get_close_matches(name.upper(), ALLOWED_NAMES, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown variable{hint}; allowed: {', '.join(ALLOWED_NAMES)}"

"""Timed traffic schedules: the guide's day-by-day plan, user steps, the manual rollback script.

**The guide's manual schedule** (guide L132, L211-257, L376-387): day N starts at
``(N - 1) * 86_400`` s, so day 1 starts at t = 0 and the plan ends at the end of day 15
(``15 * 86_400`` s). Days 1-2 are infrastructure setup (V1 only); at the start of day 3 both
modules switch to V2 at 5 % (canary, days 3-5), then 25 % at day 6 (days 6-7), 50 % at day 8
(8-9), 75 % at day 10 (10-11), 90 % at day 12, 100 % at day 13; days 14-15 monitor 100 %.
The guide's env-var schedule is measured in days while its RolloutController holds a stage for
one hour (mana-source-facts.md §7 item 11): the two are alternatives, not one plan.

**A user schedule** is a list of :class:`ScheduleStep` (time, module, version, split) that a
scenario YAML can hold (pydantic, ``extra="forbid"``; times as seconds or ``"2d"``-style).

**The manual rollback script** ``scripts/rollback_v2.sh`` (guide L606-645), read literally
with commands taking no time: at T both splits go to 0; ``sleep 30``; the verification at
T + 30; then ten health checks, check i at T + 30 + 10 (i - 1) (each followed by
``sleep 10``), so the last at T + 120 and "ROLLBACK COMPLETED" at T + 130. The script's probes
hit an endpoint that does not exist in the fork (mana-source-facts.md §7 item 15), and in a
real deployment a changed env var needs a pod restart (§7 item 7); the simulation applies the
split at T. The driver runs every step here at its exact time (:mod:`sim.rollout_link`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim.duration import parse_duration

DAY: Final = 86_400.0
"""Seconds per simulated day."""

ModuleName = Literal["transaction_pool", "sync_service", "filter_manager",
                     "subscription_manager"]
"""The guide's four module types (guide L93-127)."""


def day_start(day: int) -> float:
    """Start of guide day ``day`` (1-based), seconds.

    Args:
        day: Day number, >= 1.

    Returns:
        ``(day - 1) * 86_400``.

    Raises:
        ValueError: Day below 1.
    """
    if day < 1:
        raise ValueError(f"day {day}: days are numbered from 1")
    return (day - 1) * DAY


class ScheduleStep(BaseModel):
    """At ``time``, set ``module`` to ``version`` with ``split`` % of its traffic on V2."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time: Annotated[float, BeforeValidator(parse_duration), Field(ge=0.0)]
    module: ModuleName
    version: Literal["v1", "v2"]
    split: Annotated[int, Field(ge=0, le=100, description="percent of requests to V2")]


class UserSchedule(BaseModel):
    """A user-defined schedule, e.g. a scenario's ``rollout.schedule`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[ScheduleStep] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GuidePhase:
    """One row of the guide's plan.

    Attributes:
        name: Phase name.
        first_day: First day (1-based).
        last_day: Last day, inclusive.
        split: V2 split during the phase, or None when the phase sets none.
    """

    name: str
    first_day: int
    last_day: int
    split: int | None


GUIDE_PHASES: Final = (
    GuidePhase("infrastructure", 1, 2, None),
    GuidePhase("canary", 3, 5, 5),
    GuidePhase("rollout-25", 6, 7, 25),
    GuidePhase("rollout-50", 8, 9, 50),
    GuidePhase("rollout-75", 10, 11, 75),
    GuidePhase("rollout-90", 12, 12, 90),
    GuidePhase("full-migration", 13, 13, 100),
    GuidePhase("monitoring", 14, 15, None),
)
"""The guide's 15 days (L132, L211, L237-257, L376-387)."""

GUIDE_SCHEDULE_END: Final = GUIDE_PHASES[-1].last_day * DAY
"""End of the guide's plan: the end of day 15, seconds."""


def guide_schedule(modules: Sequence[ModuleName] = ("transaction_pool", "sync_service")
                   ) -> tuple[ScheduleStep, ...]:
    """The guide's manual schedule as steps, one per phase that sets a split and module.

    Args:
        modules: Module types the guide's env vars set (it sets these two).

    Returns:
        Steps in time order, modules in the given order within a time.
    """
    return tuple(
        ScheduleStep(time=day_start(phase.first_day), module=module, version="v2",
                     split=phase.split)
        for phase in GUIDE_PHASES if phase.split is not None
        for module in modules)


class ScheduleCursor:
    """Hands out steps as their time comes (stable: equal times keep their given order).

    Args:
        steps: The steps, in any order.
    """

    def __init__(self, steps: Iterable[ScheduleStep]) -> None:
        self.steps: tuple[ScheduleStep, ...] = tuple(sorted(steps, key=lambda s: s.time))
        self._next = 0

    @property
    def next_time(self) -> float | None:
        """Time of the next step not yet handed out, or None."""
        return self.steps[self._next].time if self._next < len(self.steps) else None

    @property
    def remaining(self) -> tuple[ScheduleStep, ...]:
        """The steps not yet handed out (at a run's end: those timed after it), in order."""
        return self.steps[self._next:]

    def due(self, now: float) -> list[ScheduleStep]:
        """The steps with ``time <= now`` not handed out before.

        Args:
            now: Current time, seconds.

        Returns:
            The due steps in time order.
        """
        start = self._next
        while self._next < len(self.steps) and self.steps[self._next].time <= now:
            self._next += 1
        return list(self.steps[start:self._next])


RollbackStepKind = Literal["set_split", "verify", "health_check", "completed"]


@dataclass(frozen=True, slots=True)
class RollbackScriptStep:
    """One step of the manual rollback script.

    Attributes:
        time: When it happens, seconds.
        kind: ``set_split`` (split 0 for ``module``), ``verify``, ``health_check``
            (``index`` 1-10) or ``completed``.
        module: The module of a ``set_split`` step, else None.
        index: The health check's number (1-based), else 0.
    """

    time: float
    kind: RollbackStepKind
    module: str | None = None
    index: int = 0


def manual_rollback_script(at: float,
                           modules: Sequence[str] = ("transaction_pool", "sync_service"),
                           *, verify_after: float = 30.0, checks: int = 10,
                           check_spacing: float = 10.0) -> tuple[RollbackScriptStep, ...]:
    """The guide's ``rollback_v2.sh`` as timed steps (timing in the module doc).

    Args:
        at: When the script starts, seconds.
        modules: Modules whose split goes to 0 (the script sets these two).
        verify_after: The script's ``sleep 30`` before verifying, seconds.
        checks: Health checks (``for i in {1..10}``).
        check_spacing: The ``sleep 10`` after each check, seconds.

    Returns:
        The steps in time order.
    """
    steps = [RollbackScriptStep(at, "set_split", module=m) for m in modules]
    verify = at + verify_after
    steps.append(RollbackScriptStep(verify, "verify"))
    steps.extend(RollbackScriptStep(verify + check_spacing * i, "health_check", index=i + 1)
                 for i in range(checks))
    steps.append(RollbackScriptStep(verify + check_spacing * checks, "completed"))
    return tuple(steps)

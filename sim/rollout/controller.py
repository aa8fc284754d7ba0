"""The guide's ``Mana.Deployment.RolloutController`` (guide L261-373), as a timed state machine.

The driver calls :meth:`RolloutController.on_check` at :attr:`~RolloutController.next_check_time`
with the window's :class:`~sim.rollout.health.HealthResult` and applies the returned actions.

Common to both profiles (guide L267-269, L282-307, L311-341; mana-source-facts.md §2.5):

- stages ``[5, 25, 50, 75, 90, 100]``; a check every 60 s, the first 60 s after start
  (``init`` calls ``schedule_health_check``); the next check is scheduled when one is handled.
  The guide handles each check at its due time, so its checks fall on the grid
  ``start + k * 60 s``; a driver that handles a check late (on its next metrics sample) gets
  the next tick of that grid after the handling time, so lateness never accumulates
  (``send_after`` from a late handling would drift by the lateness at every check). A resume
  that restarts stopped checks starts a new grid at the resume command's time;
- healthy check: the failure streak resets to 0, then the controller advances one stage unless
  it is at the last stage, paused, or ``now - last_rollout < 3600 s`` (an advance at exactly
  one hour is allowed); the stability timer counts from the last advance only, failed checks
  do not restart it (control-plane-anchors.md §5 item 15). The driver may also hold the
  ladder (``on_check(..., advance=False)``) when it has no module to apply a stage to: the
  guide's ``maybe_advance_rollout`` (L311-341) advances to watch V2 at the next stage for an
  hour (L268), and with every module on V1 no traffic would move and nothing of V2 would be
  watched, so an advance then would report a split never set and spend the stage's hour;
- unhealthy check: the streak grows; on the 3rd CONSECUTIVE failure (``>= 3``, §5 items 13
  and 14) both modules go to 0 % and the controller pauses. ``current_stage`` is kept (the guide
  does not touch it), which is what lets an uncoordinated AutoRollback be undone (§7 item 12).

The ``as_written`` switches, each a line of the guide (mana-source-facts.md §7 items 9, 11):

- ``skip_first_stage``: ``current_stage`` starts at 0 and advancing applies
  ``Enum.at(@rollout_stages, current + 1)`` (L279, L332-333), so 5 % is never applied and the
  first healthy check jumps to 25 %. Intended: the first healthy check applies 5 %. With a
  one-stage ladder (e.g. ``stages: [100]``) ``current_stage`` 0 is already the last index, so
  ``maybe_advance_rollout``'s first ``cond`` clause (``current_stage_index >=
  length(@rollout_stages) - 1``, L316-318) returns the state unchanged at every check:
  ``Enum.at`` is never reached and the controller never sets a split.
- ``nil_health_crash``: ``check_transaction_pool_v2/0`` and ``check_sync_service_v2/0``
  (L199-207) have comment-only bodies and return nil; ``check_v2_health``'s ``with`` falls to
  an ``else`` matching only ``{:error, m, r}`` and raises WithClauseError, so ``handle_info``
  crashes at EVERY check before it can advance. Under a supervisor (``supervised``) it restarts
  at once with a fresh ``init`` state and its first check 60 s later; unsupervised it is gone.
  The health result passed in is ignored: the guide's check never produces one.
- ``no_resume``: the guide has no resume path (§2.5): :meth:`RolloutController.resume` is
  refused. Intended: resume unpauses and restarts the ladder at the first stage.
- ``stops_checking_after_rollback``: the rollback branch returns without
  ``schedule_health_check`` (L302-305), so no check is ever scheduled again. Intended: checks
  continue while paused (the controller still observes health), without advancing.

Intended coordination: :meth:`RolloutController.rolled_back_by_auto` is how an AutoRollback
tells the controller it set 0 %: the controller pauses and its ladder restarts at 5 % on resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Final

from sim.rollout.health import HealthResult

GUIDE_STAGES: Final = (5, 25, 50, 75, 90, 100)
"""``@rollout_stages`` (guide L267), percent of traffic to V2."""


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """Controller timing and the ``as_written`` switches.

    Attributes:
        stages: Traffic percentages in order.
        check_interval: Seconds between checks (``@health_check_interval`` 60_000 ms).
        stability_period: Seconds from one advance to the next (``@stability_period``
            3_600_000 ms).
        failures_to_rollback: Consecutive failed checks that roll back (``>=``).
        modules: Module types whose split the controller sets.
        skip_first_stage: as_written: the first advance applies ``stages[1]``.
        nil_health_crash: as_written: every check crashes (nil health result).
        supervised: With ``nil_health_crash``: restart with a fresh state after a crash.
        no_resume: as_written: :meth:`RolloutController.resume` is refused.
        stops_checking_after_rollback: as_written: no check is scheduled after a rollback.
    """

    stages: tuple[int, ...] = GUIDE_STAGES
    check_interval: float = 60.0
    stability_period: float = 3_600.0
    failures_to_rollback: int = 3
    modules: tuple[str, ...] = ("transaction_pool", "sync_service")
    skip_first_stage: bool = False
    nil_health_crash: bool = False
    supervised: bool = True
    no_resume: bool = False
    stops_checking_after_rollback: bool = False

    def __post_init__(self) -> None:
        if not self.stages or any(not 0 < s <= 100 for s in self.stages):
            raise ValueError(f"stages {self.stages}: need 1+ percentages in (0, 100]")
        if list(self.stages) != sorted(set(self.stages)):
            raise ValueError(f"stages {self.stages}: must strictly increase")
        if not self.check_interval > 0.0 or not self.stability_period >= 0.0:
            raise ValueError("check_interval must be > 0 and stability_period >= 0 seconds")
        if self.failures_to_rollback < 1:
            raise ValueError(f"failures_to_rollback {self.failures_to_rollback}: must be >= 1")

    @classmethod
    def intended(cls) -> ControllerConfig:
        """What the guide means: 5 % first, resumable, checks continue while paused."""
        return cls()

    @classmethod
    def as_written(cls) -> ControllerConfig:
        """What the guide's code does: every ``as_written`` switch on."""
        return cls(skip_first_stage=True, nil_health_crash=True, no_resume=True,
                   stops_checking_after_rollback=True)

    @classmethod
    def for_profile(cls, profile: str) -> ControllerConfig:
        """The config of a scenario profile.

        Args:
            profile: ``"intended"`` or ``"as_written"``.

        Returns:
            The matching config.

        Raises:
            ValueError: Unknown profile.
        """
        if profile == "intended":
            return cls.intended()
        if profile == "as_written":
            return cls.as_written()
        raise ValueError(f"profile {profile!r}: use intended or as_written")


@dataclass(frozen=True, slots=True)
class SetTraffic:
    """Set the V2 traffic split of ``modules`` to ``percent``."""

    time: float
    percent: int
    modules: tuple[str, ...]
    stage_index: int = -1


@dataclass(frozen=True, slots=True)
class Rollback:
    """A rollback to 0 % (always accompanied by ``SetTraffic(0)``)."""

    time: float
    reason: str
    source: str = "controller"


@dataclass(frozen=True, slots=True)
class Paused:
    """The controller paused (it will not advance until resumed)."""

    time: float
    reason: str


@dataclass(frozen=True, slots=True)
class Resumed:
    """The controller was resumed; its ladder restarts at the first stage."""

    time: float


@dataclass(frozen=True, slots=True)
class ResumeRefused:
    """A resume command that the profile does not support."""

    time: float
    reason: str


@dataclass(frozen=True, slots=True)
class Crashed:
    """The controller process crashed (``restarted``: a supervisor started a fresh one)."""

    time: float
    reason: str
    restarted: bool


ControllerAction = SetTraffic | Rollback | Paused | Resumed | ResumeRefused | Crashed
"""Anything the controller asks the model to do or record."""


def action_event(action: ControllerAction) -> dict[str, object]:
    """An action as event-log fields (``kind`` plus details; the time is the action's).

    Args:
        action: The action.

    Returns:
        ``{"kind": ..., ...}`` without ``time``.
    """
    kind = {SetTraffic: "stage_change", Rollback: "rollback", Paused: "controller_paused",
            Resumed: "controller_resumed", ResumeRefused: "resume_refused",
            Crashed: "controller_crashed"}[type(action)]
    fields: dict[str, object] = {"kind": kind}
    for f in dataclass_fields(action):
        if f.name != "time":
            value = getattr(action, f.name)
            fields[f.name] = list(value) if isinstance(value, tuple) else value
    return fields


class RolloutController:
    """The staged rollout controller.

    Args:
        config: Timing and switches (default: intended).
        start: The controller's start time, seconds; the first check is one interval later.

    Attributes:
        stage_index: Index of the current stage in ``config.stages``; -1 before any stage
            (intended). as_written starts at 0 like the guide's ``current_stage: 0`` although
            5 % is never applied.
        percent: The split the controller last set (0 before any stage and after a rollback).
        last_rollout: Time of the last advance, or None.
        health_failures: The current streak of failed checks.
        paused: Whether it is paused (after a rollback).
        next_check_time: When the next check is due; ``math.inf`` when none is scheduled.
        crashes: How many times it crashed (``nil_health_crash``).
    """

    def __init__(self, config: ControllerConfig | None = None, start: float = 0.0) -> None:
        self.config = ControllerConfig() if config is None else config
        self.percent = 0
        self.crashes = 0
        self.stage_index = -1
        self.last_rollout: float | None = None
        self.health_failures = 0
        self.paused = False
        self.next_check_time = math.inf
        self._grid_start = start
        self._init_state(start)

    def _next_tick(self, now: float) -> float:
        """The first tick of the check grid strictly after ``now`` (see the module doc)."""
        interval = self.config.check_interval
        # 1e-9: a handling time on a tick (up to float error) schedules the NEXT tick.
        k = math.floor((now - self._grid_start + 1e-9) / interval) + 1
        return self._grid_start + k * interval

    def _init_state(self, now: float) -> None:
        # The guide's init/1 (L275-284); also what a supervisor restart gets. The guide's
        # restart happens when the crashing check is handled, i.e. on the grid.
        self.stage_index = 0 if self.config.skip_first_stage else -1
        self.last_rollout = None
        self.health_failures = 0
        self.paused = False
        self.next_check_time = self._next_tick(now)

    @property
    def checking(self) -> bool:
        """Whether a check is scheduled."""
        return math.isfinite(self.next_check_time)

    def on_check(self, now: float, health: HealthResult | None, advance: bool = True
                 ) -> list[ControllerAction]:
        """Handle one health check (the guide's ``handle_info(:health_check, state)``).

        Args:
            now: The check time, seconds (normally :attr:`next_check_time`).
            health: The window's health; None stands for the guide's nil check result.
            advance: False: a healthy check does not advance (the driver has no module to
                apply a stage to; see the module doc); failures count as usual.

        Returns:
            The actions, in order.
        """
        if not self.checking:
            return []  # no check is scheduled: a stray call changes nothing
        cfg = self.config
        if cfg.nil_health_crash or health is None:
            self.crashes += 1
            reason = ("WithClauseError: check_v2_health/0 got nil from "
                      "check_transaction_pool_v2/0 (guide L187-207)")
            if cfg.supervised:
                # The split lives in the application env and survives the restart.
                percent = self.percent
                self._init_state(now)
                self.percent = percent
            else:
                self.next_check_time = math.inf
            return [Crashed(now, reason, cfg.supervised)]
        actions: list[ControllerAction] = []
        self.next_check_time = self._next_tick(now)
        if health.healthy:
            self.health_failures = 0
            if advance:
                actions.extend(self._maybe_advance(now))
            return actions
        self.health_failures += 1
        if self.health_failures >= cfg.failures_to_rollback and not self.paused:
            reason = f"{self.health_failures} consecutive failed health checks: {health.reason}"
            self.percent = 0
            self.paused = True
            actions += [Rollback(now, reason), SetTraffic(now, 0, cfg.modules, self.stage_index),
                        Paused(now, "rollback")]
            if cfg.stops_checking_after_rollback:
                self.next_check_time = math.inf
        return actions

    def _maybe_advance(self, now: float) -> list[ControllerAction]:
        cfg = self.config
        if self.stage_index >= len(cfg.stages) - 1 or self.paused:
            return []
        if (self.last_rollout is not None
                and now - self.last_rollout < cfg.stability_period):
            return []
        self.stage_index += 1
        self.percent = cfg.stages[self.stage_index]
        self.last_rollout = now
        return [SetTraffic(now, self.percent, cfg.modules, self.stage_index)]

    def resume(self, now: float) -> list[ControllerAction]:
        """Resume after a rollback: the ladder restarts at the first stage.

        The first stage is applied at the next healthy check, and checks restart if they had
        stopped. Refused under ``no_resume``; a no-op when not paused.

        Args:
            now: Time of the command, seconds.

        Returns:
            ``[Resumed]``, ``[ResumeRefused]`` or ``[]``.
        """
        if self.config.no_resume:
            return [ResumeRefused(now, "the guide's RolloutController has no resume path")]
        if not self.paused:
            return []
        self.paused = False
        self.health_failures = 0
        self.stage_index = 0 if self.config.skip_first_stage else -1
        self.last_rollout = None
        if not self.checking:
            self._grid_start = now
            self.next_check_time = self._next_tick(now)
        return [Resumed(now)]

    def rolled_back_by_auto(self, now: float) -> list[ControllerAction]:
        """Intended coordination: an AutoRollback set 0 %, so pause here too.

        Args:
            now: Time of the auto-rollback, seconds.

        Returns:
            ``[Paused]``, or ``[]`` when already paused.
        """
        self.percent = 0
        if self.paused:
            return []
        self.paused = True
        return [Paused(now, "auto-rollback")]

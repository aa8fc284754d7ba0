"""The guide's ``Mana.Deployment.AutoRollback`` (guide L547-601) on a fixed interval.

``evaluate_rollback_conditions/0`` compares the current V2 metrics with the V1 baseline and, on
any violation, sets both modules' split to 0 (L587-594). Its ``@rollback_triggers`` are the
``"auto_rollback"`` threshold set of :mod:`sim.rollout.health` (error_rate 5, throughput_drop
30, latency_increase 100, memory_increase 50, cpu_increase 80, failed_transactions 10, all %),
with the same NaN rule and low-traffic guard as every health check. ``failed_transactions``
is declared at L563 but never evaluated by the guide's ``check_all_conditions`` (L580-585);
here it is judged, on :func:`~sim.rollout.snapshot.failed_transactions_percent` (V2's
per-sender-cap refusals left out by default: they are policy, not failed transactions).

Decisions (mana-source-facts.md §2.5, §7 item 12; control-plane-anchors.md §5 item 18):

- Nothing in the guide schedules it; here it runs every ``interval`` seconds (default 60 s,
  the controller's check interval) on the fixed grid ``start + k * interval``, first one
  interval after ``start`` (a driver that evaluates at its own sample times keeps to it).
- It is stateless like the guide's function: every violating evaluation asks for 0 % again
  (while the health window still holds V2's failing traffic; once V2 carries no traffic in
  the window its metrics are NaN and nothing is judged). The driver records a request that
  changes no split as ignored, not as another rollback (:mod:`sim.rollout_link`).
- ``pauses_controller`` (intended): a rollback also calls
  :meth:`~sim.rollout.controller.RolloutController.rolled_back_by_auto`, so the controller
  stops advancing. as_written (``False``): the controller is not told, keeps its
  ``current_stage`` and, at its next healthy check after the stability period, sets
  ``stages[current + 1]``: V2 comes back at a HIGHER split than the one rolled back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.rollout.controller import ControllerAction, Rollback, RolloutController, SetTraffic
from sim.rollout.health import HealthCheck, HealthResult
from sim.rollout.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class AutoRollbackConfig:
    """AutoRollback settings.

    Attributes:
        interval: Seconds between evaluations.
        threshold_set: Threshold-set name (default ``"auto_rollback"``).
        min_requests: Low-traffic guard for the error-rate triggers.
        pauses_controller: Intended coordination (False: as_written).
        modules: Module types judged and rolled back.
    """

    interval: float = 60.0
    threshold_set: str = "auto_rollback"
    min_requests: int = 20
    pauses_controller: bool = True
    modules: tuple[str, ...] = ("transaction_pool", "sync_service")

    def __post_init__(self) -> None:
        if not self.interval > 0.0:
            raise ValueError(f"interval {self.interval}: must be > 0 seconds")

    @classmethod
    def for_profile(cls, profile: str) -> AutoRollbackConfig:
        """The config of a scenario profile.

        Args:
            profile: ``"intended"`` or ``"as_written"`` (which does not pause the controller).

        Returns:
            The matching config.

        Raises:
            ValueError: Unknown profile.
        """
        if profile not in ("intended", "as_written"):
            raise ValueError(f"profile {profile!r}: use intended or as_written")
        return cls(pauses_controller=profile == "intended")


class AutoRollback:
    """Evaluates the rollback triggers and asks for 0 % on any violation.

    Args:
        config: Settings (default: intended).
        start: Start time, seconds; the first evaluation is one interval later.

    Attributes:
        next_evaluation: When the next evaluation is due, seconds.
        rollbacks: How many evaluations asked for a rollback.
        last_result: The last evaluation's health result, or None.
    """

    def __init__(self, config: AutoRollbackConfig | None = None, start: float = 0.0) -> None:
        self.config = AutoRollbackConfig() if config is None else config
        self.check = HealthCheck(self.config.threshold_set, min_requests=self.config.min_requests,
                                 modules=self.config.modules)
        self.next_evaluation = start + self.config.interval
        self._start = start
        self.rollbacks = 0
        self.last_result: HealthResult | None = None

    def evaluate(self, now: float, snapshot: Snapshot,
                 controller: RolloutController | None = None) -> list[ControllerAction]:
        """One evaluation (the guide's ``evaluate_rollback_conditions/0``).

        Args:
            now: Evaluation time, seconds.
            snapshot: The window's metrics.
            controller: The rollout controller to pause (used only with
                ``pauses_controller``).

        Returns:
            ``[]`` when healthy; else ``Rollback``, ``SetTraffic(0)`` and, intended, the
            controller's ``Paused``.
        """
        # The next tick of the fixed grid after `now` (not `now + interval`, which drifts
        # to the driver's sample times when they do not divide the interval).
        interval = self.config.interval
        self.next_evaluation = (self._start
                                + (math.floor((now - self._start + 1e-9) / interval) + 1)
                                * interval)
        result = self.check.evaluate(now, snapshot)
        self.last_result = result
        if result.healthy:
            return []
        self.rollbacks += 1
        actions: list[ControllerAction] = [
            Rollback(now, f"rollback triggers: {result.reason}", source="auto_rollback"),
            SetTraffic(now, 0, self.config.modules),
        ]
        if self.config.pauses_controller and controller is not None:
            actions.extend(controller.rolled_back_by_auto(now))
        return actions

"""The guide's ``config/alerts.yml``, loaded as written and evaluated with Prometheus ``for:``.

:data:`GUIDE_ALERTS_YML` is the guide's file verbatim (guide L498-540;
mana-source-facts.md §2.5). :func:`load_alert_rules` reads it, or a user's file or text of the
same shape::

    alert_rules:
      <module>_v2:            # or <module>_v1; module in transaction_pool, sync_service
        - name: "..."
          condition: "metric > N" | "metric < N" | "metric < baseline * F"   (also >=, <=)
          severity: "warning" | "critical" | any word
          duration: "30s" | "2m" | "1h" | seconds

``baseline`` is the V1 value of the same metric in the same snapshot (the guide's rules judge
V2 against V1; its sections are ``transaction_pool_v2`` and ``sync_service_v2``). ``metric``
must be one the model samples for the section's module (:data:`RULE_METRICS`: the pool's
:data:`~sim.rollout.snapshot.POOL_METRICS` plus ``failed_transactions_percent``, the sync
service's :data:`~sim.rollout.snapshot.SYNC_METRICS`); any other name, like an operator other
than the four, is a config error (a rule on an unknown metric would never have data, so it
would never fire). For the pool's ``throughput_tps`` the model's snapshot gives each
version's successful transactions per request routed to it, times the pool's request rate
(V1's share from its last window with enough traffic when it serves too little in this one):
:mod:`sim.rollout.snapshot` and :mod:`sim.rollout.health` say why.

:class:`AlertEvaluator` answers control-plane-anchors.md §5 items 19-22 with Prometheus'
``AlertingRule.Eval`` (prometheus/prometheus ``rules/alerting.go`` L387-540, anchors §4):

- evaluation every ``interval`` seconds on a fixed grid from ``start`` (default 15 s, so the
  30 s rule needs three true evaluations: t0 pending, t0+15 pending, t0+30 firing); a driver
  that evaluates at the first of its own times at or after a tick (the model's metrics
  samples) keeps to the grid: with 10-s samples the evaluations fall at 20, 30, 50, 60... s;
- the first true evaluation makes the rule *pending* with ``active_at = now``; it fires at the
  first evaluation with ``now - active_at >= duration`` (inclusive), so ``for`` needs an
  unbroken run of true evaluations; a duration of 0 fires at once;
- a false evaluation while pending resets it (no event); a firing rule resolves at the first
  false evaluation (no ``keep_firing_for`` hold);
- no data (the metric, or the V1 baseline of a ``baseline`` rule, is NaN or missing) is a
  false evaluation, as an absent Prometheus series is.

One deviation from "as written", in the data the rules see rather than in the rules: the
model's snapshots give a SYNCED engine (2 blocks or fewer behind the head) no
``sync_speed_bps`` (NaN: ``RolloutLink._snapshot`` in ``sim/rollout_link.py``), so "Slow
Block Sync" (``sync_speed_bps < 10`` for 5m) judges only an engine that is catching up. A
synced engine follows the chain at one block per 12-s slot (0.083 blocks/s), far below 10:
read literally, the rule would fire five minutes after every healthy engine caught up and
never resolve. The guide leaves ``get_sync_speed()`` undefined (L475); the rule's name reads
as "syncing slowly", which a synced engine is not, and "High Blocks Behind" covers an engine
that falls behind again.

Only firing and resolution are events (:class:`AlertEvent`). An optional low-traffic guard
(``min_requests``, off by default so the rules run as written) makes the error-rate rule false
while V2 served too few requests (control-plane-anchors.md §5 item 17). Tick times are
compared with a 1e-9 s tolerance so that accumulated float ticks (e.g. a 0.1 s interval) do
not miss a boundary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.config_error import ConfigError, format_validation_error, yaml_problem
from sim.duration import parse_duration
from sim.rollout.snapshot import (
    FAILED_TRANSACTIONS_PERCENT,
    MODULES,
    POOL_METRICS,
    SYNC_METRICS,
    Snapshot,
    metric,
)

GUIDE_ALERTS_YML: Final = """\
# config/alerts.yml
alert_rules:
  transaction_pool_v2:
    - name: "High Transaction Pool Latency"
      condition: "avg_latency_ms > 100"
      severity: "warning"
      duration: "2m"
      
    - name: "Transaction Pool Throughput Drop"
      condition: "throughput_tps < baseline * 0.8"
      severity: "critical" 
      duration: "1m"
      
    - name: "High Transaction Pool Memory Usage"
      condition: "memory_usage_mb > 500"
      severity: "warning"
      duration: "5m"
      
    - name: "Transaction Pool Error Rate"
      condition: "error_rate_percent > 2"
      severity: "critical"
      duration: "30s"
      
  sync_service_v2:
    - name: "Slow Block Sync"
      condition: "sync_speed_bps < 10"
      severity: "warning"
      duration: "5m"
      
    - name: "High Blocks Behind"
      condition: "blocks_behind > 100"
      severity: "critical"
      duration: "2m"
      
    - name: "Low Peer Connections"
      condition: "connected_peers < 5"
      severity: "warning"
      duration: "1m"
      
    - name: "Sync Service Memory Leak"
      condition: "memory_usage_mb > 1000"
      severity: "critical"
      duration: "10m"
"""  # noqa: W291, W293  (verbatim: the guide's lines carry trailing spaces)
"""The guide's ``config/alerts.yml`` text, verbatim (guide L498-540)."""

_EPS: Final = 1e-9
_CONDITION: Final = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*"
    r"(?:(baseline)\s*\*\s*)?([0-9]*\.?[0-9]+)\s*$")
_SECTION: Final = re.compile(r"^([a-z_]+)_(v1|v2)$")

RULE_METRICS: Final[dict[str, tuple[str, ...]]] = {
    "transaction_pool": (*POOL_METRICS, FAILED_TRANSACTIONS_PERCENT),
    "sync_service": SYNC_METRICS,
}
"""The metrics a rule of each module may name: those the model samples into its snapshots.

Any other name would never have data, so the rule would be silently dead (no data is a
false evaluation): :func:`load_alert_rules` refuses it instead."""

Op = Literal[">", "<", ">=", "<="]


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One parsed rule.

    Attributes:
        name: The rule's name.
        module: Module type (``transaction_pool`` or ``sync_service``).
        version: Version judged (``"v2"`` for the guide's sections).
        metric: Metric name.
        op: Comparison.
        threshold: ``N``, or the factor ``F`` of ``baseline * F``.
        relative: True for ``metric < baseline * F`` (threshold is a factor of V1's value).
        severity: As written (``"warning"``, ``"critical"``...).
        duration: The ``for`` duration, seconds.
        condition: The condition as written.
    """

    name: str
    module: str
    version: str
    metric: str
    op: Op
    threshold: float
    relative: bool
    severity: str
    duration: float
    condition: str

    def holds(self, snapshot: Snapshot) -> tuple[bool, float]:
        """Whether the condition is true in one window (no data: false).

        Args:
            snapshot: The window's metrics.

        Returns:
            ``(condition true, value)``.
        """
        value = metric(snapshot, self.module, self.version, self.metric)
        bound = self.threshold
        if self.relative:
            bound *= metric(snapshot, self.module, "v1", self.metric)
        if math.isnan(value) or math.isnan(bound):
            return False, value
        if self.op == ">":
            return value > bound, value
        if self.op == "<":
            return value < bound, value
        if self.op == ">=":
            return value >= bound, value
        return value <= bound, value


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    condition: str
    severity: Annotated[str, Field(min_length=1)]
    duration: str | float


class _AlertsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_rules: dict[str, list[_RuleModel]]


def parse_condition(condition: str) -> tuple[str, Op, float, bool]:
    """Parse ``metric OP N`` or ``metric OP baseline * F``.

    Args:
        condition: The condition as written.

    Returns:
        ``(metric, op, threshold, relative)``.

    Raises:
        ValueError: Not of that form.
    """
    match = _CONDITION.match(condition)
    if match is None:
        raise ValueError(f"condition {condition!r}: use 'metric OP N' or 'metric OP "
                         f"baseline * F' with OP one of >, <, >=, <=")
    op = cast(Op, match.group(2))  # the regex admits only the four operators
    return match.group(1), op, float(match.group(4)), match.group(3) is not None


def load_alert_rules(source: str | Path | None = None) -> tuple[AlertRule, ...]:
    """Load alert rules: the guide's file by default, else a user's file or YAML text.

    Args:
        source: None for :data:`GUIDE_ALERTS_YML`; a :class:`~pathlib.Path` to read; or the
            YAML text itself.

    Returns:
        The rules in file order.

    Raises:
        ConfigError: One line naming the source, the field and the problem (a condition's
            metric must be one of :data:`RULE_METRICS` for the section's module).
    """
    if source is None:
        origin, text = "<guide alerts.yml>", GUIDE_ALERTS_YML
    elif isinstance(source, Path):
        origin = str(source)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(origin, "", f"cannot read: {exc.strerror}") from exc
    else:
        origin, text = "<alerts text>", source
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(origin, "", f"not valid YAML: {yaml_problem(exc)}") from exc
    try:
        parsed = _AlertsFile.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, origin, _AlertsFile) from exc
    rules: list[AlertRule] = []
    for section, entries in parsed.alert_rules.items():
        match = _SECTION.match(section)
        if match is None or match.group(1) not in MODULES:
            raise ConfigError(origin, f"alert_rules.{section}",
                              f"unknown section (allowed: {', '.join(MODULES)} with _v1 "
                              f"or _v2)")
        for i, entry in enumerate(entries):
            where = f"alert_rules.{section}.{i}"
            try:
                name, op, threshold, relative = parse_condition(entry.condition)
                duration = parse_duration(entry.duration)
            except ValueError as exc:
                raise ConfigError(origin, where, str(exc)) from exc
            module = match.group(1)
            if name not in RULE_METRICS[module]:
                raise ConfigError(origin, where,
                                  f"rule {entry.name!r}: unknown {module} metric {name!r} "
                                  f"(allowed: {', '.join(RULE_METRICS[module])})")
            rules.append(AlertRule(entry.name, module, match.group(2), name, op,
                                   threshold, relative, entry.severity, duration,
                                   entry.condition))
    return tuple(rules)


AlertState = Literal["inactive", "pending", "firing"]
"""A rule's state, as Prometheus names them."""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A rule started firing or resolved.

    Attributes:
        time: The evaluation time, seconds.
        kind: ``"firing"`` or ``"resolved"``.
        rule: Rule name.
        severity: Rule severity.
        module: Module type.
        value: The metric's value at this evaluation (NaN when absent).
        active_at: When the unbroken true run began, seconds.
    """

    time: float
    kind: Literal["firing", "resolved"]
    rule: str
    severity: str
    module: str
    value: float
    active_at: float

    def to_event(self) -> dict[str, object]:
        """Fields for the run's event log (``kind`` becomes ``alert_firing``/``_resolved``)."""
        return {"kind": f"alert_{self.kind}", "rule": self.rule, "severity": self.severity,
                "module": self.module, "value": self.value, "active_at": self.active_at}


class AlertEvaluator:
    """Evaluates rules on a fixed interval with Prometheus ``for:`` semantics.

    The driver calls :meth:`evaluate` at (or after) :attr:`next_evaluation`; the evaluator
    does not insist on the tick, so a driver may also evaluate at its own times.

    Args:
        rules: The rules (default: the guide's alerts.yml).
        interval: Evaluation interval, seconds (default 15).
        start: Time of the first evaluation, seconds.
        min_requests: Low-traffic guard: a rule on ``error_rate_percent`` is false while
            the judged version served fewer requests (``request_count``) in the window.
            Default 0: off, the rules as written (a known ``request_count`` is needed).

    Raises:
        ValueError: Non-positive interval or negative ``min_requests``.
    """

    def __init__(self, rules: tuple[AlertRule, ...] | None = None, *, interval: float = 15.0,
                 start: float = 0.0, min_requests: int = 0) -> None:
        if not interval > 0.0:
            raise ValueError(f"interval {interval}: must be > 0 seconds")
        if min_requests < 0:
            raise ValueError(f"min_requests {min_requests}: must be >= 0")
        self.rules = load_alert_rules() if rules is None else rules
        self.interval = interval
        self.min_requests = min_requests
        self.next_evaluation = start
        self._start = start
        self._state: list[AlertState] = ["inactive"] * len(self.rules)
        self._active_at: list[float] = [math.nan] * len(self.rules)

    def state(self, name: str) -> AlertState:
        """The state of the first rule with this name.

        Args:
            name: Rule name.

        Returns:
            ``"inactive"``, ``"pending"`` or ``"firing"``.

        Raises:
            KeyError: No such rule.
        """
        for i, rule in enumerate(self.rules):
            if rule.name == name:
                return self._state[i]
        raise KeyError(name)

    @property
    def firing(self) -> tuple[AlertRule, ...]:
        """The rules firing now, in rule order."""
        return tuple(r for r, s in zip(self.rules, self._state, strict=True) if s == "firing")

    def evaluate(self, now: float, snapshot: Snapshot) -> list[AlertEvent]:
        """Evaluate every rule once at ``now``.

        Args:
            now: Evaluation time, seconds.
            snapshot: The window's metrics.

        Returns:
            The firing and resolution events of this evaluation, in rule order.
        """
        events: list[AlertEvent] = []
        for i, rule in enumerate(self.rules):
            true, value = rule.holds(snapshot)
            if true and rule.metric == "error_rate_percent" and self.min_requests:
                served = metric(snapshot, rule.module, rule.version, "request_count")
                true = not served < self.min_requests  # NaN: the guard cannot apply
            state = self._state[i]
            if true:
                if state == "inactive":
                    state, self._active_at[i] = "pending", now
                if state == "pending" and now - self._active_at[i] >= rule.duration - _EPS:
                    state = "firing"
                    events.append(AlertEvent(now, "firing", rule.name, rule.severity,
                                             rule.module, value, self._active_at[i]))
            elif state == "firing":
                state = "inactive"
                events.append(AlertEvent(now, "resolved", rule.name, rule.severity,
                                         rule.module, value, self._active_at[i]))
            else:
                state = "inactive"  # a false evaluation while pending resets the run
            self._state[i] = state
        # The next tick of the fixed grid start + k * interval after `now` (Prometheus
        # evaluates a group on a fixed schedule). `now + interval` would drift to the
        # driver's times: with 10-s samples and a 15-s interval it evaluated every 20 s.
        ticks = math.floor((now - self._start + _EPS) / self.interval) + 1
        self.next_evaluation = self._start + ticks * self.interval
        return events

"""Scenarios: one YAML file describes one run.

Every section is a pydantic model with ``extra="forbid"`` and checked ranges; the component
configs of ``pool``, ``sync`` and ``sim.control`` (frozen dataclasses that check their own
ranges) are validated in place. Keys and units follow the guide where the guide names them
(``cleanup_interval`` in ms, ``max_transaction_age`` in s, breaker ``timeout`` and
``reset_timeout`` in ms, ``peer_timeout_ms``); every other time is in seconds and may be
written as a number or as ``"90s"``, ``"2m"``, ``"1h"``, ``"15d"``. A fault's or flood's
``end`` must come after its ``start``, faults of one kind must not overlap in time, peer
counts name known profiles (:data:`sync.peers.PROFILES`) and the peers a fault lists exist:
each would otherwise crash or silently misbehave mid-run.

The guide's environment variables can be given as an ``env:`` block (a mapping, or the
guide's ``export`` lines pasted as a string) or with ``--env-file`` (see :mod:`sim.envfile`).
A scenario says each thing once: a module's version or split set both in ``modules`` and in
``env``, or a breaker setting both in ``breakers`` and in ``env``, is refused (naming both
fields) rather than resolved silently. ``--env-file`` (``extra_env``) is an override from
outside the file, like ``--seed``: it wins over the env block, ``modules`` and ``breakers``.
:attr:`Scenario.resolved_modules` gives the module settings a run uses (env applied).

:func:`load_scenario` reads a file or a built-in name and raises
:class:`~sim.config_error.ConfigError` (one line: file, field, what is allowed) on any problem.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass as std_dataclass
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticSerializationError

from pool.config import PoolV1Config, PoolV2Config
from pool.cost_model import CostModel
from pool.transaction import GWEI
from sim.config_error import VALUE_SHOWN, ConfigError, format_validation_error, yaml_problem
from sim.control import BreakerConfig, GenericService, apply_breaker_env
from sim.control.breaker_config import (
    ENV_ENABLED,
    ENV_FAILURE_THRESHOLD,
    ENV_TIMEOUT,
    default_breaker_configs,
)
from sim.duration import PositiveSeconds, Seconds
from sim.envfile import MODULES, EnvError, EnvSettings, interpret_env, parse_env_text
from sim.rollout.alerts import load_alert_rules
from sim.rollout.schedule import ScheduleStep
from sim.workload import TxStream
from sync.chain import HEADER_BYTES, ChainConfig
from sync.peers import HONEST, PROFILES
from sync.v1 import SyncV1Config
from sync.v2 import SyncV2Config


def _env_block(value: Any) -> Any:
    """YAML scalars in an ``env:`` mapping become the strings a shell would hold.

    ``TRANSACTION_POOL_TRAFFIC: 5`` and ``CIRCUIT_BREAKER_ENABLED: true`` are what a user writes
    in YAML; the guide's variables are strings, so numbers and booleans are converted here
    (``true``/``false`` lower-case) and checked by :func:`~sim.envfile.interpret_env`.
    """
    if isinstance(value, dict):
        return {k: (str(v).lower() if isinstance(v, bool)
                    else str(v) if isinstance(v, int | float) else v)
                for k, v in value.items()}
    return value


EnvBlock = Annotated[dict[str, str] | str | None, BeforeValidator(_env_block)]
"""The guide's environment variables: a mapping, or ``export`` lines pasted as a string."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_window(start: float, end: float | None) -> None:
    """A time window's end must come after its start (``None``: never ends)."""
    if end is not None and not end > start:
        raise ValueError(f"end ({end:g} s) must be after start ({start:g} s)")


class ModuleSettings(_Section):
    """Version and traffic split of one module (the guide's ``<MODULE>_VERSION/_TRAFFIC``)."""

    version: Literal["v1", "v2"] = "v1"
    traffic: Annotated[int, Field(ge=0, le=100, description="percent of requests to V2")] = 0


class ModulesSection(_Section):
    """The four module types of the guide's ``runtime.exs``."""

    transaction_pool: ModuleSettings = ModuleSettings()
    sync_service: ModuleSettings = ModuleSettings()
    filter_manager: ModuleSettings = ModuleSettings()
    subscription_manager: ModuleSettings = ModuleSettings()


class BlocksSection(_Section):
    """Block production: one block per slot taking the best transactions of both pools."""

    slot: PositiveSeconds = 12.0
    gas_limit: Annotated[int, Field(ge=21_000)] = 30_000_000


class CostOverrides(_Section):
    """Override any constant of a pool's cost model (:class:`pool.cost_model.CostModel`)."""

    call_overhead_s: Annotated[float, Field(ge=0.0)] | None = None
    validate_s: Annotated[float, Field(ge=0.0)] | None = None
    signature_check_s: Annotated[float, Field(ge=0.0)] | None = None
    index_unit_s: Annotated[float, Field(ge=0.0)] | None = None
    remove_unit_s: Annotated[float, Field(ge=0.0)] | None = None
    select_per_tx_s: Annotated[float, Field(ge=0.0)] | None = None
    scan_per_entry_s: Annotated[float, Field(ge=0.0)] | None = None

    def apply(self, base: CostModel) -> CostModel:
        """The preset with these overrides applied."""
        changes = {k: v for k, v in self.model_dump().items() if v is not None}
        return replace(base, **changes) if changes else base


class PoolSection(_Section):
    """Both pools' settings and cost models."""

    v1: PoolV1Config = PoolV1Config()
    v2: PoolV2Config = PoolV2Config()
    base_memory_mb: Annotated[float, Field(ge=0.0, description=(
        "MiB each pool process holds besides its transactions (code, process heap); the "
        "same for V1 and V2, so relative memory changes compare like with like"))] = 32.0
    cost_v1: CostOverrides = CostOverrides()
    cost_v2: CostOverrides = CostOverrides()

    def cost_models(self) -> tuple[CostModel, CostModel]:
        """The V1 and V2 cost models after overrides."""
        return (self.cost_v1.apply(CostModel.v1()),
                self.cost_v2.apply(CostModel.v2(self.v2.batch_processing_size)))


class SyncSection(_Section):
    """Both sync engines' settings."""

    v1: SyncV1Config = SyncV1Config()
    v2: SyncV2Config = SyncV2Config()
    base_memory_mb: Annotated[float, Field(ge=0.0, description=(
        "MiB each sync process holds besides its queues and peer table (block tree, trie "
        "cache); the same for V1 and V2"))] = 64.0


class BreakerSettings(_Section):
    """One breaker in the guide's keys and units (``timeout``/``reset_timeout`` in ms).

    The ``as_written`` switches of :class:`sim.control.BreakerConfig` default from the
    scenario's profile and can each be set here to see one difference on its own.
    """

    failure_threshold: Annotated[int, Field(ge=1)] | None = None
    success_threshold: Annotated[int, Field(ge=1)] | None = None
    timeout: Annotated[int, Field(ge=1, description="ms")] | None = None
    reset_timeout: Annotated[int, Field(ge=0, description="ms")] | None = None
    half_open_max_calls: Annotated[int, Field(ge=1)] | None = None
    enabled: bool | None = None
    double_count_successes: bool | None = None
    errors_count_as_successes: bool | None = None
    unknown_state_emergency_v1: bool | None = None
    eager_half_open: bool | None = None

    def apply(self, base: BreakerConfig) -> BreakerConfig:
        """``base`` with these settings applied (ms converted to seconds)."""
        changes: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("double_count_successes", "errors_count_as_successes",
                         "unknown_state_emergency_v1", "eager_half_open")
            if getattr(self, name) is not None
        }
        if self.failure_threshold is not None:
            changes["failure_threshold"] = self.failure_threshold
        if self.success_threshold is not None:
            changes["success_threshold"] = self.success_threshold
        if self.timeout is not None:
            changes["timeout"] = self.timeout / 1000.0
        if self.reset_timeout is not None:
            changes["reset_timeout"] = self.reset_timeout / 1000.0
        if self.half_open_max_calls is not None:
            changes["half_open_max_calls"] = self.half_open_max_calls
        if self.enabled is not None:
            changes["enabled"] = self.enabled
        return replace(base, **changes) if changes else base


class BreakersSection(_Section):
    """Per-module breaker overrides, keyed like the guide (``transaction_pool_v2``...)."""

    transaction_pool_v2: BreakerSettings = BreakerSettings()
    sync_service_v2: BreakerSettings = BreakerSettings()
    filter_manager_v2: BreakerSettings = BreakerSettings()
    subscription_manager_v2: BreakerSettings = BreakerSettings()


class RateLimitSection(_Section):
    """The per-peer limiter of the guide's ``check_sync_rate_limit``.

    The guide leaves the limit undefined (``max_requests_per_minute/0`` does not exist;
    mana-source-facts.md §2.4); 120 per minute is mana-sim's default, twice an honest peer's
    default request rate here. The key keeps the guide's name (guide L1046-1050), but the
    count applies per ``window``: with ``window`` other than 60 s it is not a per-minute rate
    (``mana-sim validate`` warns, :func:`config_warnings`).
    """

    max_requests_per_minute: Annotated[int, Field(ge=1, description=(
        "requests a peer may make per `window` (per minute only when window is 60 s)"))] = 120
    window: Annotated[PositiveSeconds, Field(description=(
        "seconds over which max_requests_per_minute is counted"))] = 60.0
    max_tracked_peers: Annotated[int, Field(ge=1)] = 10_000


class TxValidationSection(_Section):
    """Per-sender and per-peer transaction rate limits of ``validate_transaction_input``."""

    per_sender_per_minute: Annotated[int, Field(ge=1)] = 600
    per_peer_per_minute: Annotated[int, Field(ge=1)] = 60_000


class GenericModuleSection(_Section):
    """Request load and service models of a module without a pool or sync engine."""

    rate: Annotated[float, Field(ge=0.0, description="requests per second")] = 5.0
    v1: GenericService = GenericService()
    v2: GenericService = GenericService()


class ServiceModels(_Section):
    """Service models of the V1 and V2 instances of a request/response module."""

    v1: GenericService = GenericService()
    v2: GenericService = GenericService()


class FloodSection(_Section):
    """Peers that flood the node with inbound sync requests."""

    peers: Annotated[int, Field(ge=0)] = 1
    rate: Annotated[float, Field(ge=0.0, description="requests per second per peer")] = 50.0
    start: Seconds = 0.0
    end: Seconds | None = None

    @model_validator(mode="after")
    def _window(self) -> FloodSection:
        _check_window(self.start, self.end)
        return self


class NetworkSection(_Section):
    """The peers the node talks to."""

    peers: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: {"honest": 40, "slow": 5, "flaky": 3, "churning": 2}
    )
    inbound_rate: Annotated[float, Field(ge=0.0, description="requests/s per peer")] = 0.5
    floods: tuple[FloodSection, ...] = ()
    initial_chain: Annotated[int, Field(
        ge=0, description="blocks at t=0; the node starts at genesis, this far behind")] = 500

    @field_validator("peers")
    @classmethod
    def _known_profiles(cls, peers: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(peers) - set(PROFILES))
        if unknown:
            raise ValueError(f"unknown peer profile {unknown[0]!r} (allowed: "
                             f"{', '.join(sorted(PROFILES))})")
        return peers


class RegressionFault(_Section):
    """A V2 module regression: errors, slowness and a memory leak between two times."""

    kind: Literal["v2_regression"] = "v2_regression"
    module: Literal["transaction_pool", "sync_service", "filter_manager",
                    "subscription_manager"] = "transaction_pool"
    start: Seconds = 0.0
    end: Seconds | None = None
    error_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    latency_factor: Annotated[float, Field(ge=1.0)] = 1.0
    memory_leak_mb_per_hour: Annotated[float, Field(ge=0.0)] = 0.0

    @model_validator(mode="after")
    def _window(self) -> RegressionFault:
        _check_window(self.start, self.end)
        return self


TargetPick = Literal["random", "first"]
"""How a peer fault or partition picks its peers when given a count or share (see
:class:`PeerFault`): ``random``, a seeded draw; ``first``, the first in population order."""

PeerIds = tuple[str, ...]
"""Explicit fault targets: peer ids as the population names them (``"honest-3"``); one or
more, each once (checked by the fault, and against the population by the scenario)."""


def _check_targets(fault: PeerFault | PartitionFault, count_field: str) -> None:
    """An explicit id list is hit as given: a pick rule or a count beside it would be ignored.

    The checks of ``peers`` live here, not in its type: constraints would hide the union's
    members from :mod:`sim.config_error` behind pydantic's ``constrained-*`` labels.
    """
    if isinstance(fault.peers, int):
        if fault.peers < 1:
            raise ValueError(f"peers must be at least 1, got {fault.peers}")
        return
    if not isinstance(fault.peers, tuple):
        return
    if not fault.peers:
        raise ValueError("peers lists no peer (list one or more ids, or give a count)")
    clash = sorted({"targets", count_field} & fault.model_fields_set - {"peers"})
    if clash:
        raise ValueError(f"peers lists the targets; {' and '.join(clash)} would be ignored "
                         f"(give a count or share to draw targets, or a list, not both)")
    dupes = sorted({p for p in fault.peers if fault.peers.count(p) > 1})
    if dupes:
        raise ValueError(f"peer {dupes[0]!r} is listed twice")


class PeerFault(_Section):
    """Some peers crash, go silent, slow down or start lying between two times.

    Targets: ``peers: n`` hits ``n`` of the population's *honest* peers (so a fault is never
    hidden by a peer that already misbehaves; at most as many as there are: ``validate``
    warns of a count above them, and a network without honest peers is refused with a
    count, :meth:`Scenario._faults_hit_a_peer`), drawn at random
    (``targets: random``, the default: a draw from the fault's own stream, derived from the
    run's seed and the fault's index, so the same seed hits the same peers and no other
    random draw of the run moves), or the first ``n`` in the (seeded, shuffled) population
    order (``targets: first``). The sync engines connect in that order too (V1 holds the
    first 10 reachable peers), so ``first`` hits V1's peers far harder than V2's: it is kept
    only to reproduce runs made before the draw. ``peers: [honest-3, slow-0]`` hits exactly
    those peers (any profile). The ``fault_start`` event names the peers hit and how many of
    each engine's connected peers they were.
    """

    kind: Literal["peer_crash", "peer_silence", "peer_slowness", "peer_lying"]
    peers: int | PeerIds = Field(1, description="how many honest peers (>= 1), or their ids")
    targets: TargetPick = "random"
    start: Seconds = 0.0
    end: Seconds | None = None
    slow_factor: Annotated[float, Field(ge=1.0)] = 10.0

    @model_validator(mode="after")
    def _window(self) -> PeerFault:
        _check_window(self.start, self.end)
        _check_targets(self, "peers")
        return self


class PartitionFault(_Section):
    """A share of the peers is unreachable between two times.

    Targets: ``share`` of the whole population (``round(share * N)`` peers, any profile; a
    share that rounds to 0 peers is refused),
    picked as a :class:`PeerFault` picks (``targets: random``, the default, or ``first``);
    or exactly the peers listed in ``peers`` (then give no ``share``).
    """

    kind: Literal["partition"] = "partition"
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    peers: PeerIds | None = None
    targets: TargetPick = "random"
    start: Seconds = 0.0
    end: Seconds | None = None

    @model_validator(mode="after")
    def _window(self) -> PartitionFault:
        _check_window(self.start, self.end)
        _check_targets(self, "share")
        return self


class RestartFault(_Section):
    """The node restarts at a time: mailboxes and pools are lost, sync resumes from checkpoint."""

    kind: Literal["node_restart"] = "node_restart"
    at: Seconds = 0.0


Fault = Annotated[
    RegressionFault | PeerFault | PartitionFault | RestartFault, Field(discriminator="kind")
]


class ControllerSection(_Section):
    """The guide's ``RolloutController`` (stages, checks, stability period, rollback).

    The ``as_written`` switches default from the scenario's profile; each can be set here.
    """

    enabled: bool = True
    stages: tuple[Annotated[int, Field(gt=0, le=100)], ...] = (5, 25, 50, 75, 90, 100)
    check_interval: PositiveSeconds = 60.0
    stability_period: Seconds = 3_600.0
    failures_to_rollback: Annotated[int, Field(ge=1)] = 3
    health: Literal["alerts", "auto_rollback", "alerts_yml", "migration_plan"] = "alerts"
    min_requests: Annotated[int, Field(ge=0)] = 20
    start: Seconds = 0.0
    resume_at: tuple[Seconds, ...] = ()
    skip_first_stage: bool | None = None
    nil_health_crash: bool | None = None
    no_resume: bool | None = None
    stops_checking_after_rollback: bool | None = None

    @model_validator(mode="after")
    def _stages_increase(self) -> ControllerSection:
        if not self.stages or list(self.stages) != sorted(set(self.stages)):
            raise ValueError(f"stages {list(self.stages)}: need one or more strictly "
                             "increasing percentages in 1-100")
        return self


class AutoRollbackSection(_Section):
    """The guide's ``AutoRollback`` triggers, evaluated on an interval."""

    enabled: bool = True
    interval: PositiveSeconds = 60.0
    threshold_set: Literal["alerts", "auto_rollback", "alerts_yml", "migration_plan"] = (
        "auto_rollback")
    min_requests: Annotated[int, Field(ge=0)] = 20
    pauses_controller: bool | None = None


def _rules_text(value: Any) -> Any:
    """Inline rules written as YAML (a mapping) become the text the rules loader reads."""
    if isinstance(value, dict):
        return yaml.safe_dump(value, sort_keys=False)
    if isinstance(value, list):
        raise ValueError("expected a file path or the alerts.yml shape, a mapping: "
                         "`alert_rules:` -> a key such as `transaction_pool_v2:` -> a list of "
                         "{name, condition, severity, duration}; not a list")
    return value


class AlertsSection(_Section):
    """The guide's ``config/alerts.yml`` rules with Prometheus ``for:`` semantics."""

    enabled: bool = True
    interval: PositiveSeconds = 15.0
    rules: Annotated[str | None, BeforeValidator(_rules_text)] = Field(
        default=None, validate_default=True, description="a path to an alerts.yml-shaped "
        "file (relative to the working directory), or its content: a mapping written inline "
        "(``alert_rules: {transaction_pool_v2: [{name, condition, severity, duration}]}``) "
        "or YAML text; default: the guide's file")

    @field_validator("rules")
    @classmethod
    def _rules_load(cls, rules: str | None) -> str | None:
        # A field validator, so a bad value is reported at ``rollout.alerts.rules``. The
        # rules (the guide's too) load here, so `validate` refuses what a run would: a
        # bad condition or a metric the model does not sample (sim/rollout/alerts.py).
        try:
            load_alert_rules(None if rules is None else alert_rules_source(rules))
        except ConfigError as exc:
            # The message names the bad value (a duration, a condition) itself; the value
            # given here is the file's name or the whole text, not the value at fault.
            raise PydanticCustomError(VALUE_SHOWN, str(exc)) from None
        return rules


def alert_rules_source(rules: str) -> str | Path:
    """A rules setting as a path (one line naming a file or a ``.yml``) or as YAML text."""
    one_line = "\n" not in rules
    if one_line and (Path(rules).is_file() or rules.strip().endswith((".yml", ".yaml"))):
        return Path(rules.strip())
    return rules


class DeprecationSection(_Section):
    """V1 deprecation: once the pool runs 100 % on V2 for ``hold``, V1 stops.

    The V1 pool's contents migrate into V2 (each admitted or refused with V2's reason),
    queued V1 work drains, and, when sync runs fully on V2 (then, or later: as soon as it
    does), the V1 sync engine stops and hands its checkpoint to V2, which adopts it if it is
    behind (and else records it as its own checkpoint if newer). ``at`` sets a time instead
    (run after the schedule steps at that time); it never moves a split: if the pool is not
    at 100 % on V2 then, the deprecation is refused (a ``deprecation_refused`` event, the
    summary's ``rollout.deprecation_refused``) and V1 keeps running, as the guide deprecates
    V1 only after days at 100 % V2 (guide L376-431).
    """

    enabled: bool = True
    hold: Seconds = 86_400.0
    at: Seconds | None = None


class RolloutSection(_Section):
    """Everything that changes versions and splits during a run.

    ``health_window`` is the span of samples a health check, an alert evaluation or an
    AutoRollback evaluation judges (counts summed, rates averaged): long enough that a 5 %
    canary's few requests are not judged on noise.

    ``sender_limit_counts_as_failed`` (default false): whether the window's
    ``failed_transactions_percent`` (AutoRollback's ``failed_transactions`` trigger, 10 %,
    and any alert rule naming it) counts V2's refusals by its per-sender cap
    (``pool.v2.max_per_sender``, reason ``sender_limit``) as failed transactions. By default
    they are DoS policy working as designed and are left out of the figure (numerator and
    denominator: ``sim.rollout.snapshot.failed_transactions_percent``); true is the earlier
    reading, under which a healthy V2 at 100 % can be rolled back at the default load.
    """

    health_window: PositiveSeconds = 300.0
    sender_limit_counts_as_failed: bool = False
    controller: ControllerSection | None = None
    auto_rollback: AutoRollbackSection | None = None
    alerts: AlertsSection = AlertsSection()
    schedule: Literal["guide"] | tuple[ScheduleStep, ...] = ()
    manual_rollback_at: Seconds | None = None
    deprecation: DeprecationSection | None = None


class RunSection(_Section):
    """How the run is executed.

    ``mode`` does not change results (trace gives the fast mode's figures). ``chunk`` does:
    the inputs (transactions, peer and client requests) are drawn a chunk at a time from
    the seeded streams, so the chunk length is part of the random stream. The same seed
    and the same chunk give identical runs; another chunk gives another sample path of the
    same workload (same rates and distributions, other arrival times and values, so every
    figure moves within its noise), as another seed does. ``metrics_interval`` sets the
    time-series sampling (and when alerts and checks read a sample), not the draws.
    """

    mode: Literal["fast", "trace"] = "fast"
    chunk: PositiveSeconds = Field(60.0, description=(
        "seconds of inputs drawn at once; part of the random stream: same seed and chunk, "
        "same run; another chunk, another sample path of the same workload"))
    metrics_interval: PositiveSeconds = 10.0


class Scenario(_Section):
    """One simulated run: everything the model needs, validated.

    Fields hold what the file says: ``modules`` is the section as written, so a scenario
    that sets its modules in ``env`` (the canary) shows the defaults there;
    :attr:`resolved_modules` gives what the run starts with. ``model_copy(update=...)``
    checks nothing (:func:`sim.run` validates again); :meth:`with_changes` edits and checks.
    """

    name: str = "custom"
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 1
    duration: PositiveSeconds = 3_600.0
    profile: Literal["intended", "as_written"] = "intended"
    env: EnvBlock = None
    modules: ModulesSection = ModulesSection()
    workload: tuple[TxStream, ...] = (TxStream(),)
    filter_manager: GenericModuleSection = GenericModuleSection()
    subscription_manager: GenericModuleSection = GenericModuleSection(rate=2.0)
    sync_serving: ServiceModels = ServiceModels()
    network: NetworkSection = NetworkSection()
    blocks: BlocksSection = BlocksSection()
    pool: PoolSection = PoolSection()
    sync: SyncSection = SyncSection()
    breakers: BreakersSection = BreakersSection()
    rate_limit: RateLimitSection = RateLimitSection()
    tx_validation: TxValidationSection = TxValidationSection()
    faults: tuple[Fault, ...] = ()
    rollout: RolloutSection = RolloutSection()
    run: RunSection = RunSection()

    @model_validator(mode="after")
    def _said_once(self) -> Scenario:
        """Refuse a setting given both in ``modules``/``breakers`` and in the ``env`` block.

        One of the two would be silently ignored (the env block used to win), so a copy of
        the canary that tunes ``breakers`` or ``modules`` did nothing. A malformed env block
        is left to :func:`resolve_control`, which names the bad line or variable.
        """
        clashes = setting_clashes(self)
        if clashes:
            more = len(clashes) - 1
            raise ValueError(clashes[0] + (f" [and {more} more setting(s) given twice]"
                                           if more else ""))
        return self

    @property
    def resolved_modules(self) -> ModulesSection:
        """The module versions and splits the run starts with: ``modules`` with ``env`` applied.

        ``modules`` is the section as written; a scenario that sets its modules in the
        ``env`` block (the built-in canary) has ``modules`` at its defaults and the settings
        here. ``--env-file`` is not included (see :func:`resolve_control`).

        Raises:
            EnvError: On a malformed env block.
        """
        control = resolve_control(self)
        return ModulesSection(**{m: ModuleSettings(version=control.versions[m],
                                                   traffic=control.traffic[m])
                                 for m in MODULES})

    def with_changes(self, changes: dict[str, Any]) -> Scenario:
        """A copy with settings changed by dotted path, validated as a file is.

        ``sc.with_changes({"pool.v2.max_pool_size": 20_000, "duration": "10m"})`` reaches
        into the dataclass sections (``pool.v2``, ``sync.v1``...) that ``model_copy`` cannot,
        accepts what YAML accepts (``"10m"``) and refuses what a file would refuse.
        A number in a path indexes a list (``"workload.0.rate.rate"``).

        Args:
            changes: Dotted field path to new value.

        Returns:
            The validated scenario.

        Raises:
            ConfigError: On a path that does not exist or a value that does not validate.
        """
        source = f"scenario {self.name!r}"
        data = scenario_data(self)
        for dotted, value in changes.items():
            _set_path(data, dotted, value, source, self)
        return parse_scenario(data, source)

    @model_validator(mode="after")
    def _faults_do_not_collide(self) -> Scenario:
        """Refuse two faults of one kind that overlap in time.

        The end of one would undo the other: a module has one active regression, and a
        peer's saved profile, crash flag or partition is restored when a fault ends. Regressions
        collide only on the same module; silence and lying share the saved profile.
        """
        seen: list[tuple[int, str, float, float]] = []
        for i, fault in enumerate(self.faults):
            if isinstance(fault, RestartFault):
                continue
            group: str = fault.kind
            if isinstance(fault, RegressionFault):
                group = f"v2_regression of {fault.module}"
            elif fault.kind in ("peer_silence", "peer_lying"):
                group = "peer_silence/peer_lying"
            end = math.inf if fault.end is None else fault.end
            for j, other, start, other_end in seen:
                if other == group and fault.start < other_end and start < end:
                    raise ValueError(
                        f"faults.{i} overlaps faults.{j} (both {group}); faults of one kind "
                        f"must not overlap in time")
            seen.append((i, group, fault.start, end))
        return self

    @model_validator(mode="after")
    def _faults_hit_a_peer(self) -> Scenario:
        """Refuse a peer fault or partition whose count or share can hit no peer.

        The population is fixed by ``network.peers`` (:func:`sync.peers.build_peers`), so
        this is known at load: a partition ``share`` that rounds to 0 peers, or a counted
        peer fault (it picks honest peers) in a network without honest peers, would start
        and hit nothing, as the refused ``peers: 0`` would. A count above the honest peers
        hits them all (``mana-sim validate`` warns; the ``fault_start`` event has both).
        """
        total = sum(self.network.peers.values())
        honest = self.network.peers.get("honest", 0)
        for i, fault in enumerate(self.faults):
            if isinstance(fault, PartitionFault) and fault.peers is None:
                if not total:
                    raise ValueError(f"faults.{i}: a partition of a network with no peer "
                                     "hits nothing (give network.peers)")
                if round(fault.share * total) < 1:
                    raise ValueError(
                        f"faults.{i}: share {fault.share:g} of the network's {total} peers "
                        f"rounds to 0 peers (give a share above {0.5 / total:.3g}, or list "
                        "the peers)")
            elif isinstance(fault, PeerFault) and isinstance(fault.peers, int) and not honest:
                raise ValueError(
                    f"faults.{i}: peers: {fault.peers} counts honest peers and the network "
                    "has none, so it would hit no peer (list the peers to hit by id, e.g. "
                    "peers: [slow-0])")
        return self

    @model_validator(mode="after")
    def _fault_peers_exist(self) -> Scenario:
        """Refuse a fault that lists a peer id the population does not have.

        Ids are ``<profile>-<i>``, numbered from 0 per profile (:func:`sync.peers.build_peers`).
        """
        counts = {name: n for name, n in self.network.peers.items() if n > 0}
        for i, fault in enumerate(self.faults):
            listed = getattr(fault, "peers", None)
            if not isinstance(listed, tuple):
                continue
            for peer_id in listed:
                name, _, number = peer_id.rpartition("-")
                if not (number.isascii() and number.isdigit()
                        and int(number) < counts.get(name, 0)
                        and str(int(number)) == number):
                    ids = ", ".join(f"{n}-0..{n}-{c - 1}" for n, c in sorted(counts.items()))
                    raise ValueError(f"faults.{i}: no peer {peer_id!r} in the network (its "
                                     f"ids: {ids or 'none'})")
        return self


_BREAKER_ENV = {ENV_ENABLED: "enabled", ENV_FAILURE_THRESHOLD: "failure_threshold",
                ENV_TIMEOUT: "timeout"}
"""The guide's global breaker variables and the per-module ``breakers`` key each sets."""


GWEI_SLIP_BELOW = GWEI // 1_000
"""A pool gas-price floor below 0.001 gwei is almost surely gwei written as wei (a warning)."""


def honest_batch_seconds(config: SyncV2Config) -> float:
    """Seconds a median honest peer needs to deliver one full body batch to SyncV2.

    Its round trip plus ``block_request_batch_size`` bodies of the mean block size
    (lognormal :class:`sync.chain.ChainConfig`, 90 kB median, about 102 kB mean, less the
    header) over its uplink (:data:`sync.peers.HONEST`: 0.1 s, 3 MB/s): 4.4 s at the
    defaults. A body request is answered whole, so a ``peer_timeout_ms`` below this times
    out most honest peers' body requests.

    Args:
        config: The V2 sync settings (the batch size).

    Returns:
        The time in seconds.
    """
    chain = ChainConfig()
    mean_body = chain.size_median * math.exp(chain.size_sigma ** 2 / 2) - HEADER_BYTES
    return HONEST.latency_median_s + (config.block_request_batch_size * mean_body
                                      / HONEST.bandwidth_median_bps)


def config_warnings(scenario: Scenario, extra_env: dict[str, str] | None = None
                    ) -> list[str]:
    """What ``mana-sim validate`` warns of in the tuning keys: settings that mislead or starve.

    ``rate_limit.window`` other than 60 s: ``max_requests_per_minute`` is counted per window,
    so the name no longer gives the rate. A pool ``min_gas_price`` below
    :data:`GWEI_SLIP_BELOW`: gas prices are in wei, and ``20`` meant as gwei is 20 wei.
    ``sync.v2.peer_timeout_ms`` below :func:`honest_batch_seconds`, when sync can run on V2
    (its version after ``env`` and ``extra_env``, or a schedule step): peers slower than the
    median cannot deliver a body batch in time; V2 re-sends and leans on the faster ones, and
    well below the batch time it imports nothing while the late answers keep the peers'
    uplinks busy, so V1 (same peers) slows too (docs/scenario.md, "Sync timeouts"). V2's
    engine starts only when sync is first routed to it, so a run that never does is not
    warned.

    Args:
        scenario: A validated scenario.
        extra_env: An ``--env-file``'s variables, applied over the scenario as a run does.

    Returns:
        One line per warning.
    """
    out: list[str] = []
    limit = scenario.rate_limit
    if limit.window != 60.0:
        per_minute = limit.max_requests_per_minute * 60.0 / limit.window
        out.append(f"rate_limit.max_requests_per_minute ({limit.max_requests_per_minute}) is "
                   f"counted per rate_limit.window ({limit.window:g} s), so a peer may make "
                   f"about {per_minute:.4g} requests per minute, not "
                   f"{limit.max_requests_per_minute} (set window: 60, or scale the count)")
    for version in ("v1", "v2"):
        floor = getattr(scenario.pool, version).min_gas_price
        if floor < GWEI_SLIP_BELOW:
            out.append(f"pool.{version}.min_gas_price is {floor:,} wei ({floor / GWEI:.3g} gwei): "
                       f"gas prices here are in wei; {floor:,} gwei is {floor * GWEI:,}")
    v2 = scenario.sync.v2
    need = honest_batch_seconds(v2)
    if v2.peer_timeout_s < need and _sync_may_run_v2(scenario, extra_env):
        out.append(f"sync.v2.peer_timeout_ms ({v2.peer_timeout_ms}) is below the {need:.1f} s a "
                   f"median honest peer needs to deliver one batch of "
                   f"{v2.block_request_batch_size} block bodies: requests to slower peers time "
                   "out and are sent again, and V2 leans on the faster ones; far enough below "
                   "(about half, with the default peers) V2 imports nothing and the late "
                   "answers keep the peers' uplinks busy, so V1 sync (same peers) slows too "
                   "(docs/scenario.md, \"Sync timeouts\")")
    return out


def _sync_may_run_v2(scenario: Scenario, extra_env: dict[str, str] | None) -> bool:
    """Whether sync is on V2 at the start (after the env block) or a schedule step puts it there."""
    try:
        if resolve_control(scenario, extra_env).versions["sync_service"] == "v2":
            return True
    except EnvError:
        return True  # the env error is reported elsewhere; do not hide the warning
    steps = scenario.rollout.schedule
    return steps == "guide" or any(
        step.module == "sync_service" and step.version == "v2" for step in steps)


def setting_clashes(scenario: Scenario) -> list[str]:
    """The settings a scenario gives twice: in ``modules``/``breakers`` and in ``env``.

    Args:
        scenario: The scenario.

    Returns:
        One sentence per clash naming both fields (empty when none, or when the env block
        does not parse: that is reported by :func:`resolve_control`).
    """
    try:
        env = parse_env_text(scenario.env) if isinstance(scenario.env, str) else (
            scenario.env or {})
    except EnvError:
        return []
    clashes: list[str] = []
    for module in MODULES:
        if module not in scenario.modules.model_fields_set:
            continue
        settings: ModuleSettings = getattr(scenario.modules, module)
        for key, what in (("version", "version"), ("traffic", "V2 split")):
            variable = f"{module.upper()}_{'VERSION' if key == 'version' else 'TRAFFIC'}"
            if key in settings.model_fields_set and variable in env:
                clashes.append(
                    f"modules.{module}.{key} and env.{variable} both set the {module} "
                    f"{what}: set it in one place (remove one of them)")
    for variable, key in _BREAKER_ENV.items():
        if variable not in env:
            continue
        clashes.extend(
            f"breakers.{module}_v2.{key} and env.{variable} both set the breaker {key}: "
            f"set it in one place (the variable applies to every module's breaker)"
            for module in MODULES
            if getattr(getattr(scenario.breakers, f"{module}_v2"), key) is not None)
    return clashes


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The settings a scenario was given, as the mapping a YAML file would hold.

    Only what was set is kept (``exclude_unset``), so checks that depend on which keys
    were given (a fault's ``targets`` beside a peer list, :func:`setting_clashes`) judge
    the same keys again. Values set without validation (``model_copy(update=...)``) are
    kept as given, for :func:`parse_scenario` to check.

    Raises:
        ConfigError: If a value cannot even be read back (an arbitrary object).
    """
    source = f"scenario {scenario.name!r}"
    try:
        with warnings.catch_warnings():
            # pydantic warns when a value model_copy stored unchecked is not of the field's
            # type; it is validated next, and refused there with the field's name.
            warnings.simplefilter("ignore")
            data = scenario.model_dump(exclude_unset=True)
    except PydanticSerializationError as exc:
        raise ConfigError(source, "", f"a value cannot be read: {exc}") from None
    _keep_kinds(scenario, data)
    return data


def _keep_kinds(value: Any, data: Any) -> None:
    """Put back the ``kind`` of each tagged-union member that ``exclude_unset`` left out.

    ``RegressionFault(module=...)`` made in Python leaves its default ``kind`` unset, and
    without it the union cannot tell which member the mapping is.
    """
    if isinstance(value, BaseModel) and isinstance(data, dict):
        if "kind" in type(value).model_fields:
            data.setdefault("kind", value.model_dump(include={"kind"})["kind"])
        for name, item in data.items():
            _keep_kinds(getattr(value, name, None), item)
    elif isinstance(value, tuple | list) and isinstance(data, list | tuple):
        for one, item in zip(value, data, strict=False):
            _keep_kinds(one, item)


def _dump_item(item: Any) -> Any:
    """A list entry as YAML would give it (a model's set fields, a plain value as is)."""
    return item.model_dump(exclude_unset=True) if isinstance(item, BaseModel) else item


def revalidate(scenario: Scenario) -> Scenario:
    """Validate a scenario again, exactly as :func:`load_scenario` validates a file.

    ``model_copy(update=...)`` stores values unchecked: ``{"duration": "10m"}`` would stay
    a string and ``{"duration": -5}`` would run. :func:`sim.run` passes every Scenario it
    is given through here.

    Args:
        scenario: The scenario (possibly edited with ``model_copy``).

    Returns:
        The validated scenario (equal to ``scenario`` when it was valid).

    Raises:
        ConfigError: One line naming ``scenario 'NAME'``, the field and what is allowed.
    """
    return parse_scenario(scenario_data(scenario), f"scenario {scenario.name!r}")


def _set_path(data: dict[str, Any], dotted: str, value: Any, source: str,
              scenario: Scenario) -> None:
    """Set ``value`` at a dotted path in ``data`` (the scenario's set fields).

    An unset section starts empty (its other fields stay unset: defaults); an unset list
    (``workload``) starts as the scenario's, so an index reaches its default entries.
    """
    parts = dotted.split(".")
    node: Any = data
    full: Any = scenario
    for i, part in enumerate(parts):
        full = (getattr(full, part, None) if not isinstance(full, tuple)
                else full[int(part)] if part.isdigit() and int(part) < len(full) else None)
        last = i == len(parts) - 1
        if isinstance(node, dict) and part not in node and not last:
            if isinstance(full, tuple):
                node[part] = [_dump_item(item) for item in full]
            elif isinstance(full, BaseModel) and "kind" in type(full).model_fields:
                # A member of a tagged union (a rate profile) is chosen by its kind.
                node[part] = full.model_dump(include={"kind"})
        if isinstance(node, dict):
            if last:
                node[part] = value
            else:
                child = node.get(part, {})  # an unset section: start it empty
                if isinstance(child, tuple):
                    child = list(child)
                if not isinstance(child, dict | list):
                    raise ConfigError(source, dotted, f"{'.'.join(parts[:i + 1])} holds no "
                                      f"settings (it is {child!r})")
                node[part] = child
                node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            if last:
                node[int(part)] = value
            else:
                child = node[int(part)]
                node[int(part)] = list(child) if isinstance(child, tuple) else child
                node = node[int(part)]
        else:
            where = ".".join(parts[:i])
            if not isinstance(node, list):
                raise ConfigError(source, dotted, f"{where} holds no settings")
            raise ConfigError(source, dotted, f"{where} is a list of {len(node)}: use an "
                              f"index 0-{len(node) - 1}" if node else f"{where} is empty")


@std_dataclass(frozen=True, slots=True)
class ResolvedControl:
    """Module settings and breakers after the environment block is applied.

    Attributes:
        versions: Version per module.
        traffic: Traffic split per module (0-100).
        breakers: Breaker config per module.
        env: The typed environment settings that were applied.
    """

    versions: dict[str, str]
    traffic: dict[str, int]
    breakers: dict[str, BreakerConfig]
    env: EnvSettings


def resolve_control(scenario: Scenario, extra_env: dict[str, str] | None = None) -> (
    ResolvedControl
):
    """Apply the scenario's ``env`` block (then ``extra_env``) over its modules and breakers.

    A scenario does not set one thing both in ``env`` and in ``modules``/``breakers``
    (refused by :func:`setting_clashes`), so the block only fills what they leave unset;
    ``extra_env`` (``--env-file``) is an outside override and wins over all three.

    Args:
        scenario: The scenario.
        extra_env: Variables from ``--env-file``; they win over the scenario's block.

    Returns:
        The resolved settings.

    Raises:
        EnvError: On a malformed block or a bad value.
    """
    env: dict[str, str] = {}
    if isinstance(scenario.env, str):
        env.update(parse_env_text(scenario.env))
    elif scenario.env:
        env.update(scenario.env)
    if extra_env:
        env.update(extra_env)
    settings = interpret_env(env)
    versions = {m: getattr(scenario.modules, m).version for m in MODULES}
    traffic = {m: getattr(scenario.modules, m).traffic for m in MODULES}
    versions.update(settings.versions)
    traffic.update(settings.traffic)
    base = default_breaker_configs(scenario.profile)
    breakers: dict[str, BreakerConfig] = {}
    for module in MODULES:
        config = getattr(scenario.breakers, f"{module}_v2").apply(base[module])
        try:
            breakers[module] = apply_breaker_env(config, settings.breaker)
        except ValueError as exc:
            name = next((k for k in settings.breaker if k in str(exc)), "CIRCUIT_BREAKER_*")
            # The breaker layer's message starts with the variable's name ("NAME must be ...").
            raise EnvError(name, str(exc).removeprefix(f"{name} ")) from exc
    return ResolvedControl(versions, traffic, breakers, settings)


BUILTIN_PACKAGE = "sim.scenarios"
"""Package holding the built-in scenario YAML files."""


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    """The YAML text of a built-in scenario.

    Raises:
        ConfigError: If there is no such built-in scenario.
    """
    path = resources.files(BUILTIN_PACKAGE) / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(
            name, "", f"no such scenario file or built-in name (built-ins: "
            f"{', '.join(builtin_names())})"
        )
    return path.read_text(encoding="utf-8")


def parse_scenario(data: Any, source: str) -> Scenario:
    """Validate already-parsed YAML data.

    Args:
        data: The mapping read from YAML.
        source: Name of the file, for messages.

    Returns:
        The scenario.

    Raises:
        ConfigError: On any validation problem.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"expected a mapping at the top level, got "
                          f"{type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, source, Scenario) from None
    try:
        resolve_control(scenario)
    except EnvError as exc:
        raise env_config_error(source, exc, "env.") from None
    return scenario


def env_config_error(source: str, exc: EnvError, prefix: str = "") -> ConfigError:
    """A :class:`ConfigError` for a bad environment block or value.

    Args:
        source: The file (scenario or ``--env-file``).
        exc: The error; its ``variable`` (or ``line N``) becomes the field.
        prefix: Prepended to the field (``"env."`` inside a scenario).

    Returns:
        The error, with the field not repeated at the start of the problem.
    """
    return ConfigError(source, f"{prefix}{exc.variable}", exc.problem)


def read_text_file(path: Path) -> str:
    """Read a UTF-8 text file (a scenario or an env file).

    Raises:
        ConfigError: If it cannot be read or is not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not a UTF-8 text file (byte "
                          f"{exc.object[exc.start]:#04x} at offset {exc.start})") from None


def load_scenario(name_or_path: str | Path | None = None) -> Scenario:
    """Load a scenario file, or a built-in scenario by name (default: ``canary``).

    Args:
        name_or_path: A YAML file path or a built-in name; ``None`` for the default. An
            existing regular file is read; otherwise a built-in name is the built-in (a
            folder of that name does not hide it).

    Returns:
        The validated scenario.

    Raises:
        ConfigError: If the file cannot be read or parsed, is empty, or does not validate.
    """
    target = "canary" if name_or_path is None else str(name_or_path)
    path = Path(target)
    # A regular file wins; otherwise a built-in name wins over anything else of that name
    # (``run canary --out canary`` makes a folder ``canary`` that must not hide the built-in).
    is_file = path.is_file()
    if not is_file and target in builtin_names():
        source = f"{target} (built-in)"
        text = builtin_text(target)
    elif is_file or path.suffix in (".yaml", ".yml") or path.exists():
        source = str(path)
        text = read_text_file(path)
    else:
        source = f"{target} (built-in)"
        text = builtin_text(target)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", yaml_problem(exc)) from None
    if data is None:
        # An empty file (or only comments) is more likely a mistake than a wish for defaults.
        raise ConfigError(source, "", "empty: a scenario file needs at least one key, e.g. "
                          "`name: my-run` (`{}` runs every default)")
    return parse_scenario(data, source)

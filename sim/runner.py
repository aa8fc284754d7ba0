"""Build a run from a scenario and execute it on SimPy: ``sim.run(scenario, seed=...)``.

SimPy drives only the coarse, meaningful moments (DESIGN.md, "Speed"): block slots, pool
cleanups, metric samples, fault starts and ends, peer churn, sync answers and timers. Each of
them first brings the node up to its own time, which feeds the high-rate inputs (transactions,
inbound peer requests, filter and subscription calls) in timestamp order
(:class:`~sim.inputs.InputFeeder`).

``run.mode: trace`` instead gives every input its own SimPy process that waits until the
input's time; the inputs, the handling code and hence the results are the same (a test checks
it), only slower. It is for teaching and small runs.

At the end the node drains (accepted work completes; nothing new arrives), the ledgers are
checked, and a :class:`~sim.result.Result` is returned. A ledger that does not balance raises
:class:`LedgerError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from functools import partial
from operator import attrgetter
from os import PathLike, fspath
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, EventPriority

from pool import Transaction
from pool.ledger import LedgerImbalanceError
from pool.tx_pool_v1 import TxPoolV1
from pool.tx_pool_v2 import TxPoolV2
from sim.blocks import merge_candidates
from sim.call_later import call_repeatedly
from sim.collector import fewer_collections
from sim.control import ModuleRouter, PeerRateLimiter
from sim.control.validation import InputLimits
from sim.events import EventLog
from sim.histogram import LogHistogram
from sim.inputs import (
    KIND_FILTER,
    KIND_SUBSCRIPTION,
    KIND_SYNC,
    REQUEST_MODULES,
    InputFeeder,
    RequestSource,
)
from sim.metrics import MIB, TimeSeries
from sim.network import Network
from sim.node import (
    POOL,
    POOL_METRIC_NAMES,
    POOL_V2_METRIC_NAMES,
    SERVICE_METRIC_NAMES,
    SERVICE_V2_METRIC_NAMES,
    SYNC,
    Node,
    PoolInstance,
    Regression,
    ServiceInstance,
)
from sim.result import Result
from sim.rng import RngStreams
from sim.rollout import error_rate_window, memory_increase, performance, zero_downtime
from sim.rollout.criteria import FullLoad, histogram_resolution, last_window_mean, per_module
from sim.rollout_link import PEER_DISCONNECTS, PEERS_AT_START, RolloutLink
from sim.scenario import (
    Fault,
    PartitionFault,
    PeerFault,
    RegressionFault,
    RestartFault,
    Scenario,
    load_scenario,
    resolve_control,
    revalidate,
)
from sim.sync_link import SyncLink
from sync.chain import Chain, ChainConfig
from sync.v1 import SyncV1
from sync.v2 import SyncV2

_ARRIVAL = attrgetter("arrival")
"""A transaction's arrival (a C-level getter for the per-block inclusion delays)."""

Progress = Callable[[float], None]
"""Called with the simulated time reached (for a progress bar)."""


_MODULES = (POOL, SYNC, "filter_manager", "subscription_manager")
_SYNC_ENGINE_METRICS = ("sync_speed_bps", "blocks_behind", "avg_block_processing_ms",
                        "connected_peers", "peer_connection_success_rate",
                        "network_bandwidth_mbps", "block_queue_size", "peer_request_queue_size")
"""The sync engine's own figures that go into the series as they are."""
RETIRED_POOL_GAUGES = ("memory_usage_mb",)
"""A pool's live gauges that the summary gives at retirement for a retired V1 (_mark_retired)."""
RETIRED_SYNC_GAUGES = ("sync_speed_bps", "blocks_behind", "connected_peers",
                       "network_bandwidth_mbps", "block_queue_size", "peer_request_queue_size",
                       "requests_in_flight", "seconds_since_progress", "stalled",
                       "memory_bytes", "engine_state_mb", "memory_usage_mb")
"""A sync engine's live gauges that the summary gives at retirement for a retired V1
(_mark_retired)."""
_INCLUSION_AVG = f"{POOL}.inclusion_delay_avg_s"
_INCLUSION_P95 = f"{POOL}.inclusion_delay_p95_s"
_INCLUSION_KEYS = (_INCLUSION_AVG, _INCLUSION_P95)
_TAIL_KEYS = ("rate_limit.refused", "chain.height",
              *(f"{module}.traffic_split" for module in _MODULES))
"""The last columns of a sample row, in order (the traffic splits in :data:`_MODULES` order)."""


def _fault_time(fault: Fault) -> float:
    """When a fault starts (a node restart's ``at``)."""
    return fault.at if isinstance(fault, RestartFault) else fault.start


class _ColumnKeys(dict[str, str]):
    """``name -> prefix.name``, each key string made on first use and then reused.

    Reusing the strings saves formatting ~100 keys per sample, and lets the time series see
    the same key objects in every row (its same-columns check is then pointer comparisons).
    """

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, name: str) -> str:
        key = self[name] = f"{self.prefix}.{name}"
        return key


class _AfterEqualTimes(simpy.Event):
    """A timeout that fires after every normal-priority event due at the same time.

    :class:`simpy.Timeout` with ``lower`` priority levels lower: SimPy orders equal-time
    events by priority, then creation, so this one comes after the metrics sample due then
    (and, with ``lower=2``, after every ``lower=1`` wake-up: the timed rollout steps'),
    whenever either was created.
    """

    def __init__(self, env: simpy.Environment, delay: float, lower: int = 1) -> None:
        super().__init__(env)
        # What simpy.Timeout sets before scheduling itself (a timeout succeeds with None).
        self._ok = True
        self._value = None
        env.schedule(self, EventPriority(NORMAL + lower), delay)


class LedgerError(RuntimeError):
    """The transaction ledger does not balance at the end of a run."""


class Model:
    """One run's objects and SimPy processes (built by :func:`run`)."""

    def __init__(self, scenario: Scenario, seed: int,
                 extra_env: dict[str, str] | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        streams = RngStreams(seed)
        self.streams = streams
        control = resolve_control(scenario, extra_env)
        self.control = control
        self.events = EventLog()
        self.env = simpy.Environment()
        self.router = ModuleRouter(streams.get("router"), profile=scenario.profile,
                                   versions=control.versions, splits=control.traffic,
                                   breaker_configs=control.breakers)
        cost_v1, cost_v2 = scenario.pool.cost_models()
        pool_v1 = TxPoolV1(scenario.pool.v1, cost_v1)
        pool_v2 = TxPoolV2(scenario.pool.v2, cost_v2)
        limits = InputLimits(
            max_size=scenario.pool.v2.max_transaction_size,
            min_gas_price=scenario.pool.v2.min_gas_price,
            min_gas_limit=scenario.pool.v2.min_gas_limit,
            max_gas_limit=scenario.pool.v2.max_gas_limit,
        )
        self.peer_limiter = PeerRateLimiter(
            scenario.rate_limit.max_requests_per_minute, scenario.rate_limit.window,
            scenario.rate_limit.max_tracked_peers)
        self.node = Node(
            self.router, ((pool_v1, cost_v1), (pool_v2, cost_v2)),
            {SYNC: (scenario.sync_serving.v1, scenario.sync_serving.v2),
             "filter_manager": (scenario.filter_manager.v1, scenario.filter_manager.v2),
             "subscription_manager": (scenario.subscription_manager.v1,
                                      scenario.subscription_manager.v2)},
            limits, scenario.tx_validation.per_sender_per_minute,
            scenario.tx_validation.per_peer_per_minute, self.peer_limiter, self.events,
            streams.get("faults"), streams.get("services"),
            pool_base_memory=scenario.pool.base_memory_mb * MIB)
        # The chain and the peers.
        self.chain = Chain(streams.get("chain"), ChainConfig(slot_s=scenario.blocks.slot),
                           length=scenario.network.initial_chain)
        self.network = Network(self.chain, scenario.network.peers, streams.get("network"))
        # Each peer fault's and partition's targets, fixed from the start (the population is),
        # and how many it asked for (a count above the honest peers hits them all).
        self.fault_requested: dict[int, int] = {}
        self.fault_targets: dict[int, list[str]] = {
            i: self._fault_targets(i, f) for i, f in enumerate(scenario.faults)
            if isinstance(f, PeerFault | PartitionFault)}
        self.links: dict[str, SyncLink] = {
            "v1": SyncLink(self.env, "v1", SyncV1(self.chain.rules, streams.get("sync.v1"),
                                                  scenario.sync.v1), self.chain, self.network),
        }
        if control.versions[SYNC] == "v2":
            self._add_v2_link()
        self.network.listeners.append(self._on_peer_change)
        # Inputs.
        peer_ints = tuple(range(len(self.network.peers)))
        sources = [RequestSource(KIND_SYNC, scenario.network.inbound_rate * len(peer_ints),
                                 peer_ints)]
        next_id = len(peer_ints)
        # Each population peer's class (its profile's name, at the start) for the limiter's
        # figures by peer class; flooders are ids past the population (rate_limit_figures).
        self.peer_classes = [p.profile.name for p in self.network.peers]
        for flood in scenario.network.floods:
            ids = tuple(range(next_id, next_id + flood.peers))
            self.node.flood_peers |= frozenset(ids)
            next_id += flood.peers
            end = math.inf if flood.end is None else flood.end
            sources.append(RequestSource(KIND_SYNC, flood.rate * flood.peers, ids,
                                         flood.start, end))
        clients = tuple(range(1_000_000, 1_001_000))
        sources.append(RequestSource(KIND_FILTER, scenario.filter_manager.rate, clients))
        sources.append(RequestSource(KIND_SUBSCRIPTION, scenario.subscription_manager.rate,
                                     clients))
        from sim.workload import TxWorkload  # local: keeps module import order simple

        self.workload = TxWorkload(tuple(scenario.workload), streams.get("workload"))
        self.feeder = InputFeeder(self.workload, sources, peer_ints, streams.get("inputs"),
                                  scenario.run.chunk, scenario.duration)
        # Rollout.
        self.rollout = RolloutLink(scenario.rollout, scenario.profile, self.router,
                                   self.events, self._retire_v1,
                                   scenario.run.metrics_interval,
                                   retire_v1_sync=self._retire_v1_sync,
                                   late_faults=[
                                       {"time": _fault_time(f), "fault": f.kind, "index": i,
                                        **({"module": f.module}
                                           if isinstance(f, RegressionFault) else {})}
                                       for i, f in enumerate(scenario.faults)
                                       if _fault_time(f) >= scenario.duration])
        # Metrics.
        self.series = TimeSeries()
        self.inclusion_window = LogHistogram()
        self.inclusion_total = LogHistogram()
        self.blocks_built = 0
        self.included = 0
        self._breaker_marks: dict[str, int] = {}
        self._row_keys: dict[str, _ColumnKeys] = {}
        self._plan: tuple[tuple[tuple[PoolInstance, tuple[str, ...]], ...],
                          tuple[tuple[ServiceInstance, tuple[str, ...]], ...]] | None = None
        self._sync_key_cache: dict[str, tuple[str, ...]] = {}
        self._row_key_cache: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._rate_limited_mark = 0
        # Per pool version, its work over the samples where the routing rule sent it all pool
        # traffic (the performance and memory criteria's figures; _add_full_load).
        self.full_load = {"v1": FullLoad(), "v2": FullLoad()}
        # The routing rules at the start of the interval being sampled (_mark_rules).
        self._rules_mark = (-1, "v1", 0)
        self._rules_mark_time = 0.0
        self._mark_rules(0.0)
        # Per module (pool, sync), a retired V1's gauges read just before it stopped
        # (_retire_v1, _hand_over_sync): the summary's figures for it (_mark_retired).
        self.at_retirement: dict[str, dict[str, Any]] = {}

    # -- wiring --------------------------------------------------------------------------

    def _fault_targets(self, index: int, fault: PeerFault | PartitionFault) -> list[str]:
        """The peers fault ``index`` hits (:class:`~sim.scenario.PeerFault`'s rules).

        A random pick draws from the fault's own stream (``fault_targets.<index>``), so it
        shifts no other stream, and a run without such faults draws nothing.
        """
        if isinstance(fault.peers, tuple):
            self.fault_requested[index] = len(fault.peers)
            return self.network.in_order(fault.peers)
        if isinstance(fault, PeerFault):
            count, honest_only = fault.peers, True
        else:
            count, honest_only = round(fault.share * len(self.network.peers)), False
        self.fault_requested[index] = count
        rng = self.streams.get(f"fault_targets.{index}") if fault.targets == "random" else None
        return self.network.pick(count, honest_only, rng)

    def _add_v2_link(self) -> None:
        engine = SyncV2(self.chain.rules, self.streams.get("sync.v2"), self.scenario.sync.v2)
        self.links["v2"] = SyncLink(self.env, "v2", engine, self.chain, self.network)

    def _retire_v1(self, now: float) -> dict[str, Any]:
        self.advance(now)
        # The pool's gauges as it stopped: after its work before `now`, before the hand-over.
        self.node.settle(now)
        self.at_retirement[POOL] = {
            "memory_usage_mb": self.node.pool_v1.memory_bytes(now) / MIB}
        # V1 sync is retired only if sync runs fully on V2; otherwise it keeps serving.
        sync = self.router.version(SYNC) == "v2" and self.router.split(SYNC) >= 100
        report: dict[str, Any] = dict(self.node.retire_v1(now, sync))
        report["sync_retired"] = sync
        v1 = self.links.get("v1")
        if v1 is not None and sync:
            report.update(self._hand_over_sync(v1, now))
        v2 = self.links.get("v2")
        if v2 is not None:
            report["v2_sync_tip"] = v2.engine.synced_to
        return report

    def _retire_v1_sync(self, now: float) -> dict[str, Any]:
        """V1 sync retires after the pool's deprecation, once sync runs fully on V2.

        The deprecation left V1 sync running (sync was not fully on V2 then); now its queued
        serving work finishes, further V1 sync-serving requests fail, and V1 hands its
        checkpoint to V2 (:meth:`_hand_over_sync`).
        """
        self.advance(now)
        self.node.settle(now)
        self.node.services[SYNC]["v1"].retired = True
        report: dict[str, Any] = {}
        v1 = self.links.get("v1")
        if v1 is not None:
            report.update(self._hand_over_sync(v1, now))
        v2 = self.links.get("v2")
        if v2 is not None:
            report["v2_sync_tip"] = v2.engine.synced_to
        return report

    def _hand_over_sync(self, v1: SyncLink, now: float) -> dict[str, Any]:
        """V1 sync stops and hands its checkpoint to V2 (issue 6 item 6).

        V1 shuts down gracefully, saving every block it imported (:meth:`SyncV1.shut_down`);
        V2 adopts that checkpoint if it is behind it and carries on from there, else keeps its
        own chain and records the checkpoint as its own if newer than its own last one
        (:meth:`SyncV2.adopt_checkpoint`). So sync never regresses at deprecation, nor at a
        later restart.
        """
        if "v2" not in self.links:  # sync went to V2 since the last sample: V2 starts now
            self._add_v2_link()
            self.links["v2"].start()
        v2 = self.links["v2"]
        v1_engine, v2_engine = v1.engine, v2.engine
        # The links are built with these engines (__init__, _add_v2_link).
        assert isinstance(v1_engine, SyncV1)
        assert isinstance(v2_engine, SyncV2)
        # Its gauges as it stopped (the summary's figures of a retired V1 sync engine).
        self.at_retirement[SYNC] = self._sync_figures("v1", v1, now)
        checkpoint = v1_engine.shut_down()
        v1.stop()
        handover = v2_engine.adopt_checkpoint(v1_engine.ledger, now)
        # The link carries out the engine's actions (the checkpoint write and new requests).
        v2.carry_out(handover.actions)
        return {"v1_sync_checkpoint": checkpoint, "sync_handover": handover.outcome,
                "v2_sync_tip_before": handover.tip_before,
                "sync_blocks_adopted": handover.tip_after - handover.tip_before}

    def _on_peer_change(self, peer_id: str, up: bool) -> None:
        for link in self.links.values():
            if up:
                link.peer_up(peer_id)
            else:
                link.peer_down(peer_id)

    def advance(self, until: float) -> None:
        """Feed every input before ``until`` (fast mode); no-op in trace mode."""
        if self.scenario.run.mode == "fast":
            self.feeder.advance(until, self.node.submit_tx, self._on_request, self._on_requests,
                                self._on_stretch)

    def _catch_up(self, now: float) -> None:
        # Feed the inputs before ``now`` and run the node's replies due before it, so an
        # event this process logs at ``now`` follows every earlier one, as in trace mode (a
        # stretch served in bulk can leave a V2 reply due before ``now`` unrun).
        self.advance(now)
        self.node.step_to(now)

    def _on_request(self, kind: int, caller: int, time: float) -> None:
        self.node.submit_request(REQUEST_MODULES[kind], caller, time)

    def _on_requests(self, kind: int, times: list[float]) -> bool:
        return self.node.submit_requests(REQUEST_MODULES[kind], times)

    def _on_stretch(self, kinds: list[int], args: list[int], times: list[float],
                    txs: list[Transaction], relays: list[int]) -> None:
        self.node.submit_inputs(kinds, args, times, txs, relays)

    # -- processes -----------------------------------------------------------------------

    # The slots, cleanups and samples recur for the whole run: each is a call_repeatedly
    # (the event order of a `while True: yield env.timeout(...)` process; see
    # sim/call_later.py) whose step does one round's work and returns the delay to the next.

    def _slot(self, slot: float, gas_limit: int, k: list[int]) -> float:
        """One slot's block, at ``k[0] * slot``; returns the delay to the next slot."""
        now = self.env.now
        self.advance(now)
        block = self.node.build_block(now, gas_limit, merge_candidates)
        self.blocks_built += 1
        self.included += len(block)
        if block:
            delays = now - np.fromiter(map(_ARRIVAL, block), dtype=np.float64,
                                       count=len(block))
            self.inclusion_window.add_many(delays)
        self.chain.extend(1)
        for link in self.links.values():
            link.announce_heads()
        k[0] += 1
        return k[0] * slot - self.env.now

    def _cleanup(self, inst: PoolInstance, interval: float, k: list[int]) -> float:
        """One age cleanup of a pool; returns the delay to the next."""
        self.advance(self.env.now)
        self.node.cleanup(inst, self.env.now)
        k[0] += 1
        return k[0] * interval - self.env.now

    def _churn(self, peer_id: str) -> Generator[simpy.Event, Any, None]:
        peer = self.network.by_id[peer_id]
        while True:
            yield self.env.timeout(peer.online_s())
            self.advance(self.env.now)
            self.network.set_online(peer_id, False)
            yield self.env.timeout(peer.offline_s())
            self.advance(self.env.now)
            self.network.set_online(peer_id, True)

    def _fault(self, index: int) -> Generator[simpy.Event, Any, None]:
        fault = self.scenario.faults[index]
        env = self.env
        if _fault_time(fault) >= self.scenario.duration:
            return  # never starts: listed in rollout.not_reached (a start at the very end
            # would have no time to act, yet would read as a fault the run saw)
        if fault.kind == "node_restart":
            yield env.timeout(fault.at)
            self._catch_up(env.now)
            self._restart()
            return
        yield env.timeout(fault.start)
        self._catch_up(env.now)
        targets = self.fault_targets.get(index, [])
        if isinstance(fault, PeerFault | PartitionFault):
            self.events.emit(env.now, "fault_start", fault=fault.kind, index=index,
                             requested=self.fault_requested[index], **self._damage(targets))
        else:
            self.events.emit(env.now, "fault_start", fault=fault.kind, index=index)
        if isinstance(fault, RegressionFault):
            self.node.settle(env.now)  # work that started before the fault runs without it
            self.node.start_regression(fault.module, Regression(
                fault.error_rate, fault.latency_factor,
                fault.memory_leak_mb_per_hour * MIB / 3600.0, env.now))
        elif isinstance(fault, PeerFault):
            for peer_id in targets:
                if fault.kind == "peer_crash":
                    self.network.crash(peer_id, True)
                else:
                    self.network.set_behaviour(peer_id, fault.kind, True, fault.slow_factor)
        else:
            self.network.partition(targets, True)
        if fault.end is None:
            return
        yield env.timeout(fault.end - env.now)
        self._catch_up(env.now)
        self.events.emit(env.now, "fault_end", fault=fault.kind, index=index)
        if isinstance(fault, RegressionFault):
            self.node.settle(env.now)
            self.node.end_regression(fault.module, env.now)
        elif isinstance(fault, PeerFault):
            for peer_id in targets:
                if fault.kind == "peer_crash":
                    self.network.crash(peer_id, False)
                else:
                    self.network.set_behaviour(peer_id, fault.kind, False)
        else:
            self.network.partition(targets, False)

    def _damage(self, targets: list[str]) -> dict[str, Any]:
        """A peer fault's targets and, per running sync engine, how many it held, at the start.

        ``peers``: the ids hit (fewer than the event's ``requested`` when a count exceeds
        the honest peers: it hits them all); ``<version>_connected``: the peers the engine
        was connected to just before; ``<version>_hit``: how many of those the fault hits (a
        partition or crash takes them from the engine; silence, slowness and lying degrade
        them).
        """
        fields: dict[str, Any] = {"peers": list(targets)}
        for version, link in sorted(self.links.items()):
            if link.stopped:
                continue
            fields[f"{version}_connected"] = len(link.connected)
            fields[f"{version}_hit"] = sum(1 for p in targets if p in link.connected)
        return fields

    def _rollout_steps(self, times: list[float]) -> Generator[simpy.Event, Any, None]:
        """Schedule and manual rollback script steps, each at its exact time.

        The wake-up comes after every other event at that time (:class:`_AfterEqualTimes`):
        a step at a sample time is run by that sample's ``on_sample`` (before its evaluations,
        as the link documents) whatever order SimPy gives the two, and this finds nothing due.
        """
        env = self.env
        for t in times:
            yield _AfterEqualTimes(env, t - env.now)
            if self.rollout.timed_due(env.now):
                # Everything before the step is served under the old split.
                self._catch_up(env.now)
                self.rollout.run_timed(env.now)
                self._start_v2_sync()
                self._rules_changed(env.now)

    def _start_v2_sync(self) -> None:
        # A step that moves sync to V2 starts its engine (the router then sends it requests).
        if self.router.version(SYNC) == "v2" and "v2" not in self.links:
            self._add_v2_link()
            self.links["v2"].start()

    def _deprecate_at(self, at: float) -> Generator[simpy.Event, Any, None]:
        """The fixed-time deprecation, after everything else at that time.

        It wakes after the metrics sample and the timed rollout steps due at ``at``
        (:class:`_AfterEqualTimes` one level lower than the steps'), so a step at the
        deprecation's own time (e.g. sync to 100 % V2) is in place when V1 retires; it is
        refused if the pool is not at 100 % on V2 then (:meth:`RolloutLink.cut_over`).
        """
        yield _AfterEqualTimes(self.env, at, lower=2)
        self._catch_up(self.env.now)
        self.rollout.cut_over(self.env.now)
        self._rules_changed(self.env.now)

    def _restart(self) -> None:
        now = self.env.now
        self.events.emit(now, "node_restart")
        lost: dict[str, int] = dict(self.node.restart(now))
        for version, link in self.links.items():
            if link.stopped:
                continue  # a retired V1 engine is not restarted
            before = link.engine.synced_to
            link.restart()
            # Imported blocks above the engine's last checkpoint, forgotten (re-imported).
            lost[f"sync_{version}_blocks"] = before - link.engine.synced_to
        self.events.emit(now, "restart_losses", **lost)

    def _sample_step(self, interval: float, k: list[int]) -> float:
        """One metrics sample and the rollout's turn; returns the delay to the next."""
        now = self.env.now
        self.advance(now)
        row = self.sample(now, interval)
        self.rollout.on_sample(now, row)
        self._start_v2_sync()
        self._mark_rules(now)
        k[0] += 1
        return k[0] * interval - self.env.now

    def _trace_inputs(self) -> Generator[simpy.Event, Any, None]:
        """Trace mode: one process per input, spawned chunk by chunk."""
        env = self.env
        feeder = self.feeder
        chunk_len = self.scenario.run.chunk
        k = 0
        pending: list[tuple[float, Callable[[], None]]] = []

        def on_tx(tx: Transaction, peer: int) -> None:
            pending.append((tx.arrival, partial(self.node.submit_tx, tx, peer)))

        def on_request(kind: int, caller: int, t: float) -> None:
            pending.append((t, partial(self._on_request, kind, caller, t)))

        while k * chunk_len < self.scenario.duration:
            yield env.timeout(k * chunk_len - env.now)
            # This chunk's inputs (the same draws as the fast mode), one process each.
            pending.clear()
            feeder.advance(min((k + 1) * chunk_len, self.scenario.duration), on_tx, on_request)
            for t, act in pending:
                env.process(self._one_input(t, act))
            k += 1

    def _one_input(self, t: float, act: Callable[[], None]
                   ) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(t - self.env.now)
        act()

    # -- metrics -------------------------------------------------------------------------

    def _keys(self, prefix: str) -> dict[str, str]:
        """Column keys ``prefix.name`` by name, made once per name (not once per sample)."""
        keys = self._row_keys.get(prefix)
        if keys is None:
            keys = self._row_keys[prefix] = _ColumnKeys(prefix)
        return keys

    def _sample_plan(self) -> tuple[tuple[tuple[PoolInstance, tuple[str, ...]], ...],
                                    tuple[tuple[ServiceInstance, tuple[str, ...]], ...]]:
        """The pool and service instances a sample reads, each with its column keys in order.

        Made once: the instances and their metric names never change during a run.
        """
        if self._plan is None:
            node = self.node
            pools = tuple(
                (inst, tuple(self._keys(f"{POOL}.{inst.version}")[name] for name in (
                    POOL_V2_METRIC_NAMES if inst.version == "v2" else POOL_METRIC_NAMES)))
                for inst in (node.pool_v1, node.pool_v2))
            services = []
            for module, versions in node.services.items():
                # Sync's request serving is reported apart from the sync engine's own metrics.
                prefix = f"{SYNC}.serving" if module == SYNC else module
                for version, service in versions.items():
                    keys = self._keys(f"{prefix}.{version}")
                    names = SERVICE_V2_METRIC_NAMES if version == "v2" else SERVICE_METRIC_NAMES
                    services.append((service, tuple(keys[name] for name in names)))
            self._plan = (pools, tuple(services))
        return self._plan

    def _sync_keys(self, version: str) -> tuple[str, ...]:
        """Column keys of a sync engine's figures, in the order :meth:`sample` writes them."""
        keys = self._sync_key_cache.get(version)
        if keys is None:
            named = self._keys(f"{SYNC}.{version}")
            keys = self._sync_key_cache[version] = tuple(named[name] for name in (
                *_SYNC_ENGINE_METRICS, "memory_usage_mb", "peer_disconnect_rate_percent",
                "block_processing_delay_s", PEER_DISCONNECTS, PEERS_AT_START))
        return keys

    def _row_key_list(self) -> tuple[str, ...]:
        """The column keys of a sample row, in order, for the current set of sync links."""
        links = tuple(self.links)
        cached = self._row_key_cache
        if cached is None or cached[0] != links:
            pools, services = self._sample_plan()
            keys: list[str] = []
            for _, inst_keys in pools:
                keys += inst_keys
            keys += _INCLUSION_KEYS
            for _, service_keys in services:
                keys += service_keys
            for version in links:
                keys += self._sync_keys(version)
            keys += _TAIL_KEYS
            cached = self._row_key_cache = (links, tuple(keys))
        return cached[1]

    def sample(self, now: float, interval: float) -> dict[str, float]:
        """Take one metrics sample at ``now`` into the time series; return it."""
        self.node.settle(now)
        node = self.node
        pools, services = self._sample_plan()
        # The values alone, in the row's column order (the keys are the same every sample
        # while the set of sync links is: made once per set), made into the row at the end
        # with one dict(zip(...)): no dict per instance, no key lookup per value.
        keys = self._row_key_list()
        values: list[float] = []
        self._add_full_load(now)
        for inst, _ in pools:
            values += node.pool_metric_values(inst, now, interval)
        h = self.inclusion_window
        values += (h.mean, h.quantile(0.95))
        if h.count:
            self.inclusion_total.merge(h)
        h.reset()
        for service, _ in services:
            values += node.service_metric_values(service, now, interval)
        base_mb = self.scenario.sync.base_memory_mb
        slot = self.scenario.blocks.slot
        for version, link in self.links.items():
            # float(metrics(now)[name]) of _SYNC_ENGINE_METRICS, then of memory_bytes, in one
            # tuple (Telemetry.sample_values; a test checks it against metrics()).
            m = link.engine.sample_values(now)
            values += m[:8]
            # The engine's own peer losses in the interval over the peers IT held at the
            # interval's start (SyncLink.take_interval): V1 and V2 keep their own connection
            # sets, so each version's figure is its own. At most 100 % unless peers came and
            # went again within the interval. A window's rate is its losses over the peers at
            # its first interval's start (sim.rollout_link.snapshot_from_rows), so both
            # counts go into the row too.
            lost, at_start = link.take_interval()
            values += (
                base_mb + m[8] / MIB
                + (node.leaked_bytes(SYNC, now) / MIB if version == "v2" else 0.0),
                (100.0 * lost / at_start if at_start else math.nan) if lost else 0.0,
                m[1] * slot,
                float(lost),
                float(at_start))
        limited = self.peer_limiter.refused
        values += (float(limited - self._rate_limited_mark), float(self.chain.height))
        self._rate_limited_mark = limited
        self._log_breaker_transitions()
        router = self.router
        values += [float(router.split(module)) for module in _MODULES]
        self.series.sample_values(now, keys, values)
        return dict(zip(keys, values, strict=True))

    def _mark_rules(self, now: float) -> None:
        """Note the routing rules as an interval starts (after the sample's rollout turn).

        A change at the mark's own time (a timed step or deprecation at a sample time, run
        just after that sample) is the new interval's rule: the mark is taken again.
        """
        router = self.router
        self._rules_mark = (router.rule_changes, router.version(POOL), router.split(POOL))
        self._rules_mark_time = now

    def _rules_changed(self, now: float) -> None:
        """A timed step or deprecation ran at ``now``: re-mark if the interval starts now."""
        if now == self._rules_mark_time:
            self._mark_rules(now)

    def _full_load_version(self) -> str | None:
        """The pool version the routing rule sent all traffic in the interval being sampled.

        Classified by the routed split (R5-2), not by who executed: the interval counts when
        no routing rule changed in it (:attr:`ModuleRouter.rule_changes`), and it is V2's
        when the pool was on V2 at 100 % and V2 had attempts (calls or breaker refusals),
        V1's when the rule sent V1 everything (version V1 or split 0), V1 served requests and
        V2 recorded no attempt (no late V2 reply of an earlier split). In the ``intended``
        profile V1's executions in a V2 interval are V2's work: rescues of its failed calls
        and the calls its breaker refused, both failed attempts of V2 (the error-rate
        criterion counts them). Under ``as_written`` an open or half-open breaker routes
        calls to V1 without recording a V2 attempt, so there an interval in which V1 served
        is not V2's.
        """
        changes, version, split = self._rules_mark
        router = self.router
        if router.rule_changes != changes:
            return None
        node = self.node
        s1, s2 = node.pool_v1.stats, node.pool_v2.stats
        v2_attempts = s2.requests + s2.refused
        if version == "v2" and split >= 100:
            if v2_attempts and (router.profile == "intended" or not s1.requests):
                return "v2"
            return None
        return "v1" if s1.requests and not v2_attempts else None

    def _add_full_load(self, now: float) -> None:
        """Add the interval about to be sampled to the version the rule sent all pool traffic.

        Called before the pools' windows are closed (:meth:`_full_load_version`). The
        interval's served requests are its transactions admitted with an ok reply: ok
        replies less the pool's rejections and V2's input-validation drops, the series'
        ``throughput_tps`` times the interval (:meth:`Node.pool_metric_values`, whose ledger
        marks are not yet moved here), so a V2 failing its calls serves less per busy second.
        """
        version = self._full_load_version()
        if version is None:
            return
        node = self.node
        inst = node.pool_v1 if version == "v1" else node.pool_v2
        stats = inst.stats
        ledger = inst.pool.ledger
        _, rejected_mark, dropped_mark = inst.ledger_marks
        refusals = (ledger.rejected - rejected_mark) + (inst.input_drops - dropped_mark)
        served = max(0, stats.requests - stats.errors - refusals)
        self.full_load[version].add(served, inst.mailbox.busy_time - inst.busy_mark,
                                    stats.window_histogram(), inst.memory_bytes(now) / MIB)

    def _log_breaker_transitions(self) -> None:
        for module in _MODULES:
            breaker = self.router.breaker(module)
            seen = self._breaker_marks.get(module, 0)
            if breaker.transition_count == seen:
                continue  # nothing new (the usual case); the mark already says `seen`
            for tr in breaker.transitions_since(seen):
                self.events.emit(tr.time, "breaker_transition", module=module,
                                 from_state=tr.from_state.value, to_state=tr.to_state.value,
                                 reason=tr.reason)
            self._breaker_marks[module] = breaker.transition_count

    def close_windows(self) -> None:
        """Fold the work after the last metrics sample into the whole-run totals.

        Work that completed while draining after the last sample would otherwise be missing
        from the summary's request counts, latencies and inclusion delays; breaker
        transitions after the last sample would be missing from the event log.
        """
        node = self.node
        self._log_breaker_transitions()
        for inst in (node.pool_v1, node.pool_v2):
            inst.stats.roll()
        for versions in node.services.values():
            for service in versions.values():
                service.stats.roll()
        if self.inclusion_window.count:
            self.inclusion_total.merge(self.inclusion_window)
        self.inclusion_window.reset()

    # -- the run -------------------------------------------------------------------------

    def execute(self, progress: Progress | None = None) -> Result:
        """Run to the scenario's duration, drain, check the ledgers, summarise."""
        env = self.env
        scenario = self.scenario
        # The intervals read once, and the first delays computed, as the processes did:
        # k * interval - now with k = 1 (the round counter k is the list's one item).
        slot, gas_limit = scenario.blocks.slot, scenario.blocks.gas_limit
        call_repeatedly(env, 1 * slot - env.now, self._slot, slot, gas_limit, [1])
        for inst in (self.node.pool_v1, self.node.pool_v2):
            interval = inst.pool.cleanup_interval
            call_repeatedly(env, 1 * interval - env.now, self._cleanup, inst, interval, [1])
        interval = scenario.run.metrics_interval
        call_repeatedly(env, 1 * interval - env.now, self._sample_step, interval, [1])
        for i in range(len(scenario.faults)):
            env.process(self._fault(i))
        step_times = self.rollout.step_times()
        if step_times:
            env.process(self._rollout_steps(step_times))
        dep = scenario.rollout.deprecation
        if dep is not None and dep.enabled and dep.at is not None:
            env.process(self._deprecate_at(dep.at))
        for peer in self.network.peers:
            if peer.profile.churns:
                env.process(self._churn(peer.peer_id))
        if scenario.run.mode == "trace":
            env.process(self._trace_inputs())
        for link in self.links.values():
            link.start()
        duration = scenario.duration
        step = max(duration / 100.0, scenario.run.metrics_interval)
        t = 0.0
        while t < duration:
            t = min(duration, t + step)
            env.run(until=t)
            if progress is not None:
                progress(t)
        # run(until) leaves events at exactly `duration` unprocessed; the last slot and the
        # last sample belong to the run (a 1-h run has 300 blocks and 360 samples).
        while env.peek() <= duration:
            env.step()
        self.advance(duration)
        self.node.settle(duration)
        self.node.drain()
        self.close_windows()
        ledger = self.check_ledger()
        return Result(summary=self.summary(ledger), timeseries=self.series.arrays(final=True),
                      events=list(self.events.records), ledger=ledger)

    def check_ledger(self) -> dict[str, Any]:
        """Balance every ledger; raise :class:`LedgerError` with the numbers if one fails."""
        node = self.node
        out: dict[str, Any] = {}
        for inst in (node.pool_v1, node.pool_v2):
            try:
                inst.pool.ledger.check(len(inst.pool))
            except LedgerImbalanceError as exc:
                raise LedgerError(f"transaction_pool {inst.version}: {exc}") from exc
            out[inst.version] = inst.pool.ledger.as_dict()
        entered = out["v1"]["entered"] + out["v2"]["entered"]
        dropped = sum(node.ledger.dropped.values())
        lhs = node.ledger.arrived + node.ledger.double_executions + node.ledger.migrated
        if lhs != entered + dropped:
            raise LedgerError(
                f"node ledger does not balance: arrived {node.ledger.arrived} + double "
                f"executions {node.ledger.double_executions} + migrated "
                f"{node.ledger.migrated} != entered v1+v2 {entered} + dropped {dropped}")
        if node.ledger.arrived != self.workload.generated:
            raise LedgerError(f"{self.workload.generated} transactions generated but "
                              f"{node.ledger.arrived} reached the node")
        out["node"] = node.ledger.as_dict()
        out["balanced"] = True
        return out

    def summary(self, ledger: dict[str, Any]) -> dict[str, Any]:
        """The run's summary (see :mod:`sim.report` for the printed table)."""
        node = self.node
        scenario = self.scenario
        pool: dict[str, Any] = {}
        for inst in (node.pool_v1, node.pool_v2):
            totals = inst.stats.totals()
            stats = inst.pool.stats()
            pool[inst.version] = {
                **totals,
                # Whole-run averages over the whole duration (served or not, failed calls
                # included), named so: the series' throughput_tps and cpu_usage_percent are
                # per-interval figures (throughput_tps: ok replies per second).
                "avg_request_rate_tps": totals["requests"] / scenario.duration,
                "pool_size": len(inst.pool),
                "memory_usage_mb": inst.memory_bytes(scenario.duration) / MIB,
                "avg_cpu_usage_percent": 100.0 * inst.mailbox.busy_time / scenario.duration,
                "processed_transactions": stats["processed_transactions"],
                "rejected_transactions": stats["rejected_transactions"],
                "rejected_by_reason": stats["rejected_by_reason"],
                "included_transactions": inst.included,
            }
        inc = self.inclusion_total
        services: dict[str, Any] = {}
        for module, versions in node.services.items():
            services[module] = {v: inst.stats.totals() for v, inst in versions.items()}
            # V2's memory at the end, as the series' <service>.v2.memory_usage_mb: the leak
            # of a v2_regression, the only memory the model gives these services (V1: none).
            services[module]["v2"]["memory_usage_mb"] = (
                node.leaked_bytes(module, scenario.duration) / MIB)
        sync: dict[str, Any] = {}
        for version, link in self.links.items():
            sync[version] = self._sync_figures(version, link, scenario.duration)
            sync[version]["imported_chain_is_canonical"] = link.engine.imported_matches(
                self.chain)
            # The window of sync_speed_bps (and network_bandwidth_mbps): the printed table
            # names it, so a last-30-s rate is not read as a whole-run one.
            sync[version]["sync_speed_window_s"] = float(
                getattr(scenario.sync, version).metrics_window_s)
        self._mark_retired(pool, sync)
        routing = dict(self.router.routing_stats(scenario.duration))
        breakers = {m: {"state": self.router.breaker(m).state_at(scenario.duration).value,
                        "transitions": len(self.router.breaker(m).transitions)}
                    for m in (POOL, SYNC, "filter_manager", "subscription_manager")}
        return {
            "run": {"scenario": scenario.name, "seed": self.seed, "profile": scenario.profile,
                    "mode": scenario.run.mode, "duration_s": scenario.duration,
                    # What the scenario is about, for the report (its `description`).
                    "description": " ".join(scenario.description.split())},
            # `version` is the final one (beside the final split); the run started on
            # `version_start` at `traffic_split_start` (schedule steps, the controller and
            # deprecation change them).
            "modules": {m: {"version": self.router.version(m),
                            "version_start": self.control.versions[m],
                            "traffic_split_start": self.control.traffic[m],
                            "traffic_split_final": self.router.split(m)}
                        for m in sorted(self.control.versions)},
            "transaction_pool": pool,
            "inclusion": {"blocks": self.blocks_built, "included": self.included,
                          "avg_delay_s": inc.mean, "p50_delay_s": inc.quantile(0.5),
                          "p95_delay_s": inc.quantile(0.95), "p99_delay_s": inc.quantile(0.99)},
            "sync_service": sync,
            "services": services,
            "routing": routing,
            "breakers": breakers,
            "rate_limit": self.rate_limit_figures(),
            "ledger": ledger,
            "unserved_requests": node.unserved,
            "rollout": self.rollout.summary(),
            "incident": self.incident(),
            "success_criteria": [c.as_dict() for c in self.criteria(routing)],
            "events": dict(sorted(self.events.counts.items())),
        }

    def rate_limit_figures(self) -> dict[str, Any]:
        """The per-peer limiter's counts, in all and by peer class.

        A class is a population profile (``honest``, ``slow``, ...; sorted by name) or
        ``flooding`` (the peers of ``network.floods``, last, present when floods are
        configured): its peers and the requests the limiter allowed and refused from them.
        ``refused_non_flooding`` is what the limiter refused from peers that are no
        configured flooder: requests the node did not serve, counted in
        ``unserved_requests`` (:meth:`Node._rate_limited`).
        """
        node = self.node
        limiter = self.peer_limiter
        n_population = len(self.peer_classes)
        classes: dict[str, dict[str, int]] = {
            name: {"peers": 0, "allowed": 0, "refused": 0}
            for name in sorted(set(self.peer_classes))}
        if node.flood_peers:
            classes["flooding"] = {"peers": len(node.flood_peers), "allowed": 0, "refused": 0}
        for name in self.peer_classes:
            classes[name]["peers"] += 1
        for key, counts in (("allowed", node.limiter_allowed),
                            ("refused", node.limiter_refused)):
            for peer, n in counts.items():
                name = (self.peer_classes[peer] if 0 <= peer < n_population
                        else "flooding")
                classes.setdefault(name, {"peers": 0, "allowed": 0, "refused": 0})[key] += n
        return {"allowed": limiter.allowed, "refused": limiter.refused,
                "tracked_peers": len(limiter), "by_peer_class": classes,
                "refused_non_flooding": node.refused_non_flooding}

    def _sync_figures(self, version: str, link: SyncLink, at: float) -> dict[str, Any]:
        """A sync engine's metrics at ``at`` for the summary (numbers as floats, sorted).

        ``memory_usage_mb`` is the process's memory, MiB: the time series' column of the same
        name (sample(): base + engine state + V2's leak), not the engine state alone, which
        the engine reports as ``engine_state_mb``.
        """
        m = link.engine.metrics(at)
        m["memory_usage_mb"] = (
            self.scenario.sync.base_memory_mb + m["memory_bytes"] / MIB
            + (self.node.leaked_bytes(SYNC, at) / MIB if version == "v2" else 0.0))
        return {k: (float(v) if isinstance(v, int | float) else v) for k, v in sorted(m.items())}

    def _mark_retired(self, pool: dict[str, Any], sync: dict[str, Any]) -> None:
        """Mark each V1 with ``retired_at``; a retired one's gauges are those at retirement.

        ``retired_at`` is the V1's retirement time (V1 deprecation; V1 sync's may come later,
        ``rollout.v1_sync_retired_at``), ``None`` while it served to the end. A retired V1 has
        stopped: its counters and ``synced_to`` are its state when it stopped, but a live
        gauge read at the run's end would mislead (a stopped sync engine knows of no newer
        block, so it would read 0 blocks behind with its last peers connected; a stopped
        pool would show its process's base memory). Those (:data:`RETIRED_POOL_GAUGES`,
        :data:`RETIRED_SYNC_GAUGES`) are their values at retirement, read just before V1
        stopped (:attr:`at_retirement`).
        """
        link = self.rollout
        for section, times, gauges in ((pool, link.retired_at, RETIRED_POOL_GAUGES),
                                       (sync, link.sync_retired_at, RETIRED_SYNC_GAUGES)):
            name = POOL if section is pool else SYNC
            for version, entry in section.items():
                at = times if version == "v1" else None
                entry["retired_at"] = at
                if at is not None:
                    before = self.at_retirement[name]
                    entry.update({g: before[g] for g in gauges})

    def incident(self) -> dict[str, Any] | None:
        """Time to detect and to roll back the first V2 regression, if the run had one.

        ``None`` without a regression fault, or when the first starts at or after the run's
        end (it never started: ``rollout.not_reached`` lists it).

        Measured from the regression's start: the first firing of an alert rule on the
        regressed module, the first failed health check with a violation of that module (none
        when the checks produce no result, as under ``nil_health_crash``), the module's
        breaker opening, and the first rollback (controller, AutoRollback or
        manual) that changed the regressed module's split, each ``None`` if it never
        happened (a rollback of other modules only, e.g. with the regressed pool's refused
        after V1's deprecation, does not count).
        """
        starts = [(i, f) for i, f in enumerate(self.scenario.faults)
                  if isinstance(f, RegressionFault)]
        if not starts:
            return None
        _, fault = min(starts, key=lambda p: p[1].start)
        t0 = fault.start
        if t0 >= self.scenario.duration:
            # It never started (listed in rollout.not_reached): "never detected" would read
            # as a detection that failed.
            return None

        def first(times: list[float]) -> float | None:
            after = [t - t0 for t in times if t >= t0]
            return min(after) if after else None

        link = self.rollout
        module = fault.module
        breaker = self.router.breaker(module)
        return {
            "module": module,
            "regression_start_s": t0,
            # Only alerts on the regressed module's rules, and failed checks with a violation
            # of that module (each record names its modules): another module's alert is not
            # this regression's detection.
            "first_alert_after_s": first([a["time"] for a in link.alert_log
                                          if a["event"] == "alert_firing"
                                          and a["module"] == module]),
            "first_failed_health_check_after_s": first(
                [r["time"] for r in self.events.of_kind("health_check_failed")
                 if module in r["modules"]]),
            "breaker_open_after_s": first([t.time for t in breaker.transitions
                                           if t.to_state.value == "open"]),
            "rollback_after_s": first([r["time"] for r in link.rollbacks
                                       if module in r["modules"]]),
        }

    def criteria(self, routing: dict[str, Any]) -> list[Any]:
        """The guide's success criteria, each with the figure behind its verdict.

        The guide's criteria are the deployment's (guide L739-746): error rate and memory
        are judged per module that ran V2, each module's verdict, figure and detail in the
        criterion's ``modules``, the worst verdict the criterion's (:func:`per_module`).

        * zero downtime: no request of any module left unserved (failed with no V1 rescue,
          lost in a restart, sent to a deprecated V1, or refused by the per-peer limiter
          from a peer that is no configured flooder; those are added to the routed total
          too);
        * performance, on the transaction pool: V2's pool *capacity* (requests served, i.e.
          transactions admitted with an ok reply, per busy second of its process: the
          throughput it could sustain) and p95 latency over the samples where the routing
          rule sent V2 all pool traffic, against V1's over the samples where it sent V1 all
          of it (both carry the full load then; :meth:`_full_load_version`); p95 compared
          within the histograms' resolution (one bucket); "not enough data" unless the run
          has both (:attr:`full_load`);
        * error rate <= 0.1 % over every 48 h window of each module's V2 requests (the pool's
          calls, sync's serving of peer requests, the filter and subscription managers'),
          for every module whose V2 had a request;
        * memory increase <= 15 %, pool and sync: each version's mean over its LAST window
          of ``rollout.health_window`` seconds of readings (:func:`last_window_mean`: what it
          holds as the run leaves it, so a leak is judged by its largest window, not hidden
          in a mean of its early samples). Pool: V2's readings over its full-load samples
          against V1's over its own (the pool's memory grows with its share of the
          traffic). Sync: each engine's process memory over the samples it ran (both engines
          do the whole sync side by side; V1's until it retired). A module counts when V2
          ran in it. A filter or subscription manager whose V2 had an attempt is named in
          the detail as not judged, with V2's leaked memory: the guide measures no memory
          for them (guide L138-147, L446-490) and the model gives them none but a
          regression's leak, so V1 has no figure to compare with
          (:mod:`sim.rollout.criteria`).
        """
        node = self.node
        f1, f2 = self.full_load["v1"], self.full_load["v2"]
        names = set(self.series.names)

        def column(name: str) -> Any:
            # Only the columns needed: copying the whole series would double its memory.
            return self.series.column(name) if name in names else np.zeros(0)

        interval = self.scenario.run.metrics_interval
        end = self.scenario.duration
        window_48h = max(1, round(48 * 3600 / interval)) * interval
        # Per module, V2's attempts and failed attempts per interval: calls plus its breaker's
        # refusals (a refused call is a failed attempt of V2); the errors of a service are its
        # error rate (over attempts) times its attempts.
        ref2 = column(f"{POOL}.v2.refused_by_breaker")
        v2_counts: dict[str, tuple[Any, Any]] = {
            POOL: (column(f"{POOL}.v2.requests") + ref2, column(f"{POOL}.v2.errors") + ref2)}
        for module in _MODULES[1:]:
            prefix = f"{SYNC}.serving" if module == SYNC else module
            req = (np.nan_to_num(column(f"{prefix}.v2.requests"))
                   + np.nan_to_num(column(f"{prefix}.v2.refused_by_breaker")))
            rate = np.nan_to_num(column(f"{prefix}.v2.error_rate_percent"))
            v2_counts[module] = (req, np.round(rate * req / 100.0))
        errors_judged = {
            module: error_rate_window(np.nan_to_num(err), np.nan_to_num(req), interval,
                                      window=window_48h)
            for module, (req, err) in v2_counts.items() if np.nansum(req) > 0}
        name_48h = f"error_rate_{window_48h / 3600.0:g}h"
        # Memory: each version's last window mean.
        per_window = max(1, round(self.scenario.rollout.health_window / interval))
        reading = f"each the mean of its last {per_window * interval:g} s of readings"
        memory_judged = {}
        if f2.samples or node.pool_v2.stats.total_requests or node.pool_v2.stats.total_refused:
            memory_judged[POOL] = memory_increase(
                last_window_mean(f1.memory_mb, per_window),
                last_window_mean(f2.memory_mb, per_window), reading=(
                    reading + " while the rule sent it all pool traffic"))
        sync2 = column(f"{SYNC}.v2.memory_usage_mb")
        if np.count_nonzero(~np.isnan(sync2)):
            sync1 = column(f"{SYNC}.v1.memory_usage_mb")
            retired = self.rollout.sync_retired_at
            if retired is not None and sync1.size:
                sync1 = sync1[column("time") <= retired]
            memory_judged[SYNC] = memory_increase(
                last_window_mean(sync1, per_window), last_window_mean(sync2, per_window),
                reading=reading + " of its sync engine's process, V1's until it retired",
                needs="readings of both sync engines")
        not_judged = {
            module: ("V2 ran; no V1 baseline: neither the guide nor the model gives this "
                     "service a memory figure, only V2 a regression's leak: "
                     f"{node.leaked_bytes(module, end) / MIB:,.1f} MiB at the end")
            for module in _MODULES[2:] if module in v2_counts and np.nansum(
                v2_counts[module][0]) > 0}
        perf = performance(f1.capacity, f2.capacity, f1.p95_ms, f2.p95_ms,
                           p95_resolution=histogram_resolution(f2.latency))
        return [
            zero_downtime(node.unserved, int(routing.get("total_requests", 0))
                          + node.refused_non_flooding),
            per_module("performance", perf.threshold, {POOL: perf}, ""),
            # The 48-h window in whole sampling intervals (e.g. 48 h +- a few seconds when the
            # interval does not divide it); the criterion's name shows the window used.
            per_module(name_48h, 0.1, errors_judged,
                       "V2 served no request in any module"),
            per_module("memory_increase", 15.0, memory_judged,
                       "memory is judged for the transaction pool and sync only, and V2 "
                       "ran in neither", not_judged),
        ]

def run(scenario: Scenario | str | PathLike[str], seed: int | None = None, *,
        extra_env: dict[str, str] | None = None, progress: Progress | None = None) -> Result:
    """Run one scenario.

    Args:
        scenario: A :class:`~sim.scenario.Scenario` (validated again here, as a file is:
            ``model_copy(update=...)`` checks nothing), or a built-in scenario's name
            or a YAML file's path (``str`` or :class:`os.PathLike`), loaded exactly as the
            CLI loads it (:func:`sim.scenario.load_scenario`): ``run("canary")`` is
            ``run(load_scenario("canary"))``.
        seed: Overrides the scenario's seed.
        extra_env: Guide environment variables applied over the scenario's (``--env-file``).
        progress: Called with the simulated time reached, about 100 times per run.

    The run raises the collector's young-generation threshold while it runs
    (:func:`sim.collector.fewer_collections`: it allocates much and frees no cycles).

    Returns:
        The result (summary, time series, events, ledger).

    Raises:
        TypeError: If ``scenario`` is none of a Scenario, a str or a path (e.g. a dict:
            validate one with :func:`sim.scenario.parse_scenario` first).
        ConfigError: If a name or path given as ``scenario`` is no built-in and no readable,
            valid scenario file; if a Scenario given does not validate (source
            ``scenario 'NAME'``); or if the alert rules file that ``rollout.alerts.rules``
            names cannot be read or loaded at run time
            (:func:`sim.rollout.alerts.load_alert_rules`).
        LedgerError: If a ledger does not balance.
        ValueError: If the seed (given or the scenario's) is negative.
        EnvError: If ``extra_env`` (with the scenario's ``env`` block) has an unknown variable
            or a bad value (:func:`sim.scenario.resolve_control`); a subclass of ValueError.
    """
    if isinstance(scenario, str | PathLike):
        scenario = load_scenario(fspath(scenario))
    elif not isinstance(scenario, Scenario):
        raise TypeError(
            f"run() takes a Scenario, a built-in scenario name or a YAML path, not "
            f"{type(scenario).__name__} (a dict: validate it with "
            f"sim.scenario.parse_scenario first)")
    else:
        # model_copy(update=...) stores values unchecked ("10m", -5.0): check them as a file.
        scenario = revalidate(scenario)
    with fewer_collections():
        model = Model(scenario, scenario.seed if seed is None else seed, extra_env)
        return model.execute(progress)

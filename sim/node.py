"""The node: V1 and V2 of every module side by side, behind the router and breakers.

Each module instance is a GenServer-like :class:`~sim.mailbox.Mailbox` whose service times
come from its cost model (pools: :class:`pool.cost_model.CostModel`; sync request serving and
the filter and subscription managers: a :class:`~sim.control.GenericService`). The router
(:class:`~sim.control.ModuleRouter`) picks V1 or V2 per request; a V2 error or timeout is
recorded on the module's breaker and the request is retried on V1, the guide's rescue path,
which costs a second execution (DESIGN.md, "The model").

**Time order.** High-rate inputs (transactions, inbound peer requests, filter and
subscription requests) are offered in timestamp order by the runner's
:class:`~sim.inputs.InputFeeder` (:meth:`Node.submit_tx`, :meth:`Node.submit_request`). Work
the node generates for itself (a V2 reply that arrives later and may trigger a V1 retry) goes
into an internal heap and is interleaved with the inputs by time, so the breaker sees every
outcome at its completion time and every routing decision sees the breaker as of its own
time. A message's effect (a pool add) is applied when its mailbox accepts it, at its computed
start time; this is exact while a mailbox's backlog never spans another reader's time (a
block, a sample), which holds far from saturation, and is stated as a limit otherwise.

**Fast paths.** V1 has no fault model and serves one message at a time, so a request routed
to V1 is served directly (:meth:`PoolInstance.add_direct`, :meth:`ServiceInstance.serve_direct`)
and a module that sends everything to V1 without a draw is served a stretch at a time
(:meth:`Node.submit_requests`). The runner hands each stretch of inputs to
:meth:`Node.submit_inputs`, one loop that inlines the idle-node and one-draw routing cases of
:meth:`Node.submit_tx` and :meth:`Node.submit_request` and calls them otherwise; what it
routes to V1 it only notes, and :meth:`Node.flush_v1` serves the noted inputs in bulk before
anything else touches V1 (``tests/test_v1_bulk.py``).
A request it routes to V2 skips the message object when the mailbox would run it at once
(:meth:`PoolInstance.offer_v2`, :meth:`ServiceInstance.call_v2`), and a V2 reply is a plain
heap tuple, not a closure; a successful reply that nothing can precede is delivered at once
(:meth:`Node.schedule_ok`). Tests check all of these against the general path
(``tests/test_input_stretch.py``, ``tests/test_v2_path.py``).

**Where a V2 failure leaves the transaction.** A V2 *error* (the V2 process raised while
handling the message) means V2 did not store it; the V1 retry does. A V2 *timeout* means the
caller gave up while V2 was still working: V2 still stores it when it gets to it, and the V1
retry stores it again (a double execution the ledger counts; the block builder includes such
a transaction once).

**Transactions' V2 path.** V2 runs ``validate_transaction_input`` (the guide's
``V2Hardening``: size, format, signature, per-sender and per-peer rate) inside its process
before the pool sees the transaction; a refusal is counted in the node ledger with its reason.

**Caller identity** for the as_written router's sticky buckets: the transaction's sender
(the real router hashes ``caller_info.user_id``; mana-source-facts.md §2.1), and the peer id
for peer requests.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import sub
from typing import NamedTuple

import numpy as np

from pool import Transaction
from pool.cost_model import CostModel
from pool.ledger import TxState
from pool.result import V2_SENDER_LIMIT
from pool.tx_pool_v1 import TxPoolV1
from pool.tx_pool_v2 import TxPoolV2
from pool.validation import LEGACY_RLP_FIELDS
from sim.blocks import pools_block
from sim.control import (
    CallOutcome,
    CircuitBreaker,
    GenericService,
    ModuleRouter,
    PeerRateLimiter,
    validate_transaction_input,
)
from sim.control.router import count_v2_ok
from sim.control.validation import (
    REASON_PEER_RATE_LIMITED,
    REASON_SENDER_RATE_LIMITED,
    InputLimits,
    static_reason,
)
from sim.events import EventLog
from sim.inputs import KIND_SYNC, KIND_TX, REQUEST_MODULES
from sim.mailbox import Mailbox
from sim.metrics import MIB, RequestStats
from sim.service_draws import ServiceDraws

POOL = "transaction_pool"
SYNC = "sync_service"


@dataclass(frozen=True, slots=True)
class Regression:
    """An active V2 regression of one module (see :class:`sim.scenario.RegressionFault`).

    Attributes:
        error_rate: Probability a V2 call raises.
        latency_factor: Multiplier on V2 service times.
        leak_bytes_per_s: Memory leak rate of the V2 instance.
        start: When it began, seconds (the leak grows from here).
    """

    error_rate: float
    latency_factor: float
    leak_bytes_per_s: float
    start: float


class TxRequest(NamedTuple):
    """A transaction submission as a message in a pool instance's mailbox.

    Attributes:
        tx: The transaction.
        peer: Relaying peer id.
        origin: When the request entered the node, seconds.
        arrival: When this message reached this mailbox, seconds.
        rescue_of: For a V1 retry, the failed V2 call's outcome.
        emergency: The router took the as_written emergency V1 path.
    """

    tx: Transaction
    peer: int
    origin: float
    arrival: float
    rescue_of: CallOutcome | None
    emergency: bool = False


class PeerRequest(NamedTuple):
    """A generic request (peer sync request, filter or subscription call) in a mailbox.

    Attributes:
        module: Module type.
        caller: Caller id (peer id or client id).
        origin: When the request entered the node, seconds.
        arrival: When this message reached this mailbox, seconds.
        rescue_of: For a V1 retry, the failed V2 call's outcome.
        emergency: The router took the as_written emergency V1 path.
    """

    module: str
    caller: int
    origin: float
    arrival: float
    rescue_of: CallOutcome | None
    emergency: bool = False


class NodeLedger:
    """Every transaction that reaches the node, and where it went.

    Once the node has drained (:meth:`Node.drain`),
    ``arrived + double_executions + migrated == v1 entered + v2 entered + dropped`` must
    hold. It counts *executions*: each execution of an arrival ends in exactly one pool's
    ledger or in ``dropped`` (refused by V2 input validation, a V2 error nobody retried, a
    restart that lost it, a request that reached a deprecated V1). A V2 call that timed out
    executed on V2 (stored, or refused there) and is executed again on V1
    (``double_executions``); V1 deprecation hands V1's pending transactions, settled there as
    evicted, to V2 (``migrated``).
    """

    def __init__(self) -> None:
        self.arrived = 0
        self.dropped: Counter[str] = Counter()
        self.double_executions = 0
        self.migrated = 0

    def as_dict(self) -> dict[str, object]:
        """The counters for the summary."""
        return {
            "arrived": self.arrived,
            "dropped": dict(sorted(self.dropped.items())),
            "double_executions": self.double_executions,
            "migrated": self.migrated,
        }


class PoolInstance:
    """One version of the transaction pool: pool, cost model, mailbox, stats."""

    def __init__(self, node: Node, version: str, pool: TxPoolV1 | TxPoolV2, cost: CostModel,
                 batch_size: int, fault_rng: np.random.Generator,
                 base_memory: float = 0.0) -> None:
        self.node = node
        self.fault_rng = fault_rng
        self.base_memory = base_memory
        self.module = POOL
        self.version = version
        self.pool = pool
        self.cost = cost
        self.stats = RequestStats()
        self.mailbox: Mailbox[TxRequest] = Mailbox(self._run_batch, batch_size)
        # ``len(pool)`` as a C call (see PoolBase.size_of), for offer_v2's hot path.
        self._size_of = pool.size_of
        # The module's V2 routing counters and breaker (one object each for the run), for
        # offer_v2's count_v2_ok (ModuleRouter.record_v2_ok without the module lookup).
        self._v2_counters, self._breaker = node.router.v2_ok_targets(POOL)
        if isinstance(pool, TxPoolV2):
            # offer_v2's one validity test: static_reason's checks and the V2 pool's
            # (TxPoolV2.limits) as one conjunction, their bounds merged (the tighter of each).
            lim = node.input_limits
            min_price, min_gas, max_gas, max_size, max_nonce = pool.limits
            self._valid_bounds = (min(lim.max_size, max_size),
                                  max(lim.min_gas_price, min_price),
                                  max(lim.min_gas_limit, min_gas),
                                  min(lim.max_gas_limit, max_gas), max_nonce)
            self._admit = pool.admit
        self.busy_mark = 0.0
        # Transactions V2's input validation dropped before they reached this pool
        # (validate_transaction_input; also in the node's ledger.dropped by reason):
        # refusals of this version, counted by its health figures (pool_metric_values).
        self.input_drops = 0
        # The ledger's (entered, rejected) and input_drops at the last sample: the next
        # interval's deltas.
        self.ledger_marks = (0, 0, 0)
        # V2's pool: its refusals by the per-sender cap at the last sample (the ledger's
        # rejected_by_reason["sender_limit"]), for the interval's sender_limited_transactions.
        self.sender_limited_mark = 0
        self.included = 0
        self.retired = False

    def _run_batch(self, start: float, items: list[TxRequest]) -> float:
        node = self.node
        if self.version == "v1" and node._v1_tx_times:
            raise RuntimeError("V1 pool batch run with deferred V1 work (flush_v1 first)")
        pool = self.pool
        resident = len(pool)
        regression = node.regression(POOL) if self.version == "v2" else None
        failed: list[bool] = []
        for item in items:
            if regression is not None and regression.error_rate > 0.0 and (
                self.fault_rng.random() < regression.error_rate
            ):
                failed.append(True)
                continue
            failed.append(False)
            if self.version == "v2":
                reason = validate_transaction_input(
                    item.tx, start, limits=node.input_limits,
                    sender_limiter=node.sender_limiter, peer_limiter=node.tx_peer_limiter,
                    peer_id=item.peer,
                )
                if reason is not None:
                    node.ledger.dropped[reason] += 1
                    self.input_drops += 1
                    continue
            pool.offer(item.tx, start)
        service = self.cost.batch(len(items), resident)
        if regression is not None:
            service *= regression.latency_factor
        finish = start + service
        for item, fail in zip(items, failed, strict=True):
            node.complete_tx(self, item, finish, fail)
        return service

    def add_direct(self, tx: Transaction, now: float, emergency: bool) -> None:
        """V1 only: handle a routed transaction at once, exactly as its mailbox would.

        V1's mailbox serves one message at a time (``batch_size`` 1) and V1 has no fault
        model, so nothing can join or fail the message: it is added at its start time and
        replies at its finish. This skips the message object and the batch callback for the
        bulk of the traffic (DESIGN.md, "Speed"); :meth:`_run_batch` still serves V1 retries.

        Args:
            tx: The transaction.
            now: Its arrival, seconds.
            emergency: The router took the as_written emergency V1 path.
        """
        pool = self.pool
        resident = len(pool)
        mailbox = self.mailbox
        pool.offer(tx, mailbox.start_time(now))
        finish = mailbox.serve_one(now, self.cost.single(resident))
        latency = finish - now
        self.stats.record(latency)
        self.node.router.record_v1(POOL, True, latency, emergency)

    def add_direct_many(self, txs: list[Transaction], times: list[float],
                        emergency: bool) -> None:
        """:meth:`add_direct` for many transactions in time order (identical results).

        The pool decides every outcome first and asks for the start times with the resident
        count before each add (:meth:`TxPoolV1.offer_many`); those counts give the service
        times (:meth:`CostModel.single_many`) and the mailbox's Lindley steps the starts and
        finishes (:meth:`Mailbox.serve_many_starts`); stats and routing counters then record
        the latencies in order (the same running float sums).

        Args:
            txs: The transactions.
            times: Their arrivals, non-decreasing, seconds.
            emergency: The router took the as_written emergency V1 path.
        """
        pool = self.pool
        if not isinstance(pool, TxPoolV1):
            raise TypeError("add_direct_many serves the V1 pool only")
        mailbox = self.mailbox
        single_many = self.cost.single_many
        served: list[list[float]] = []

        def stamp(residents: list[int]) -> list[float]:
            starts, finishes = mailbox.serve_many_starts(times, single_many(residents))
            served.append(finishes)
            return starts

        if not txs:
            return
        pool.offer_many(txs, stamp)
        latencies = list(map(sub, served[0], times))
        oks = [True] * len(latencies)  # V1 has no fault model: it always replies
        self.stats.record_each(latencies, oks)
        self.node.router.record_v1_many(POOL, oks, latencies, emergency)

    def offer_v2(self, tx: Transaction, peer: int, now: float,
                 next_time: float = -math.inf) -> None:
        """V2 only: offer a routed transaction, exactly as ``mailbox.offer`` of its message.

        When nothing waits in the mailbox, the server is free at ``now`` and no regression is
        active, :meth:`Mailbox.offer` would run a batch of this one message at once, starting
        at ``now`` and never failing: this does that batch's work (:meth:`_run_batch` for one
        item, then :meth:`Node.complete_tx`) without the message, the list and the callback,
        and builds the message only if its reply may need a retry. Otherwise it offers the
        message to the mailbox. ``tests/test_v2_path.py`` checks it against the mailbox, and
        ``tests/test_v2_fast_checks.py`` its one validity test at every bound.

        Args:
            tx: The transaction.
            peer: Relaying peer id.
            now: Its arrival, seconds.
            next_time: When the node next handles an input (see :meth:`Node.schedule_ok`).
        """
        node = self.node
        mailbox = self.mailbox
        if (mailbox.waiting_start != math.inf or now < mailbox.busy_until
                or POOL in node.regressions):
            mailbox.offer(now, TxRequest(tx, peer, now, now, None, False))
            return
        resident = self._size_of()
        # validate_transaction_input with both limiters and this peer, unrolled: the static
        # checks, then the sender, then the peer (a refused sender never reaches the peer),
        # then the pool's offer. A transaction that passes both the static checks and the
        # pool's validity checks (one conjunction on the merged bounds: checks without side
        # effects, so their order does not matter) goes to the pool's admission directly;
        # any other takes the checks one by one for its reason.
        max_size, min_price, min_gas, max_gas, max_nonce = self._valid_bounds
        gas_limit = tx.gas_limit
        data_len = tx.data_len
        if (0 < tx.size <= max_size and tx.rlp_fields == LEGACY_RLP_FIELDS
                and 0 <= tx.nonce <= max_nonce and tx.gas_price >= min_price
                and min_gas <= gas_limit <= max_gas and tx.value >= 0 and data_len >= 0
                and gas_limit >= 21_000 + 16 * data_len
                and tx.v > 0 and tx.r > 0 and tx.s > 0 and tx.signature_valid):
            valid, reason = True, None
        else:
            valid, reason = False, static_reason(tx, node.input_limits)
        if reason is None:
            if not node.sender_limiter.allow(tx.sender, now):
                reason = REASON_SENDER_RATE_LIMITED
            elif not node.tx_peer_limiter.allow(peer, now):
                reason = REASON_PEER_RATE_LIMITED
        if reason is not None:
            node.ledger.dropped[reason] += 1
            self.input_drops += 1
        elif valid:
            self._admit(tx, now)
        else:
            self.pool.offer(tx, now)
        finish = mailbox.serve_one(now, self.cost.single(resident))
        latency = finish - now
        breaker = self._breaker
        if latency <= breaker.config.timeout:
            # Deliver the ok reply now if nothing can precede it (Node.schedule_ok says why).
            # Its third condition, no waiting V2 pool batch, holds: this is that mailbox, it
            # had none on entry, and nothing since (serve_one included) adds one.
            time = now + latency
            heap = node._heap
            if time < next_time and (not heap or heap[0][0] > time):
                self.stats.record(latency)
                count_v2_ok(self._v2_counters, breaker, latency, now)
                return
            node.schedule_ok(self, latency, now)
        else:
            node.complete_tx(self, TxRequest(tx, peer, now, now, None, False), finish, False)

    def memory_bytes(self, now: float) -> float:
        """Process baseline plus pool bytes plus any leak."""
        leak = 0.0
        if self.version == "v2":
            leak = self.node.leaked_bytes(POOL, now)
        return self.base_memory + self.pool.memory_bytes + leak


class ServiceInstance:
    """One version of a request/response module (sync serving, filter, subscription)."""

    def __init__(self, node: Node, module: str, version: str, service: GenericService,
                 rng: np.random.Generator, fault_rng: np.random.Generator) -> None:
        self.node = node
        self.fault_rng = fault_rng
        self.module = module
        self.version = version
        self.service = service
        self.draws = ServiceDraws(service, rng)
        self.stats = RequestStats()
        self.mailbox: Mailbox[PeerRequest] = Mailbox(self._run_batch, 1)
        # As PoolInstance's: for call_v2's count_v2_ok.
        self._v2_counters, self._breaker = node.router.v2_ok_targets(module)
        self.busy_mark = 0.0
        self.retired = False

    def _run_batch(self, start: float, items: list[PeerRequest]) -> float:
        node = self.node
        if self.version == "v1" and node._v1_sync_times and self.module == SYNC:
            raise RuntimeError("V1 sync batch run with deferred V1 work (flush_v1 first)")
        regression = node.regression(self.module) if self.version == "v2" else None
        service = 0.0
        draws = self.draws
        for item in items:
            ok, cost = draws.next()
            fail = not ok
            if regression is not None:
                cost *= regression.latency_factor
                if regression.error_rate > 0.0 and self.fault_rng.random() < regression.error_rate:
                    fail = True
            service += cost
            node.complete_request(self, item, start + service, fail)
        return service

    def serve_direct(self, now: float, emergency: bool) -> None:
        """V1 only: serve a routed request at once, exactly as its mailbox would.

        The mailbox serves one message at a time and V1 has no fault model, so the request
        starts when the server frees and replies at its finish (see
        :meth:`PoolInstance.add_direct` for why); :meth:`_run_batch` still serves V1 retries.

        Args:
            now: Its arrival, seconds.
            emergency: The router took the as_written emergency V1 path.
        """
        node = self.node
        ok, cost = self.draws.next()
        latency = self.mailbox.serve_one(now, cost) - now
        self.stats.record(latency, ok=ok)
        node.router.record_v1(self.module, ok, latency, emergency)
        if not ok:
            node.unserved += 1

    def call_v2(self, now: float, caller: int, next_time: float = -math.inf) -> None:
        """V2 only: offer a routed request, exactly as ``mailbox.offer`` of its message.

        The mailbox serves one message at a time, so :meth:`Mailbox.offer` runs the message
        at once as a batch of its own, starting when the server frees: this does that
        (:meth:`_run_batch` for one item, then :meth:`Node.complete_request`) without the
        message, the list and the callback, and builds the message only if its reply may need
        a retry. ``tests/test_v2_path.py`` checks it against the mailbox.

        Args:
            now: Its arrival, seconds.
            caller: Caller id (peer id or client id).
            next_time: When the node next handles an input (see :meth:`Node.schedule_ok`).
        """
        node = self.node
        ok, cost = self.draws.next()
        fail = not ok
        regressions = node.regressions
        regression = regressions.get(self.module) if regressions else None
        if regression is not None:
            cost *= regression.latency_factor
            if regression.error_rate > 0.0 and self.fault_rng.random() < regression.error_rate:
                fail = True
        # _run_batch's service is 0.0 + cost, which is cost.
        finish = self.mailbox.serve_one(now, cost)
        latency = finish - now
        breaker = self._breaker
        if not fail and latency <= breaker.config.timeout:
            # Deliver the ok reply now if nothing can precede it (Node.schedule_ok says why).
            time = now + latency
            heap = node._heap
            if (time < next_time and (not heap or heap[0][0] > time)
                    and node._v2_box.waiting_start > time):
                self.stats.record(latency)
                count_v2_ok(self._v2_counters, breaker, latency, now)
                return
            node.schedule_ok(self, latency, now)
        else:
            node.complete_request(self, PeerRequest(self.module, caller, now, now, None, False),
                                  finish, fail)

    def serve_direct_many(self, times: list[float], emergency: bool) -> None:
        """:meth:`serve_direct` for many requests in time order (identical results).

        Args:
            times: Their arrivals, non-decreasing, seconds.
            emergency: The router took the as_written emergency V1 path.
        """
        node = self.node
        oks, costs = self.draws.take(len(times))
        finishes = self.mailbox.serve_many(times, costs)
        latencies = [f - t for f, t in zip(finishes, times, strict=True)]
        self.stats.record_each(latencies, oks)
        node.router.record_v1_many(self.module, oks, latencies, emergency)
        node.unserved += oks.count(False)


_Reply = tuple[float, int, "PoolInstance | ServiceInstance", float, bool, float,
               "TxRequest | PeerRequest | None"]
"""A V2 reply on the node's internal heap: ``(time, seq, instance, latency, fail, origin,
message)``. A plain tuple, not a closure or a NamedTuple: one is built per V2 call, and
the heap compares only ``(time, seq)`` (``seq`` is unique). ``message`` may be None only for a
successful reply within the breaker's timeout, the one case that never needs it (no retry)."""


class Node:
    """The simulated Mana node (see the module docstring).

    Args:
        router: The module router (owns the breakers).
        pools: The V1 and V2 pools with their cost models.
        services: Per module (sync_service, filter_manager, subscription_manager), the V1 and
            V2 service models.
        input_limits: Static bounds of V2 input validation.
        sender_limit: Per-sender transactions per minute in V2 input validation.
        tx_peer_limit: Per-peer transactions per minute in V2 input validation.
        peer_limiter: The guide's per-peer limiter for inbound sync requests.
        events: The run's event log.
        fault_rng: Parent of each instance's own regression-error stream (a regression of
            one module never shifts another module's draws); not drawn from itself.
        service_rng: Parent of the service instances' own streams (see
            :class:`~sim.service_draws.ServiceDraws`); not drawn from itself.
        pool_base_memory: Bytes each pool process holds besides its transactions.
    """

    def __init__(
        self,
        router: ModuleRouter,
        pools: tuple[tuple[TxPoolV1, CostModel], tuple[TxPoolV2, CostModel]],
        services: dict[str, tuple[GenericService, GenericService]],
        input_limits: InputLimits,
        sender_limit: int,
        tx_peer_limit: int,
        peer_limiter: PeerRateLimiter,
        events: EventLog,
        fault_rng: np.random.Generator,
        service_rng: np.random.Generator,
        pool_base_memory: float = 0.0,
    ) -> None:
        self.router = router
        self.events = events
        fault_streams = iter(fault_rng.spawn(2 + 2 * len(services)))
        self.input_limits = input_limits
        self.sender_limiter = PeerRateLimiter(sender_limit)
        self.tx_peer_limiter = PeerRateLimiter(tx_peer_limit)
        self.peer_limiter = peer_limiter
        self.ledger = NodeLedger()
        (v1_pool, v1_cost), (v2_pool, v2_cost) = pools
        self._v1_pool = v1_pool  # typed as V1 for the stretch loop's TxPoolV1.offer
        self.pool_v1 = PoolInstance(self, "v1", v1_pool, v1_cost, 1, next(fault_streams),
                                    pool_base_memory)
        self.pool_v2 = PoolInstance(self, "v2", v2_pool, v2_cost,
                                    v2_pool.config.batch_processing_size, next(fault_streams),
                                    pool_base_memory)
        self._v2_box = self.pool_v2.mailbox  # one object for the run (reset() keeps it)
        # One stream per instance, spawned from service_rng in the order of ``services`` (V1
        # then V2 per module), so an instance's draws never depend on other instances' traffic.
        rngs = iter(service_rng.spawn(2 * len(services)))
        self.services: dict[str, dict[str, ServiceInstance]] = {
            module: {"v1": ServiceInstance(self, module, "v1", s1, next(rngs),
                                           next(fault_streams)),
                     "v2": ServiceInstance(self, module, "v2", s2, next(rngs),
                                           next(fault_streams))}
            for module, (s1, s2) in services.items()
        }
        self.regressions: dict[str, Regression] = {}
        self._leaks: dict[str, float] = {}
        self._heap: list[_Reply] = []
        # Each module's V2 breaker (the router keeps one object per module for the whole run).
        self.breakers: dict[str, CircuitBreaker] = {
            module: router.breaker(module) for module in (POOL, *services)}
        # V2 replies still on the heap, per module: while a module has one, a V1 retry may
        # still land in its V1 mailbox, so its requests cannot be served as one batch.
        self._replies_due: Counter[str] = Counter()
        self._seq = 0
        self.now = 0.0
        self.unserved = 0
        # Inbound sync requests the per-peer limiter let through / refused, per peer id, so
        # the summary can split them by peer class (a configured flooder or the population's
        # profiles). A refusal of a peer that is no configured flooder is an unserved request
        # (:meth:`_rate_limited`).
        self.flood_peers: frozenset[int] = frozenset()
        self.limiter_allowed: dict[int, int] = {}
        self.limiter_refused: dict[int, int] = {}
        self.refused_non_flooding = 0
        # V1 work that submit_inputs routed and deferred (see flush_v1): the V1 pool's
        # transactions with their arrivals, and V1 sync serving's arrivals. Cleared in place
        # (the loop holds their append methods).
        self._v1_txs: list[Transaction] = []
        self._v1_tx_times: list[float] = []
        self._v1_sync_times: list[float] = []

    def flush_v1(self) -> None:
        """Serve the V1 work :meth:`submit_inputs` deferred, exactly as it would have been.

        The stretch loop routes a transaction or an inbound sync request to V1 in order (its
        draw, its breaker call) but only notes it; the V1 pool and V1 sync serving then
        serve the noted inputs in one bulk call each (:meth:`PoolInstance.add_direct_many`,
        :meth:`ServiceInstance.serve_direct_many`: the same outcomes and floats as one
        direct call each). That is exact as long as nothing reads or writes V1's state
        (pool, mailbox, stats, routing counters, sync draws) in between, so every such
        reader calls this first: the V1 retries and handovers (:meth:`_to_v1_pool`,
        :meth:`_to_v1_service`, :meth:`_reply_failed`), the general input paths, the end of
        the stretch, and :meth:`settle` / :meth:`drain` before any coarse read. A V1
        mailbox's batch runner refuses to run with work noted (it would run out of order).
        """
        times = self._v1_tx_times
        if times:
            self.pool_v1.add_direct_many(self._v1_txs, times, False)
            self._v1_txs.clear()
            times.clear()
        times = self._v1_sync_times
        if times:
            self.services[SYNC]["v1"].serve_direct_many(times, False)
            times.clear()

    # -- faults --------------------------------------------------------------------------

    def regression(self, module: str) -> Regression | None:
        """The V2 regression of ``module`` active now, if any.

        Fault processes switch regressions on and off at their times, on a settled node, so
        the state read here is the state at the time of the work being done.
        """
        return self.regressions.get(module)

    def leaked_bytes(self, module: str, now: float) -> float:
        """Bytes leaked so far by ``module``'s V2 instance (finished and active leaks)."""
        total = self._leaks.get(module, 0.0)
        r = self.regressions.get(module)
        if r is not None:
            total += r.leak_bytes_per_s * max(0.0, now - r.start)
        return total

    def start_regression(self, module: str, regression: Regression) -> None:
        """Begin a V2 regression (a fault)."""
        self.regressions[module] = regression

    def end_regression(self, module: str, now: float) -> None:
        """End a V2 regression; leaked memory stays leaked."""
        r = self.regressions.pop(module, None)
        if r is not None:
            self._leaks[module] = self._leaks.get(module, 0.0) + r.leak_bytes_per_s * max(
                0.0, now - r.start)

    # -- internal event heap -------------------------------------------------------------

    def schedule_ok(self, inst: PoolInstance | ServiceInstance, latency: float,
                    origin: float) -> None:
        """Put a V2 call's successful reply within the breaker's timeout on the heap.

        What :meth:`complete_tx` / :meth:`complete_request` schedule for a call that did not
        fail and took ``latency <= timeout`` (its reply at ``origin + latency``), without the
        message, which such a reply never reads (:meth:`run_internal` delivers it).

        **Early delivery.** :meth:`PoolInstance.offer_v2` and :meth:`ServiceInstance.call_v2`
        call this only when they cannot deliver the reply at once themselves. They deliver it
        at once when nothing else can happen before its time: no heap entry due before or at
        it, no waiting V2 pool batch that a flush up to it would run, and no input until
        after it (``next_time``, which their caller guarantees: the next input of its stretch;
        the stretch ends before the next coarse event). Its effects (stats, routing counters,
        the breaker's record at ``origin + latency``) take their times as arguments, so
        applying them then equals applying them at their time; the skipped ``self.now``
        update is overwritten before anything reads it. They apply them as
        :meth:`run_internal` does, calling :func:`~sim.control.router.count_v2_ok` on the
        module's counters and breaker (:meth:`ModuleRouter.v2_ok_targets`) directly.

        Args:
            inst: The V2 instance that ran the call.
            latency: Its latency, seconds (at most the breaker's timeout).
            origin: When the request entered the node, seconds.
        """
        if inst.module != POOL:
            self._replies_due[inst.module] += 1
        self._seq += 1
        heapq.heappush(self._heap, (origin + latency, self._seq, inst, latency, False, origin,
                                    None))

    def run_internal(self, until: float) -> None:
        """Run the node's own pending work up to (excluding) ``until``.

        Args:
            until: Time bound, seconds.
        """
        heap = self._heap
        v2_box = self.pool_v2.mailbox
        breakers = self.breakers
        record_ok = self.router.record_v2_ok
        replies_due = self._replies_due
        while heap and heap[0][0] < until:
            time, _, inst, latency, fail, origin, item = heapq.heappop(heap)
            self.now = time
            if v2_box.waiting_start <= time:  # else flush(time) would do nothing
                v2_box.flush(time)
            # The reply reaches its caller (at origin + min(latency, timeout)).
            module = inst.module
            if module != POOL:
                replies_due[module] -= 1
            if not fail and latency <= breakers[module].config.timeout:
                # The common case, exactly _reply_tx / _reply_request with an ok outcome and
                # no timeout: min(latency, timeout) == latency, no rescue, record() of an ok.
                inst.stats.record(latency)
                record_ok(module, latency, origin)
            else:
                self._reply_failed(inst, latency, fail, item)

    def _reply_failed(self, inst: PoolInstance | ServiceInstance, latency: float, fail: bool,
                      item: TxRequest | PeerRequest | None) -> None:
        """A V2 call's reply that failed or timed out (the ok case is in :meth:`run_internal`)."""
        self.flush_v1()  # it may retry on V1 and records a rescue on V1's counters
        timeout = self.breakers[inst.module].config.timeout
        if isinstance(inst, PoolInstance):
            assert isinstance(item, TxRequest)
            self._reply_tx(inst, item, latency, fail, timeout)
        else:
            assert isinstance(item, PeerRequest)
            self._reply_request(inst, item, latency, fail, timeout)

    def step_to(self, time: float) -> None:
        """Bring the node to ``time`` before handling an input at that time.

        Flushing V2's waiting batch can schedule replies before ``time``; they are run too,
        until nothing earlier than ``time`` is left.
        """
        heap = self._heap
        v2_box = self.pool_v2.mailbox
        while True:
            if heap and heap[0][0] < time:
                self.run_internal(time)
            self.now = time
            if v2_box.waiting_start <= time:  # else flush(time) would do nothing
                v2_box.flush(time)
            if not heap or heap[0][0] >= time:
                return

    def settle(self, until: float) -> None:
        """Finish every piece of work that starts before ``until`` (before a read at it)."""
        self.flush_v1()
        self.step_to(until)
        self.pool_v1.mailbox.flush(until)
        self.run_internal(until)

    def drain(self) -> None:
        """Let every queued message and pending reply finish (the end of a run).

        Nothing new arrives; work already accepted completes, so the ledger can balance.
        """
        self.flush_v1()
        while True:
            self.pool_v2.mailbox.flush(math.inf)
            for versions in self.services.values():
                for inst in versions.values():
                    inst.mailbox.flush(math.inf)
            if not self._heap:
                return
            self.run_internal(math.inf)

    def restart(self, now: float) -> dict[str, int]:
        """The node restarts at ``now``: every in-memory state is lost.

        Both pools lose their contents: V1 and V2 keep them in process memory, persisted
        nowhere (``reference/mana-source-facts.md`` §3.1 "State (L111-125)", §3.2 "State
        (struct)"), so each pool's ledger settles them as ``lost_in_restart``, not as
        evictions. Messages waiting in any mailbox and replies not yet delivered are lost
        (dropped with reason ``restart`` in the node ledger when they carried a transaction).
        Breakers and the router keep their state: they are configuration, re-read at boot.

        Args:
            now: Restart time, seconds.

        Returns:
            What was lost, by kind: ``pool_transactions`` (both pools; also per version as
            ``pool_transactions_v1``/``_v2``), ``queued_transactions``, ``pending_replies``,
            ``queued_requests``.
        """
        self.settle(now)
        lost_by_version: dict[str, int] = {}
        lost_queued = 0
        for inst in (self.pool_v1, self.pool_v2):
            lost_by_version[inst.version] = len(
                inst.pool.evict_all(now, TxState.LOST_IN_RESTART))
            lost_queued += len(inst.mailbox.reset(now))
        lost_pool = sum(lost_by_version.values())
        # A pending reply is a request whose caller never hears back: unserved. One that
        # still owed its transaction a home (a failed V2 call awaiting its V1 retry) also
        # loses the transaction.
        lost_tx_replies = sum(1 for _, _, inst, _, fail, _, _ in self._heap
                              if fail and isinstance(inst, PoolInstance))
        lost_replies = len(self._heap)
        self.ledger.dropped["restart"] += lost_queued + lost_tx_replies
        self._heap.clear()
        self._replies_due.clear()
        lost_requests = 0
        for versions in self.services.values():
            for service in versions.values():
                lost_requests += len(service.mailbox.reset(now))
        self.unserved += lost_queued + lost_replies + lost_requests
        return {"pool_transactions": lost_pool,
                "pool_transactions_v1": lost_by_version["v1"],
                "pool_transactions_v2": lost_by_version["v2"],
                "queued_transactions": lost_queued,
                "pending_replies": lost_replies, "queued_requests": lost_requests}

    def retire_v1(self, now: float, sync: bool) -> dict[str, int]:
        """V1 deprecation: V1's pool hands its pending transactions to V2, then stops.

        Queued V1 work finishes first (the mailbox drains up to ``now``). Each pending V1
        transaction is offered to the V2 pool at ``now`` (one migration batch on V2's
        mailbox); V2 admits or refuses it by its own rules, so every one is accounted for:
        evicted from V1 and entered into V2 (added or rejected with a reason). From then on a
        pool request that reaches V1 fails, and so does a sync-serving one if ``sync``.

        Args:
            now: Deprecation time, seconds.
            sync: Retire V1's sync serving too (only when sync runs fully on V2).

        Returns:
            Counts: migrated, admitted by V2, refused by V2.
        """
        self.settle(now)
        moved = self.pool_v1.pool.evict_all(now)
        v2 = self.pool_v2
        resident = len(v2.pool)
        admitted = sum(1 for tx in moved
                       if v2.pool.offer(tx, now) is None)
        v2.mailbox.serve(now, v2.cost.batch(len(moved), resident))
        self.ledger.migrated += len(moved)
        self.pool_v1.retired = True
        self.services[SYNC]["v1"].retired = sync
        return {"migrated": len(moved), "admitted_by_v2": admitted,
                "refused_by_v2": len(moved) - admitted}

    # -- transactions --------------------------------------------------------------------

    def submit_tx(self, tx: Transaction, peer: int) -> None:
        """A transaction arrives (call in arrival order, after :meth:`step_to`)."""
        self.flush_v1()
        now = tx.arrival
        self.step_to(now)
        self.ledger.arrived += 1
        decision = self.router.decide(POOL, now, tx.sender)
        if decision.refused:
            self.pool_v2.stats.record_refused()
        if decision.version == "v2":
            self.pool_v2.mailbox.offer(now, TxRequest(tx, peer, now, now, None, False))
        elif self.pool_v1.retired:
            self._to_v1_pool(now, TxRequest(tx, peer, now, now, None, decision.emergency))
        else:
            self.pool_v1.add_direct(tx, now, decision.emergency)

    def submit_inputs(self, kinds: list[int], args: list[int], times: list[float],
                      txs: Sequence[Transaction], relays: Sequence[int]) -> None:
        """Handle a stretch of inputs in time order, cheaper than one call each.

        Exactly :meth:`submit_tx` on each transaction and :meth:`submit_request` on each
        request. The loop inlines the common case of both methods: nothing due on the internal
        heap or in V2's waiting batch (then :meth:`step_to` only sets the time), and a routing
        decision that is one draw against the split (:meth:`ModuleRouter.split_rule`). The
        draws are taken from the router's one shared stream in input order, as
        :meth:`~ModuleRouter.decide` takes them. Routing rules are read once per stretch:
        only the rollout changes them, and it runs at coarse events, never inside a stretch
        (a V2 reply run from the heap records outcomes but never reroutes). A request routed
        to V1 is noted and served in bulk by :meth:`flush_v1` (at the latest when the stretch
        ends). A request that falls to a retired V1 is handed over as the general methods do
        (it fails there).
        Every other case (as_written, the emergency path, filter and subscription calls)
        calls the general method. ``tests/test_input_stretch.py`` checks it against them.

        Args:
            kinds: Per input, ``KIND_TX`` or a request kind (``sim.inputs``).
            args: Per input, the index into ``txs`` or the caller id.
            times: Per input, its time, seconds (a transaction's is its ``arrival``).
            txs: The chunk's transactions.
            relays: Per transaction (by index), the relaying peer id.
        """
        router = self.router
        heap = self._heap
        v2_box = self.pool_v2.mailbox
        step_to = self.step_to
        v1 = self.pool_v1
        pool_rule = router.split_rule(POOL)
        sync_v1 = self.services[SYNC]["v1"]
        sync_rule = router.split_rule(SYNC)
        # A retired V1 (deprecation) takes no direct path: what the split or an open breaker
        # still sends it fails there, as submit_tx / submit_request hand it over.
        v1_retired = v1.retired
        sync_retired = sync_v1.retired
        # The rules' (draws, split) as plain locals (read only when the rule is not None).
        pool_draws, pool_split = pool_rule or (False, 0)
        sync_draws, sync_split = sync_rule or (False, 0)
        draw = router.next_draw
        # Routed to V1: noted in order, served in bulk by flush_v1 (the V1 pool's
        # add_direct_many, V1 sync serving's serve_direct_many) before anything else touches
        # V1, at the latest at the end of the stretch.
        v1_txs_append = self._v1_txs.append
        v1_times_append = self._v1_tx_times.append
        sync_times_append = self._v1_sync_times.append
        allow = self.peer_limiter.allow
        allowed_by = self.limiter_allowed
        allowed_get = allowed_by.get
        pool_breaker = router.breaker(POOL)
        sync_breaker = router.breaker(SYNC)
        # Routed to V2: the mailboxes' direct paths (PoolInstance.offer_v2,
        # ServiceInstance.call_v2), equal to offering the message.
        v2_offer = self.pool_v2.offer_v2
        sync_v2_call = self.services[SYNC]["v2"].call_v2
        rules_mark = (router.rule_changes, v1.retired, sync_v1.retired)
        # Each input's successor's time (-inf for the last: the next one is not known).
        nexts = times[1:]
        if times:
            nexts.append(-math.inf)
        if v1.mailbox.batch_size != 1 or sync_v1.mailbox.batch_size != 1:
            raise RuntimeError("V1's direct paths need mailboxes that serve one at a time")
        # The node ledger's arrivals are added once, after the loop: an integer sum does not
        # depend on order, and nothing reads it inside a stretch.
        n_tx = 0
        for kind, arg, t, t_next in zip(kinds, args, times, nexts, strict=True):
            if kind == KIND_TX:
                if pool_rule is None:
                    self.submit_tx(txs[arg], relays[arg])
                    continue
                if (heap and heap[0][0] < t) or v2_box.waiting_start <= t:
                    step_to(t)
                n_tx += 1  # ledger.arrived
                tx = txs[arg]
                if pool_draws and pool_split >= draw():
                    if pool_breaker.allow(t):
                        v2_offer(tx, relays[arg], t, t_next)
                        continue
                    self.pool_v2.stats.record_refused()
                if v1_retired:
                    self._to_v1_pool(t, TxRequest(tx, relays[arg], t, t, None, False))
                    continue
                # add_direct(tx, t, False), deferred (flush_v1).
                v1_txs_append(tx)
                v1_times_append(t)
                continue
            if kind != KIND_SYNC or sync_rule is None:
                self.submit_request(REQUEST_MODULES[kind], arg, t)
                continue
            if (heap and heap[0][0] < t) or v2_box.waiting_start <= t:
                step_to(t)
            if not allow(arg, t):
                self._rate_limited(arg, t)
                continue
            allowed_by[arg] = allowed_get(arg, 0) + 1
            if sync_draws and sync_split >= draw():
                if sync_breaker.allow(t):
                    sync_v2_call(t, arg, t_next)
                    continue
                self.services[SYNC]["v2"].stats.record_refused()
            if sync_retired:
                self._to_v1_service(t, PeerRequest(SYNC, arg, t, t, None, False))
                continue
            # serve_direct(t, False) of V1 sync serving, deferred (flush_v1).
            sync_times_append(t)
        self.flush_v1()
        self.ledger.arrived += n_tx
        if (router.rule_changes, v1.retired, sync_v1.retired) != rules_mark:
            # The loop read the routing rules once; only coarse events may change them.
            raise RuntimeError("routing rules changed inside a stretch of inputs")
        if times:
            self.now = times[-1]

    def _to_v1_pool(self, at: float, request: TxRequest) -> None:
        self.flush_v1()
        if not self.pool_v1.retired:
            self.pool_v1.mailbox.offer(at, request)
            return
        # V1 is deprecated: a request that still lands on V1 (breaker open, a rescue) fails.
        self.ledger.dropped["v1_retired"] += 1
        self.unserved += 1
        failed = CallOutcome("error", 0.0)
        if request.rescue_of is None:
            self.router.record(POOL, "v1", failed, request.origin,
                               emergency=request.emergency)
        else:
            self.router.record(POOL, "v2", request.rescue_of, request.origin, rescue=failed)

    def complete_tx(self, inst: PoolInstance, item: TxRequest, finish: float, fail: bool) -> None:
        """Called by a pool instance when a message's processing is done (or failed)."""
        latency = finish - item.arrival
        if inst.version == "v1":
            # V1 has no fault model: it always replies.
            inst.stats.record(latency)
            if item.rescue_of is None:
                self.router.record_v1(POOL, True, latency, item.emergency)
            else:
                self.router.record(POOL, "v2", item.rescue_of, item.origin,
                                   rescue=CallOutcome("ok", latency))
            return
        timeout = self.router.breaker(POOL).config.timeout
        # Only a failed reply still owes the transaction a home (the V1 retry); a successful
        # or timed-out V2 call has already stored it.
        self._seq += 1
        heapq.heappush(self._heap, (item.origin + min(latency, timeout), self._seq, inst,
                                    latency, fail, item.origin, item))

    def _reply_tx(self, inst: PoolInstance, item: TxRequest, latency: float, fail: bool,
                  timeout: float) -> None:
        """A V2 pool reply that failed or timed out (the ok case is in :meth:`run_internal`)."""
        outcome = CallOutcome("error" if fail else "ok", latency)
        timed_out = not fail and latency > timeout
        inst.stats.record(min(latency, timeout), ok=not fail, timed_out=timed_out)
        if self.router.needs_rescue(POOL, "v2", outcome):
            if timed_out:
                self.ledger.double_executions += 1
            retry_at = item.origin + min(latency, timeout)
            self.events.emit(retry_at, "fallback", module=POOL,
                             cause="timeout" if timed_out else "error")
            self._to_v1_pool(
                retry_at, TxRequest(item.tx, item.peer, item.origin, retry_at, outcome))
        else:
            if fail:
                # as_written: the error reply reaches the caller; nobody stores the tx.
                self.ledger.dropped["v2_error"] += 1
                self.unserved += 1
            self.router.record(POOL, "v2", outcome, item.origin)

    # -- peer requests, filter and subscription calls -------------------------------------

    def submit_request(self, module: str, caller: int, now: float) -> None:
        """A generic request arrives (call in time order)."""
        self.flush_v1()
        self.step_to(now)
        if module == SYNC:
            if not self.peer_limiter.allow(caller, now):
                self._rate_limited(caller, now)
                return
            self.limiter_allowed[caller] = self.limiter_allowed.get(caller, 0) + 1
        decision = self.router.decide(module, now, caller)
        versions = self.services[module]
        if decision.refused:
            versions["v2"].stats.record_refused()
        if decision.version == "v2":
            versions["v2"].mailbox.offer(now, PeerRequest(module, caller, now, now, None, False))
        elif versions["v1"].retired:
            self._to_v1_service(now, PeerRequest(module, caller, now, now, None,
                                                 decision.emergency))
        else:
            versions["v1"].serve_direct(now, decision.emergency)

    def _rate_limited(self, caller: int, now: float) -> None:
        """The per-peer limiter refused an inbound sync request from ``caller``.

        Counted per peer (and exactly by the limiter); the event log stores the first records
        only, so memory stays bounded under a flood. A peer that is no configured flooder
        was refused service: an unserved request (the guide's "Zero Downtime: no service
        interruptions", L742), as a failed call with no rescue is. A flooder's excess is
        what the limiter is for (guide L716-737), not an outage.
        """
        self.limiter_refused[caller] = self.limiter_refused.get(caller, 0) + 1
        if caller not in self.flood_peers:
            self.refused_non_flooding += 1
            self.unserved += 1
        self.events.emit(now, "rate_limited", peer=caller)

    def _to_v1_service(self, at: float, request: PeerRequest) -> None:
        self.flush_v1()
        inst = self.services[request.module]["v1"]
        if not inst.retired:
            inst.mailbox.offer(at, request)
            return
        # V1 is deprecated: a request that still lands on V1 (breaker open, a rescue) fails.
        self.unserved += 1
        failed = CallOutcome("error", 0.0)
        if request.rescue_of is None:
            self.router.record(request.module, "v1", failed, request.origin,
                               emergency=request.emergency)
        else:
            self.router.record(request.module, "v2", request.rescue_of, request.origin,
                               rescue=failed)

    def submit_requests(self, module: str, times: list[float]) -> bool:
        """Serve a batch of a module's generic requests at once, if that changes nothing.

        Offered by the input feeder before it feeds a stretch of inputs one by one. The batch
        is taken (True) only when every request would go to V1 without a draw or a breaker
        call (:meth:`ModuleRouter.fixed_v1`) and no V2 reply of the module is pending: then
        nothing else in the stretch touches the module's V1 mailbox, stats, draws or routing
        counters, so serving its requests first, in their own order, gives exactly the
        results of interleaving them with the other inputs. Inbound sync requests always go
        one by one (the per-peer limiter and its log are shared and ordered).

        Args:
            module: Module type.
            times: Request times, non-decreasing, seconds (callers do not matter on V1).

        Returns:
            True if the requests were served; False if the caller must feed them one by one.
        """
        self.flush_v1()
        if module == SYNC or self._replies_due[module] or self.services[module]["v1"].retired:
            return False
        decision = self.router.fixed_v1(module)
        if decision is None:
            return False
        self.services[module]["v1"].serve_direct_many(times, decision.emergency)
        return True

    def complete_request(self, inst: ServiceInstance, item: PeerRequest, finish: float,
                         fail: bool) -> None:
        """Called by a service instance when a request is done (or failed)."""
        latency = finish - item.arrival
        module = item.module
        if inst.version == "v1":
            inst.stats.record(latency, ok=not fail)
            if item.rescue_of is None:
                self.router.record_v1(module, not fail, latency, item.emergency)
            else:
                self.router.record(module, "v2", item.rescue_of, item.origin,
                                   rescue=CallOutcome("error" if fail else "ok", latency))
            if fail:
                self.unserved += 1
            return
        timeout = self.router.breaker(module).config.timeout
        self._replies_due[module] += 1
        self._seq += 1
        heapq.heappush(self._heap, (item.origin + min(latency, timeout), self._seq, inst,
                                    latency, fail, item.origin, item))

    def _reply_request(self, inst: ServiceInstance, item: PeerRequest, latency: float,
                       fail: bool, timeout: float) -> None:
        """A V2 request reply that failed or timed out (the ok case is in :meth:`run_internal`)."""
        module = item.module
        outcome = CallOutcome("error" if fail else "ok", latency)
        spent = min(latency, timeout)
        timed_out = not fail and latency > timeout
        inst.stats.record(spent, ok=not fail, timed_out=timed_out)
        if self.router.needs_rescue(module, "v2", outcome):
            retry_at = item.origin + spent
            self.events.emit(retry_at, "fallback", module=module,
                             cause="timeout" if timed_out else "error")
            self._to_v1_service(
                retry_at, PeerRequest(module, item.caller, item.origin, retry_at, outcome))
        else:
            self.unserved += int(fail)
            self.router.record(module, "v2", outcome, item.origin)

    # -- blocks and cleanup --------------------------------------------------------------

    def build_block(self, now: float, gas_limit: int,
                    merge: Callable[[Sequence[Sequence[Transaction]], int], list[Transaction]],
                    ) -> list[Transaction]:
        """Take a block from both pools at ``now`` (a message to each pool's mailbox)."""
        self.settle(now)
        v1, v2 = self.pool_v1, self.pool_v2
        block, whole = pools_block(v1.pool, v2.pool, gas_limit, merge)
        # A block of every resident of both pools (the common case) removes each pool whole,
        # which is what remove_included of its hashes does then (PoolBase.remove_all_included).
        hashes = [] if whole else [tx.tx_hash for tx in block]
        for inst in (v1, v2):
            resident = len(inst.pool)
            taken = (inst.pool.remove_all_included(now) if whole
                     else inst.pool.remove_included(hashes, now))
            inst.included += taken
            inst.mailbox.serve(now, inst.cost.take(taken, resident))
        return block

    def cleanup(self, inst: PoolInstance, now: float) -> int:
        """One age cleanup of a pool (a message to its mailbox); returns how many expired."""
        self.settle(now)
        resident = len(inst.pool)
        expired = inst.pool.expire(now)
        inst.mailbox.serve(now, inst.cost.cleanup(resident, len(expired)))
        return len(expired)

    # -- metrics -------------------------------------------------------------------------

    def pool_metric_values(self, inst: PoolInstance, now: float, interval: float
                           ) -> tuple[float, ...]:
        """The guide's pool metrics of one instance over the last interval (closes it).

        The values alone, in the order of :data:`POOL_METRIC_NAMES` (V1) or
        :data:`POOL_V2_METRIC_NAMES` (V2; adds ``circuit_breaker_state``), so a sample builds
        no dict per instance.
        """
        requests, errors, timeouts, refused, avg_ms, p95_ms, p99_ms = inst.stats.roll_figures()
        busy = inst.mailbox.busy_time - inst.busy_mark
        inst.busy_mark = inst.mailbox.busy_time
        # The two counters of pool.stats() (PoolBase._base_stats: the ledger's entered and
        # rejected), read without building the whole stats dict; cumulative, as the guide's
        # V2Metrics counters, and their deltas over the interval (what a window sums).
        ledger = inst.pool.ledger
        entered, rejected, dropped = ledger.entered, ledger.rejected, inst.input_drops
        entered_mark, rejected_mark, dropped_mark = inst.ledger_marks
        inst.ledger_marks = (entered, rejected, dropped)
        # Submissions this version refused in the interval: its pool's rejections and V2's
        # input-validation drops. Each is an ok reply but no throughput (R4-D2).
        refusals = (rejected - rejected_mark) + (dropped - dropped_mark)
        # Calls refused by V2's open breaker are failed attempts of V2 (see RouteDecision):
        # in its error rate, but not in its requests (a refused call never reached V2; V1
        # serves it and counts it), as in the summary's figures (RequestStats.totals).
        attempts = requests + refused
        failed = errors + refused
        out = (
            # Transactions admitted (added or replaced) with an ok reply, per second: the ok
            # replies less the refusals (a failed call never reaches the pool; a refused call
            # whose reply also timed out is subtracted too, which needs a 60-s backlog).
            max(0.0, requests - errors - refusals) / interval,
            avg_ms,
            p95_ms,
            p99_ms,
            inst.memory_bytes(now) / MIB,
            min(100.0, 100.0 * busy / interval),
            float(len(inst.pool)),
            float(inst.mailbox.in_system(now)),
            float(entered),
            float(rejected),
            100.0 * failed / attempts if attempts else math.nan,
            timeouts,  # in the interval, like errors (a window sums them)
            requests,
            errors,
            refused,
            float(entered - entered_mark),
            float(rejected - rejected_mark),
            float(dropped - dropped_mark),
        )
        if inst.version == "v2":
            # Of the interval's rejections, those by V2's per-sender cap (DoS policy, not a
            # failed transaction: sim.rollout.snapshot.failed_transactions_percent).
            limited = ledger.rejected_by_reason.get(V2_SENDER_LIMIT, 0)
            limited_mark, inst.sender_limited_mark = inst.sender_limited_mark, limited
            return (*out, _STATE_CODE[self.router.breaker(POOL).state_at(now).value],
                    float(limited - limited_mark))
        return out

    def service_metric_values(self, inst: ServiceInstance, now: float, interval: float
                              ) -> tuple[float, ...]:
        """Request metrics of a service instance over the last interval (closes it).

        The values alone, in the order of :data:`SERVICE_METRIC_NAMES` (V1) or
        :data:`SERVICE_V2_METRIC_NAMES` (V2; adds ``memory_usage_mb``).
        """
        requests, errors, _, refused, avg_ms, p95_ms, _ = inst.stats.roll_figures()
        busy = inst.mailbox.busy_time - inst.busy_mark
        inst.busy_mark = inst.mailbox.busy_time
        attempts = requests + refused
        failed = errors + refused
        out = (
            requests / interval,
            avg_ms,
            p95_ms,
            min(100.0, 100.0 * busy / interval),
            100.0 * failed / attempts if attempts else math.nan,
            float(inst.mailbox.in_system(now)),
            requests,
            refused,
        )
        if inst.version == "v2":
            return (*out, self.leaked_bytes(inst.module, now) / MIB)
        return out


POOL_METRIC_NAMES = ("throughput_tps", "avg_latency_ms", "p95_latency_ms", "p99_latency_ms",
                     "memory_usage_mb", "cpu_usage_percent", "pool_size",
                     "pending_transactions", "processed_transactions", "rejected_transactions",
                     "error_rate_percent", "timeout_count", "requests", "errors",
                     "refused_by_breaker", "processed_transactions_in_interval",
                     "rejected_transactions_in_interval", "input_dropped_transactions")
"""The names of :meth:`Node.pool_metric_values` of a V1 pool, in order.

docs/timeseries.md documents each column (unit, per interval or cumulative or gauge).
``throughput_tps`` (the guide's ``V2Metrics`` name, L446-469) counts the interval's
transactions ADMITTED to the version's pool (added or replaced) with an ok reply, per second:
ok replies (failed and timed-out calls excluded) less the interval's refusals, which are ok
replies too (the pool's rejections and V2's input-validation drops).

``requests``, ``errors`` and ``timeout_count`` are the calls the version's pool process
completed in the interval (ok, failed or timed out), those that failed and those that timed
out; ``refused_by_breaker`` the calls V2's open breaker refused (sent to V1, which counts
them in ITS ``requests``; always 0 for V1). They are the per-interval parts of the summary's
``requests``, ``errors``, ``timeouts`` and ``refused_by_breaker`` (their sums over the rows
plus the drain after the last sample), so V1's and V2's ``requests`` add up to the pool
calls, each counted once. A call is recorded when its reply is due, at most the breaker's
timeout after it was routed (guide L119: 60 s for the pool); a refusal when it is refused.
``error_rate_percent`` is ``(errors + refused_by_breaker) / (requests +
refused_by_breaker)``: a refusal is a failed attempt of V2, as in the summary.

``processed_transactions`` and ``rejected_transactions`` are the pool ledger's cumulative
counters (``entered``: every submission the pool handled, rejections included; ``rejected``);
the ``*_in_interval`` columns are their increase since the previous sample.
``input_dropped_transactions``: transactions V2's input validation dropped in the interval
(``validate_transaction_input``, before V2's pool; always 0 for V1, whose invalid
transactions its pool rejects)."""
POOL_V2_METRIC_NAMES = (*POOL_METRIC_NAMES, "circuit_breaker_state",
                        "sender_limited_transactions")
"""The names of :meth:`Node.pool_metric_values` of a V2 pool, in order.

``sender_limited_transactions``: of the interval's ``rejected_transactions_in_interval``,
those V2's pool refused by its per-sender cap (``pool.v2.max_per_sender``, reason
``sender_limit``); V1 has no such cap."""
SERVICE_METRIC_NAMES = ("throughput_rps", "avg_latency_ms", "p95_latency_ms",
                        "cpu_usage_percent", "error_rate_percent", "queue_size", "requests",
                        "refused_by_breaker")
"""The names of :meth:`Node.service_metric_values` of a V1 service, in order.

``requests`` are the calls the version's service completed in the interval (as the pool's,
breaker refusals apart in ``refused_by_breaker``); ``throughput_rps`` is ``requests`` per
second."""
SERVICE_V2_METRIC_NAMES = (*SERVICE_METRIC_NAMES, "memory_usage_mb")
"""The names of :meth:`Node.service_metric_values` of a V2 service, in order."""

_STATE_CODE = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
"""``circuit_breaker_state`` as a number in the time series."""

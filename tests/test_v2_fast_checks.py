"""The V2 transaction path's one-expression checks give exactly the ordered checks' results.

``sim.control.validation.static_reason`` and ``TxPoolV2.offer`` test the conjunction of every
rule's passing condition first and fall back to the ordered rules only on a failure; these
tests pin both against a plain ordered reference on transactions at and around every bound.
``PoolInstance.offer_v2``'s unrolled ``validate_transaction_input`` (one test on the static
and the pool's bounds merged, then ``TxPoolV2.admit``) is pinned here against the mailbox's
message path, and by the model-level comparisons in ``tests/test_v2_path.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pool.config import PoolV2Config
from pool.cost_model import CostModel
from pool.transaction import GWEI, Transaction
from pool.tx_pool_v1 import TxPoolV1
from pool.tx_pool_v2 import _V2_PIPELINE, MAX_NONCE, TxPoolV2
from pool.validation import first_violation
from sim.control import (
    BreakerConfig,
    CallOutcome,
    GenericService,
    InputLimits,
    ModuleRouter,
    PeerRateLimiter,
)
from sim.control.validation import static_reason
from sim.events import EventLog
from sim.node import Node, TxRequest


def _ref_static_reason(tx: Transaction, limits: InputLimits) -> str | None:
    """The ordered checks as the guide's ``with`` chain runs them (the pre-fast-path code)."""
    checks = [
        (tx.size <= 0, "empty_transaction"),
        (tx.size > limits.max_size, "transaction_too_large"),
        (tx.rlp_fields != 9, "invalid_rlp_structure"),
        (tx.nonce < 0, "invalid_nonce"),
        (tx.gas_price < limits.min_gas_price, "gas_price_too_low"),
        (tx.gas_limit < limits.min_gas_limit, "gas_limit_too_low"),
        (tx.gas_limit > limits.max_gas_limit, "gas_limit_too_high"),
        (tx.value < 0, "invalid_value"),
        (tx.data_len < 0, "invalid_data"),
        (tx.gas_limit < tx.intrinsic_gas, "insufficient_gas_limit"),
        (tx.v <= 0 or tx.r <= 0 or tx.s <= 0 or not tx.signature_valid, "invalid_signature"),
    ]
    return next((reason for failed, reason in checks if failed), None)


def _around(*points: int) -> st.SearchStrategy[int]:
    """Integers at, just below and just above each bound."""
    return st.sampled_from(sorted({p + d for p in points for d in (-1, 0, 1)}))


# Mostly-valid transactions with each field drawn at its bounds, so every rule fails alone,
# several fail together, and all pass, in a few hundred examples.
transactions = st.builds(
    Transaction.create,
    sender=st.integers(0, 3),
    nonce=_around(0, 5, MAX_NONCE),
    gas_price=_around(GWEI, 2 * GWEI),
    gas_limit=_around(21_000, 22_600, 8_000_000),
    size=_around(0, 110, 131_072),
    value=_around(0),
    data_len=_around(0, 100),
    rlp_fields=_around(9),
    v=_around(0, 27),
    r=_around(0),
    s=_around(0),
    signature_valid=st.booleans(),
)


@given(transactions, st.sampled_from([InputLimits(), InputLimits(min_gas_price=0,
                                                                 max_size=110)]))
def test_static_reason_equals_ordered_checks(tx: Transaction, limits: InputLimits) -> None:
    assert static_reason(tx, limits) == _ref_static_reason(tx, limits)


@given(st.lists(transactions, max_size=30))
def test_pool_v2_offer_rejects_exactly_first_violation(txs: list[Transaction]) -> None:
    cfg = PoolV2Config()
    pool = TxPoolV2(cfg)
    limits = (cfg.min_gas_price, cfg.min_gas_limit, cfg.max_gas_limit,
              cfg.max_transaction_size, True, MAX_NONCE)
    for i, tx in enumerate(txs):
        expected = first_violation(tx, _V2_PIPELINE, *limits)
        reason = pool.offer(tx, float(i))
        if expected is not None:
            assert reason == expected
        else:
            # A valid transaction passes validation; only the stateful rules may refuse it.
            assert reason in (None, "already_known", "replacement_underpriced", "sender_limit",
                              "underpriced")


@given(st.lists(st.tuples(st.floats(0.0, 60.0), st.floats(0.0, 40.0),
                          st.sampled_from(["ok", "error", "exception"])), max_size=60))
def test_record_v2_ok_closed_fast_path_equals_record_success(
        calls: list[tuple[float, float, str]]) -> None:
    # A low threshold and a short reset drive the breaker through closed, open and half-open,
    # and ok replies land in each; record_v2_ok must match the general record in every state.
    cfg = BreakerConfig(failure_threshold=2, success_threshold=2, timeout=30.0,
                        reset_timeout=50.0)

    def router() -> ModuleRouter:
        return ModuleRouter(np.random.default_rng(0), versions={"sync_service": "v2"},
                            splits={"sync_service": 100}, breaker_configs={"sync_service": cfg})

    ref, fast = router(), router()
    timeout = ref.breaker("sync_service").config.timeout
    now = 0.0
    for dt, latency, kind in calls:
        now += dt
        if not ref.breaker("sync_service").allow(now):
            assert not fast.breaker("sync_service").allow(now)
            continue
        assert fast.breaker("sync_service").allow(now)
        if kind == "ok" and latency <= timeout:
            ref.record("sync_service", "v2", CallOutcome("ok", latency), now)
            fast.record_v2_ok("sync_service", latency, now)
            continue
        outcome = None if kind == "exception" else CallOutcome("error", latency)
        for r in (ref, fast):
            r.record("sync_service", "v2", outcome, now, rescue=CallOutcome("ok", 0.001))
    a, b = ref.breaker("sync_service"), fast.breaker("sync_service")
    assert ref.routing_stats(now) == fast.routing_stats(now)
    assert a.transitions == b.transitions
    assert (a.state, a.total_calls, a.total_successes, a.total_failures,
            a.consecutive_failures, a.consecutive_successes) == (
        b.state, b.total_calls, b.total_successes, b.total_failures, b.consecutive_failures,
        b.consecutive_successes)


# Input limits that differ from the V2 pool's bounds in both directions, so offer_v2's merged
# bounds (the tighter of each) are exercised on both sides.
_NODE_LIMITS = [InputLimits(), InputLimits(min_gas_price=0, max_size=110),
                InputLimits(min_gas_price=2 * GWEI, min_gas_limit=22_600, max_gas_limit=9_000_000)]
_POOL_CONFIGS = [PoolV2Config(), PoolV2Config(max_transaction_size=131_071, min_gas_limit=21_001,
                                              max_gas_limit=7_999_999, min_gas_price=GWEI + 1)]


def _mostly(valid: int, *points: int) -> st.SearchStrategy[int]:
    """``valid`` four times in five, else a value at or around one of the bounds."""
    return st.one_of(*[st.just(valid)] * 4, _around(*points))


# Transactions with each field usually valid and sometimes at a bound (of the node's limits
# or of the pool's), so most pass every check, and the rest fail one or two.
_mostly_valid = st.builds(
    Transaction.create,
    sender=st.integers(0, 3),
    nonce=_mostly(1, 0, MAX_NONCE),
    gas_price=_mostly(3 * GWEI, GWEI, 2 * GWEI),
    gas_limit=_mostly(30_000, 21_000, 22_600, 8_000_000),
    size=_mostly(100, 0, 110, 131_071),
    value=_mostly(0, 0),
    data_len=_mostly(0, 0, 100),
    rlp_fields=_mostly(9, 9),
    v=_mostly(27, 0),
    r=_mostly(1, 0),
    s=_mostly(1, 0),
    signature_valid=st.sampled_from([True, True, True, False]),
)


def _node(limits: InputLimits, cfg: PoolV2Config, sender_limit: int = 2,
          peer_limit: int = 3) -> Node:
    router = ModuleRouter(np.random.default_rng(0), versions={"transaction_pool": "v2"},
                          splits={"transaction_pool": 100})
    cost_v1, cost_v2 = CostModel.v1(), CostModel.v2(cfg.batch_processing_size)
    rng = np.random.default_rng(1)
    # Tight rate limits by default (2 per sender, 3 per peer and minute): both refuse too.
    return Node(router, ((TxPoolV1(cost=cost_v1), cost_v1), (TxPoolV2(cfg, cost_v2), cost_v2)),
                {"sync_service": (GenericService(), GenericService())}, limits, sender_limit,
                peer_limit, PeerRateLimiter(100), EventLog(), rng, rng)


def _state(node: Node) -> tuple[object, ...]:
    node.drain()
    inst = node.pool_v2
    pool = inst.pool
    assert isinstance(pool, TxPoolV2)
    box = inst.mailbox
    return (sorted(node.ledger.dropped.items()), pool.stats(), pool.best(10**12),
            sorted(pool._age_heap),
            [(lim.allowed, lim.refused, lim.expired, lim.evicted, list(lim._table.items()))
             for lim in (node.sender_limiter, node.tx_peer_limiter)],
            (box.busy_until, box.busy_time, box.served, box.batches),
            inst.stats.roll_figures(), node.router.routing_stats(node.now))


@given(st.lists(st.tuples(_mostly_valid, st.integers(0, 2),
                          st.sampled_from([0.0, 1e-9, 0.5, 0.5, 30.0])), max_size=30),
       st.sampled_from(_NODE_LIMITS), st.sampled_from(_POOL_CONFIGS))
def test_offer_v2_merged_validity_equals_mailbox_offer(
        items: list[tuple[Transaction, int, float]], limits: InputLimits,
        cfg: PoolV2Config) -> None:
    """offer_v2 (one test on the merged bounds, then TxPoolV2.admit) against the message path
    (validate_transaction_input then TxPoolV2.offer in PoolInstance._run_batch)."""
    fast, ref = _node(limits, cfg), _node(limits, cfg)
    now = 0.0
    for tx, peer, dt in items:
        now += dt  # 0 and 1 ns gaps reach a busy server (offer_v2's mailbox branch) too
        fast.step_to(now)
        fast.pool_v2.offer_v2(tx, peer, now)
        ref.step_to(now)
        ref.pool_v2.mailbox.offer(now, TxRequest(tx, peer, now, now, None, False))
    assert _state(fast) == _state(ref)


_VALID = {"nonce": 1, "gas_price": 3 * GWEI, "gas_limit": 30_000, "size": 100, "value": 0,
          "data_len": 0, "rlp_fields": 9, "v": 27, "r": 1, "s": 1, "signature_valid": True}
_BOUNDS = {"nonce": (0, MAX_NONCE), "gas_price": (GWEI, 2 * GWEI),
           "gas_limit": (21_000, 21_001, 22_600, 7_999_999, 8_000_000, 9_000_000),
           "size": (0, 110, 131_071, 131_072), "value": (0,), "data_len": (0, 100, 1_000),
           "rlp_fields": (9,), "v": (0,), "r": (0,), "s": (0,)}


@pytest.mark.parametrize("limits", _NODE_LIMITS)
@pytest.mark.parametrize("cfg", _POOL_CONFIGS)
def test_offer_v2_merged_validity_at_every_bound(limits: InputLimits, cfg: PoolV2Config) -> None:
    """Every field of a valid transaction at, below and above each bound of both checks,
    one field at a time: offer_v2 refuses or admits each exactly as the message path."""
    fields: list[dict[str, object]] = [_VALID, {**_VALID, "signature_valid": False}]
    fields.extend({**_VALID, field: value} for field, points in _BOUNDS.items()
                  for value in sorted({p + d for p in points for d in (-1, 0, 1)}))
    # One sender each: no per-sender cap or replacement in the way.
    txs = [Transaction.create(sender=i, **f) for i, f in enumerate(fields)]  # type: ignore[arg-type]
    fast = _node(limits, cfg, 10**6, 10**6)
    ref = _node(limits, cfg, 10**6, 10**6)
    for i, tx in enumerate(txs):
        now = 0.5 * i  # a free server each time: offer_v2's direct branch
        fast.step_to(now)
        fast.pool_v2.offer_v2(tx, i % 3, now)
        ref.step_to(now)
        ref.pool_v2.mailbox.offer(now, TxRequest(tx, i % 3, now, now, None, False))
    fast_state, ref_state = _state(fast), _state(ref)
    assert fast_state == ref_state
    assert fast.pool_v2.mailbox.batches == len(txs)  # every one took the direct branch

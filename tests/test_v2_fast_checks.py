"""The V2 transaction path's one-expression checks give exactly the ordered checks' results.

``sim.control.validation.static_reason`` and ``TxPoolV2.offer`` test the conjunction of every
rule's passing condition first and fall back to the ordered rules only on a failure; these
tests pin both against a plain ordered reference on transactions at and around every bound.
``PoolInstance.offer_v2``'s unrolled ``validate_transaction_input`` is pinned by the
model-level comparisons in ``tests/test_v2_path.py``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pool.config import PoolV2Config
from pool.transaction import GWEI, Transaction
from pool.tx_pool_v2 import _V2_PIPELINE, MAX_NONCE, TxPoolV2
from pool.validation import first_violation
from sim.control import BreakerConfig, CallOutcome, InputLimits, ModuleRouter
from sim.control.validation import static_reason


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

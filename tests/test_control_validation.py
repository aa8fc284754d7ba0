"""validate_transaction_input: each check, its order, and the rate-limit side effects."""

from __future__ import annotations

import pytest

from pool.transaction import GWEI, Transaction
from sim.control import VALIDATION_REASONS, InputLimits, PeerRateLimiter, validate_transaction_input


def tx(**kw: object) -> Transaction:
    base: dict[str, object] = {"sender": 1, "nonce": 0, "gas_price": 2 * GWEI}
    base.update(kw)
    return Transaction.create(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"size": 0}, "empty_transaction"),
        ({"size": 131_073}, "transaction_too_large"),
        ({"rlp_fields": 8}, "invalid_rlp_structure"),
        ({"nonce": -1}, "invalid_nonce"),
        ({"gas_price": GWEI - 1}, "gas_price_too_low"),
        ({"gas_limit": 20_999}, "gas_limit_too_low"),
        ({"gas_limit": 8_000_001}, "gas_limit_too_high"),
        ({"value": -1}, "invalid_value"),
        ({"data_len": -1}, "invalid_data"),
        ({"data_len": 100}, "insufficient_gas_limit"),  # needs 21_000 + 1_600
        ({"r": 0}, "invalid_signature"),
        ({"signature_valid": False}, "invalid_signature"),
    ],
)
def test_each_static_failure_has_its_reason(fields: dict[str, object], reason: str) -> None:
    assert validate_transaction_input(tx(**fields), 0.0) == reason
    assert reason in VALIDATION_REASONS


def test_valid_transaction_and_boundaries_pass() -> None:
    assert validate_transaction_input(tx(), 0.0) is None
    edge = tx(size=131_072, gas_limit=8_000_000, gas_price=GWEI)
    assert validate_transaction_input(edge, 0.0) is None
    assert validate_transaction_input(tx(data_len=100, gas_limit=22_600), 0.0) is None
    relaxed = InputLimits(min_gas_price=0)
    assert validate_transaction_input(tx(gas_price=0), 0.0, limits=relaxed) is None


def test_order_is_size_format_signature_rate_limit() -> None:
    senders = PeerRateLimiter(1)
    senders.allow(1, 0.0)  # sender 1 has used its quota
    bad_everything = tx(size=200_000, rlp_fields=5, signature_valid=False)
    assert validate_transaction_input(bad_everything, 0.0, sender_limiter=senders) == (
        "transaction_too_large")
    assert validate_transaction_input(tx(rlp_fields=5, signature_valid=False), 0.0,
                                      sender_limiter=senders) == "invalid_rlp_structure"
    assert validate_transaction_input(tx(signature_valid=False), 0.0,
                                      sender_limiter=senders) == "invalid_signature"
    assert validate_transaction_input(tx(), 0.0, sender_limiter=senders) == "sender_rate_limited"


def test_invalid_input_consumes_no_quota_and_peer_limit_is_separate() -> None:
    senders, peers = PeerRateLimiter(2), PeerRateLimiter(3)
    for _ in range(10):
        assert validate_transaction_input(tx(signature_valid=False), 0.0, sender_limiter=senders,
                                          peer_limiter=peers, peer_id="p") == "invalid_signature"
    assert senders.allowed == peers.allowed == 0
    results = [validate_transaction_input(tx(sender=s), 1.0, sender_limiter=senders,
                                          peer_limiter=peers, peer_id="p")
               for s in (1, 1, 1, 2, 3)]
    assert results == [None, None, "sender_rate_limited", None, "peer_rate_limited"]
    # The peer check is skipped without a peer id.
    assert validate_transaction_input(tx(sender=4), 1.0, sender_limiter=senders,
                                      peer_limiter=peers) is None

"""Input validation for the V2 pool path: the guide's ``validate_transaction_input``.

The guide's ``Mana.Security.V2Hardening.validate_transaction_input/1`` (guide L703-714) runs
``validate_size``, ``validate_format``, ``validate_signature``, ``validate_rate_limit`` in that
order in a ``with`` chain and returns the first error. All four helpers are undefined
(``reference/mana-source-facts.md`` §7 item 10), so mana-sim fills them in:

1. **size**: ``0 < size <= max_size`` (131_072 bytes: the V1 pool's
   ``@max_transaction_size 128*1024``, ``Hydepwns/mana
   apps/blockchain/lib/blockchain/transaction_pool.ex`` L20; rejected when larger).
   Reasons ``empty_transaction``, ``transaction_too_large``.
2. **format**: the V1 pipeline's structural and format checks (``transaction_pool.ex``
   L282-408): exactly 9 RLP fields (``invalid_rlp_structure``), ``nonce >= 0``
   (``invalid_nonce``), ``gas_price >= min_gas_price`` (``gas_price_too_low``),
   ``21_000 <= gas_limit <= 8_000_000`` (``gas_limit_too_low`` / ``gas_limit_too_high``),
   ``gas_limit >= intrinsic gas`` (``insufficient_gas_limit``), non-negative value and data
   length (``invalid_value``, ``invalid_data``).
3. **signature**: ``v, r, s > 0`` (V1's only check) *and* ECDSA recovery succeeds
   (:attr:`~pool.transaction.Transaction.signature_valid`, which V2 checks and V1 does not):
   ``invalid_signature``.
4. **rate limit**: per sender (the guide's ``validate_rate_limit(raw_transaction)`` sees only
   the transaction, so its key can only be the sender): ``sender_rate_limited``; then, when
   the caller passes a ``peer_id`` and a peer limiter, per relaying peer (mana-sim's addition,
   the peer being known on the gossip path): ``peer_rate_limited``.

Because of the ``with`` chain, a transaction failing steps 1-3 never reaches the limiters and
consumes no quota; a transaction refused by the peer limiter has already used one sender
slot (the sender check ran first and allowed it). Invalid input is returned as a reason,
never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pool.transaction import GWEI, Transaction
from sim.control.rate_limiter import PeerRateLimiter

REASON_EMPTY: Final = "empty_transaction"
REASON_TOO_LARGE: Final = "transaction_too_large"
REASON_INVALID_RLP: Final = "invalid_rlp_structure"
REASON_INVALID_NONCE: Final = "invalid_nonce"
REASON_GAS_PRICE_TOO_LOW: Final = "gas_price_too_low"
REASON_GAS_LIMIT_TOO_LOW: Final = "gas_limit_too_low"
REASON_GAS_LIMIT_TOO_HIGH: Final = "gas_limit_too_high"
REASON_INSUFFICIENT_GAS: Final = "insufficient_gas_limit"
REASON_INVALID_VALUE: Final = "invalid_value"
REASON_INVALID_DATA: Final = "invalid_data"
REASON_INVALID_SIGNATURE: Final = "invalid_signature"
REASON_SENDER_RATE_LIMITED: Final = "sender_rate_limited"
REASON_PEER_RATE_LIMITED: Final = "peer_rate_limited"

VALIDATION_REASONS: Final[tuple[str, ...]] = (
    REASON_EMPTY,
    REASON_TOO_LARGE,
    REASON_INVALID_RLP,
    REASON_INVALID_NONCE,
    REASON_GAS_PRICE_TOO_LOW,
    REASON_GAS_LIMIT_TOO_LOW,
    REASON_GAS_LIMIT_TOO_HIGH,
    REASON_INSUFFICIENT_GAS,
    REASON_INVALID_VALUE,
    REASON_INVALID_DATA,
    REASON_INVALID_SIGNATURE,
    REASON_SENDER_RATE_LIMITED,
    REASON_PEER_RATE_LIMITED,
)
"""Every reason :func:`validate_transaction_input` can return, in check order."""


@dataclass(frozen=True, slots=True)
class InputLimits:
    """Static bounds for :func:`validate_transaction_input` (V1 pool constants by default).

    Attributes:
        max_size: Largest accepted encoded size in bytes (``transaction_pool.ex`` L20).
        min_gas_price: Lowest accepted gas price in wei (1 gwei, L22).
        min_gas_limit: Lowest accepted gas limit (21_000, L282-408).
        max_gas_limit: Highest accepted gas limit (8_000_000, L282-408).
    """

    max_size: int = 128 * 1024
    min_gas_price: int = GWEI
    min_gas_limit: int = 21_000
    max_gas_limit: int = 8_000_000


DEFAULT_INPUT_LIMITS: Final = InputLimits()
"""The V1 pool's bounds."""


def static_reason(tx: Transaction, limits: InputLimits = DEFAULT_INPUT_LIMITS) -> str | None:
    """The first failing check of steps 1-3 (size, format, signature), without the limiters.

    Args:
        tx: The transaction.
        limits: Size, gas-price and gas-limit bounds.

    Returns:
        ``None`` if every static check passes, else the first failing check's reason.
    """
    size = tx.size
    gas_limit = tx.gas_limit
    data_len = tx.data_len
    # The common case first: the conjunction of every check's passing condition (the negation
    # of each test below, intrinsic gas being ``21_000 + 16 * data_len``), so a valid
    # transaction costs one expression; any failure takes the ordered tests for its reason.
    if (0 < size <= limits.max_size and tx.rlp_fields == 9 and tx.nonce >= 0
            and tx.gas_price >= limits.min_gas_price
            and limits.min_gas_limit <= gas_limit <= limits.max_gas_limit
            and tx.value >= 0 and data_len >= 0 and gas_limit >= 21_000 + 16 * data_len
            and tx.v > 0 and tx.r > 0 and tx.s > 0 and tx.signature_valid):
        return None
    if size <= 0:
        return REASON_EMPTY
    if size > limits.max_size:
        return REASON_TOO_LARGE
    if tx.rlp_fields != 9:
        return REASON_INVALID_RLP
    if tx.nonce < 0:
        return REASON_INVALID_NONCE
    if tx.gas_price < limits.min_gas_price:
        return REASON_GAS_PRICE_TOO_LOW
    if gas_limit < limits.min_gas_limit:
        return REASON_GAS_LIMIT_TOO_LOW
    if gas_limit > limits.max_gas_limit:
        return REASON_GAS_LIMIT_TOO_HIGH
    if tx.value < 0:
        return REASON_INVALID_VALUE
    if data_len < 0:
        return REASON_INVALID_DATA
    if gas_limit < tx.intrinsic_gas:
        return REASON_INSUFFICIENT_GAS
    if tx.v <= 0 or tx.r <= 0 or tx.s <= 0 or not tx.signature_valid:
        return REASON_INVALID_SIGNATURE
    return None


def validate_transaction_input(
    tx: Transaction,
    now: float,
    *,
    limits: InputLimits = DEFAULT_INPUT_LIMITS,
    sender_limiter: PeerRateLimiter | None = None,
    peer_limiter: PeerRateLimiter | None = None,
    peer_id: object = None,
) -> str | None:
    """Check one transaction for the V2 pool: size, format, signature, rate limit.

    Args:
        tx: The transaction.
        now: Arrival time in seconds (for the rate limiters).
        limits: Size, gas-price and gas-limit bounds.
        sender_limiter: Per-sender fixed-window limiter; ``None`` skips the sender check.
        peer_limiter: Per-peer limiter; used only when ``peer_id`` is given too.
        peer_id: The relaying peer, if known (must be hashable).

    Returns:
        ``None`` if the transaction is accepted, else the first failing check's reason (one of
        :data:`VALIDATION_REASONS`).
    """
    reason = static_reason(tx, limits)
    if reason is not None:
        return reason
    if sender_limiter is not None and not sender_limiter.allow(tx.sender, now):
        return REASON_SENDER_RATE_LIMITED
    if peer_limiter is not None and peer_id is not None and not peer_limiter.allow(peer_id, now):
        return REASON_PEER_RATE_LIMITED
    return None

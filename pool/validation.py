"""The stateless part of admission: V1's validation pipeline, shared by both pools.

Order and bounds follow ``Hydepwns/mana`` ``apps/blockchain/lib/blockchain/transaction_pool.ex``
L282-408 (``reference/mana-source-facts.md`` §3.1): RLP shape, then price and gas-limit
bounds and nonce, then signature, then intrinsic gas, then raw size. The first failure wins.
The pool-capacity step (V1) and everything stateful (V2) live in the pools.
"""

from __future__ import annotations

from pool.transaction import Transaction

LEGACY_RLP_FIELDS = 9
"""A legacy signed transaction is an RLP list of exactly nine items."""


def first_violation(
    tx: Transaction,
    reasons: tuple[str, ...],
    min_gas_price: int,
    min_gas_limit: int,
    max_gas_limit: int,
    max_size: int,
    real_signature: bool,
    max_nonce: int | None = None,
) -> str | None:
    """Run the validation pipeline and return the first failing rule's reason.

    Args:
        tx: The offered transaction.
        reasons: Eight reason strings in pipeline order: RLP, gas price too low, gas limit
            too low, gas limit too high, nonce, signature, insufficient gas, too large.
        min_gas_price: Lowest accepted gas price in wei.
        min_gas_limit: Lowest accepted gas limit.
        max_gas_limit: Highest accepted gas limit.
        max_size: Largest accepted raw size in bytes (``size <= max_size`` passes).
        real_signature: Also require ``tx.signature_valid`` (V2's real check); V1 only tests
            ``v, r, s > 0``.
        max_nonce: Highest valid nonce, or ``None`` for no upper bound (V1 has none; V2 uses
            EIP-2681's ``2**64 - 1``).

    Returns:
        The reason string, or ``None`` if every rule passes.
    """
    if tx.rlp_fields != LEGACY_RLP_FIELDS:
        return reasons[0]
    if tx.gas_price < min_gas_price:
        return reasons[1]
    gas_limit = tx.gas_limit
    if gas_limit < min_gas_limit:
        return reasons[2]
    if gas_limit > max_gas_limit:
        return reasons[3]
    nonce = tx.nonce
    if nonce < 0 or (max_nonce is not None and nonce > max_nonce):
        return reasons[4]
    if tx.v <= 0 or tx.r <= 0 or tx.s <= 0 or (real_signature and not tx.signature_valid):
        return reasons[5]
    if gas_limit < 21_000 + 16 * tx.data_len:
        return reasons[6]
    if tx.size > max_size:
        return reasons[7]
    return None

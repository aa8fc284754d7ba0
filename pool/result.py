"""The outcome of offering one transaction to a pool, and every rejection reason.

V1 reasons are the exact strings the fork's ``Blockchain.TransactionPool`` returns
(``Hydepwns/mana`` ``apps/blockchain/lib/blockchain/transaction_pool.ex`` L282-408, see
``reference/mana-source-facts.md`` §3.1), so V1 metrics match the real error texts. V2 is our own
design and uses short snake_case reasons in the style of geth's ``txpool`` errors
(``ErrAlreadyKnown``, ``ErrUnderpriced``, ``ErrReplaceUnderpriced``; ``go-ethereum
core/txpool/errors.go``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pool.transaction import Transaction

# --- V1 (real strings, in pipeline order) -------------------------------------------------
V1_INVALID_RLP = "Invalid RLP structure"
V1_GAS_PRICE_TOO_LOW = "Gas price too low"
V1_GAS_LIMIT_TOO_LOW = "Gas limit too low"
V1_GAS_LIMIT_TOO_HIGH = "Gas limit too high"
V1_INVALID_NONCE = "Invalid nonce"
V1_INVALID_SIGNATURE = "Invalid signature"
V1_INSUFFICIENT_GAS = "Insufficient gas limit"
V1_TOO_LARGE = "Transaction too large"
V1_POOL_FULL = "Transaction pool is full"
V1_DUPLICATE = "duplicate"
"""Ledger reason for a V1 duplicate. The real pool answers ``{:ok, hash}`` and changes nothing
(``transaction_pool.ex`` ``handle_call({:add_transaction, …})``); the caller sees success
(:attr:`AddStatus.DUPLICATE`) while the ledger closes the extra submission as rejected."""

V1_REASONS: tuple[str, ...] = (
    V1_INVALID_RLP, V1_GAS_PRICE_TOO_LOW, V1_GAS_LIMIT_TOO_LOW, V1_GAS_LIMIT_TOO_HIGH,
    V1_INVALID_NONCE, V1_INVALID_SIGNATURE, V1_INSUFFICIENT_GAS, V1_TOO_LARGE, V1_POOL_FULL,
    V1_DUPLICATE,
)
"""Every reason :class:`~pool.tx_pool_v1.TxPoolV1` can record."""

# --- V2 (our design) ----------------------------------------------------------------------
V2_INVALID_RLP = "invalid_rlp"
V2_GAS_PRICE_TOO_LOW = "gas_price_too_low"
V2_GAS_LIMIT_TOO_LOW = "gas_limit_too_low"
V2_GAS_LIMIT_TOO_HIGH = "gas_limit_too_high"
V2_INVALID_NONCE = "invalid_nonce"
V2_INVALID_SIGNATURE = "invalid_signature"
V2_INSUFFICIENT_GAS = "insufficient_gas"
V2_TOO_LARGE = "too_large"
V2_ALREADY_KNOWN = "already_known"
V2_REPLACEMENT_UNDERPRICED = "replacement_underpriced"
V2_SENDER_LIMIT = "sender_limit"
V2_UNDERPRICED = "underpriced"

V2_REASONS: tuple[str, ...] = (
    V2_INVALID_RLP, V2_GAS_PRICE_TOO_LOW, V2_GAS_LIMIT_TOO_LOW, V2_GAS_LIMIT_TOO_HIGH,
    V2_INVALID_NONCE, V2_INVALID_SIGNATURE, V2_INSUFFICIENT_GAS, V2_TOO_LARGE,
    V2_ALREADY_KNOWN, V2_REPLACEMENT_UNDERPRICED, V2_SENDER_LIMIT, V2_UNDERPRICED,
)
"""Every reason :class:`~pool.tx_pool_v2.TxPoolV2` can record."""


class AddStatus(StrEnum):
    """What happened to an offered transaction."""

    ADDED = "added"
    """Now pending (possibly after evicting cheaper transactions)."""
    REPLACED = "replaced"
    """Now pending in place of the same sender's same-nonce transaction."""
    DUPLICATE = "duplicate"
    """V1 only: already known; a no-op that the caller sees as success."""
    REJECTED = "rejected"
    """Refused; :attr:`AddResult.reason` says why."""


@dataclass(frozen=True, slots=True)
class AddResult:
    """The answer to one ``add``.

    Attributes:
        status: The outcome.
        reason: The rejection or duplicate reason, else ``None``.
        tx: The transaction that was offered.
        evicted: Transactions removed to make room (V2 only), cheapest first.
        replaced: The transaction this one replaced (V2 only).
    """

    status: AddStatus
    reason: str | None
    tx: Transaction
    evicted: tuple[Transaction, ...] = ()
    replaced: Transaction | None = None

    @property
    def accepted(self) -> bool:
        """Whether the caller sees success: added, replaced, or a V1 duplicate.

        V2 reports a duplicate as rejected (``already_known``), as geth does.
        """
        return self.status is not AddStatus.REJECTED

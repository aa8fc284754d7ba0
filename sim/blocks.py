"""Block building: every slot, the best-paying transactions of both pools up to the gas limit.

With a traffic split, a node's transactions live in two pools (V1 and V2). A block producer
asks each pool for its best candidates (each pool's own priority order: gas price descending,
FIFO among equal prices), merges them in that same order and fills the block greedily: a
transaction that no longer fits is skipped and the next one tried, until less than the
smallest possible transaction (21,000 gas) is left. A transaction present in both pools (a V2
call that timed out but still completed, then retried on V1) is included once.

Gas accounting uses each transaction's gas *limit* (a simplification: real blocks charge gas
*used*, which is at most the limit). Mainnet's 30,000,000 gas limit and 12-s slots are the
defaults (client-anchors.md §1.6; the guide's era).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from pool import Transaction

MIN_TX_GAS = 21_000
"""The smallest gas a transaction can use; below this much room a block is full."""


def _key(tx: Transaction) -> tuple[int, float, int]:
    return (-tx.gas_price, tx.arrival, tx.tx_hash)


def merge_candidates(
    candidates: Sequence[Sequence[Transaction]], gas_limit: int
) -> list[Transaction]:
    """Merge per-pool candidate lists into one block.

    Args:
        candidates: Each pool's candidates, already in its priority order.
        gas_limit: The block gas limit.

    Returns:
        The block's transactions in inclusion order.
    """
    block: list[Transaction] = []
    seen: set[int] = set()
    used = 0
    for tx in heapq.merge(*candidates, key=_key):
        if gas_limit - used < MIN_TX_GAS:
            break
        if tx.tx_hash in seen or used + tx.gas_limit > gas_limit:
            continue
        seen.add(tx.tx_hash)
        used += tx.gas_limit
        block.append(tx)
    return block

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
from collections.abc import Iterator, Sequence

from pool import Transaction

MIN_TX_GAS = 21_000
"""The smallest gas a transaction can use; below this much room a block is full."""


def _key(tx: Transaction) -> tuple[int, float, int]:
    return (-tx.gas_price, tx.arrival, tx.tx_hash)


def _merge_two(a: Sequence[Transaction], b: Sequence[Transaction]) -> Iterator[Transaction]:
    """``heapq.merge(a, b, key=_key)``, element for element, without the heap.

    ``heapq.merge`` yields the head with the smaller ``(key, input index)``, so on equal keys
    ``a`` first, and once one input is exhausted the rest of the other as it is. The same
    rule written as two cursors also needs no key for that tail (usually most of ``a``).
    """
    na, nb = len(a), len(b)
    i = j = 0
    if na and nb:
        ka, kb = _key(a[0]), _key(b[0])
        while True:
            if kb < ka:
                yield b[j]
                j += 1
                if j == nb:
                    break
                kb = _key(b[j])
            else:
                yield a[i]
                i += 1
                if i == na:
                    break
                ka = _key(a[i])
    yield from a[i:]
    yield from b[j:]


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
    merged = (_merge_two(candidates[0], candidates[1]) if len(candidates) == 2
              else heapq.merge(*candidates, key=_key))
    for tx in merged:
        if gas_limit - used < MIN_TX_GAS:
            break
        if tx.tx_hash in seen or used + tx.gas_limit > gas_limit:
            continue
        seen.add(tx.tx_hash)
        used += tx.gas_limit
        block.append(tx)
    return block

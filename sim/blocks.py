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
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import islice
from operator import attrgetter, ge

from pool import Transaction
from pool.pool_base import PoolBase

MIN_TX_GAS = 21_000
"""The smallest gas a transaction can use; below this much room a block is full."""

_GAS_LIMIT = attrgetter("gas_limit")
_GAS_PRICE = attrgetter("gas_price")
_TX_HASH = attrgetter("tx_hash")


def _key(tx: Transaction) -> tuple[int, float, int]:
    return (-tx.gas_price, tx.arrival, tx.tx_hash)


def _merge_two(a: Sequence[Transaction], b: Sequence[Transaction],
               a_ordered: bool = False) -> list[Transaction]:
    """``list(heapq.merge(a, b, key=_key))``, element for element, without the heap.

    ``heapq.merge`` yields the head with the smaller ``(key, input index)``, so on equal keys
    ``a`` first, and once one input is exhausted the rest of the other as it is. Written as
    a cursor into ``a`` per element of ``b`` (usually the short one): ``a``'s run before each
    ``b`` element is copied as a slice. The keys' first items decide unless the gas prices
    are equal (``-p < -q`` exactly when ``p > q`` for integers), so only equal prices
    build the full keys.

    When ``a`` is in pool order (gas price descending), the part of a run priced above the
    ``b`` element is skipped by bisection instead of a walk: the first index at or after the
    cursor ``i`` priced at most the ``b`` element is found by bisecting ``rev = a[::-1]``
    (prices ascending) with the price as the key (``a[i:]`` reversed is ``rev[:n - i]``,
    whose first ``k`` elements are those priced at most the ``b`` element, so the index is
    ``n - k``). ``a_ordered`` says the caller knows ``a`` is in pool order (a pool's own
    listing), so the order is not checked.
    """
    if not b:
        return list(a)
    if not a:
        return list(b)
    na = len(a)
    rev: Sequence[Transaction] | None = None
    if a_ordered or all(map(ge, map(_GAS_PRICE, a), map(_GAS_PRICE, islice(a, 1, None)))):
        rev = a[::-1]
    out: list[Transaction] = []
    i = 0
    for y in b:
        if i < na:
            price = y.gas_price
            j = i if rev is None else na - bisect_right(rev, price, 0, na - i, key=_GAS_PRICE)
            ky = None
            while j < na:
                x = a[j]
                x_price = x.gas_price
                if x_price < price:
                    break  # _key(y) < _key(x): y goes first
                if x_price == price:
                    if ky is None:
                        ky = _key(y)
                    if ky < _key(x):
                        break
                j += 1
            if j > i:
                out.extend(a[i:j])
                i = j
        out.append(y)
    if i < na:
        out.extend(a[i:])
    return out


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
    merged = (_merge_two(candidates[0], candidates[1]) if len(candidates) == 2
              else list(heapq.merge(*candidates, key=_key)))
    gas = list(map(_GAS_LIMIT, merged))
    if (not gas or (sum(gas) <= gas_limit and min(gas) >= MIN_TX_GAS
                    and len(set(map(_TX_HASH, merged))) == len(merged))):
        # Everything fits (the common case below block capacity), so the loop below would
        # take every transaction: with distinct hashes none is skipped as seen, and with
        # every gas >= MIN_TX_GAS the room left before a transaction is at least the gas of
        # it and of all after it, so it is never below MIN_TX_GAS and the transaction fits.
        return merged
    block: list[Transaction] = []
    seen: set[int] = set()
    used = 0
    for tx in merged:
        if gas_limit - used < MIN_TX_GAS:
            break
        if tx.tx_hash in seen or used + tx.gas_limit > gas_limit:
            continue
        seen.add(tx.tx_hash)
        used += tx.gas_limit
        block.append(tx)
    return block


def pools_block(first: PoolBase, second: PoolBase, gas_limit: int,
                merge: Callable[[Sequence[Sequence[Transaction]], int], list[Transaction]],
                ) -> tuple[list[Transaction], bool]:
    """A block from two pools, and whether it holds every resident of both.

    The block is ``merge([first.best(gas_limit), second.best(gas_limit)], gas_limit)``.

    When both pools fit whole (the common case below block capacity: a 12-s slot's arrivals
    usually fit 30M gas) and ``merge`` is :func:`merge_candidates`, the block is known without
    that function's checks: the merged list's gas is the two pools' totals added (integers),
    each resident's gas is at least its pool's ``min_gas_limit`` >= :data:`MIN_TX_GAS`, and
    the hashes are distinct (within a pool they are; disjoint hash views make them so across
    pools), so :func:`merge_candidates` would return the merged list whole. The second value
    is then True: the caller may remove each pool's residents at once
    (:meth:`PoolBase.remove_all_included`) instead of by the block's hashes. Any other
    ``merge`` (a test's) or case takes the general path and returns False.

    Args:
        first: The first pool (V1).
        second: The second pool (V2).
        gas_limit: The block gas limit.
        merge: The block builder, normally :func:`merge_candidates`.

    Returns:
        ``(block, whole)``: the block's transactions in inclusion order, and True only if
        they are every resident of both pools.
    """
    a, gas_a = first.best_whole(gas_limit)
    b, gas_b = second.best_whole(gas_limit)
    if (merge is merge_candidates and gas_a >= 0 and gas_b >= 0 and gas_a + gas_b <= gas_limit
            and (not a or first.min_gas_limit >= MIN_TX_GAS)
            and (not b or second.min_gas_limit >= MIN_TX_GAS)
            and first.hashes.isdisjoint(second.hashes)):
        return _merge_two(a, b, a_ordered=True), True
    return merge([a, b], gas_limit), False

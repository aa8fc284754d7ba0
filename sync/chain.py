"""The canonical chain that sync engines download, and the rules that detect wrong data.

A :class:`Block` is the header-level record (number, hash, parent hash, body root, size,
processing cost); a :class:`Body` is what a ``GetBlockBodies`` answer carries for it. Both are
small immutable values, so peers, engines and the later network model share them freely.

Detecting wrong data. A real client checks a header's consensus seal (PoW or validator
signatures) and recomputes a body's transaction/ommers roots to match it against the header
(``mana-ethereum/mana apps/ex_wire/lib/ex_wire/struct/block_queue.ex`` L130-172 matches bodies
by ``(transactions_root, ommers_hash)``). Here:

* a header's ``hash`` is a keyed hash of its fields with the chain's secret ``seal_key``
  (:class:`ChainRules`); a peer that alters a header cannot re-seal it, so
  :meth:`ChainRules.header_ok` fails ("bad header"). Only the canonical chain is sealable,
  so a sealed header is the canonical one: forks and reorgs are out of scope.
* a body's ``root`` must equal its header's ``body_root``; a corrupted body does not
  (:meth:`ChainRules.body_ok`, "bad body").

Time is in simulated seconds; the chain grows one block per ``slot_s`` (12 s on mainnet,
``reference/client-anchors.md`` §0).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

_MASK64 = (1 << 64) - 1

HEADER_BYTES = 508
"""Encoded size of one header in bytes (a post-London mainnet header is ~500-600 bytes)."""


def mix64(value: int) -> int:
    """Scramble an integer into 64 well-mixed bits (the SplitMix64 finaliser).

    Kept local rather than imported from ``pool``: ``sync`` must not import ``pool``.

    Args:
        value: Any integer; only its low 64 bits are used.

    Returns:
        A 64-bit unsigned integer.
    """
    z = (value + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def combine_hash(*parts: int) -> int:
    """Hash a sequence of integers into one stable 64-bit value (order matters).

    Args:
        *parts: The integers to hash.

    Returns:
        A 64-bit unsigned integer.
    """
    h = 0x6A09E667F3BCC908
    mask = _MASK64
    for part in parts:
        # mix64(h ^ (part & mask)), inlined: the chain seals and checks a few blocks a slot.
        z = ((h ^ (part & mask)) + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        h = z ^ (z >> 31)
    return h


def _seal(key: int, number: int, parent_hash: int, body_root: int, size: int,
          processing_cost: float) -> int:
    return combine_hash(key, number, parent_hash, body_root, size,
                        round(processing_cost * 1e6))


@dataclass(frozen=True, slots=True)
class Block:
    """Header-level record of one block.

    Attributes:
        number: Block number (genesis is 0).
        hash: Seal of the header (keyed hash of the other fields).
        parent_hash: Hash of block ``number - 1``.
        body_root: Root the matching :class:`Body` must carry.
        size: Encoded block size in bytes (header plus body), what a body download costs.
        processing_cost: Seconds one worker needs to verify and execute the block.
    """

    number: int
    hash: int
    parent_hash: int
    body_root: int
    size: int
    processing_cost: float


@dataclass(frozen=True, slots=True)
class Body:
    """Block body as a ``GetBlockBodies`` answer carries it.

    Attributes:
        root: Root recomputed from the body's content; equals the header's ``body_root``
            when the body is genuine.
        size: Body size in bytes.
    """

    root: int
    size: int


@dataclass(frozen=True, slots=True)
class ChainRules:
    """What a node knows a priori: the genesis and how to check a seal.

    Attributes:
        seal_key: Secret of the canonical chain's sealers; stands in for consensus proofs.
        genesis: The genesis block, known to every node.
    """

    seal_key: int
    genesis: Block

    def seal(self, number: int, parent_hash: int, body_root: int, size: int,
             processing_cost: float) -> int:
        """Compute the seal (hash) a genuine header with these fields carries.

        Args:
            number: Block number.
            parent_hash: Parent's hash.
            body_root: Body root.
            size: Block size in bytes.
            processing_cost: Processing cost in seconds.

        Returns:
            The 64-bit seal.
        """
        return _seal(self.seal_key, number, parent_hash, body_root, size, processing_cost)

    def header_ok(self, block: Block) -> bool:
        """Whether a header's seal is valid (it was produced by the canonical sealers).

        Args:
            block: The header to check.

        Returns:
            True when the hash matches the fields under the chain's seal key.
        """
        return block.hash == self.seal(block.number, block.parent_hash, block.body_root,
                                       block.size, block.processing_cost)

    @staticmethod
    def body_ok(block: Block, body: Body) -> bool:
        """Whether a body belongs to a header.

        Args:
            block: The header.
            body: The candidate body.

        Returns:
            True when the body's root equals the header's body root.
        """
        return body.root == block.body_root


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """Shape of generated blocks.

    Attributes:
        slot_s: Seconds between blocks (mainnet 12 s).
        size_median: Median block size in bytes (lognormal).
        size_sigma: Lognormal sigma of block size.
        cost_median_s: Median processing cost in seconds (lognormal).
        cost_sigma: Lognormal sigma of processing cost.
    """

    slot_s: float = 12.0
    size_median: int = 90_000
    size_sigma: float = 0.5
    cost_median_s: float = 0.03
    cost_sigma: float = 0.5


class Chain:
    """The canonical chain: a genesis plus blocks appended over time.

    The chain grows with simulated time (one block a slot, 7,200 a day), so its blocks are
    stored column-wise in C arrays (hash, body root, size, cost: 32 bytes a block instead of
    ~250 for a :class:`Block` and its int objects) and rebuilt as equal :class:`Block` values
    on demand; a block's parent hash is the previous block's hash. Hash lookups use a sorted
    index of the older blocks plus a small dict of the newest ones (below).

    Args:
        rng: Source of the seal key and of block sizes and costs.
        config: Block shape.
        length: Blocks to create beyond genesis at construction.
    """

    _TAIL_MAX = 1024
    """Newest blocks kept in the hash dict before they are merged into the sorted index: a
    merge costs one sort of the whole chain, so it runs once per this many blocks."""

    def __init__(self, rng: np.random.Generator, config: ChainConfig | None = None,
                 length: int = 0) -> None:
        self.config = config or ChainConfig()
        self._rng = rng
        self._log_medians: tuple[ChainConfig, np.float64, np.float64] | None = None
        seal_key = int(rng.integers(1, 2**62))
        genesis_root = combine_hash(seal_key, 0, 0xB0D1)
        genesis_hash = _seal(seal_key, 0, 0, genesis_root, 0, 0.0)
        self.rules = ChainRules(seal_key, Block(0, genesis_hash, 0, genesis_root, 0, 0.0))
        # Column i holds block i's field; every column has height + 1 entries.
        self._hash = array("Q", [genesis_hash])
        self._root = array("Q", [genesis_root])
        self._size = array("q", [0])
        self._cost = array("d", [0.0])
        # hash -> number: blocks [0, len(_index_numbers)) sit in the sorted index (hashes
        # ascending, with their numbers alongside); newer ones are in the tail dict. A dict
        # for the whole chain would cost ~100 bytes a block for the life of the run.
        self._index_hashes = array("Q")
        self._index_numbers = array("q")
        self._tail: dict[int, int] = {genesis_hash: 0}
        if length:
            self.extend(length)

    @property
    def head(self) -> Block:
        """The newest block."""
        return self.block(self.height)

    @property
    def height(self) -> int:
        """Number of the newest block."""
        return len(self._hash) - 1

    def block(self, number: int) -> Block:
        """Return block ``number``.

        Args:
            number: Block number, ``0 <= number <= height``.

        Returns:
            The canonical block (a new value equal to every earlier one of that number).

        Raises:
            IndexError: If the block does not exist yet.
        """
        if number < 0 or number > self.height:
            raise IndexError(f"block {number} not in chain of height {self.height}")
        return Block(number, self._hash[number], self._hash[number - 1] if number else 0,
                     self._root[number], self._size[number], self._cost[number])

    def number_of(self, block_hash: int) -> int | None:
        """Look a block number up by hash.

        Args:
            block_hash: A header hash.

        Returns:
            The canonical block's number, or None for an unknown hash.
        """
        number = self._tail.get(block_hash)
        if number is not None:
            return number
        hashes = self._index_hashes
        i = bisect_left(hashes, block_hash)
        if i < len(hashes) and hashes[i] == block_hash:
            return self._index_numbers[i]
        return None

    def body(self, number: int) -> Body:
        """Return the genuine body of block ``number``.

        Args:
            number: Block number.

        Returns:
            The body whose root matches the header.
        """
        if number < 0 or number > self.height:
            raise IndexError(f"block {number} not in chain of height {self.height}")
        return Body(self._root[number], max(0, self._size[number] - HEADER_BYTES))

    def extend(self, n: int) -> None:
        """Append ``n`` new sealed blocks (sizes and costs drawn in one vectorised call).

        Args:
            n: Number of blocks to append (0 is allowed).
        """
        if n <= 0:
            return
        cfg = self.config
        logs = self._log_medians
        if logs is None or logs[0] is not cfg:
            # The same np.log values every call (a block a slot): made once per config.
            logs = self._log_medians = (cfg, np.log(cfg.size_median), np.log(cfg.cost_median_s))
        sizes = self._rng.lognormal(logs[1], cfg.size_sigma, n)
        costs = self._rng.lognormal(logs[2], cfg.cost_sigma, n)
        number = self.height
        parent_hash = self._hash[number]
        key = self.rules.seal_key
        seal = self.rules.seal
        for i in range(n):
            number += 1
            size = max(HEADER_BYTES + 1, int(sizes[i]))
            # Round the cost to whole microseconds so the seal (which hashes it) is exact.
            cost = round(float(costs[i]) * 1e6) / 1e6
            root = combine_hash(key, number, 0xB0D1)
            block_hash = seal(number, parent_hash, root, size, cost)
            self._hash.append(block_hash)
            self._root.append(root)
            self._size.append(size)
            self._cost.append(cost)
            self._tail[block_hash] = number
            parent_hash = block_hash
        if len(self._tail) >= self._TAIL_MAX:
            self._merge_tail()

    def _merge_tail(self) -> None:
        """Rebuild the sorted hash index over the whole chain and empty the tail dict."""
        hashes = np.frombuffer(self._hash, dtype=np.uint64)
        # Stable: with a (2**-64-rare) duplicate hash the lowest number comes first.
        order = np.argsort(hashes, kind="stable")
        self._index_hashes = array("Q", hashes[order].tobytes())
        self._index_numbers = array("q", order.astype(np.int64).tobytes())
        self._tail.clear()

    def grow_to(self, now: float) -> int:
        """Grow the chain so it holds one block per elapsed slot since time 0.

        Args:
            now: Current simulated time in seconds.

        Returns:
            The number of blocks appended.
        """
        target = int(now // self.config.slot_s)
        added = max(0, target - self.height)
        self.extend(added)
        return added


def corrupt_header(block: Block, salt: int) -> Block:
    """Return a copy of ``block`` whose hash no longer matches its seal ("bad header").

    Args:
        block: A genuine header.
        salt: Varies the corruption.

    Returns:
        A header that :meth:`ChainRules.header_ok` rejects.
    """
    return Block(block.number, combine_hash(block.hash, salt, 0xBAD), block.parent_hash,
                 block.body_root, block.size, block.processing_cost)


def corrupt_body(body: Body, salt: int) -> Body:
    """Return a copy of ``body`` whose root matches no header ("bad body").

    Args:
        body: A genuine body.
        salt: Varies the corruption.

    Returns:
        A body that :meth:`ChainRules.body_ok` rejects for its header.
    """
    return Body(combine_hash(body.root, salt, 0xBAD), body.size)

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
    for part in parts:
        h = mix64(h ^ (part & _MASK64))
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

    Args:
        rng: Source of the seal key and of block sizes and costs.
        config: Block shape.
        length: Blocks to create beyond genesis at construction.
    """

    def __init__(self, rng: np.random.Generator, config: ChainConfig | None = None,
                 length: int = 0) -> None:
        self.config = config or ChainConfig()
        self._rng = rng
        seal_key = int(rng.integers(1, 2**62))
        genesis_root = combine_hash(seal_key, 0, 0xB0D1)
        genesis_hash = _seal(seal_key, 0, 0, genesis_root, 0, 0.0)
        self.rules = ChainRules(seal_key, Block(0, genesis_hash, 0, genesis_root, 0, 0.0))
        self._blocks: list[Block] = [self.rules.genesis]
        self._by_hash: dict[int, int] = {self.rules.genesis.hash: 0}
        if length:
            self.extend(length)

    @property
    def head(self) -> Block:
        """The newest block."""
        return self._blocks[-1]

    @property
    def height(self) -> int:
        """Number of the newest block."""
        return len(self._blocks) - 1

    def block(self, number: int) -> Block:
        """Return block ``number``.

        Args:
            number: Block number, ``0 <= number <= height``.

        Returns:
            The canonical block.

        Raises:
            IndexError: If the block does not exist yet.
        """
        if number < 0 or number > self.height:
            raise IndexError(f"block {number} not in chain of height {self.height}")
        return self._blocks[number]

    def number_of(self, block_hash: int) -> int | None:
        """Look a block number up by hash.

        Args:
            block_hash: A header hash.

        Returns:
            The canonical block's number, or None for an unknown hash.
        """
        return self._by_hash.get(block_hash)

    def body(self, number: int) -> Body:
        """Return the genuine body of block ``number``.

        Args:
            number: Block number.

        Returns:
            The body whose root matches the header.
        """
        b = self.block(number)
        return Body(b.body_root, max(0, b.size - HEADER_BYTES))

    def extend(self, n: int) -> None:
        """Append ``n`` new sealed blocks (sizes and costs drawn in one vectorised call).

        Args:
            n: Number of blocks to append (0 is allowed).
        """
        if n <= 0:
            return
        cfg = self.config
        sizes = self._rng.lognormal(np.log(cfg.size_median), cfg.size_sigma, n)
        costs = self._rng.lognormal(np.log(cfg.cost_median_s), cfg.cost_sigma, n)
        parent = self._blocks[-1]
        key = self.rules.seal_key
        seal = self.rules.seal
        for i in range(n):
            number = parent.number + 1
            size = max(HEADER_BYTES + 1, int(sizes[i]))
            # Round the cost to whole microseconds so the seal (which hashes it) is exact.
            cost = round(float(costs[i]) * 1e6) / 1e6
            root = combine_hash(key, number, 0xB0D1)
            block = Block(number, seal(number, parent.hash, root, size, cost),
                          parent.hash, root, size, cost)
            self._blocks.append(block)
            self._by_hash[block.hash] = number
            parent = block

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

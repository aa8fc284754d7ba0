"""The chain an engine has imported, its last checkpoint, and the check against the truth."""

from __future__ import annotations

from array import array

from sync.chain import Block, Chain


class ImportedChain:
    """Hashes of the blocks an engine imported, genesis first, plus its last checkpoint.

    Args:
        genesis: The genesis block (imported from the start).
    """

    def __init__(self, genesis: Block) -> None:
        # 64-bit hashes (``sync.chain.combine_hash``) as a C array: 8 bytes a block instead of
        # a list slot and an int object (about 44), so a long run's imported chain stays small
        # (memory flat in simulated time, issue 5). Reads give back equal ints.
        self._hashes = array("Q", [genesis.hash])
        self.checkpoint_number = 0

    @property
    def tip(self) -> int:
        """Number of the newest imported block."""
        return len(self._hashes) - 1

    @property
    def tip_hash(self) -> int:
        """Hash of the newest imported block."""
        return self._hashes[-1]

    def hash_at(self, number: int) -> int:
        """Hash of imported block ``number``.

        Args:
            number: ``0 <= number <= tip``.

        Returns:
            The imported hash.
        """
        return self._hashes[number]

    def extends_tip(self, block: Block) -> bool:
        """Whether ``block`` is the direct child of the tip.

        Args:
            block: A candidate block.

        Returns:
            True when the block's number and parent hash follow the tip.
        """
        return block.number == len(self._hashes) and block.parent_hash == self._hashes[-1]

    def has(self, block: Block) -> bool:
        """Whether this very block is already imported.

        Args:
            block: A block.

        Returns:
            True when the block's number is imported with the same hash.
        """
        return block.number < len(self._hashes) and self._hashes[block.number] == block.hash

    def append(self, block: Block) -> None:
        """Import ``block``; the caller has checked :meth:`extends_tip`.

        Args:
            block: The tip's child.
        """
        self._hashes.append(block.hash)

    def mark_checkpoint(self) -> int:
        """Record the tip as the checkpoint a restart resumes from.

        Returns:
            The checkpoint's block number.
        """
        self.checkpoint_number = self.tip
        return self.tip

    def record_checkpoint(self, number: int) -> None:
        """Record imported block ``number`` as the checkpoint a restart resumes from.

        For a checkpoint handed over that this chain already holds (the caller has checked
        the hashes agree).

        Args:
            number: ``0 <= number <= tip``.
        """
        if not 0 <= number <= self.tip:
            raise ValueError(f"checkpoint {number} is not an imported block (tip {self.tip})")
        self.checkpoint_number = number

    def adopt(self, source: ImportedChain, number: int) -> int:
        """Take ``source``'s imported blocks up to ``number`` (a checkpoint hand-over).

        Both chains are imported, verified hash chains (each block links to its parent), so
        they agree up to this chain's tip iff their hashes at the tip agree; only then are
        the source's blocks ``tip + 1 .. number`` appended.

        Args:
            source: Another engine's imported chain.
            number: The last block to take; ``<= source.tip``.

        Returns:
            Blocks adopted: 0 when ``number <= tip`` (nothing to take); -1 when refused,
            nothing changed (the chains differ at this chain's tip, or ``number`` is past
            the source's tip).
        """
        tip = self.tip
        if number <= tip:
            return 0
        if number > source.tip or source.hash_at(tip) != self._hashes[tip]:
            return -1
        self._hashes.extend(source._hashes[tip + 1:number + 1])
        return number - tip

    def rewind_to_checkpoint(self) -> None:
        """Forget every block after the checkpoint (what a crash loses)."""
        del self._hashes[self.checkpoint_number + 1:]

    def matches(self, chain: Chain) -> bool:
        """Whether every imported block is the canonical block of the same number.

        Args:
            chain: The canonical chain.

        Returns:
            True when the imported chain is a prefix of the canonical chain.
        """
        if self.tip > chain.height:
            return False
        return all(chain.block(i).hash == h for i, h in enumerate(self._hashes))

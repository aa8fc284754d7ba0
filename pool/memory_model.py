"""The per-entry byte model both pools use for ``memory_bytes`` and V2's memory limit.

A resident transaction costs ``entry_overhead_bytes + tx.size``: its encoded bytes plus a fixed
overhead for the decoded term and the index entries that point at it. The default overhead of
512 bytes is an estimate of the BEAM layout of the V1 pool (``Hydepwns/mana``
``apps/blockchain/lib/blockchain/transaction_pool.ex`` L111-125, L282-408), in 8-byte words:

* the decoded tx map (10 keys plus ``:hash``): a flat map, ~3 header words + 11 values;
  ``r``/``s`` are 256-bit bignums (~6 words each), ``to`` and the 32-byte hash are heap
  binaries (~5 and ~6 words): ~40 words;
* its slot in the ``transactions`` map (HAMT node share, key pointer): ~4 words;
* the ``{price, hash}`` tuple and cons cell in ``by_gas_price``: ~5 words;
* the cons cell in ``by_address``: ~2 words;
* ~10 words of allocator slack.

That is ~61 words, about 490 bytes; 512 is used. The raw call data lives in a refc binary
counted by ``tx.size``. V2 keeps the same three indexes (hash map, priority tree, sender
table), so the same model applies. The guide's ``memory_limit_mb`` 256 (guide L651-663) then
holds ~430,000 typical 110-byte transfers but only ~2,000 transactions of 128 KiB, which is
where the memory limit, not the count limit, binds.
"""

from __future__ import annotations

ENTRY_OVERHEAD_BYTES = 512
"""Default fixed bytes per resident transaction besides its encoded size."""

MIB = 1024 * 1024
"""Bytes in one MiB; ``memory_limit_mb`` is read as MiB."""

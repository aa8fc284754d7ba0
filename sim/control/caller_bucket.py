"""Sticky traffic-split buckets from a stable hash of the caller id (the as_written router).

The real router computes ``bucket = (abs(:erlang.phash2(id)) mod 100) + 1`` for the caller's
pid, user_id or session_id (first present) and routes to V2 iff ``bucket <= split``
(``Hydepwns/mana apps/mana/lib/mana/module_router.ex`` L206-326; Unleash's ``flexibleRollout``
uses the same rule, ``reference/control-plane-anchors.md`` §3.4). ``phash2`` is stable across
nodes, so mana-sim uses BLAKE2b (8-byte digest) of a type-tagged encoding of the id: stable
across processes and runs, unlike Python's salted ``hash``. The exact bucket values differ
from ``phash2``'s; the properties that matter (uniform, sticky, monotone in the split) hold.
"""

from __future__ import annotations

import hashlib

import numpy as np

CallerId = str | int | np.integer
"""A caller identity: a peer id, user id or session id (numpy integers count as ints)."""


def caller_bucket(caller: CallerId) -> int:
    """The caller's bucket in 1..100.

    Args:
        caller: The caller id. ``"7"`` and ``7`` are different callers; ``np.int64(7)`` and
            ``7`` are the same.

    Returns:
        ``(h mod 100) + 1`` for a stable 64-bit hash ``h`` of the id.

    Raises:
        TypeError: If ``caller`` is neither ``str`` nor ``int``.
    """
    if isinstance(caller, np.integer):
        caller = int(caller)
    if isinstance(caller, bool) or not isinstance(caller, str | int):
        raise TypeError(f"caller id must be str or int; got {type(caller).__name__}")
    tagged = f"s:{caller}" if isinstance(caller, str) else f"i:{caller}"
    digest = hashlib.blake2b(tagged.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % 100 + 1

"""Named, independent random streams derived from one run seed.

Every random component of a run draws from its own :class:`numpy.random.Generator`. The
streams come from ``numpy.random.SeedSequence(seed, spawn_key=(k,))`` where ``k`` is a stable
64-bit key derived from the stream's *name*, not from the order in which streams are created.
So adding a component (a new stream name) never shifts the numbers any other component sees,
and the same (seed, name) gives the same stream in every process of a sweep (DESIGN.md, "Time,
units, determinism").
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 64-bit key for a stream name (independent of Python's salted ``hash``).

    Args:
        name: The stream's name, e.g. ``"workload.arrivals"``.

    Returns:
        A non-negative integer below 2**64.
    """
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


class RngStreams:
    """A factory of named random streams for one run.

    Asking twice for the same name returns the same generator object, so two parts of the
    model that share a name share a stream; use distinct names for independent streams.

    Args:
        seed: The run's seed (a non-negative integer).

    Example:
        >>> streams = RngStreams(7)
        >>> a = streams.get("router").integers(1, 101)
        >>> b = RngStreams(7).get("router").integers(1, 101)
        >>> bool(a == b)
        True
    """

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """Return the generator for ``name``, creating it on first use.

        Args:
            name: The stream's name.

        Returns:
            A PCG64 generator seeded from (run seed, name).
        """
        gen = self._streams.get(name)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name),))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen

"""The interface both sync engines implement, for drivers (here and in the SimPy model).

Every event method takes the current simulated time in seconds and returns the actions to
perform, in order. :meth:`SyncEngine.next_timer` says when the engine next wants
:meth:`SyncEngine.on_timer`, so a driver keeps one wake-up per engine instead of one timer
per request (SimPy timeouts cannot be cancelled).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sync.chain import Block, Chain
from sync.ledger import ImportedChain
from sync.messages import Action, Response


class SyncEngine(Protocol):
    """A sans-I/O sync engine (:class:`sync.v1.SyncV1`, :class:`sync.v2.SyncV2`)."""

    @property
    def processing_workers(self) -> int:
        """Blocks the caller may process at once."""

    @property
    def synced_to(self) -> int:
        """Newest imported block number."""

    @property
    def best_known(self) -> int:
        """Highest block number the engine knows of."""

    @property
    def cached_blocks(self) -> int:
        """Downloaded (or queued) blocks not yet imported."""

    @property
    def in_flight(self) -> int:
        """Requests awaiting an answer."""

    def start(self, now: float) -> list[Action]:
        """Begin syncing."""

    def restart(self, now: float) -> list[Action]:
        """Crash and resume from the last checkpoint."""

    def peer_connected(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A peer connected with this head."""

    def peer_head(self, peer_id: str, head_number: int, now: float) -> list[Action]:
        """A connected peer announced a new head."""

    def peer_heads(self, announcements: Iterator[tuple[str, int]], now: float
                   ) -> list[Action]:
        """Consecutive :meth:`peer_head` calls, up to the first that returns actions."""

    def peer_disconnected(self, peer_id: str, now: float) -> list[Action]:
        """A peer went away."""

    def on_response(self, request_id: int, response: Response, now: float) -> list[Action]:
        """A peer answered a request."""

    def on_timer(self, now: float) -> list[Action]:
        """The wake-up asked for by :meth:`next_timer` is due."""

    def blocks_processed(self, blocks: list[Block] | tuple[Block, ...],
                         now: float) -> list[Action]:
        """These blocks finished processing."""

    def next_timer(self) -> float | None:
        """When the engine next wants :meth:`on_timer`, or None."""

    def metrics(self, now: float) -> dict[str, float | int | bool]:
        """The guide's sync metrics and counters."""

    def sample_values(self, now: float) -> tuple[float, ...]:
        """``float(metrics(now)[name])`` of the names :meth:`Telemetry.sample_values` lists."""

    def imported_matches(self, chain: Chain) -> bool:
        """Whether the imported chain is a prefix of ``chain``."""


class ImportingEngine:
    """What both engines share: the imported chain and the highest block number heard of.

    Subclasses set :attr:`ledger` and ``_highest`` in their constructors.

    Attributes:
        ledger: The blocks imported so far.
    """

    ledger: ImportedChain
    _highest: int

    @property
    def synced_to(self) -> int:
        """Number of the newest imported block."""
        return self.ledger.tip

    @property
    def best_imported(self) -> int:
        """Alias of :attr:`synced_to`."""
        return self.ledger.tip

    @property
    def best_known(self) -> int:
        """Highest block number announced by any peer or seen in a header (or imported)."""
        return max(self._highest, self.ledger.tip)

    def imported_matches(self, chain: Chain) -> bool:
        """Whether the imported chain is a prefix of ``chain``.

        Args:
            chain: The canonical chain.

        Returns:
            True when every imported block is canonical.
        """
        return self.ledger.matches(chain)

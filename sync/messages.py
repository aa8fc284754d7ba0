"""What flows into and out of a sync engine: a peer's response and the engine's actions.

Engines are sans-I/O: the caller tells them what happened (a method call with the current
simulated time, carrying a :class:`Response` when a peer answered) and performs the actions
they return, in order. All values are small frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sync.chain import HEADER_BYTES, Block, Body

RequestKind = Literal["headers", "bodies"]
"""The two request types: ``GetBlockHeaders`` and ``GetBlockBodies``."""


@dataclass(frozen=True, slots=True)
class Response:
    """A peer's answer to one request.

    Attributes:
        headers: Headers, for a ``headers`` request (possibly fewer than asked).
        bodies: Bodies in the order of the requested hashes, for a ``bodies`` request.
        failure: Why the request failed (e.g. ``"error"``, ``"disconnected"``); None when the
            peer answered with data (which may still be wrong).
    """

    headers: tuple[Block, ...] = ()
    bodies: tuple[Body, ...] = ()
    failure: str | None = None

    @property
    def nbytes(self) -> int:
        """Bytes on the wire for this response (headers plus bodies)."""
        bodies = self.bodies
        if not bodies:  # a header answer or a failure (sum() of nothing is 0)
            return HEADER_BYTES * len(self.headers)
        return HEADER_BYTES * len(self.headers) + sum([b.size for b in bodies])


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Send a request to a peer.

    Attributes:
        request_id: Engine-unique id; the answer comes back through ``on_response``.
        peer_id: The peer to ask.
        kind: ``"headers"`` or ``"bodies"``.
        start: First block number asked for (for bodies, the number of the first hash).
        count: Headers asked for (a maximum, as in ``GetBlockHeaders.max_headers``), or the
            number of hashes for bodies.
        hashes: Header hashes whose bodies are asked for (empty for headers).
        deadline: Simulated time after which the engine treats the request as timed out, or
            None when the engine never times it out (V1 as written).
    """

    request_id: int
    peer_id: str
    kind: RequestKind
    start: int
    count: int
    hashes: tuple[int, ...] = ()
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class ProcessBlocks:
    """Verify and execute these complete blocks (in the order given).

    The caller reports each finished block back through ``blocks_processed``.

    Attributes:
        blocks: Blocks whose header and body have both been downloaded.
    """

    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class WriteCheckpoint:
    """Persist the imported chain up to this block; a restart resumes from here.

    Attributes:
        number: Block number of the checkpoint.
        hash: Its hash.
    """

    number: int
    hash: int


@dataclass(frozen=True, slots=True)
class DropPeer:
    """Disconnect a peer (it may come back later).

    Attributes:
        peer_id: The peer.
        reason: Why, e.g. ``"too_many_peers"``.
    """

    peer_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class BanPeer:
    """Disconnect a peer and refuse it until ``until``.

    Attributes:
        peer_id: The peer.
        until: Simulated time (seconds) when the ban ends.
        reason: Why, e.g. ``"bad_header"``, ``"bad_body"`` or ``"min_score"``.
    """

    peer_id: str
    until: float
    reason: str


Action = SendRequest | ProcessBlocks | WriteCheckpoint | DropPeer | BanPeer
"""Anything an engine asks its caller to do."""

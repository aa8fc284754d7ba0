"""Sync engines: sans-I/O state machines for V1 (``ExWire.Sync``) and V2 (SimpleSyncV2).

They take events with the current simulated time and return actions; they import neither
``sim`` nor ``pool``. :mod:`sync.driver` runs one against :mod:`sync.peers` and a
:class:`~sync.chain.Chain` without SimPy.
"""

from typing import TYPE_CHECKING

from sync.chain import Block, Body, Chain, ChainConfig, ChainRules
from sync.driver import Driver, DriverConfig, RunResult, run_sync
from sync.engine import SyncEngine
from sync.messages import (
    Action,
    BanPeer,
    DropPeer,
    ProcessBlocks,
    Response,
    SendRequest,
    WriteCheckpoint,
)
from sync.peers import PROFILES, Peer, PeerProfile, Reply, build_peers
from sync.scoring import PeerScore, ScoringConfig
from sync.v1 import SyncV1, SyncV1Config
from sync.v2 import CheckpointHandover, SyncV2, SyncV2Config

if TYPE_CHECKING:
    # mypy proves both engines implement the driver/model interface.
    _V1_IS_ENGINE: type[SyncEngine] = SyncV1
    _V2_IS_ENGINE: type[SyncEngine] = SyncV2

__all__ = [
    "PROFILES",
    "Action",
    "BanPeer",
    "Block",
    "Body",
    "Chain",
    "ChainConfig",
    "ChainRules",
    "CheckpointHandover",
    "Driver",
    "DriverConfig",
    "DropPeer",
    "Peer",
    "PeerProfile",
    "PeerScore",
    "ProcessBlocks",
    "Reply",
    "Response",
    "RunResult",
    "ScoringConfig",
    "SendRequest",
    "SyncEngine",
    "SyncV1",
    "SyncV1Config",
    "SyncV2",
    "SyncV2Config",
    "WriteCheckpoint",
    "build_peers",
    "run_sync",
]

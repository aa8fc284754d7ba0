"""Each sync engine's peer disconnect rate is its own (second review of issue 6, R2-6).

The guide's ``Mana.Monitoring.Alerts`` sync threshold ``peer_disconnect_rate: 30`` ("Alert if
>30% peers disconnect", guide L181) judges V2's figure: the peers V2's engine lost in the window
(connected peers that went down or were partitioned away, and peers the engine dropped or
banned) over the peers it was connected to at the window's start. V1 (at most 10 peers) and V2
(at most 50) keep their own connection sets, so their figures differ.
"""

from typing import Any

import numpy as np
import pytest
import simpy

from sim.network import Network
from sim.rollout import HealthCheck
from sim.rollout_link import snapshot_from_rows
from sim.runner import Model
from sim.scenario import load_scenario, parse_scenario
from sim.sync_link import SyncLink
from sync.chain import Chain, ChainConfig
from sync.messages import BanPeer, DropPeer
from sync.v1 import SyncV1, SyncV1Config

SYNC = "sync_service"


def rows_of(ts: dict[str, Any]) -> list[dict[str, float]]:
    n = len(ts["time"])
    return [{k: float(v[i]) for k, v in ts.items()} for i in range(n)]


def test_link_counts_only_its_own_connections_lost() -> None:
    env = simpy.Environment()
    chain = Chain(np.random.default_rng(1), ChainConfig(), length=20)
    network = Network(chain, {"honest": 25}, np.random.default_rng(2))
    engine = SyncV1(chain.rules, np.random.default_rng(3), SyncV1Config())
    link = SyncLink(env, "v1", engine, chain, network)
    network.listeners.append(lambda pid, up: link.peer_up(pid) if up else link.peer_down(pid))
    link.start()
    # 25 reachable peers, V1 holds 10: the 15 refused at their handshake were never connected.
    assert len(link.connected) == 10
    assert link.peers_lost == 0
    held = list(link.connected)
    others = [p.peer_id for p in network.peers if p.peer_id not in link.connected]
    # Peers it is not connected to going away are not its loss.
    network.partition(others[:5], cut=True)
    assert link.peers_lost == 0
    # Three of its own go away (a partition), one it bans, one it drops.
    network.partition(held[:3], cut=True)
    link.carry_out([BanPeer(held[3], 100.0, "test"), DropPeer(held[4], "test")])
    assert link.peers_lost == 5
    # A drop or ban of a peer it no longer holds is not counted twice.
    link.carry_out([BanPeer(held[0], 100.0, "test"), DropPeer(others[6], "test")])
    assert link.peers_lost == 5
    # The interval: its losses over the connections held at its start (the link's start).
    assert link.take_interval() == (5, 10)
    # A peer coming back and leaving again within the next interval: counted again.
    network.partition(held[:1], cut=False)
    assert held[0] in link.connected
    network.partition(held[:1], cut=True)
    assert link.take_interval() == (1, 5)
    # V1 deprecation: the connections close with the engine; that is no loss.
    link.stop()
    assert link.take_interval() == (0, 5)
    assert link.take_interval() == (0, 0)
    assert link.peers_lost == 6


def test_partition_gives_each_engine_its_own_rate() -> None:
    # The built-in partition cuts off a random 60 % of 50 peers at 60 s (seed 1: 5 of the 10
    # V1 holds, 30 of V2's 50; the fault_start event says so). Each engine loses its own.
    scenario = load_scenario("partition")
    result = Model(scenario.model_copy(update={"duration": 120.0}), 1).execute()
    (start,) = [e for e in result.events if e["kind"] == "fault_start"]
    assert (start["v1_hit"], start["v1_connected"]) == (5, 10)
    assert (start["v2_hit"], start["v2_connected"]) == (30, 50)
    ts = result.timeseries
    at = list(ts["time"]).index(60.0)
    v1, v2 = f"{SYNC}.v1.", f"{SYNC}.v2."
    assert (ts[v1 + "peer_disconnects"][at], ts[v1 + "peers_at_interval_start"][at]) == (5, 10)
    assert ts[v1 + "peer_disconnect_rate_percent"][at] == 50.0
    assert (ts[v2 + "peer_disconnects"][at], ts[v2 + "peers_at_interval_start"][at]) == (30, 50)
    assert ts[v2 + "peer_disconnect_rate_percent"][at] == 60.0
    # V1 held 10 peers from the start, not the 50 reachable.
    assert ts[v1 + "peers_at_interval_start"][0] == 10.0
    # A window from the start: every engine's losses over ITS connections at the start.
    rows = rows_of(ts)[: at + 1]
    snap = snapshot_from_rows(rows)
    for version, held in (("v1", 10.0), ("v2", 50.0)):
        lost = sum(r[f"{SYNC}.{version}.peer_disconnects"] for r in rows)
        assert snap[SYNC][version]["peer_disconnect_rate_percent"] == 100.0 * lost / held
    assert snap[SYNC]["v1"]["peer_disconnect_rate_percent"] == 50.0


def test_v2s_own_bans_count_against_v2_only() -> None:
    # No churn, no faults: no peer ever goes down. V2 bans the liars (scoring), V1 never bans:
    # only V2 loses peers, and losing 4 of its 12 (33 %) trips the Alerts threshold for V2.
    scenario = parse_scenario({
        "duration": 300,
        "network": {"peers": {"honest": 8, "liar": 4}, "initial_chain": 2000},
        "modules": {SYNC: {"version": "v2", "traffic": 5}},
    }, "<test>")
    model = Model(scenario, 1)
    result = model.execute()
    ts = result.timeseries
    assert model.network.disconnects == 0
    bans = model.links["v2"].bans
    assert bans == 4
    assert sum(ts[f"{SYNC}.v2.peer_disconnects"]) == bans
    assert sum(ts[f"{SYNC}.v1.peer_disconnects"]) == 0
    assert ts[f"{SYNC}.v2.peers_at_interval_start"][0] == 12.0
    snap = snapshot_from_rows(rows_of(ts))
    assert snap[SYNC]["v2"]["peer_disconnect_rate_percent"] == pytest.approx(100.0 * 4 / 12)
    assert snap[SYNC]["v1"]["peer_disconnect_rate_percent"] == 0.0
    violations = HealthCheck("alerts", modules=(SYNC,)).evaluate(300.0, snap).violations
    assert [v.check for v in violations if v.check == "peer_disconnect_rate"] == [
        "peer_disconnect_rate"]

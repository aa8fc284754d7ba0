"""Peer faults and partitions hit a fair sample of the population (review of issue 6, K2).

The sync engines connect in population order (V1 holds the first 10 reachable peers, V2 up
to 50), so faults that hit "the first peers" cut off every one of V1's peers in a 60 %
partition while V2 kept 40 %: the two engines were compared under very different damage. A
fault now draws its targets from its own seeded stream (``targets: random``, the default),
hits exactly the peers it lists (``peers: [ids]``), or keeps the old rule under
``targets: first``. Its ``fault_start`` event names the peers hit and how many of each
engine's connected peers they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.config_error import ConfigError
from sim.report import peer_fault_lines, summary_table
from sim.runner import Model, run
from sim.scenario import Scenario, load_scenario, parse_scenario

SYNC = "sync_service"


def _scenario(faults: list[dict[str, Any]], duration: float = 60.0, **extra: Any) -> Scenario:
    return parse_scenario({"duration": duration, "faults": faults,
                           "modules": {SYNC: {"version": "v2", "traffic": 5}}, **extra}, "<t>")


def _starts(result: Any) -> list[dict[str, Any]]:
    return [e for e in result.events if e["kind"] == "fault_start"]


def _partition(share: float, **extra: Any) -> Scenario:
    base = load_scenario("partition")
    fault = base.faults[0].model_copy(update={"share": share, **extra})
    # 70 s: the fault starts at 60 s (the engines' connections are made at 0 s).
    return base.model_copy(update={"duration": 70.0, "faults": (fault,)})


# -- the draw ------------------------------------------------------------------------------


def test_same_seed_same_targets_other_seeds_differ() -> None:
    scenario = _scenario([{"kind": "partition", "share": 0.3, "start": 10},
                          {"kind": "peer_silence", "peers": 4, "start": 10}])
    first = Model(scenario, 1).fault_targets
    assert Model(scenario, 1).fault_targets == first
    assert len(first[0]) == 15
    assert len(first[1]) == 4
    others = [Model(scenario, seed).fault_targets for seed in (2, 3, 4)]
    assert all(o[0] != first[0] and o[1] != first[1] for o in others)
    # The two faults draw apart (their own streams), so neither is the other's prefix.
    assert first[1] != [p for p in first[0] if p.startswith("honest")][:4]


def test_targets_are_in_population_order_and_peer_faults_pick_honest_peers() -> None:
    scenario = _scenario([{"kind": "peer_crash", "peers": 5, "start": 10},
                          {"kind": "partition", "share": 1.0, "start": 10}])
    model = Model(scenario, 7)
    order = model.network.index
    crash, partition = model.fault_targets[0], model.fault_targets[1]
    assert [order[p] for p in crash] == sorted(order[p] for p in crash)
    assert all(model.network.by_id[p].profile.name == "honest" for p in crash)
    assert partition == [p.peer_id for p in model.network.peers]  # share 1.0: everyone


def test_a_60_percent_partition_takes_about_60_percent_of_each_engines_peers() -> None:
    # Over several seeds each engine loses a share of its connected peers near the fraction:
    # V1 holds 10 (a hypergeometric draw, 0.6 +- 0.15 per seed), V2 all 50 (0.6 exactly, as
    # 30 of the 50 are cut off). Under "first" V1 lost all 10 of its peers on every seed.
    v1_shares = []
    for seed in range(1, 9):
        (start,) = _starts(run(_partition(0.6), seed=seed))
        assert len(start["peers"]) == 30
        assert start["v1_hit"] < start["v1_connected"]  # never all of V1's peers
        v1_shares.append(start["v1_hit"] / start["v1_connected"])
        assert start["v2_hit"] == 30
        assert start["v2_connected"] >= 49  # all 50 but a churning peer offline at 60 s
    assert abs(float(np.mean(v1_shares)) - 0.6) <= 0.1, v1_shares


def test_the_default_partition_builtin_no_longer_cuts_off_all_of_v1() -> None:
    (start,) = _starts(run(_partition(0.6)))
    assert start["v1_hit"] < start["v1_connected"] == 10


def test_first_keeps_the_old_rule_and_cuts_off_every_v1_peer() -> None:
    scenario = _partition(0.6, targets="first")
    model = Model(scenario, 1)
    assert model.fault_targets[0] == [p.peer_id for p in model.network.peers[:30]]
    result = model.execute()
    (start,) = _starts(result)
    assert (start["v1_hit"], start["v1_connected"], start["v2_hit"]) == (10, 10, 30)
    crash = _scenario([{"kind": "peer_crash", "peers": 3, "targets": "first", "start": 10}])
    model = Model(crash, 1)
    honest = [p.peer_id for p in model.network.peers if p.profile.name == "honest"]
    assert model.fault_targets[0] == honest[:3]


def test_first_stalls_v1_for_good_as_the_old_partition_did() -> None:
    # Every V1 peer cut off at 60 s, its outstanding request with them: V1 (no request
    # timeout) imports nothing more, even after the partition heals at 200 s.
    base = load_scenario("partition")
    fault = base.faults[0].model_copy(update={"targets": "first", "end": 200.0})
    result = run(base.model_copy(update={"duration": 400.0, "faults": (fault,)}))
    t = result.timeseries["time"]
    v1 = result.timeseries[f"{SYNC}.v1.blocks_behind"]
    assert np.all(np.diff(v1[t >= 120.0]) >= 0)
    assert result.summary[SYNC]["v1"]["synced_to"] <= 200


def test_more_peers_than_honest_ones_hits_every_honest_peer() -> None:
    scenario = _scenario([{"kind": "peer_silence", "peers": 9, "start": 10}],
                         network={"peers": {"honest": 4, "liar": 3}})
    model = Model(scenario, 1)
    assert sorted(model.fault_targets[0]) == [f"honest-{i}" for i in range(4)]


# -- explicit targets ----------------------------------------------------------------------


def test_listed_peers_are_hit_exactly() -> None:
    scenario = _scenario([
        {"kind": "peer_crash", "peers": ["slow-1", "honest-7"], "start": 10},
        {"kind": "partition", "peers": ["honest-3", "churning-0", "flaky-2"], "start": 20},
    ])
    model = Model(scenario, 1)
    result = model.execute()
    crash, partition = _starts(result)
    assert sorted(crash["peers"]) == ["honest-7", "slow-1"]
    assert sorted(partition["peers"]) == ["churning-0", "flaky-2", "honest-3"]
    # Neither fault ends: at the end exactly those peers are crashed and partitioned.
    assert model.network.crashed == {"honest-7", "slow-1"}
    assert model.network.partitioned == {"churning-0", "flaky-2", "honest-3"}
    order = model.network.index
    assert [order[p] for p in partition["peers"]] == sorted(order[p] for p in partition["peers"])


@pytest.mark.parametrize(("fault", "words"), [
    ({"kind": "peer_crash", "peers": ["honest-40"]}, "no peer 'honest-40' in the network"),
    ({"kind": "peer_crash", "peers": ["honest-01"]}, "no peer 'honest-01'"),
    ({"kind": "peer_crash", "peers": ["honest-\u00b2"]}, "no peer"),
    ({"kind": "partition", "peers": ["liar-0"]}, "no peer 'liar-0'"),
    ({"kind": "peer_crash", "peers": ["honest-1", "honest-1"]}, "listed twice"),
    ({"kind": "peer_crash", "peers": ["honest-1"], "targets": "first"}, "targets would be ignored"),
    ({"kind": "partition", "peers": ["honest-1"], "share": 0.3}, "share would be ignored"),
    ({"kind": "partition", "peers": []}, "lists no peer"),
    ({"kind": "peer_lying", "peers": 0}, "at least 1"),
    ({"kind": "partition", "targets": "last"}, "'random' or 'first'"),
])
def test_bad_targets_are_refused(fault: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        _scenario([fault])


# -- no other stream moves -----------------------------------------------------------------


def test_drawing_targets_moves_no_other_random_stream() -> None:
    # A slowness fault by a factor of 1 changes no delay: a run with it draws its targets
    # and must otherwise be the run without faults, series for series.
    plain = run(_scenario([], duration=300.0))
    drawn = run(_scenario([{"kind": "peer_slowness", "peers": 10, "slow_factor": 1.0,
                            "start": 30}], duration=300.0))
    assert set(plain.timeseries) == set(drawn.timeseries)
    for name, column in plain.timeseries.items():
        assert np.array_equal(column, drawn.timeseries[name], equal_nan=True), name
    (start,) = _starts(drawn)
    assert len(start["peers"]) == 10


# -- the report ----------------------------------------------------------------------------


def test_the_printed_summary_shows_each_engines_damage() -> None:
    result = run(_partition(0.6))
    (start,) = _starts(result)
    lines = peer_fault_lines(result.events)
    assert lines[1].split() == [
        "0:01:00", "partition", "30", "peers;", "v1", str(start["v1_hit"]), "of", "its", "10,",
        "v2", "30", "of", "its", "50"]
    assert "\n".join(lines) in summary_table(result.summary, result.events)
    few = [{"kind": "fault_start", "time": 5.0, "fault": "peer_crash", "index": 0,
            "peers": ["honest-2", "slow-0"], "v1_connected": 10, "v1_hit": 1}]
    assert peer_fault_lines(few)[1].split() == [
        "0:00:05", "peer_crash", "2", "peers", "(honest-2,", "slow-0);", "v1", "1", "of", "its",
        "10"]
    assert peer_fault_lines([{"kind": "fault_start", "fault": "v2_regression"}]) == []
    assert peer_fault_lines(None) == []


# -- review 9 V-3: a fault that hits no peer, or fewer than asked ---------------------------


@pytest.mark.parametrize(("fault", "network", "words"), [
    ({"kind": "partition", "share": 0.001}, None,
     r"share 0.001 of the network's 50 peers rounds to 0 peers \(give a share above 0.01"),
    ({"kind": "partition", "share": 0.05}, {"peers": {"honest": 8}}, "rounds to 0 peers"),
    ({"kind": "partition"}, {"peers": {"honest": 0}}, "network with no peer"),
    ({"kind": "peer_crash", "peers": 2}, {"peers": {"honest": 0, "slow": 3}},
     "counts honest peers and the network has none"),
])
def test_a_fault_that_can_hit_no_peer_is_refused(
        fault: dict[str, Any], network: dict[str, Any] | None, words: str) -> None:
    extra = {} if network is None else {"network": network}
    with pytest.raises(ConfigError, match=words):
        _scenario([{**fault, "start": 10}], **extra)


def test_the_smallest_share_that_hits_a_peer_and_listed_peers_without_honest_ones_load() -> None:
    # 0.011 of 50 is 0.55 peers: rounds to 1. A list needs no honest peer.
    model = Model(_scenario([{"kind": "partition", "share": 0.011, "start": 10}]), 1)
    assert len(model.fault_targets[0]) == 1
    scenario = _scenario([{"kind": "peer_crash", "peers": ["slow-0"], "start": 10}],
                         network={"peers": {"honest": 0, "slow": 3}})
    assert Model(scenario, 1).fault_targets[0] == ["slow-0"]


def test_fault_start_records_how_many_peers_were_asked_for_and_hit() -> None:
    # The reviewer's ft/c.yaml: 100 asked, 40 honest peers in the default network.
    result = run(_scenario([{"kind": "peer_crash", "peers": 100, "start": 10},
                            {"kind": "partition", "share": 0.3, "start": 20}], duration=30.0))
    crash, partition = _starts(result)
    assert (crash["requested"], len(crash["peers"])) == (100, 40)
    assert (partition["requested"], len(partition["peers"])) == (15, 15)
    lines = peer_fault_lines(result.events)
    assert "peer_crash  40 peers (of 100 asked: no more honest peers);" in lines[1]
    assert "asked" not in lines[2]


def test_validate_warns_of_a_count_above_the_honest_peers(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    path = tmp_path / "c.yaml"
    path.write_text("duration: 5m\nfaults:\n  - {kind: peer_crash, peers: 100, start: 60}\n"
                    "  - {kind: peer_silence, peers: 40, start: 60}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: warning: faults[0] (peer_crash) asks for 100 honest peers; the network "
        "has 40: it hits those 40"]

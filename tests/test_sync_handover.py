"""The sync checkpoint hand-over at V1 deprecation (issue 6 item 6), engine level:
V1 shuts down saving its chain, V2 adopts it when behind and carries on, else nothing changes.
"""

import numpy as np

from sync import (
    Chain,
    DriverConfig,
    ProcessBlocks,
    Response,
    SendRequest,
    SyncV1,
    SyncV2,
    SyncV2Config,
    WriteCheckpoint,
    build_peers,
    run_sync,
)


def rngs(seed: int, n: int = 4) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def synced_v1(chain: Chain, rng: np.random.Generator, peers_rng: np.random.Generator,
              target: int) -> SyncV1:
    v1 = SyncV1(chain.rules, rng)
    r = run_sync(v1, chain, build_peers({"honest": 8}, peers_rng), DriverConfig(target=target))
    assert r.synced
    return v1


def sends(actions: list[object]) -> list[SendRequest]:
    return [a for a in actions if isinstance(a, SendRequest)]


def test_v1_shut_down_saves_every_imported_block_as_its_checkpoint() -> None:
    a, b, c, _ = rngs(1)
    chain = Chain(a, length=2_000)
    v1 = synced_v1(chain, c, b, 1_234)
    tip = v1.synced_to
    assert (tip, v1.ledger.checkpoint_number) == (1_234, 1_200)  # last periodic save: 1,200
    assert v1.shut_down() == tip
    assert v1.ledger.checkpoint_number == tip


def test_v2_behind_adopts_v1_checkpoint_and_carries_on_canonically() -> None:
    a, b, c, d = rngs(2)
    chain = Chain(a, length=3_000)
    v1 = synced_v1(chain, c, b, 1_500)
    checkpoint = v1.shut_down()
    v2 = SyncV2(chain.rules, d, SyncV2Config(sync_checkpoint_interval=1_000))
    for i in range(4):
        v2.peer_connected(f"p{i}", chain.height, 0.0)
    first = sends(v2.start(0.0))
    assert first[0].start == 1
    assert v2.synced_to == 0
    assert v2.in_flight == len(first)
    handover = v2.adopt_checkpoint(v1.ledger, 1.0)
    assert (handover.outcome, handover.checkpoint, handover.tip_before, handover.tip_after) == (
        "adopted", checkpoint, 0, checkpoint)
    assert v2.synced_to == checkpoint
    assert v2.ledger.checkpoint_number == checkpoint
    assert v2.imported_matches(chain)
    assert isinstance(handover.actions[0], WriteCheckpoint)
    assert handover.actions[0].number == checkpoint
    # The pipeline restarts just above the checkpoint; the old requests are abandoned.
    reqs = sends(handover.actions)
    assert reqs
    assert reqs[0].start == checkpoint + 1
    assert v2.in_flight == len(reqs)
    assert v2.on_response(first[0].request_id, Response(headers=()), 1.5) == []
    assert v2.metrics(1.5)["late_responses"] == 1
    assert v2.metrics(1.5)["blocks_imported"] == 0  # adopted, not imported by V2
    # A crash afterwards resumes from the adopted checkpoint, not from genesis.
    v2.restart(2.0)
    assert v2.synced_to == checkpoint
    # And V2 syncs the rest of the chain from there.
    r = run_sync(v2, chain, build_peers({"honest": 8}, b))
    assert r.synced
    assert r.imported_ok
    assert r.metrics["blocks_imported"] == chain.height - checkpoint


def test_v2_stale_work_after_adoption_is_ignored() -> None:
    a, b, c, d = rngs(3)
    chain = Chain(a, length=1_000)
    v1 = synced_v1(chain, c, b, 600)
    v2 = SyncV2(chain.rules, d, SyncV2Config(parallel_requests=1))
    v2.peer_connected("p", chain.height, 0.0)
    (req,) = sends(v2.start(0.0))
    headers = Response(headers=tuple(chain.block(n) for n in range(1, 129)))
    (breq,) = sends(v2.on_response(req.request_id, headers, 0.1))
    bodies = Response(bodies=tuple(chain.body(n) for n in range(1, 129)))
    (proc,) = [x for x in v2.on_response(breq.request_id, bodies, 0.2)
               if isinstance(x, ProcessBlocks)]
    v2.blocks_processed(list(proc.blocks[:50]), 0.3)
    assert v2.synced_to == 50
    handover = v2.adopt_checkpoint(v1.ledger, 0.4)  # V1's periodic checkpoint (a 100th)
    assert handover.outcome == "adopted"
    assert v2.synced_to == v1.ledger.checkpoint_number > 50
    v2.blocks_processed(list(proc.blocks[50:]), 0.5)  # processing handed out before
    assert v2.synced_to == v1.ledger.checkpoint_number


def test_v2_ahead_of_the_checkpoint_changes_nothing() -> None:
    a, b, c, d = rngs(4)
    chain = Chain(a, length=2_000)
    v1 = synced_v1(chain, c, b, 500)
    v1.shut_down()
    v2 = SyncV2(chain.rules, d)
    r = run_sync(v2, chain, build_peers({"honest": 8}, b), DriverConfig(target=1_200))
    assert r.synced
    tip, saved, in_flight = v2.synced_to, v2.ledger.checkpoint_number, v2.in_flight
    handover = v2.adopt_checkpoint(v1.ledger, r.sim_time)
    assert (handover.outcome, handover.tip_before, handover.tip_after, handover.actions) == (
        "not_behind", tip, tip, [])
    assert (v2.synced_to, v2.ledger.checkpoint_number, v2.in_flight) == (tip, saved, in_flight)


def test_a_checkpoint_from_another_chain_is_refused() -> None:
    a, b, c, d = rngs(5)
    chain = Chain(a, length=1_000)
    other = Chain(np.random.default_rng(99), length=1_000)
    v1 = synced_v1(other, c, b, 500)
    v1.shut_down()
    v2 = SyncV2(chain.rules, d)
    r = run_sync(v2, chain, build_peers({"honest": 8}, b), DriverConfig(target=200))
    tip = v2.synced_to
    assert r.synced
    assert tip < v1.ledger.checkpoint_number
    handover = v2.adopt_checkpoint(v1.ledger, r.sim_time)
    assert (handover.outcome, handover.tip_after, handover.actions) == ("refused", tip, [])
    assert v2.synced_to == tip
    assert v2.imported_matches(chain)


def test_v2_past_a_checkpoint_newer_than_its_own_records_it_and_restarts_from_it() -> None:
    # R5-9: V2 at 800 has saved no checkpoint yet (every 1,000th block); V1's 500 becomes
    # V2's, so a restart resumes from 500, not from genesis.
    a, b, c, d = rngs(6)
    chain = Chain(a, length=2_000)
    v1 = synced_v1(chain, c, b, 500)
    checkpoint = v1.shut_down()
    v2 = SyncV2(chain.rules, d, SyncV2Config(sync_checkpoint_interval=1_000))
    r = run_sync(v2, chain, build_peers({"honest": 8}, b), DriverConfig(target=800))
    assert r.synced
    tip, in_flight = v2.synced_to, v2.in_flight
    assert v2.ledger.checkpoint_number == 0 < checkpoint < tip
    handover = v2.adopt_checkpoint(v1.ledger, r.sim_time)
    assert (handover.outcome, handover.tip_before, handover.tip_after) == (
        "not_behind", tip, tip)
    assert handover.actions == [WriteCheckpoint(checkpoint, chain.block(checkpoint).hash)]
    assert (v2.synced_to, v2.in_flight) == (tip, in_flight)  # chain and pipeline unchanged
    assert v2.ledger.checkpoint_number == checkpoint
    v2.restart(r.sim_time + 1.0)
    assert v2.synced_to == checkpoint
    assert v2.imported_matches(chain)


def test_v2_past_a_checkpoint_of_another_chain_refuses_it() -> None:
    a, b, c, d = rngs(7)
    chain = Chain(a, length=1_000)
    other = Chain(np.random.default_rng(98), length=1_000)
    v1 = synced_v1(other, c, b, 300)
    v1.shut_down()
    v2 = SyncV2(chain.rules, d)
    r = run_sync(v2, chain, build_peers({"honest": 8}, b), DriverConfig(target=600))
    assert r.synced
    tip = v2.synced_to
    assert tip > v1.ledger.checkpoint_number
    handover = v2.adopt_checkpoint(v1.ledger, r.sim_time)
    assert (handover.outcome, handover.tip_after, handover.actions) == ("refused", tip, [])
    assert v2.ledger.checkpoint_number == 0

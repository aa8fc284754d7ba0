"""Chain model, wrong-data detection and peer profiles."""

import numpy as np
import pytest

from sync import PROFILES, Chain, SendRequest, build_peers
from sync.chain import Block, Body, ChainConfig, corrupt_body, corrupt_header
from sync.ledger import ImportedChain
from sync.peers import Peer, with_lag


def test_chain_is_linked_sealed_and_grows_per_slot() -> None:
    chain = Chain(np.random.default_rng(1), length=50)
    rules = chain.rules
    assert chain.height == 50
    # Blocks are rebuilt on demand from the chain's columns: equal values, not one object.
    assert chain.head == chain.block(50)
    assert chain.block(0) == rules.genesis
    for n in range(1, 51):
        b = chain.block(n)
        assert b.parent_hash == chain.block(n - 1).hash
        assert rules.header_ok(b)
        assert rules.body_ok(b, chain.body(n))
        assert chain.number_of(b.hash) == n
    assert chain.grow_to(12.0 * 60) == 10
    assert chain.height == 60
    with pytest.raises(IndexError):
        chain.block(61)


def test_same_seed_same_chain_and_wrong_data_is_detected() -> None:
    a = Chain(np.random.default_rng(7), ChainConfig(), length=20)
    b = Chain(np.random.default_rng(7), ChainConfig(), length=20)
    assert [x.hash for x in (a.block(i) for i in range(21))] == [
        x.hash for x in (b.block(i) for i in range(21))]
    blk = a.block(5)
    assert not a.rules.header_ok(corrupt_header(blk, 3))
    assert not a.rules.body_ok(blk, corrupt_body(a.body(5), 3))
    # Another chain's blocks do not carry this chain's seal.
    other = Chain(np.random.default_rng(8), length=5)
    assert not a.rules.header_ok(other.block(5))


def test_hash_lookup_across_the_sorted_index_and_the_newest_blocks() -> None:
    # 2,500 blocks: two merges into the sorted index, the newest still in the tail dict.
    chain = Chain(np.random.default_rng(3), length=1000)
    chain.extend(1000)
    for _ in range(500):
        chain.extend(1)
    assert chain.height == 2500
    assert 0 < len(chain._tail) < Chain._TAIL_MAX
    for n in range(chain.height + 1):
        assert chain.number_of(chain.block(n).hash) == n
    assert chain.number_of(corrupt_header(chain.block(7), 1).hash) is None
    assert chain.number_of(-1) is None
    assert chain.number_of(1 << 70) is None
    assert chain.body(2500) == Body(chain.head.body_root, chain.head.size - 508)
    with pytest.raises(IndexError):
        chain.body(2501)


def peer(name: str, seed: int = 0) -> Peer:
    return Peer(name, PROFILES[name], np.random.default_rng(seed))


def test_profiles_turn_requests_into_answers() -> None:
    chain = Chain(np.random.default_rng(2), length=300)
    hreq = SendRequest(1, "x", "headers", 10, 128)
    breq = SendRequest(2, "x", "bodies", 10, 3, tuple(chain.block(n).hash for n in (10, 11, 12)))
    honest = peer("honest")
    reply = honest.serve(hreq, chain, 0.0)
    assert reply is not None
    assert [h.number for h in reply.response.headers] == list(range(10, 138))
    assert reply.delay > reply.response.nbytes / honest.bandwidth_bps
    reply = honest.serve(breq, chain, 0.0)
    assert reply is not None
    assert reply.response.bodies == tuple(chain.body(n) for n in (10, 11, 12))
    assert peer("silent").serve(hreq, chain, 0.0) is None
    flaky = [peer("flaky", s).serve(hreq, chain, 0.0) for s in range(200)]
    fails = sum(1 for r in flaky if r is not None and r.response.failure == "error")
    assert 40 <= fails <= 80  # ~30 %
    lies = 0
    for s in range(100):
        r = peer("liar", s).serve(hreq, chain, 0.0)
        assert r is not None
        lies += not all(chain.rules.header_ok(h) for h in r.response.headers)
    assert 35 <= lies <= 65  # ~50 %
    slow, fast = peer("slow", 1), peer("honest", 1)
    rs, rf = slow.serve(hreq, chain, 0.0), fast.serve(hreq, chain, 0.0)
    assert rs is not None
    assert rf is not None
    assert rs.delay > rf.delay
    # Two answers at once share the uplink: the second leaves after the first.
    big = SendRequest(3, "x", "bodies", 1, 100, tuple(chain.block(n).hash for n in range(1, 101)))
    p = peer("honest", 5)
    r1, r2 = p.serve(big, chain, 10.0), p.serve(big, chain, 10.0)
    assert r1 is not None
    assert r2 is not None
    assert r2.delay >= r1.delay + r1.response.nbytes / p.bandwidth_bps - 1e-9


def test_lagging_peer_serves_only_its_prefix_and_churning_peer_sessions() -> None:
    chain = Chain(np.random.default_rng(3), length=300)
    lag = Peer("l", with_lag(PROFILES["honest"], 100), np.random.default_rng(0))
    assert lag.head(chain) == 200
    r = lag.serve(SendRequest(1, "l", "headers", 150, 128), chain, 0.0)
    assert r is not None
    assert r.response.headers[-1].number == 200
    churn = peer("churning")
    assert 0 < churn.online_s() < float("inf")
    assert peer("honest").online_s() == float("inf")


def test_build_peers_is_shuffled_deterministic_and_ids_unique() -> None:
    mix = [(PROFILES["honest"], 3), (with_lag(PROFILES["honest"], 5), 2),
           (PROFILES["silent"], 2)]
    a = build_peers(mix, np.random.default_rng(4))
    b = build_peers(mix, np.random.default_rng(4))
    assert [p.peer_id for p in a] == [p.peer_id for p in b]
    assert len({p.peer_id for p in a}) == 7
    assert [p.latency_s for p in a] == [p.latency_s for p in b]


def test_imported_chain_keeps_full_64_bit_hashes_and_rewinds() -> None:
    genesis = Block(0, (1 << 64) - 1, 0, 7, 0, 0.0)
    ledger = ImportedChain(genesis)
    child = Block(1, 0, genesis.hash, 8, 100, 0.001)
    assert ledger.extends_tip(child)
    ledger.append(child)
    assert ledger.has(child)
    assert ledger.tip_hash == 0
    assert ledger.hash_at(0) == (1 << 64) - 1
    assert ledger.mark_checkpoint() == 1
    grandchild = Block(2, 1 << 63, 0, 9, 100, 0.001)
    ledger.append(grandchild)
    ledger.rewind_to_checkpoint()
    assert ledger.tip == 1
    assert not ledger.has(grandchild)

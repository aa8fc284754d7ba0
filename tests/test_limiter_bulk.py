"""Bulk paths of the inbound sync-request path give exactly the one-by-one results.

* ServiceDraws.take slices the current chunk's columns instead of pulling pairs one by one:
  it must hand out the values that as many ``next()`` calls would, and leave the stream (and
  its generator) where they would.
* InputFeeder.advance with a batch handler takes a stretch's inputs as slices of the chunk's
  parts (``_Split``) instead of masking the stretch: the offers and the stretches must be
  those of the plain one-by-one stream, whatever the handler takes or declines.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pool import Transaction
from sim.control import GenericService
from sim.inputs import (
    BATCH_KINDS,
    KIND_FILTER,
    KIND_SUBSCRIPTION,
    KIND_SYNC,
    KIND_TX,
    InputFeeder,
    RequestSource,
)
from sim.service_draws import ServiceDraws
from sim.workload import TxStream, TxWorkload

SERVICE = GenericService(mean_latency=0.01, latency_cv=2.0, error_rate=0.2, timeout=0.05)


def _one_by_one(steps: list[int], chunk: int, seed: int
                ) -> tuple[list[bool], list[float], dict]:  # type: ignore[type-arg]
    # The reference: every value through next(), one call each.
    rng = np.random.default_rng(seed)
    draws = ServiceDraws(SERVICE, rng, chunk=chunk)
    oks: list[bool] = []
    latencies: list[float] = []
    for k in steps:
        for _ in range(max(k, 1)):
            ok, latency = draws.next()
            oks.append(ok)
            latencies.append(latency)
    return oks, latencies, rng.bit_generator.state


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.integers(0, 25), max_size=40), chunk=st.integers(1, 12),
       seed=st.integers(0, 3))
def test_take_equals_next_calls(steps: list[int], chunk: int, seed: int) -> None:
    # k == 0 stands for one next() call (so next and take interleave); k >= 1 for take(k).
    rng = np.random.default_rng(seed)
    draws = ServiceDraws(SERVICE, rng, chunk=chunk)
    oks: list[bool] = []
    latencies: list[float] = []
    for k in steps:
        if k == 0:
            ok, latency = draws.next()
            oks.append(ok)
            latencies.append(latency)
        else:
            part_oks, part_latencies = draws.take(k)
            assert len(part_oks) == len(part_latencies) == k
            oks.extend(part_oks)
            latencies.extend(part_latencies)
    want_oks, want_latencies, want_state = _one_by_one(steps, chunk, seed)
    assert oks == want_oks
    assert latencies == want_latencies
    # The same chunks drawn: no refill early, none missing.
    assert rng.bit_generator.state == want_state
    # And the stream carries on from the same place.
    ref = ServiceDraws(SERVICE, np.random.default_rng(seed), chunk=chunk)
    for _ in range(len(oks)):
        ref.next()
    assert [draws.next() for _ in range(chunk + 1)] == [ref.next() for _ in range(chunk + 1)]


def test_take_within_a_chunk_slices_and_at_its_end_refills_only_when_asked() -> None:
    # Pinned cases of the slicing path: a take that ends exactly at the chunk's end must not
    # draw the next chunk; take(0) draws nothing, even before the first chunk.
    rng = np.random.default_rng(5)
    draws = ServiceDraws(SERVICE, rng, chunk=8)
    start = rng.bit_generator.state
    assert draws.take(0) == ([], [])
    assert rng.bit_generator.state == start
    draws.next()
    after_one_chunk = rng.bit_generator.state
    oks, latencies = draws.take(7)  # the rest of the chunk, sliced
    assert rng.bit_generator.state == after_one_chunk
    kinds, lat = SERVICE.sample(np.random.default_rng(5), 8)
    assert oks == (kinds == 0).tolist()[1:]
    assert latencies == lat.tolist()[1:]
    draws.take(1)  # past the end: the next chunk, now
    assert rng.bit_generator.state != after_one_chunk


def _feeder(seed: int, chunk: float) -> InputFeeder:
    # Every kind, with windows that start and end inside chunks, so stretches see every mix.
    return InputFeeder(
        TxWorkload((TxStream(rate={"kind": "constant", "rate": 3.0}),),
                   np.random.default_rng(seed)),
        [RequestSource(KIND_SYNC, 3.0, (7, 8, 9)),
         RequestSource(KIND_FILTER, 2.0, (100, 101), start=20.0, end=110.0),
         RequestSource(KIND_SUBSCRIPTION, 1.5, (200,), start=45.0),
         RequestSource(KIND_SYNC, 2.0, (50,), start=70.0, end=90.0)],
        (1, 2, 3), np.random.default_rng(seed + 1), chunk, 150.0)


def _stream(seed: int, chunk: float) -> list[tuple[float, int, int]]:
    # The reference: every input one by one (no batch handler, no stretch handler).
    seen: list[tuple[float, int, int]] = []

    def on_tx(tx: Transaction, peer: int) -> None:
        seen.append((tx.arrival, KIND_TX, peer))

    def on_request(kind: int, caller: int, t: float) -> None:
        seen.append((t, kind, caller))

    _feeder(seed, chunk).advance(150.0, on_tx, on_request)
    return seen


@settings(max_examples=60, deadline=None)
@given(bounds=st.lists(st.floats(0.0, 150.0), min_size=1, max_size=30),
       answers=st.lists(st.booleans(), min_size=1, max_size=20),
       chunk=st.sampled_from([7.0, 30.0, 200.0]), seed=st.integers(0, 2))
def test_stretches_and_offers_are_the_one_by_one_stream(
        bounds: list[float], answers: list[bool], chunk: float, seed: int) -> None:
    # The handler's answers cycle through `answers`: all taken (the slices), some declined
    # (the masked stretch) and everything in between.
    bounds = [*sorted(bounds), 150.0]
    everything = _stream(seed, chunk)
    f = _feeder(seed, chunk)
    offered: list[tuple[int, list[float]]] = []
    got: list[tuple[float, int, int]] = []
    want_offered: list[tuple[int, list[float]]] = []
    want: list[tuple[float, int, int]] = []

    def on_requests(kind: int, times: list[float]) -> bool:
        offered.append((kind, times))
        return answers[(len(offered) - 1) % len(answers)]

    def on_stretch(kinds: list[int], args: list[int], times: list[float],
                   txs: list[Transaction], relays: list[int]) -> None:
        got.extend((txs[a].arrival, k, relays[a]) if k == KIND_TX else (t, k, a)
                   for k, a, t in zip(kinds, args, times, strict=True))

    prev = 0.0
    chunk_end = chunk
    for until in bounds:
        # The feeder cuts a stretch at each chunk end it crosses.
        cuts = []
        while chunk_end < until:
            cuts.append(chunk_end)
            chunk_end += chunk
        for cut in [*cuts, until]:
            stretch = [x for x in everything if prev <= x[0] < cut]
            prev = max(prev, cut)
            if not stretch:
                continue
            taken = set()
            for kind in BATCH_KINDS:
                times = [t for t, k, _ in stretch if k == kind]
                if times:
                    want_offered.append((kind, times))
                    if answers[(len(want_offered) - 1) % len(answers)]:
                        taken.add(kind)
            want.extend(x for x in stretch if x[1] not in taken)
        f.advance(until, lambda tx, peer: None, lambda kind, caller, t: None, on_requests,
                  on_stretch)
    assert offered == want_offered
    assert got == want
    assert f.fed == len(everything)

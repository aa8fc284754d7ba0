"""Bulk paths of the inbound sync-request path give exactly the one-by-one results.

ServiceDraws.take slices the current chunk's columns instead of pulling pairs one by one:
it must hand out the values that as many ``next()`` calls would, and leave the stream (and
its generator) where they would.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.control import GenericService
from sim.service_draws import ServiceDraws

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

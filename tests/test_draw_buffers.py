"""The buffered draws (PercentDraws, ServiceDraws) hand out their generator's chunks in order.

Their ``next`` is a C-level chain over the chunks; these tests pin that it gives the same
values, the same ``drawn`` count and the same generator calls (one chunk at a time, only when
a value is asked for) as a plain buffer would, however single draws and batches interleave.
"""

import numpy as np
import pytest

from sim.control import GenericService
from sim.control.percent_draws import PercentDraws
from sim.service_draws import ServiceDraws

# Single draws (1) and batches of other sizes, crossing chunk ends of 7 values at every offset.
PATTERN = [1, 0, 3, 7, 2, 5, 0, 14, 1, 1, 1, 4, 6, 1, 8, 1]


def _percent_reference(seed: int, chunk: int, total: int) -> list[int]:
    rng = np.random.default_rng(seed)
    out: list[int] = []
    while len(out) < total:
        out.extend(rng.integers(1, 101, size=chunk).tolist())
    return out


def test_percent_draws_next_and_take_follow_the_chunks_and_count() -> None:
    draws = PercentDraws(np.random.default_rng(4), chunk=7)
    got: list[int] = []
    for k in PATTERN * 3:
        if k == 1:
            got.append(draws.next())
        else:
            part = draws.take(k)
            assert part.dtype == np.int64
            assert part.size == k
            got.extend(part.tolist())
        assert draws.drawn == len(got)
    assert got == _percent_reference(4, 7, len(got))[: len(got)]


def test_percent_draws_refill_only_when_a_value_is_asked_for() -> None:
    # Exactly one chunk used up: the generator must not have been asked for the next one,
    # so its state equals a generator that drew one chunk.
    rng = np.random.default_rng(8)
    draws = PercentDraws(rng, chunk=5)
    draws.take(3)
    draws.next()
    draws.next()
    assert draws.drawn == 5
    ref = np.random.default_rng(8)
    ref.integers(1, 101, size=5)
    assert rng.bit_generator.state == ref.bit_generator.state
    assert draws.take(0).size == 0
    assert rng.bit_generator.state == ref.bit_generator.state


def test_percent_draws_refuse_bad_sizes() -> None:
    with pytest.raises(ValueError, match="chunk"):
        PercentDraws(np.random.default_rng(1), chunk=0)
    with pytest.raises(ValueError, match="n must be"):
        PercentDraws(np.random.default_rng(1)).take(-1)


def test_service_draws_next_and_take_follow_the_chunks() -> None:
    service = GenericService(mean_latency=0.01, latency_cv=2.0, error_rate=0.2, timeout=0.05)
    rng = np.random.default_rng(6)
    draws = ServiceDraws(service, rng, chunk=7)
    oks: list[bool] = []
    latencies: list[float] = []
    for k in PATTERN * 3:
        if k == 1:
            ok, latency = draws.next()
            oks.append(ok)
            latencies.append(latency)
        else:
            part_oks, part_latencies = draws.take(k)
            oks.extend(part_oks)
            latencies.extend(part_latencies)
    ref = np.random.default_rng(6)
    want_oks: list[bool] = []
    want_latencies: list[float] = []
    while len(want_oks) < len(oks):
        kinds, lat = service.sample(ref, 7)
        want_oks.extend((kinds == 0).tolist())
        want_latencies.extend(lat.tolist())
    assert oks == want_oks[: len(oks)]
    assert latencies == want_latencies[: len(oks)]
    assert not all(oks)
    # Both drew the chunks needed for len(oks) values and not one more.
    assert rng.bit_generator.state == ref.bit_generator.state


def test_service_draws_pairs_kept_by_the_caller_keep_their_values() -> None:
    # next() hands out zip's pairs, which zip refills in place when the caller let go of
    # them: pairs a caller keeps must still hold their own values after later draws.
    service = GenericService(mean_latency=0.01, latency_cv=2.0, error_rate=0.3, timeout=0.05)
    draws = ServiceDraws(service, np.random.default_rng(11), chunk=5)
    kept = [draws.next() for _ in range(12)]
    unpacked = []
    for _ in range(6):
        ok, latency = draws.next()
        unpacked.append((ok, latency))
    ref = np.random.default_rng(11)
    want: list[tuple[bool, float]] = []
    while len(want) < 18:
        kinds, lat = service.sample(ref, 5)
        want.extend(zip((kinds == 0).tolist(), lat.tolist(), strict=True))
    assert kept == want[:12]
    assert unpacked == want[12:18]
    assert len({id(p) for p in kept}) == 12

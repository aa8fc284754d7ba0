import numpy as np

from pool import Transaction
from sim.inputs import (
    KIND_FILTER,
    KIND_SUBSCRIPTION,
    KIND_SYNC,
    KIND_TX,
    InputFeeder,
    RequestSource,
)
from sim.workload import TxStream, TxWorkload


def feeder(seed: int = 1, chunk: float = 30.0) -> InputFeeder:
    return InputFeeder(
        TxWorkload((TxStream(rate={"kind": "constant", "rate": 5.0}),),
                   np.random.default_rng(seed)),
        [RequestSource(KIND_SYNC, 2.0, (7, 8)), RequestSource(KIND_FILTER, 1.0, (100,),
                                                              start=50.0, end=80.0)],
        (1, 2, 3), np.random.default_rng(seed + 1), chunk, 200.0)


def collect(f: InputFeeder, bounds: list[float]) -> list[tuple[float, int, int]]:
    seen: list[tuple[float, int, int]] = []

    def on_tx(tx: Transaction, peer: int) -> None:
        seen.append((tx.arrival, KIND_TX, peer))

    def on_request(kind: int, caller: int, t: float) -> None:
        seen.append((t, kind, caller))

    for b in bounds:
        f.advance(b, on_tx, on_request)
    return seen


def test_inputs_in_time_order_and_bounded() -> None:
    seen = collect(feeder(), [13.0, 13.0, 61.5, 200.0])
    times = [t for t, _, _ in seen]
    assert times == sorted(times)
    assert all(0 <= t < 200 for t in times)
    filt = [t for t, k, _ in seen if k == KIND_FILTER]
    assert filt
    assert all(50 <= t < 80 for t in filt)
    assert {c for _, k, c in seen if k == KIND_SYNC} <= {7, 8}
    assert {c for _, k, c in seen if k == KIND_TX} <= {1, 2, 3}


def test_advance_stops_strictly_before_the_bound() -> None:
    f = feeder()
    first = collect(f, [40.0])
    assert all(t < 40.0 for t, _, _ in first)
    rest = collect(f, [200.0])
    assert all(t >= 40.0 for t, _, _ in rest)


def test_inputs_do_not_depend_on_how_time_is_sliced() -> None:
    a = collect(feeder(), [200.0])
    b = collect(feeder(), [float(x) for x in range(1, 201)])
    assert a == b
    c = collect(feeder(seed=5), [200.0])
    assert a != c


def _stretch_feeder() -> InputFeeder:
    # Three request kinds with different windows, so stretches see every mix of kinds.
    return InputFeeder(
        TxWorkload((TxStream(rate={"kind": "constant", "rate": 6.0}),),
                   np.random.default_rng(3)),
        [RequestSource(KIND_SYNC, 4.0, (7, 8, 9)),
         RequestSource(KIND_FILTER, 2.0, (100, 101), start=20.0, end=150.0),
         RequestSource(KIND_SUBSCRIPTION, 1.5, (200,), start=60.0)],
        (1, 2, 3), np.random.default_rng(4), 30.0, 200.0)


def test_stretches_and_batches_are_the_inputs_one_by_one() -> None:
    # advance with on_requests / on_stretch (per-chunk views, bisects and slices) must offer
    # each kind's times of the stretch in kind order and hand over exactly the stretch's
    # inputs minus the kinds taken, in order: checked against the plain one-by-one stream.
    everything = collect(_stretch_feeder(), [200.0])
    # Chunk ends (every 30 s) among the bounds: the feeder splits a stretch at a chunk end.
    bounds = sorted({float(b) for b in np.random.default_rng(9).uniform(0.0, 200.0, 60)}
                    | {0.5, 200.0} | {30.0 * k for k in range(1, 7)})
    f = _stretch_feeder()
    offered: list[tuple[int, list[float]]] = []
    got: list[list[tuple[float, int, int]]] = []
    calls = [0]

    def on_requests(kind: int, times: list[float]) -> bool:
        offered.append((kind, times))
        calls[0] += 1
        return calls[0] % 3 != 0  # takes two batches of three, in a rotating pattern

    def on_stretch(kinds: list[int], args: list[int], times: list[float],
                   txs: list[Transaction], relays: list[int]) -> None:
        got.append([(txs[a].arrival, k, relays[a]) if k == KIND_TX else (t, k, a)
                    for k, a, t in zip(kinds, args, times, strict=True)])

    prev = 0.0
    want_offered: list[tuple[int, list[float]]] = []
    want: list[list[tuple[float, int, int]]] = []
    for until in bounds:
        stretch = [x for x in everything if prev <= x[0] < until]
        prev = until
        if not stretch:
            continue
        taken = set()
        # Inbound sync requests are never offered (BATCH_KINDS): the limiter takes them in
        # order, one by one.
        for kind in (KIND_FILTER, KIND_SUBSCRIPTION):
            times = [t for t, k, _ in stretch if k == kind]
            if times:
                want_offered.append((kind, times))
                if len(want_offered) % 3 != 0:
                    taken.add(kind)
        want.append([x for x in stretch if x[1] not in taken])
    for until in bounds:
        f.advance(until, lambda tx, peer: None, lambda kind, caller, t: None, on_requests,
                  on_stretch)
    assert got == want
    assert offered == want_offered
    assert f.fed == len(everything)
    assert any(k == KIND_SUBSCRIPTION for part in got for _, k, _ in part)

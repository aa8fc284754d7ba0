import numpy as np

from pool import Transaction
from sim.inputs import KIND_FILTER, KIND_SYNC, KIND_TX, InputFeeder, RequestSource
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

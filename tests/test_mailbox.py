import numpy as np
import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from sim.mailbox import Mailbox


class Recorder:
    """Runs batches with a fixed cost per batch plus per item and records them."""

    def __init__(self, fixed: float, per_item: float) -> None:
        self.fixed = fixed
        self.per_item = per_item
        self.batches: list[tuple[float, list[int]]] = []
        self.finish: dict[int, float] = {}

    def __call__(self, start: float, items: list[int]) -> float:
        service = self.fixed + self.per_item * len(items)
        self.batches.append((start, list(items)))
        for i in items:
            self.finish[i] = start + service
        return service


def test_unbatched_is_the_lindley_recursion() -> None:
    rec = Recorder(0.0, 1.0)
    box: Mailbox[int] = Mailbox(rec)
    for i, t in enumerate([0.0, 0.5, 0.6, 5.0]):
        box.offer(t, i)
    assert rec.finish == {0: 1.0, 1: 2.0, 2: 3.0, 3: 6.0}
    assert box.busy_time == 4.0
    assert box.served == 4


def test_waiting_messages_form_one_batch_when_the_server_frees() -> None:
    rec = Recorder(1.0, 0.0)
    box: Mailbox[int] = Mailbox(rec, batch_size=100)
    box.offer(0.0, 0)  # idle: runs alone 0..1
    box.offer(0.2, 1)
    box.offer(0.4, 2)
    box.offer(0.9, 3)  # these three wait for t=1
    box.offer(1.5, 4)  # arrives after the batch started: closes it, then waits for t=2
    box.flush(10.0)
    assert rec.batches == [(0.0, [0]), (1.0, [1, 2, 3]), (2.0, [4])]
    assert rec.finish[3] == 2.0
    assert rec.finish[4] == 3.0


def test_batch_size_caps_a_batch() -> None:
    rec = Recorder(1.0, 0.0)
    box: Mailbox[int] = Mailbox(rec, batch_size=2)
    for i, t in enumerate([0.0, 0.1, 0.2, 0.3, 0.4]):
        box.offer(t, i)
    box.flush(100.0)
    assert [items for _, items in rec.batches] == [[0], [1, 2], [3, 4]]


def test_flush_only_runs_a_batch_that_has_started() -> None:
    rec = Recorder(1.0, 0.0)
    box: Mailbox[int] = Mailbox(rec, batch_size=10)
    box.offer(0.0, 0)
    box.offer(0.5, 1)  # waits for t=1
    box.flush(0.9)
    assert len(rec.batches) == 1
    assert box.in_system(0.9) == 2  # one in service, one waiting
    box.flush(1.0)
    assert len(rec.batches) == 2


def test_serve_queues_behind_the_waiting_batch() -> None:
    rec = Recorder(1.0, 0.0)
    box: Mailbox[int] = Mailbox(rec, batch_size=10)
    box.offer(0.0, 0)
    box.offer(0.5, 1)
    finish = box.serve(0.6, 0.25)  # a block request at 0.6 runs after the batch at 1..2
    assert rec.batches[-1] == (1.0, [1])
    assert finish == 2.25


def test_reset_returns_waiting_messages() -> None:
    rec = Recorder(1.0, 0.0)
    box: Mailbox[int] = Mailbox(rec, batch_size=10)
    box.offer(0.0, 0)
    box.offer(0.5, 1)
    assert box.reset(0.7) == [1]
    assert box.in_system(0.7) == 0
    assert box.busy_until == 0.7


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Mailbox(Recorder(0, 0), batch_size=0)


def simpy_reference(
    arrivals: list[float], batch: int, fixed: float, per: float
) -> dict[int, float]:
    """An independent SimPy server: when free, take up to `batch` waiting items."""
    env = simpy.Environment()
    store: simpy.Store = simpy.Store(env)
    finish: dict[int, float] = {}

    def source() -> simpy.events.ProcessGenerator:
        for i, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            yield store.put(i)

    def server() -> simpy.events.ProcessGenerator:
        while True:
            first = yield store.get()
            items = [first]
            while store.items and len(items) < batch:
                items.append((yield store.get()))
            yield env.timeout(fixed + per * len(items))
            for i in items:
                finish[i] = env.now

    env.process(source())
    env.process(server())
    env.run()
    return finish


@pytest.mark.property
@given(
    gaps=st.lists(st.floats(min_value=0.001, max_value=3.0), min_size=1, max_size=40),
    batch=st.integers(min_value=1, max_value=5),
    fixed=st.floats(min_value=0.0, max_value=2.0),
    per=st.floats(min_value=0.01, max_value=1.0),
)
def test_agrees_with_a_simpy_server(
    gaps: list[float], batch: int, fixed: float, per: float
) -> None:
    arrivals = list(np.cumsum(gaps))
    rec = Recorder(fixed, per)
    box: Mailbox[int] = Mailbox(rec, batch_size=batch)
    for i, t in enumerate(arrivals):
        box.offer(float(t), i)
    box.flush(float("inf"))
    ref = simpy_reference([float(t) for t in arrivals], batch, fixed, per)
    assert rec.finish.keys() == ref.keys()
    for i, f in ref.items():
        assert rec.finish[i] == pytest.approx(f, rel=1e-9, abs=1e-9)


@given(st.lists(st.tuples(st.sampled_from(["offer", "serve", "one", "many", "look"]),
                          st.floats(0.0, 2.0), st.floats(0.0, 1.5)), max_size=60),
       st.integers(1, 4))
def test_in_system_counts_every_message_not_yet_finished(
        ops: list[tuple[str, float, float]], batch_size: int) -> None:
    # Brute force: every message's finish time, counted against each look's time.
    rec = Recorder(0.1, 0.2)
    box: Mailbox[int] = Mailbox(rec, batch_size)
    finishes: list[float] = []
    t = 0.0
    next_item = 0
    last_look = 0.0
    for kind, gap, service in ops:
        t += gap
        if kind == "offer":
            box.offer(t, next_item)
            next_item += 1
        elif kind == "serve":
            finishes.append(box.serve(t, service))
        elif kind == "one":
            finishes.append(box.serve_one(t, service))
        elif kind == "many":
            finishes.extend(box.serve_many([t, t, t + 0.1], [service, 0.0, service]))
            t += 0.1
        else:
            last_look = max(last_look, t)
            done = list(rec.finish.values()) + finishes
            waiting = next_item - len(rec.finish)
            assert box.in_system(last_look) == sum(f > last_look for f in done) + waiting

"""``call_repeatedly`` gives exactly the event order of a recurring one-timeout process.

The runner drives its slots, pool cleanups and metric samples with it; ties between them
(a 60-s mark is a slot, a sample and a cleanup) and with the events their work creates must
resolve as they did with processes.
"""

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.call_later import call_later, call_repeatedly


def _world(fast: bool, seed: int, n_tickers: int) -> list[tuple[float, str]]:
    env = simpy.Environment()
    log: list[tuple[float, str]] = []
    rng = np.random.default_rng(seed)

    def child(label: str) -> None:
        log.append((env.now, label))

    def make_step(name: str, interval: float, rounds: int, k: list[int]
                  ) -> Callable[[], float | None]:
        def step() -> float | None:
            log.append((env.now, f"{name}#{k[0]}"))
            # Work that creates events (at delay 0 and at tying times) before the next round.
            for j in range(k[0] % 3):
                call_later(env, float(j) * 0.5, child, f"{name}.{k[0]}.{j}")
            k[0] += 1
            if k[0] > rounds:
                return None
            return k[0] * interval - env.now
        return step

    def proc(step: Callable[[], float | None], first: float
             ) -> Generator[simpy.Event, Any, None]:
        delay: float | None = first
        while delay is not None:
            yield env.timeout(delay)
            delay = step()

    for i in range(n_tickers):
        interval = float(rng.choice([0.5, 1.0, 1.5, 2.0]))
        rounds = int(rng.integers(1, 8))
        step = make_step(f"t{i}", interval, rounds, [1])
        if fast:
            call_repeatedly(env, interval - env.now, step)
        else:
            env.process(proc(step, interval - env.now))
        if i % 2:
            call_later(env, interval, child, f"plain{i}")
    env.run()
    return log


@given(st.integers(0, 10_000), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_call_repeatedly_orders_like_a_recurring_process(seed: int, n_tickers: int) -> None:
    want = _world(False, seed, n_tickers)
    assert _world(True, seed, n_tickers) == want


def test_call_repeatedly_ties_did_occur() -> None:
    log = _world(True, 3, 6)
    assert len({t for t, _ in log}) < len(log)


def test_call_repeatedly_refuses_a_negative_delay() -> None:
    env = simpy.Environment()
    call_repeatedly(env, 1.0, lambda: -1.0)
    with pytest.raises(ValueError, match="negative"):
        env.run()

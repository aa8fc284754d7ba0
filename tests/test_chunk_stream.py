"""``run.chunk`` is part of the random stream (review 8, U-6).

The inputs are drawn a chunk at a time, so the chunk length is not a speed knob: the same
seed and chunk give identical runs; another chunk gives another sample path of the same
workload (same rates, other arrival times). The README and ``RunSection`` say so; these
tests hold the code to that statement (the model's draws are deliberately unchanged).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import sim
from sim.scenario import RunSection
from sim.workload import TxStream, TxWorkload
from tests.small_scenario import small_scenario

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 10_000.0
RATE = 20.0


def _times(chunk: float, seed: int = 1) -> np.ndarray:
    workload = TxWorkload((TxStream(rate={"kind": "constant", "rate": RATE}),),
                          np.random.default_rng(seed))
    return np.concatenate([c.times for c in workload.iter_chunks(0.0, SECONDS, chunk)])


def test_same_seed_and_chunk_give_the_same_arrivals() -> None:
    assert np.array_equal(_times(60.0), _times(60.0))


def test_another_chunk_is_another_sample_path_of_the_same_workload() -> None:
    a, b = _times(60.0), _times(7.0)
    # Another realisation: the arrivals differ ...
    assert a.size != b.size or not np.array_equal(a, b)
    # ... of the same process: both counts within 4 sd of the Poisson mean (sd ~ 447).
    mean = RATE * SECONDS
    for times in (a, b):
        assert abs(times.size - mean) < 4 * mean ** 0.5
        # and the gaps have the process's mean (1/rate) within 2 %.
        assert abs(np.diff(times).mean() * RATE - 1.0) < 0.02


def _summary(chunk: float) -> dict[str, object]:
    sc = small_scenario({"run": {"chunk": chunk}}, duration=1_800.0)
    return sim.run(sc).summary


def test_a_run_repeats_with_its_chunk_and_moves_within_noise_with_another() -> None:
    same = _summary(60.0)
    assert json.dumps(same, sort_keys=True) == json.dumps(_summary(60.0), sort_keys=True)
    other = _summary(7.0)
    arrived = [s["ledger"]["node"]["arrived"] for s in (same, other)]  # type: ignore[index]
    assert arrived[0] != arrived[1]
    # The small scenario's default stream: 20 tx/s for 1,800 s, sd ~ 190.
    for n in arrived:
        assert abs(n - 36_000) < 4 * 190


def test_the_docs_say_chunk_is_part_of_the_random_stream() -> None:
    description = RunSection.model_fields["chunk"].description or ""
    assert "part of the random stream" in description
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "the chunk length is part of the random stream, not a speed knob" in readme
    assert "the same seed and chunk give identical runs" in readme

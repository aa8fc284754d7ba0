import gc

import numpy as np
import pytest

from sim.gc_pause import GcPause
from sim.inputs import KIND_SYNC, InputFeeder, RequestSource
from sim.workload import TxStream, TxWorkload


@pytest.fixture
def gc_restored():
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_pause_disables_then_restores(gc_restored: None) -> None:
    gc.enable()
    with GcPause():
        assert not gc.isenabled()
        with GcPause():
            assert not gc.isenabled()
        # The inner pause found the collector disabled and leaves it so.
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with GcPause():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_pause_restores_on_error(gc_restored: None) -> None:
    gc.enable()
    with pytest.raises(ValueError, match="boom"), GcPause():
        raise ValueError("boom")
    assert gc.isenabled()


def feeder() -> InputFeeder:
    workload = TxWorkload((TxStream(),), np.random.default_rng(1))
    return InputFeeder(workload, [RequestSource(KIND_SYNC, 2.0, (1, 2))], (7, 8),
                       np.random.default_rng(2), 10.0, 60.0)


@pytest.mark.parametrize("enabled", [True, False])
def test_advance_leaves_the_collector_as_it_found_it(enabled: bool, gc_restored: None) -> None:
    f = feeder()
    states: list[bool] = []
    if enabled:
        gc.enable()
    else:
        gc.disable()
    # Handlers run with the collector in the caller's state (the pause covers only the draw).
    f.advance(35.0, lambda tx, peer: states.append(gc.isenabled()),
              lambda kind, caller, t: states.append(gc.isenabled()))
    assert gc.isenabled() is enabled
    f.advance(60.0, lambda tx, peer: states.append(gc.isenabled()),
              lambda kind, caller, t: states.append(gc.isenabled()))
    assert gc.isenabled() is enabled
    assert len(states) == f.fed > 500
    assert set(states) == {enabled}

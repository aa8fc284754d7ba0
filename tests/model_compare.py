"""Shared helpers for tests that compare a model's fast path with its general path."""

import json

import numpy as np

from sim.inputs import InputFeeder
from sim.result import Result
from sim.runner import Model


def feed_one_by_one(model: Model) -> None:
    """Make ``model`` feed every stretch of inputs one by one (the general path).

    ``Node.submit_inputs`` is replaced by ``submit_tx`` / ``submit_request`` on each input,
    in the same order.
    """
    node = model.node

    def one_by_one(kinds, args, times, txs, relays):  # type: ignore[no-untyped-def]
        InputFeeder._feed(kinds, args, times, txs, relays, node.submit_tx, model._on_request)

    model._on_stretch = one_by_one  # type: ignore[method-assign]


def assert_same_results(a: Result, b: Result) -> None:
    """The two runs' summaries, events and time series are identical."""
    assert json.dumps(a.summary, sort_keys=True) == json.dumps(b.summary, sort_keys=True)
    assert a.events == b.events
    assert a.timeseries.keys() == b.timeseries.keys()
    for name, column in a.timeseries.items():
        np.testing.assert_array_equal(column, b.timeseries[name], err_msg=name)

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.result import Result, clean_json


def test_clean_json_rounds_and_nulls() -> None:
    assert clean_json({"a": math.nan, "b": 1 / 3, "c": [np.float64(2.5), np.int64(3)]}) == {
        "a": None, "b": 0.333333333, "c": [2.5, 3],
    }
    with pytest.raises(TypeError):
        clean_json({"x": object()})


def test_write_outputs(tmp_path: Path) -> None:
    r = Result(
        summary={"z": 1.0, "a": math.inf},
        timeseries={"time": np.array([10.0, 20.0]), "x": np.array([1.5, math.nan])},
        events=[{"time": 5.0, "kind": "b"}, {"time": 1.0, "kind": "a"}],
    )
    files = r.write(tmp_path / "out")
    assert [f.name for f in files] == ["summary.json", "timeseries.csv", "events.jsonl"]
    assert json.loads(files[0].read_text()) == {"a": None, "z": 1.0}
    assert files[1].read_text().splitlines() == ["time,x", "10,1.5", "20,"]
    assert [json.loads(x)["kind"] for x in files[2].read_text().splitlines()] == ["a", "b"]
    # Byte-stable.
    assert r.summary_json() == Result(summary={"a": math.inf, "z": 1.0}).summary_json()

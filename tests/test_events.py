import json
from pathlib import Path

from sim.events import EventLog


def test_counts_are_exact_while_records_are_capped(tmp_path: Path) -> None:
    log = EventLog(max_per_kind=3)
    for i in range(5):
        log.emit(float(10 - i), "fallback", module="transaction_pool")
    log.emit(1.5, "breaker_transition", to="open")
    assert log.counts["fallback"] == 5
    assert len(log.of_kind("fallback")) == 3
    assert log.truncated == {"fallback": 2}
    out = tmp_path / "events.jsonl"
    log.write_jsonl(out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["time"] for r in lines] == sorted(r["time"] for r in lines)
    assert lines[0] == {"time": 1.5, "kind": "breaker_transition", "to": "open"}

"""docs/scenario.md against the schema: every key listed, nothing listed that does not exist.

Also the threshold-set table against :data:`sim.rollout.health.THRESHOLD_SETS`, and the
``validate`` warnings the page describes (review11 B-3, B-4).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from scenario_keys import scenario_keys

from sim.config_error import ConfigError
from sim.rollout.health import THRESHOLD_SETS
from sim.scenario import Scenario, config_warnings, honest_batch_seconds
from sync.v2 import SyncV2Config

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenario.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _documented_keys() -> list[str]:
    return re.findall(r"^\| `([^`]+)` \|", _section("All keys"), flags=re.MULTILINE)


def test_every_schema_key_is_documented() -> None:
    missing = sorted(scenario_keys() - set(_documented_keys()))
    assert not missing, f"keys missing from docs/scenario.md: {missing}"


def test_every_documented_key_exists() -> None:
    documented = _documented_keys()
    assert len(documented) == len(set(documented)), "a key is listed twice"
    unknown = sorted(set(documented) - scenario_keys())
    assert not unknown, f"docs/scenario.md lists keys the schema does not have: {unknown}"


def test_the_walk_reaches_the_dataclass_sections() -> None:
    keys = scenario_keys()
    for key in ("pool.v2.min_gas_price", "pool.v1.max_pool_size", "sync.v2.peer_timeout_ms",
                "sync.v2.scoring.half_life_s", "sync.v1.retry_delay_ms",
                "sync_serving.v2.mean_latency", "faults[].share", "workload[].rate.factor",
                "rollout.schedule[].split"):
        assert key in keys


def test_documented_defaults_match_the_schema() -> None:
    rows = dict(re.findall(r"^\| `([^`]+)` \| ([^|]*) \|", _section("All keys"),
                           flags=re.MULTILINE))
    defaults = Scenario()
    assert rows["pool.v2.min_gas_price"].strip() == f"{defaults.pool.v2.min_gas_price:,}"
    assert rows["sync.v2.peer_timeout_ms"].strip() == f"{defaults.sync.v2.peer_timeout_ms:,}"
    assert rows["rate_limit.window"].strip() == f"{defaults.rate_limit.window:g}"
    assert rows["pool.v2.max_per_sender"].strip() == f"{defaults.pool.v2.max_per_sender:,}"


def test_threshold_table_matches_the_code() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \| (\w+) \| (\w+) \| ([\d.]+) \|$",
                      _section("Health threshold sets"), flags=re.MULTILINE)
    documented = [(s, m, c.strip(), metric, kind, float(t))
                  for s, m, c, metric, kind, t in rows]
    expected = [(name, c.module, c.name, c.metric, c.kind, c.threshold)
                for name, checks in THRESHOLD_SETS.items() for c in checks]
    assert documented == expected


def test_honest_batch_time_follows_the_batch_size() -> None:
    default = honest_batch_seconds(SyncV2Config())
    assert 4.3 < default < 4.6  # 0.1 s + 128 x ~101.5 kB at 3 MB/s
    half = honest_batch_seconds(SyncV2Config(block_request_batch_size=64))
    assert half == pytest.approx(0.1 + (default - 0.1) / 2)


def test_validate_warns_of_a_peer_timeout_below_the_batch_time() -> None:
    base = Scenario().with_changes({"modules.sync_service.version": "v2"})
    assert config_warnings(base) == []
    short = base.with_changes({"sync.v2.peer_timeout_ms": 1_000})
    (warning,) = config_warnings(short)
    assert warning.startswith("sync.v2.peer_timeout_ms (1000) is below the 4.4 s")
    # Between about half the batch time and the batch time V2 still syncs on the faster
    # peers (docs/scenario.md, "Sync timeouts"): the warning says so, not "imports nothing".
    assert "V2 leans on the faster ones" in warning
    assert "V1 sync" in warning
    # The figure is computed from the config: a 16-block batch takes about 0.64 s.
    assert config_warnings(short.with_changes({"sync.v2.block_request_batch_size": 16})) == []
    assert config_warnings(base.with_changes({"sync.v2.peer_timeout_ms": 4_500})) == []


def test_no_peer_timeout_warning_when_sync_never_runs_on_v2() -> None:
    # V2's sync engine starts only when sync is first routed to it (docs/timeseries.md).
    on_v1 = Scenario().with_changes({"sync.v2.peer_timeout_ms": 1_000})
    assert on_v1.resolved_modules.sync_service.version == "v1"
    assert config_warnings(on_v1) == []
    # ... unless the env file or a schedule step puts it there.
    assert config_warnings(on_v1, {"SYNC_SERVICE_VERSION": "v2"})
    step = {"time": 600, "module": "sync_service", "version": "v2", "split": 5}
    assert config_warnings(on_v1.with_changes({"rollout.schedule": [step]}))


def test_validate_warns_of_a_rate_limit_window_other_than_60_s() -> None:
    ten = Scenario().with_changes({"rate_limit.window": "10s"})
    (warning,) = config_warnings(ten)
    assert "about 720 requests per minute, not 120" in warning


def test_builtins_give_no_config_warning() -> None:
    from sim.scenario import builtin_names, load_scenario

    for name in builtin_names():
        assert config_warnings(load_scenario(name)) == [], name


def test_cli_validate_prints_the_warnings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("rate_limit: {window: 120}\nsync:\n  v2: {peer_timeout_ms: 500}\n"
                    "modules: {sync_service: {version: v2}}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())",
         "validate", str(path)], capture_output=True, text=True, check=False,
        cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0
    assert "warning: rate_limit.max_requests_per_minute (120)" in done.stderr
    assert "about 60 requests per minute" in done.stderr
    assert "warning: sync.v2.peer_timeout_ms (500)" in done.stderr


def test_a_min_gas_price_above_the_top_band_names_the_key_set_and_the_unit() -> None:
    with pytest.raises(ConfigError) as info:
        Scenario().with_changes({"pool.v2.min_gas_price": 2_000_000_000_000})
    message = str(info.value)
    assert "pool.v2.min_gas_price:" in message
    assert "pool.v2.segment_top_gas_price:" not in message
    assert "in wei" in message


def test_a_timeout_below_the_batch_time_starves_both_engines() -> None:
    """The effect the warning names (docs/scenario.md, "Sync timeouts"), on a small network."""
    import sim

    base = sim.load_scenario("canary").with_changes({
        "duration": "60s", "env": None, "modules.sync_service.version": "v2",
        "modules.sync_service.traffic": 100, "network.initial_chain": 3_000,
        "network.peers": {"honest": 12}, "rollout.controller.enabled": False,
        "rollout.auto_rollback.enabled": False})
    imported = {}
    for timeout in (1_000, 4_500):
        run = sim.run(base.with_changes({"sync.v2.peer_timeout_ms": timeout}), seed=1)
        sync = run.summary["sync_service"]
        imported[timeout] = (sync["v1"]["blocks_imported"], sync["v2"]["blocks_imported"])
    assert config_warnings(base.with_changes({"sync.v2.peer_timeout_ms": 1_000}))
    assert imported[1_000] == (0, 0)  # V2 imports nothing, and V1 (same peers) nothing either
    assert imported[4_500][0] > 100
    assert imported[4_500][1] >= 3_000


def test_validate_warns_of_a_gas_price_floor_written_in_gwei() -> None:
    slip = Scenario().with_changes({"pool.v2.min_gas_price": 20})
    (warning,) = config_warnings(slip)
    assert warning == ("pool.v2.min_gas_price is 20 wei (2e-08 gwei): gas prices here are in "
                       "wei; 20 gwei is 20,000,000,000")
    assert config_warnings(Scenario().with_changes({"pool.v2.min_gas_price": 10**8})) == []

"""The ``mana-sim`` command line (issue 5, "Bad input" and "Done when").

Every bad input exits 2 with ONE line on stderr naming the file, the field and what is
allowed, never a traceback. Most cases call ``sim.cli.main`` in-process (an uncaught exception
would fail the test just as a traceback would); a few run ``python -m sim.cli`` as a real
process from the worktree root, so the console behaviour itself is checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sim.cli
from sim.cli import main
from sim.node import Node

ROOT = Path(__file__).resolve().parent.parent

# The guide's "Canary Configuration" block, pasted as is (V2_PRODUCTION_DEPLOYMENT_GUIDE.md
# L216-226; the SYNC_SERVICE_VERSION line ends with a space there too).
GUIDE_CANARY_BLOCK = (
    '# Environment variables for canary deployment\n'
    'export TRANSACTION_POOL_VERSION="v2"\n'
    'export TRANSACTION_POOL_TRAFFIC="5"  # 5% of traffic to V2\n'
    '\n'
    'export SYNC_SERVICE_VERSION="v2" \n'
    'export SYNC_SERVICE_TRAFFIC="5"     # 5% of traffic to V2\n'
    '\n'
    '# Circuit breaker settings for canary\n'
    'export CIRCUIT_BREAKER_ENABLED="true"\n'
    'export CIRCUIT_BREAKER_FAILURE_THRESHOLD="3"\n'
    'export CIRCUIT_BREAKER_TIMEOUT="30000"\n'
)

# A small, fast scenario with every module on V1 and no env block.
SMALL = """\
name: small
description: a small test scenario
duration: 2m
workload:
  - rate: {kind: constant, rate: 10}
network:
  peers: {honest: 4, slow: 1}
  initial_chain: 20
"""


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` in-process; argparse's own exits are caught like a real exit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("mana-sim"), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Bad scenario files: (file text, fragments the line must contain). The file name is always
# checked too.

BAD_SCENARIOS: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "malformed_yaml": ("name: x\nduration: [1, 2\n", ("line 3", "expected ',' or ']'")),
    "not_a_mapping": ("- 1\n- 2\n", ("expected a mapping at the top level",)),
    # A value that fits no member of a union names every allowed form...
    "schedule_neither_guide_nor_steps": (
        "rollout:\n  schedule: 5\n",
        ("rollout.schedule: Input should be 'guide'; or Input should be a list (one `- item` "
         "line per entry)",
         "(got 5)")),
    # ...and one that went some way into a member is about that member.
    "schedule_step_with_a_bad_key": (
        "rollout:\n  schedule: [{at: 5}]\n",
        ("rollout.schedule.0.time: Field required",)),
    "not_utf8": (b"name: \xff\xfe\n", ("not a UTF-8 text file",)),
    "unknown_top_key": ("bogus: 1\n", ("bogus: unknown key 'bogus'", "allowed:", "workload")),
    "unknown_nested_key": ("blocks:\n  slott: 12\n",
                           ("blocks.slott: unknown key 'slott'", "allowed: gas_limit, slot")),
    "unknown_key_in_pool_config": (
        "pool:\n  v2:\n    max_pool_sizee: 5\n",
        ("pool.v2.max_pool_sizee: unknown key", "max_pool_size", "batch_processing_size")),
    "unknown_key_in_sync_config": (
        "sync:\n  v1:\n    nonsense: 5\n",
        ("sync.v1.nonsense: unknown key", "allowed:", "request_timeout_ms")),
    "unknown_key_in_rate_profile": (
        "workload:\n  - rate: {kind: constant, rate: 5, bogus: 2}\n",
        ("workload.0.rate.bogus: unknown key 'bogus'", "allowed: kind, rate")),
    "split_101": ("modules:\n  transaction_pool:\n    traffic: 101\n",
                  ("modules.transaction_pool.traffic:", "less than or equal to 100", "101")),
    "negative_metrics_interval": ("run:\n  metrics_interval: -5\n",
                                  ("run.metrics_interval:", "greater than 0", "-5")),
    "negative_cleanup_interval": ("pool:\n  v2:\n    cleanup_interval: -5\n",
                                  ("pool.v2.cleanup_interval:", "must be > 0", "got -5")),
    "negative_duration": ("duration: -30\n", ("duration:", "greater than 0")),
    "bad_duration_text": ("duration: 5 parsecs\n", ("duration:", "use e.g. 30s, 2m, 1h")),
    "unknown_module": ("modules:\n  block_builder:\n    version: v2\n",
                       ("modules.block_builder: unknown key",
                        "allowed: filter_manager, subscription_manager, sync_service, "
                        "transaction_pool")),
    "unknown_version": ("modules:\n  transaction_pool:\n    version: v3\n",
                        ("modules.transaction_pool.version:", "'v1' or 'v2'", "v3")),
    "unknown_fault_module": ("faults:\n  - kind: v2_regression\n    module: nope\n",
                             ("faults.0.module:", "'transaction_pool'", "nope")),
    "unknown_fault_kind": ("faults:\n  - kind: earthquake\n",
                           ("faults.0:", "earthquake", "node_restart")),
    "unknown_key_in_peer_fault": ("faults:\n  - kind: peer_lying\n    bogus: 1\n",
                                  ("faults.0.bogus: unknown key 'bogus'",
                                   "allowed: end, kind, peers, slow_factor, start")),
    "fault_ends_before_it_starts": (
        "faults:\n  - kind: peer_crash\n    start: 50\n    end: 10\n",
        ("faults.0: end (10 s) must be after start (50 s)",)),
    "flood_ends_before_it_starts": (
        "network:\n  floods:\n    - {peers: 2, start: 50, end: 10}\n",
        ("network.floods.0: end (10 s) must be after start (50 s)",)),
    "overlapping_regressions": (
        "faults:\n  - {kind: v2_regression, start: 10, end: 20}\n"
        "  - {kind: v2_regression, start: 15, end: 30}\n",
        ("faults.1 overlaps faults.0 (both v2_regression of transaction_pool)",)),
    "overlapping_silence_and_lying": (
        "faults:\n  - {kind: peer_silence, start: 10}\n  - {kind: peer_lying, start: 100, "
        "end: 200}\n",
        ("faults.1 overlaps faults.0 (both peer_silence/peer_lying)",)),
    "unknown_peer_profile": ("network:\n  peers: {martian: 3}\n",
                             ("network.peers: unknown peer profile 'martian'",
                              "allowed: churning, flaky, honest, liar, silent, slow")),
    "bad_env_value_mapping": ('env:\n  TRANSACTION_POOL_TRAFFIC: "five"\n',
                              ("env.TRANSACTION_POOL_TRAFFIC:", "integers 0-100", "five")),
    "bad_env_value_pasted": ('env: |\n  export TRANSACTION_POOL_VERSION="v3"\n',
                             ("env.TRANSACTION_POOL_VERSION:", "v1 or v2")),
    "bad_env_line_pasted": ("env: |\n  this is not an env line\n",
                            ("env.line 1:", "expected `export NAME=\"value\"`")),
    "bad_breaker_env": ('env: |\n  export CIRCUIT_BREAKER_TIMEOUT="-3"\n',
                        ("env.CIRCUIT_BREAKER_TIMEOUT:", "positive integer")),
    # Sync ranges: each of these hung a run or imported nothing before it was refused.
    "sync_v1_zero_retry_delay": ("sync: {v1: {retry_delay_ms: 0}}\n",
                                 ("sync.v1.retry_delay_ms:", "must be a finite number > 0",
                                  "got 0")),
    "sync_v1_negative_retry_delay": ("sync: {v1: {retry_delay_ms: -5}}\n",
                                     ("sync.v1.retry_delay_ms:", "> 0", "got -5")),
    "sync_v1_zero_blocks_per_request": ("sync: {v1: {blocks_per_request: 0}}\n",
                                        ("sync.v1.blocks_per_request:", ">= 1", "got 0")),
    "sync_v2_negative_peer_timeout": (
        "modules: {sync_service: {version: v2}}\nsync: {v2: {peer_timeout_ms: -1}}\n",
        ("sync.v2.peer_timeout_ms:", ">= 100 (ms)", "got -1")),
    "sync_v2_peer_timeout_below_a_round_trip": (
        "sync: {v2: {peer_timeout_ms: 1, adaptive_timeout: false}}\n",
        ("sync.v2.peer_timeout_ms:", ">= 100 (ms)", "got 1")),
    "sync_v2_zero_fixed_peer_timeout": (
        "sync: {v2: {peer_timeout_ms: 0, adaptive_timeout: false}}\n",
        ("sync.v2.peer_timeout_ms:", ">= 100", "got 0")),
    "sync_v2_zero_concurrency": ("sync: {v2: {block_processing_concurrency: 0}}\n",
                                 ("sync.v2.block_processing_concurrency:", ">= 1", "got 0")),
    "sync_v2_zero_half_life": ("sync: {v2: {scoring: {half_life_s: 0}}}\n",
                               ("sync.v2.scoring.half_life_s:", "> 0", "got 0")),
    # Non-finite times: .inf passed validate, then ``run`` died in round(inf) or never ended.
    "infinite_duration": ("duration: .inf\n", ("duration:", "finite number", "inf")),
    "nan_duration": ("duration: .nan\n", ("duration:", "nan")),
    "infinite_fault_end": ("faults: [{kind: peer_crash, start: 5, end: .inf}]\n",
                           ("faults.0.end:", "finite number")),
    "infinite_workload_time": ("workload: [{rate: {kind: step, at: .inf}}]\n",
                               ("workload.0.rate.at:", "finite number")),
    "infinite_workload_rate": ("workload: [{rate: {kind: constant, rate: .inf}}]\n",
                               ("workload.0.rate.rate:", "finite number")),
    "bad_workload_duration_text": ("workload: [{rate: {kind: flood, start: 5 parsecs}}]\n",
                                   ("workload.0.rate.start:", "use e.g. 30s, 2m, 1h")),
    # An empty file validated as scenario 'custom' with every default.
    "empty_file": ("", ("empty: a scenario file needs at least one key",)),
    "only_comments": ("# nothing here yet\n", ("empty:",)),
    "unknown_env_variable": ('env:\n  FOO_BAR: "1"\n',
                             ("env.FOO_BAR: unknown variable", "allowed: CIRCUIT_BREAKER_")),
    "misspelt_breaker_env": ('env: |\n  export CIRCUIT_BREAKER_TIMOUT="5"\n',
                             ("env.CIRCUIT_BREAKER_TIMOUT: unknown variable",
                              "did you mean CIRCUIT_BREAKER_TIMEOUT?")),
    "malformed_alert_rules": ('rollout:\n  alerts:\n    rules: "alert_rules: [a, b"\n',
                              ("rollout.alerts.rules:", "not valid YAML: line 1, column",
                               "expected ',' or ']'")),
    "bad_service_distribution": ("sync_serving:\n  v1:\n    distribution: gamma\n",
                                 ("sync_serving.v1.distribution:",
                                  "'lognormal' or 'exponential'")),
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_scenario_file_is_one_line_exit_2(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, fragments = BAD_SCENARIOS[case]
    path = write(tmp_path, f"{case}.yaml", text)
    code, out, err = cli(capsys, command, str(path), "--no-progress"
                         ) if command == "run" else cli(capsys, command, str(path))
    assert out == ""
    assert_one_line_error(code, err, f"{path}: ", *fragments)


def test_malformed_yaml_in_a_real_process(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "name: x\nduration: [1, 2\n")
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(path)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert_one_line_error(proc.returncode, proc.stderr, str(path), "line 3")


def test_faults_that_do_not_collide_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "faults.yaml", """\
faults:
  - {kind: v2_regression, module: transaction_pool, start: 10, end: 20}
  - {kind: v2_regression, module: transaction_pool, start: 20, end: 30}
  - {kind: v2_regression, module: sync_service, start: 10, end: 30}
  - {kind: peer_crash, start: 10, end: 30}
  - {kind: peer_slowness, start: 10}
  - {kind: node_restart, at: 15}
  - {kind: node_restart, at: 15}
""")
    code, out, err = cli(capsys, "validate", str(path))
    assert (code, err) == (0, ""), err
    assert "ok" in out


def test_yaml_numbers_in_env_mapping_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a YAML user writes; the guide's variables are strings, converted on load.
    path = write(tmp_path, "env.yaml", "env:\n  TRANSACTION_POOL_TRAFFIC: 5\n"
                 "  CIRCUIT_BREAKER_ENABLED: true\n")
    code, out, err = cli(capsys, "validate", str(path))
    assert (code, err) == (0, "")
    assert "ok" in out


@pytest.mark.parametrize(("env_text", "fragments"), [
    ('export TRANSACTION_POOL_TRAFFIC="five"\n',
     ("TRANSACTION_POOL_TRAFFIC:", "allowed values are integers 0-100")),
    ('export SYNC_SERVICE_VERSION="v9"\n', ("SYNC_SERVICE_VERSION:", "v1 or v2")),
    ('export CIRCUIT_BREAKER_ENABLED="maybe"\n', ("CIRCUIT_BREAKER_ENABLED:", "'true' or 'false'")),
    ("this is not an env line\n", ("line 1: expected `export NAME=\"value\"`",)),
    ('export TRANSACTION_POOL_TRAFIC="50"\n',
     ("TRANSACTION_POOL_TRAFIC: unknown variable", "did you mean TRANSACTION_POOL_TRAFFIC?",
      "allowed: ")),
    (b"export A=\"\xff\"\n", ("not a UTF-8 text file",)),
])
def test_bad_env_file_is_one_line_exit_2(
    env_text: str | bytes, fragments: tuple[str, ...], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = write(tmp_path, "small.yaml", SMALL)
    env_file = write(tmp_path, "bad.env", env_text)
    code, out, err = cli(capsys, "run", str(scenario), "--env-file", str(env_file),
                         "--no-progress")
    assert out == ""
    assert_one_line_error(code, err, f"{env_file}: ", *fragments)
    # The field is named once, not twice.
    assert err.count(fragments[0]) == 1
    assert err.count(fragments[0].split(":")[0]) == 1


@pytest.mark.parametrize(("argv", "fragments"), [
    (["run", "--duration", "5parsecs"], ("--duration", "use e.g. 30s, 2m, 1h or seconds")),
    (["run", "--duration", "0"], ("--duration", "must be > 0 seconds")),
    (["run", "--duration", "-5"], ("--duration",)),
    (["run", "--duration", "inf"], ("--duration", "use e.g. 30s, 2m, 1h or seconds")),
    (["run", "--duration", "1e400"], ("--duration", "finite")),
    (["run", "--seed", "-1"], ("--seed", "non-negative integer")),
    (["run", "--seed", "abc"], ("--seed", "invalid int value", "mana-sim run --help")),
    (["run", "--env-file", "/nonexistent/canary.env"],
     ("/nonexistent/canary.env", "cannot read file")),
    (["run", "--frobnicate"], ("unrecognized arguments: --frobnicate",)),
    (["run", "no-such-scenario"], ("no-such-scenario", "canary")),
    (["validate", "/nonexistent/x.yaml"], ("/nonexistent/x.yaml", "cannot read file")),
    (["frobnicate"], ("invalid choice: 'frobnicate'", "'run', 'list', 'validate'")),
])
def test_bad_options_are_one_line_exit_2(
    argv: list[str], fragments: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *argv)
    assert out == ""
    assert_one_line_error(code, err, *fragments)


def test_out_onto_a_file_is_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, "small.yaml", SMALL)
    target = write(tmp_path, "taken", "")
    code, out, err = cli(capsys, "run", str(scenario), "--out", str(target), "--no-progress")
    assert out == ""
    assert_one_line_error(code, err, "--out", "not a directory")


# --------------------------------------------------------------------------------------------
# list, validate, help


def test_list_shows_canary_with_its_description(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "canary" in lines
    described = lines[lines.index("canary") + 1]
    assert "The default run. One simulated hour of mainnet-like load" in described
    assert "V2 for 5 % of traffic" in described


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "small.yaml", SMALL)
    code, out, err = cli(capsys, "validate", str(path))
    assert (code, err) == (0, "")
    assert out.strip() == f"{path}: ok (scenario 'small', 120 s, profile intended)"
    code, out, err = cli(capsys, "validate", "canary")
    assert (code, err) == (0, "")
    assert "canary: ok (scenario 'canary', 3600 s" in out


def _run_parser() -> argparse.ArgumentParser:
    parser = sim.cli._build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run_parser: argparse.ArgumentParser = sub.choices["run"]
    return run_parser


def test_run_help_documents_every_option() -> None:
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stderr == ""
    text = proc.stdout
    options = [o for a in _run_parser()._actions for o in a.option_strings if o.startswith("--")]
    for option in ("--seed", "--out", "--duration", "--env-file", "--trace", "--check",
                   "--no-progress", "--quiet"):
        assert option in options
    for action in _run_parser()._actions:
        if action.option_strings == ["-h", "--help"]:
            continue
        assert action.help, action.dest
        for option in action.option_strings:
            assert option in text
        # The help sentence appears (argparse may wrap it: compare words).
        assert " ".join(action.help.split()[:3]) in " ".join(text.split()), action.dest
    assert "SCENARIO" in text.upper()
    flat = " ".join(text.split())
    assert "default: canary" in flat
    assert "with a 5% V2 canary" in flat
    assert "%%" not in text
    assert "exit status: 0 done; 1 a success criterion failed (with --check); 2 bad input" in flat
    assert "3 the ledger did not balance" in flat


# --------------------------------------------------------------------------------------------
# Running


@pytest.mark.e2e
def test_run_out_writes_the_three_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, "small.yaml", SMALL)
    out_dir = tmp_path / "out"
    code, out, err = cli(capsys, "run", str(scenario), "--seed", "4", "--out", str(out_dir),
                         "--no-progress")
    assert (code, err) == (0, "")
    assert "transaction_pool" in out
    assert f"wrote {out_dir}/summary.json, timeseries.csv, events.jsonl" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "events.jsonl", "summary.json", "timeseries.csv"]
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["seed"] == 4
    assert summary["run"]["scenario"] == "small"
    assert summary["ledger"]["balanced"] is True
    node = summary["ledger"]["node"]
    assert node["arrived"] + node["double_executions"] == (
        summary["ledger"]["v1"]["entered"] + summary["ledger"]["v2"]["entered"]
        + sum(node["dropped"].values()))
    rows = (out_dir / "timeseries.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[0] == "time"
    assert len(rows) == 1 + 12  # samples at 10, 20, ..., 120 s (the end time included)
    for line in (out_dir / "events.jsonl").read_text(encoding="utf-8").splitlines():
        assert "time" in json.loads(line)
    # --quiet prints nothing; the files are the same bytes for the same seed.
    again = tmp_path / "again"
    code, out, err = cli(capsys, "run", str(scenario), "--seed", "4", "--out", str(again),
                         "--no-progress", "--quiet")
    assert (code, out, err) == (0, "", "")
    assert (again / "summary.json").read_bytes() == (out_dir / "summary.json").read_bytes()


@pytest.mark.e2e
def test_guide_canary_block_via_env_file(tmp_path: Path) -> None:
    scenario = write(tmp_path, "small.yaml", SMALL)
    env_file = write(tmp_path, "canary.env", GUIDE_CANARY_BLOCK)
    out_dir = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(scenario), "--env-file", str(env_file),
         "--out", str(out_dir), "--no-progress", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr) == (0, "")
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    # The scenario itself is all V1; the env file switched both modules to a 5 % V2 canary.
    modules = summary["modules"]
    assert modules["transaction_pool"] == {"version": "v2", "version_start": "v2",
                                           "traffic_split_start": 5, "traffic_split_final": 5}
    assert modules["sync_service"] == {"version": "v2", "version_start": "v2",
                                       "traffic_split_start": 5, "traffic_split_final": 5}
    assert modules["filter_manager"]["version"] == "v1"
    assert summary["transaction_pool"]["v2"]["requests"] > 0
    assert summary["ledger"]["balanced"] is True


@pytest.mark.e2e
def test_ledger_imbalance_exits_3_with_the_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write(tmp_path, "small.yaml", SMALL)
    original = Node.drain

    def miscounting_drain(self: Node) -> None:
        # One arrival is counted twice: the real end-of-run check must notice. (Counted at
        # the drain, which every run passes, whichever input path fed the arrivals.)
        self.ledger.arrived += 1
        original(self)

    monkeypatch.setattr(Node, "drain", miscounting_drain)
    code, out, err = cli(capsys, "run", str(scenario), "--no-progress", "--out",
                         str(tmp_path / "out"))
    assert code == 3
    assert out == ""
    assert not (tmp_path / "out").exists()
    lines = err.strip().split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("mana-sim: ledger does not balance: node ledger does not "
                               "balance: arrived ")
    assert "entered v1+v2" in lines[0]
    assert "dropped" in lines[0]


def test_duration_option_accepts_float_notation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "1e1" is plain float notation for 10 seconds; it was refused as not a duration.
    scenario = write(tmp_path, "small.yaml", SMALL)
    out_dir = tmp_path / "run"
    code, _out, err = cli(capsys, "run", str(scenario), "--duration", "1e1", "--no-progress",
                          "--out", str(out_dir))
    assert (code, err) == (0, ""), err
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["duration_s"] == 10.0


def test_folder_named_like_a_builtin_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `run canary --out canary` leaves a folder `canary`; `run canary` must still find the
    # built-in instead of failing with "cannot read file: Is a directory".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "canary").mkdir()
    code, out, err = cli(capsys, "validate", "canary")
    assert (code, err) == (0, ""), err
    assert "canary: ok (scenario 'canary'" in out


def test_regular_file_named_like_a_builtin_is_read_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "tx-spam", "")
    code, out, err = cli(capsys, "validate", "tx-spam")
    assert out == ""
    assert_one_line_error(code, err, "tx-spam: ", "empty:")
    write(tmp_path, "tx-spam", "name: mine\n")
    code, out, err = cli(capsys, "validate", "tx-spam")
    assert (code, err) == (0, ""), err
    assert "scenario 'mine'" in out


def test_braces_file_still_runs_every_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "defaults.yaml", "{}\n")
    code, out, err = cli(capsys, "validate", str(path))
    assert (code, err) == (0, ""), err
    assert "scenario 'custom'" in out

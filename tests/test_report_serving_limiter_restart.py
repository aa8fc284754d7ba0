"""What the fifth review found missing from the printed summary (R5-5 to R5-8).

* R5-5: the limiter's refusals split by peer class; a refused peer that is no configured
  flooder is an unserved request (zero_downtime), a flooder's refused excess is not.
* R5-6: sync's serving of inbound peer requests (requests, errors, breaker refusals, error
  rate, latency) per version in the printed summary.
* R5-7: a node restart's losses are their own ledger state (``lost_in_restart``, not
  evictions) and get a printed line with the time and what was lost.
* R5-8: the printed pool table (and so the HTML report) shows evictions and each version's
  top rejection reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pool.ledger import Ledger, LedgerImbalanceError, TxState
from sim.cli import main
from sim.html_report import render_report
from sim.report import summary_table
from sim.result import Result
from sim.runner import run
from tests.small_scenario import events_of, small_scenario, summary_and_events

pytestmark = pytest.mark.e2e

POOL, SYNC = "transaction_pool", "sync_service"


def _criterion(result: Result, name: str) -> dict[str, Any]:
    return next(c for c in result.summary["success_criteria"] if c["name"] == name)


def _row(text: str, label: str) -> list[str]:
    """The cells after ``label`` on the printed table row that starts with it."""
    line = next(ln for ln in text.splitlines() if ln.startswith(label + "  "))
    return re.split(r"\s{2,}", line[len(label):].strip())


# -- R5-7: restart accounting -----------------------------------------------------------------


def test_the_ledger_settles_restart_losses_as_their_own_state() -> None:
    ledger = Ledger(track=True)
    for h in (1, 2, 3):
        ledger.admit(h)
    ledger.settle_many([1, 2], TxState.LOST_IN_RESTART)
    ledger.settle(3, TxState.EVICTED)
    assert (ledger.lost_in_restart, ledger.evicted, ledger.pending) == (2, 1, 0)
    assert ledger.state_of(1) is TxState.LOST_IN_RESTART
    ledger.check(0)
    assert ledger.as_dict()["lost_in_restart"] == 2
    untracked = Ledger()
    untracked.admit(1)
    untracked.settle_many([1], TxState.LOST_IN_RESTART)
    untracked.check(0)
    with pytest.raises(LedgerImbalanceError, match="lost_in_restart=1"):
        untracked.check(1)


@pytest.fixture(scope="module")
def restart_run() -> Result:
    return run(small_scenario({
        "modules": {POOL: {"version": "v2", "traffic": 50}},
        "workload": [{"rate": {"kind": "constant", "rate": 10}}],
        "faults": [{"kind": "node_restart", "at": 305}],
    }), seed=1)


def test_a_restart_loses_pending_transactions_as_lost_in_restart(restart_run: Result) -> None:
    s = restart_run.summary
    (losses,) = events_of(restart_run, "restart_losses")
    lost = {v: s["ledger"][v]["lost_in_restart"] for v in ("v1", "v2")}
    assert lost["v1"] > 0
    assert lost["v2"] > 0
    assert lost == {v: losses[f"pool_transactions_{v}"] for v in ("v1", "v2")}
    assert losses["pool_transactions"] == lost["v1"] + lost["v2"]
    # Nothing was pushed out: V1 never evicts, V2 is far from its cap.
    assert s["ledger"]["v1"]["evicted"] == s["ledger"]["v2"]["evicted"] == 0
    for v in ("v1", "v2"):
        led = s["ledger"][v]
        assert led["entered"] == (led["pending"] + led["included"] + led["evicted"]
                                  + led["expired"] + led["rejected"] + led["replaced"]
                                  + led["lost_in_restart"])
    # The sync engine went back to its last checkpoint: what it forgot is reported.
    assert losses["sync_v1_blocks"] >= 0


def test_the_printed_summary_shows_the_restart_and_its_losses(restart_run: Result) -> None:
    s = restart_run.summary
    (losses,) = events_of(restart_run, "restart_losses")
    text = summary_table(s, restart_run.events)
    v1, v2 = (s["ledger"][v]["lost_in_restart"] for v in ("v1", "v2"))
    assert _row(text, "lost in node restart") == [f"{v1:,}", f"{v2:,}"]
    assert (f"     0:05:05  pending pool transactions {v1 + v2:,} (v1 {v1:,}, v2 {v2:,}), "
            f"queued transactions {losses['queued_transactions']:,}") in text
    assert f"sync v1 {losses['sync_v1_blocks']:,} imported blocks" in text
    assert f"lost in node restarts {v1 + v2:,} pending" in text
    # Without the events, one line from the summary's counts.
    assert (f"node restarts: 1 (pending pool transactions lost: v1 {v1:,}, v2 {v2:,})"
            in summary_table(s))


# -- R5-5: the limiter by peer class ------------------------------------------------------------


def test_a_flooders_refused_excess_is_not_downtime() -> None:
    result = run(small_scenario({"network": {
        "peers": {"honest": 6, "slow": 2}, "inbound_rate": 0.2, "initial_chain": 50,
        "floods": [{"peers": 1, "rate": 20, "start": 60, "end": 240}]}}, duration=300), seed=1)
    rl = result.summary["rate_limit"]
    classes = rl["by_peer_class"]
    assert list(classes) == ["honest", "slow", "flooding"]
    assert [c["peers"] for c in classes.values()] == [6, 2, 1]
    assert sum(c["allowed"] for c in classes.values()) == rl["allowed"]
    assert sum(c["refused"] for c in classes.values()) == rl["refused"]
    assert classes["flooding"]["refused"] == rl["refused"] > 1000
    assert classes["honest"]["allowed"] > 0
    assert rl["refused_non_flooding"] == 0
    assert result.summary["unserved_requests"] == 0
    assert _criterion(result, "zero_downtime")["passed"] is True
    text = summary_table(result.summary, result.events)
    assert (f"by peer class (peers: allowed / refused): honest 6: {classes['honest']['allowed']:,}"
            f" / 0, slow 2: {classes['slow']['allowed']:,} / 0, flooding 1: "
            f"{classes['flooding']['allowed']:,} / {rl['refused']:,}") in text
    assert "no configured flooder" not in text


def test_refusing_ordinary_peers_is_downtime() -> None:
    result = run(small_scenario({"rate_limit": {"max_requests_per_minute": 2},
                                 "network": {"peers": {"honest": 8}, "inbound_rate": 0.5,
                                             "initial_chain": 50}}, duration=300), seed=1)
    s = result.summary
    rl = s["rate_limit"]
    assert rl["refused"] > 100
    assert rl["by_peer_class"]["honest"]["refused"] == rl["refused_non_flooding"] == rl["refused"]
    assert s["unserved_requests"] == rl["refused"]
    zd = _criterion(result, "zero_downtime")
    assert zd["passed"] is False
    assert zd["figure"] == rl["refused"]
    total = s["routing"]["total_requests"] + rl["refused"]
    assert zd["detail"] == f"{rl['refused']} request(s) of {total} unserved"
    text = summary_table(s, result.events)
    assert (f"refused from peers that are no configured flooder: {rl['refused']:,} "
            "(unserved: counted by zero_downtime)") in text


# -- R5-6 and R5-8: sync serving, evictions and rejection reasons, printed and in HTML ---------

SPAM = """\
duration: 5m
modules:
  transaction_pool: {version: v2, traffic: 50}
  sync_service: {version: v2, traffic: 50}
pool:
  v1: {max_pool_size: 40}
  v2: {max_pool_size: 40}
network:
  peers: {honest: 6}
  initial_chain: 20
faults:
  - {kind: v2_regression, module: sync_service, start: 0, error_rate: 0.5}
workload:
  - rate: {kind: constant, rate: 4}
  - name: spam
    rate: {kind: flood, rate: 20, start: 30, end: 200}
    senders: 500
    sender_offset: 10000000
    zipf_s: 0.0
    median_gas_price_gwei: 1.2
    gas_price_sigma: 0.1
    transfer_share: 1.0
    replacement_share: 0.0
    invalid_share: 0.0
"""


@pytest.fixture(scope="module")
def spam_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spam")
    (folder / "spam.yaml").write_text(SPAM, encoding="utf-8")
    assert main(["run", str(folder / "spam.yaml"), "--out", str(folder / "out")]) == 0
    return folder / "out"



def test_the_pool_table_shows_evictions_and_the_top_rejection_reason(spam_dir: Path) -> None:
    summary, events = summary_and_events(spam_dir)
    ledger = summary["ledger"]
    assert ledger["v2"]["evicted"] > 0  # V2 makes room by evicting cheap spam
    assert ledger["v1"]["evicted"] == 0  # V1 never evicts: it refuses when full
    v1_reasons = summary[POOL]["v1"]["rejected_by_reason"]
    top_v1 = max(v1_reasons, key=v1_reasons.__getitem__)
    assert top_v1 == "Transaction pool is full"
    v2_reasons = summary[POOL]["v2"]["rejected_by_reason"]
    top_v2 = min(v2_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = summary_table(summary, events)
    assert _row(text, "evicted") == ["0", f"{ledger['v2']['evicted']:,}"]
    assert _row(text, "  top rejection reason") == [
        f"Transaction pool is full: {v1_reasons[top_v1]:,}", f"{top_v2[0]}: {top_v2[1]:,}"]
    # The HTML report carries the same table.
    page = render_report(spam_dir)
    assert f"Transaction pool is full: {v1_reasons[top_v1]:,}" in page
    assert re.search(r"evicted +0 +" + re.escape(f"{ledger['v2']['evicted']:,}"), page)


def test_the_printed_summary_shows_sync_serving_per_version(spam_dir: Path) -> None:
    summary, events = summary_and_events(spam_dir)
    serving = summary["services"][SYNC]
    assert serving["v2"]["refused_by_breaker"] > 0
    assert serving["v2"]["errors"] > 0
    text = summary_table(summary, events)
    assert "sync serving (inbound peer requests)" in text
    section = text[text.index("sync serving (inbound peer requests)"):]
    for label, key, digits in (("requests", "requests", 0), ("errors", "errors", 0),
                               ("refused by breaker", "refused_by_breaker", 0),
                               ("error rate (%, refusals included)", "error_rate_percent", 3),
                               ("avg latency (ms)", "avg_latency_ms", 3),
                               ("p95 latency (ms)", "p95_latency_ms", 3)):
        cells = _row(section, label)
        want = [f"{int(serving[v][key]):,}" if digits == 0 else f"{serving[v][key]:.3f}"
                for v in ("v1", "v2")]
        assert cells == want, label
    assert "sync serving (inbound peer requests)" in render_report(spam_dir)


# -- the built-in descriptions of peer-flood and tx-spam ---------------------------------------


def test_peer_flood_refuses_only_the_flooder_as_its_description_says() -> None:
    from sim.scenario import load_scenario

    scenario = load_scenario("peer-flood")
    text = " ".join(scenario.description.split())
    assert "50 peers (40 honest, 5 slow, 3 flaky, 2 churning)" in text
    assert scenario.network.peers == {"honest": 40, "slow": 5, "flaky": 3, "churning": 2}
    result = run(scenario.model_copy(update={"duration": 900.0}))
    rl = result.summary["rate_limit"]
    classes = rl["by_peer_class"]
    assert {n: c["peers"] for n, c in classes.items()} == {
        "churning": 2, "flaky": 3, "honest": 40, "slow": 5, "flooding": 1}
    assert classes["flooding"]["refused"] == rl["refused"] > 0
    assert rl["refused_non_flooding"] == 0
    assert all(c["allowed"] > 0 for c in classes.values())
    assert _criterion(result, "zero_downtime")["passed"] is True


def test_tx_spam_headline_is_in_the_printed_pool_table() -> None:
    from sim.scenario import load_scenario

    result = run(load_scenario("tx-spam").model_copy(update={"duration": 1500.0}))
    s = result.summary
    text = summary_table(s, result.events)
    top_v1 = _row(text, "  top rejection reason")[0]
    assert top_v1.startswith("Transaction pool is full: ")
    evicted = _row(text, "evicted")
    assert evicted[0] == "0"
    assert evicted[1] == f"{s['ledger']['v2']['evicted']:,}"
    assert s["ledger"]["v2"]["evicted"] > 0

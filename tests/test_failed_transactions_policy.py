"""Review 11 B-1: V2's per-sender-cap refusals are DoS policy, not failed transactions.

Under the default (Zipf) load V2's per-sender cap (``pool.v2.max_per_sender`` 16) refuses
7-8 % of V2's submissions at 100 %; counted as failed transactions they put a healthy V2
within a point of AutoRollback's 10 % ``failed_transactions`` trigger, and some seeds cross
it. ``failed_transactions_percent`` now leaves them out (numerator and denominator);
``rollout.sender_limit_counts_as_failed: true`` keeps the earlier reading.
"""

import math
from typing import Any

import numpy as np
import pytest

from sim.result import Result
from sim.rollout.snapshot import FAILED_TRANSACTIONS_PERCENT, failed_transactions_percent, metric
from sim.runner import run
from sim.scenario import load_scenario

POOL = "transaction_pool"
GWEI = 10**9


def test_cap_refusals_leave_both_terms_unless_the_switch_counts_them() -> None:
    values = {"processed_transactions": 100.0, "rejected_transactions": 10.0,
              "input_dropped_transactions": 2.0, "sender_limited_transactions": 8.0}
    # (10 + 2 - 8) / (100 + 2 - 8): the refusals V2 made on the merits of what it judged.
    assert failed_transactions_percent(values) == pytest.approx(400.0 / 94.0)
    assert failed_transactions_percent(
        values, sender_limit_counts_as_failed=True) == pytest.approx(1200.0 / 102.0)
    # V1 has no cap: an absent or NaN count is none.
    v1 = {"processed_transactions": 50.0, "rejected_transactions": 5.0,
          "sender_limited_transactions": math.nan}
    assert failed_transactions_percent(v1) == pytest.approx(10.0)
    # Every submission refused by the cap: nothing judged, no figure (not 0 %, not 100 %).
    capped = {"processed_transactions": 8.0, "rejected_transactions": 8.0,
              "sender_limited_transactions": 8.0}
    assert math.isnan(failed_transactions_percent(capped))
    # metric() derives it (default reading) unless the snapshot carries the run's figure.
    snap = {POOL: {"v2": dict(values)}}
    assert metric(snap, POOL, "v2", FAILED_TRANSACTIONS_PERCENT) == pytest.approx(400 / 94)
    snap[POOL]["v2"][FAILED_TRANSACTIONS_PERCENT] = 12.5
    assert metric(snap, POOL, "v2", FAILED_TRANSACTIONS_PERCENT) == 12.5


def v2_alone(duration: float, seed: int, **changes: Any) -> Result:
    """The reviewer's t/fw2.py: canary's load, the pool on V2 at 100 % from t=0, AutoRollback."""
    scenario = load_scenario("canary").with_changes({
        "env": None, "duration": duration, f"modules.{POOL}.version": "v2",
        f"modules.{POOL}.traffic": 100, "rollout.controller.enabled": False,
        "rollout.auto_rollback": {}, **changes})
    return run(scenario, seed=seed)


@pytest.mark.e2e
def test_healthy_v2_at_100_percent_is_not_rolled_back_for_its_cap_refusals() -> None:
    # Seed 2 was rolled back at 60 s, "failed_transactions_percent 11.5385 > 10", every
    # refusal but one a sender_limit one (review 11 B-1; seeds 1 and 3 at 660 s and 3840 s).
    result = v2_alone(360.0, seed=2)
    assert result.summary["rollout"]["rollbacks"] == []
    pool = result.summary[POOL]["v2"]
    limited = np.asarray(result.timeseries[f"{POOL}.v2.sender_limited_transactions"])
    assert np.sum(limited) == pool["rejected_by_reason"]["sender_limit"] > 100
    # The earlier reading, kept behind its switch, rolls the same healthy V2 back as before.
    old = v2_alone(360.0, seed=2, **{"rollout.sender_limit_counts_as_failed": True})
    rollbacks = old.summary["rollout"]["rollbacks"]
    assert [r["time"] for r in rollbacks] == [60.0]
    assert rollbacks[0]["reason"] == ("rollback triggers: transaction_pool: "
                                      "failed_transactions_percent 11.5385 > 10")


@pytest.mark.e2e
def test_v2_that_really_refuses_transactions_is_still_rolled_back() -> None:
    # A 5-gwei floor (V1's is 1 gwei) refuses about a quarter of the market at V2's door.
    result = v2_alone(360.0, seed=1, **{"pool.v2.min_gas_price": 5 * GWEI})
    rollbacks = result.summary["rollout"]["rollbacks"]
    assert [r["time"] for r in rollbacks] == [60.0]
    assert "failed_transactions_percent" in rollbacks[0]["reason"]
    assert "throughput" not in rollbacks[0]["reason"]

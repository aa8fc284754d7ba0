"""V1 deprecation hands V1's sync checkpoint to V2 in a run (issue 6 item 6)."""

from typing import Any

import pytest

from sim.runner import run
from sim.scenario import parse_scenario

pytestmark = pytest.mark.e2e


def retire_sync(step_at: float, deprecate_at: float | None) -> dict[str, Any]:
    """Sync and the pool go fully to V2 at ``step_at``; V1 is deprecated at ``deprecate_at``.

    With ``deprecate_at`` None, V1 is deprecated at once (a zero hold): in the same sample,
    before V2 sync has started.
    """
    modules = ["sync_service", "transaction_pool"]
    deprecation = {"at": deprecate_at} if deprecate_at is not None else {"hold": 0}
    scenario = parse_scenario({
        "duration": 300,
        "network": {"peers": {"honest": 8}, "inbound_rate": 0.2, "initial_chain": 20_000},
        "filter_manager": {"rate": 1.0},
        "subscription_manager": {"rate": 1.0},
        "pool": {"cost_v2": {"signature_check_s": 1.0e-6}},
        "rollout": {"schedule": [{"time": step_at, "module": module, "version": "v2",
                                  "split": 100} for module in modules],
                    "deprecation": deprecation},
    }, "<test>")
    result = run(scenario)
    (event,) = [e for e in result.events if e["kind"] == "v1_deprecated"]
    assert event["sync_retired"] is True
    # Sync went on from there: the node ends (nearly) at the head, on V2 alone.
    assert result.summary["sync_service"]["v2"]["blocks_behind"] <= 2
    return event


def test_v2_behind_v1_at_deprecation_adopts_v1_checkpoint() -> None:
    # V2 starts syncing from genesis at the 100-s sample; V1 has been syncing since 0.
    event = retire_sync(100, 103)
    assert event["sync_handover"] == "adopted"
    assert event["v2_sync_tip_before"] < event["v1_sync_checkpoint"]
    assert event["v2_sync_tip"] == event["v1_sync_checkpoint"] > 1_000
    assert event["sync_blocks_adopted"] == event["v1_sync_checkpoint"] - event[
        "v2_sync_tip_before"]


def test_v2_ahead_of_v1_at_deprecation_keeps_its_own_chain() -> None:
    event = retire_sync(0, 130)  # V2 (from the first sample) outpaces V1 many times over
    assert event["sync_handover"] == "not_behind"
    assert event["v2_sync_tip"] == event["v2_sync_tip_before"] > event["v1_sync_checkpoint"]
    assert event["sync_blocks_adopted"] == 0


def test_sync_going_to_v2_as_v1_is_deprecated_starts_v2_from_v1_checkpoint() -> None:
    event = retire_sync(100, None)
    assert event["time"] == 100.0
    assert event["sync_handover"] == "adopted"
    assert event["v2_sync_tip_before"] == 0  # V2 sync started only now
    assert event["v2_sync_tip"] == event["v1_sync_checkpoint"] > 1_000

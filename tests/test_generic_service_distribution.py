"""``GenericService(distribution=...)``: log-normal by default, exponential on request."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.control import GenericService
from sim.scenario import parse_scenario


def test_default_is_lognormal_with_unchanged_draws() -> None:
    service = GenericService(mean_latency=0.01, latency_cv=0.5)
    assert service.distribution == "lognormal"
    sigma2 = math.log1p(0.25)
    rng = np.random.default_rng(5)
    expected_error = rng.random() < 0.0
    expected = rng.lognormal(math.log(0.01) - sigma2 / 2, math.sqrt(sigma2))
    outcome = service.call(np.random.default_rng(5))
    assert not expected_error
    assert outcome.latency == expected


@pytest.mark.parametrize("batched", [False, True])
def test_exponential_has_the_mean_and_cv_one(batched: bool) -> None:
    service = GenericService(mean_latency=0.004, distribution="exponential", timeout=1e9)
    rng = np.random.default_rng(11)
    n = 200_000
    if batched:
        kinds, latency = service.sample(rng, n)
        assert not kinds.any()
    else:
        latency = np.array([service.call(rng).latency for _ in range(n)])
    mean = latency.mean()
    se = latency.std() / math.sqrt(n)
    assert abs(mean - 0.004) <= 4 * se
    assert latency.std() / mean == pytest.approx(1.0, abs=0.02)
    # Memoryless: P(X > 2m) = e^-2 (a log-normal with CV 1 gives about 0.10, not 0.135).
    assert (latency > 0.008).mean() == pytest.approx(math.exp(-2), abs=0.005)


def test_exponential_same_stream_same_draws_as_numpy() -> None:
    service = GenericService(mean_latency=0.02, distribution="exponential")
    rng = np.random.default_rng(3)
    rng.random()  # the error draw comes first
    assert service.call(np.random.default_rng(3)).latency == rng.exponential(0.02)


def test_exponential_timeouts_are_capped() -> None:
    service = GenericService(mean_latency=1.0, distribution="exponential", timeout=0.5)
    kinds, latency = service.sample(np.random.default_rng(1), 10_000)
    slow = kinds == 2
    assert 0.55 < slow.mean() < 0.66  # P(X > 0.5) = e^-0.5 = 0.607
    assert (latency[slow] == 0.5).all()
    assert (latency[~slow] <= 0.5).all()


def test_exponential_refuses_another_cv() -> None:
    with pytest.raises(ValueError, match="latency_cv must be 1 with distribution 'exponential'"):
        GenericService(latency_cv=0.5, distribution="exponential")


def test_unknown_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="distribution must be"):
        GenericService(distribution="gamma")  # type: ignore[arg-type]


def test_scenario_accepts_the_option() -> None:
    scenario = parse_scenario(
        {"filter_manager": {"v1": {"mean_latency": 0.01, "distribution": "exponential"}}}, "t")
    assert scenario.filter_manager.v1.distribution == "exponential"
    assert scenario.filter_manager.v2.distribution == "lognormal"

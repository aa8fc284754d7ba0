"""A generic request/response service model for modules the guide routes nowhere.

The guide configures ``filter_manager`` and ``subscription_manager`` (versions and splits,
guide L101-111) but its router has ``route_to_v1/2`` / ``route_to_v2/2`` clauses only for
``transaction_pool`` and ``sync_service`` (guide L71-89), so a request for either would raise
``FunctionClauseError`` (``reference/mana-source-facts.md`` §7 item 5); the real router
comments both out (``module_router.ex`` L22-41). No V1 or V2 implementation exists to model.
mana-sim therefore gives both versions of both modules this service model: a log-normal
latency with a given mean and coefficient of variation, an error probability, and a caller
timeout. ``distribution: exponential`` swaps the log-normal for an exponential latency with the
same mean (CV 1 by definition), so that a module fed by Poisson requests is an M/M/1 queue whose
mean time in system must be W = 1/(mu - lambda) (simulation-anchors.md §3.1; the validation
suite checks it). The defaults (2 ms mean, CV 1, no errors, 30 s timeout = the real router's
``:timeout`` default, ``module_router.ex`` L329) are mana-sim's own assumptions, the same for
V1 and V2 because the real router maps V2 onto the V1 module (mana-source-facts.md §1 item 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from sim.control.call_outcome import CallOutcome


@dataclass(frozen=True, slots=True)
class GenericService:
    """A stateless request/response service: latency distribution plus error rate.

    Attributes:
        mean_latency: Mean service latency in seconds (> 0).
        latency_cv: Coefficient of variation of the log-normal latency (>= 0; 0 = constant).
            Must stay 1 with ``distribution="exponential"``, whose CV is 1.
        error_rate: Probability that a call replies with an error (0..1).
        timeout: Caller timeout in seconds: a call whose latency exceeds it is a ``timeout``
            outcome with latency ``timeout``.
        distribution: Latency distribution: ``"lognormal"`` (default) or ``"exponential"``
            (mean ``mean_latency``; makes the module's mailbox an M/M/1 queue under Poisson
            requests).
    """

    mean_latency: float = 0.002
    latency_cv: float = 1.0
    error_rate: float = 0.0
    timeout: float = 30.0
    distribution: Literal["lognormal", "exponential"] = "lognormal"

    def __post_init__(self) -> None:
        if not self.mean_latency > 0:
            raise ValueError(f"mean_latency must be > 0 s; got {self.mean_latency}")
        if not self.latency_cv >= 0:
            raise ValueError(f"latency_cv must be >= 0; got {self.latency_cv}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1]; got {self.error_rate}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 s; got {self.timeout}")
        if self.distribution not in ("lognormal", "exponential"):
            raise ValueError(f"distribution must be 'lognormal' or 'exponential'; got "
                             f"{self.distribution!r}")
        if self.distribution == "exponential" and self.latency_cv != 1.0:
            raise ValueError(f"latency_cv must be 1 with distribution 'exponential' (its CV is "
                             f"1); got {self.latency_cv}")

    def _lognormal_params(self) -> tuple[float, float]:
        # Log-normal with the given mean m and CV c: sigma^2 = ln(1 + c^2), mu = ln m - sigma^2/2.
        sigma2 = math.log1p(self.latency_cv**2)
        return math.log(self.mean_latency) - sigma2 / 2.0, math.sqrt(sigma2)

    def call(self, rng: np.random.Generator) -> CallOutcome:
        """Simulate one call.

        Draws, in order, one uniform (error?) and one latency (log-normal or exponential)
        from ``rng``.

        Args:
            rng: The caller's random stream.

        Returns:
            The outcome: ``timeout`` if the latency exceeds the timeout, else ``error`` with
            probability ``error_rate``, else ``ok``.
        """
        is_error = bool(rng.random() < self.error_rate)
        if self.distribution == "exponential":
            latency = float(rng.exponential(self.mean_latency))
        else:
            mu, sigma = self._lognormal_params()
            latency = float(rng.lognormal(mu, sigma)) if sigma > 0 else self.mean_latency
        if latency > self.timeout:
            return CallOutcome("timeout", self.timeout)
        return CallOutcome("error" if is_error else "ok", latency)

    def sample(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
        """Simulate ``n`` calls at once (the batched fast path).

        Args:
            rng: The caller's random stream.
            n: Number of calls (>= 0).

        Returns:
            ``(kinds, latencies)``: ``kinds`` codes 0 = ok, 1 = error, 2 = timeout (the index in
            :data:`~sim.control.call_outcome.OUTCOME_KINDS`); latencies in seconds.
        """
        is_error = rng.random(n) < self.error_rate
        if self.distribution == "exponential":
            latency = rng.exponential(self.mean_latency, size=n)
        else:
            mu, sigma = self._lognormal_params()
            latency = (rng.lognormal(mu, sigma, size=n) if sigma > 0
                       else np.full(n, self.mean_latency))
        kinds = is_error.astype(np.int8)
        slow = latency > self.timeout
        kinds[slow] = 2
        latency[slow] = self.timeout
        return kinds, latency

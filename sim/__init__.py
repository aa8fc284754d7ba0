"""The simulator: SimPy network model, control plane, rollout, metrics, scenarios and CLI.

``sim`` imports ``pool`` and ``sync``; neither of them imports ``sim``.

The public entry points::

    from sim import load_scenario, run
    result = run(load_scenario("canary"), seed=7)
    result = run("canary", seed=7)  # the same: a built-in name or YAML path is loaded
"""

from sim.result import Result as Result
from sim.runner import LedgerError as LedgerError
from sim.runner import run as run
from sim.scenario import Scenario as Scenario
from sim.scenario import load_scenario as load_scenario

__all__ = ["LedgerError", "Result", "Scenario", "load_scenario", "run"]

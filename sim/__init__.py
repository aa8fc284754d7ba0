"""The simulator: SimPy network model, control plane, rollout, metrics, scenarios and CLI.

``sim`` imports ``pool`` and ``sync``; neither of them imports ``sim``.
"""

"""The rollout model, sans I/O: health checks, alerts, controller, auto-rollback, schedules.

Everything here is driven by plain data (metric snapshots in, actions and events out) and by
time passed in as float seconds; nothing imports SimPy or the network model.
"""

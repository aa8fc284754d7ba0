"""Sync engines: sans-I/O state machines for V1 (``ExWire.Sync``) and V2 (SimpleSyncV2).

They take events with the current simulated time and return actions; they import neither
``sim`` nor ``pool``.
"""

"""The control plane: circuit breakers, module router, rate limiters, input validation.

Pure logic with time passed in; no SimPy.
"""

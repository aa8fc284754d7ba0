"""Transaction pools: the fork's V1 pool as written and the guide's V2 pool made real.

Pure Python with no SimPy: every operation that depends on time takes the current simulated
time (float seconds) as an argument.
"""

from pool.transaction import GWEI as GWEI
from pool.transaction import Transaction as Transaction
from pool.transaction import unsigned_hash as unsigned_hash

__all__ = ["GWEI", "Transaction", "unsigned_hash"]

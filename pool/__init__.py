"""Transaction pools: the fork's V1 pool as written and the guide's V2 pool made real.

Pure Python with no SimPy: every operation that depends on time takes the current simulated
time (float seconds) as an argument.
"""

from pool.config import PoolV1Config as PoolV1Config
from pool.config import PoolV2Config as PoolV2Config
from pool.cost_model import CostModel as CostModel
from pool.cost_model import IndexScaling as IndexScaling
from pool.ledger import Ledger as Ledger
from pool.ledger import LedgerImbalanceError as LedgerImbalanceError
from pool.ledger import TxState as TxState
from pool.protocol import PoolStats as PoolStats
from pool.protocol import TxPool as TxPool
from pool.result import AddResult as AddResult
from pool.result import AddStatus as AddStatus
from pool.segmented_queue import SegmentedQueue as SegmentedQueue
from pool.transaction import GWEI as GWEI
from pool.transaction import Transaction as Transaction
from pool.transaction import unsigned_hash as unsigned_hash
from pool.tx_pool_v1 import TxPoolV1 as TxPoolV1
from pool.tx_pool_v2 import TxPoolV2 as TxPoolV2

__all__ = [
    "GWEI",
    "AddResult",
    "AddStatus",
    "CostModel",
    "IndexScaling",
    "Ledger",
    "LedgerImbalanceError",
    "PoolStats",
    "PoolV1Config",
    "PoolV2Config",
    "SegmentedQueue",
    "Transaction",
    "TxPool",
    "TxPoolV1",
    "TxPoolV2",
    "TxState",
    "unsigned_hash",
]

"""Configuration of the two pools: plain frozen dataclasses (the scenario layer wraps them).

``PoolV1Config`` holds the fork's hard-coded constants (``Hydepwns/mana``
``apps/blockchain/lib/blockchain/transaction_pool.ex`` L18-22, L248, L282-408, L525-528; see
``reference/mana-source-facts.md`` §3.1 and §6.1). Its two switches reproduce the real code's
quirks and default to the code as written.

``PoolV2Config`` keeps the guide's key names **and units** (guide L651-663, SimplePoolV2
tuning): ``cleanup_interval`` is in milliseconds, ``max_transaction_age`` in seconds,
``memory_limit_mb`` in MiB. Converted seconds and bytes are exposed as properties so that the
pool itself only sees seconds and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pool.memory_model import ENTRY_OVERHEAD_BYTES, MIB
from pool.transaction import GWEI

MAX_TRANSACTION_SIZE = 128 * 1024
"""V1's ``@max_transaction_size``: a raw transaction above 131,072 bytes is refused."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True, slots=True)
class PoolV1Config:
    """The V1 pool's constants as the fork hard-codes them.

    Attributes:
        max_pool_size: ``@max_pool_size``; an add at this size is refused (L18).
        max_transaction_size: ``@max_transaction_size`` in bytes (L20).
        min_gas_price: ``@min_gas_price`` in wei (L22).
        min_gas_limit: Lower gas-limit bound (validate_transaction_format).
        max_gas_limit: Upper gas-limit bound (validate_transaction_format).
        cleanup_interval_s: Seconds between cleanups (``5 * 60_000`` ms, L525-528).
        max_transaction_age_s: Age in seconds above which cleanup removes a tx (3600, L248).
        constant_zero_sender: As written, ``derive_sender_address/1`` returns the zero address
            for every transaction (L456-460), so ``next_nonce`` sees one shared sender and
            ``unique_addresses`` is 1. ``False`` uses the real sender.
        hash_ignores_signature: As written, the pool hash covers only ``nonce, gas_price,
            gas_limit, to, value, data`` (L410-417), so two senders' otherwise equal
            transactions collide and the second is a duplicate. ``False`` keys by the signed
            hash.
        entry_overhead_bytes: Per-entry bytes of the memory model (:mod:`pool.memory_model`).
    """

    max_pool_size: int = 5_000
    max_transaction_size: int = MAX_TRANSACTION_SIZE
    min_gas_price: int = GWEI
    min_gas_limit: int = 21_000
    max_gas_limit: int = 8_000_000
    cleanup_interval_s: float = 300.0
    max_transaction_age_s: float = 3_600.0
    constant_zero_sender: bool = True
    hash_ignores_signature: bool = True
    entry_overhead_bytes: int = ENTRY_OVERHEAD_BYTES

    def __post_init__(self) -> None:
        """Check ranges.

        Raises:
            ValueError: Naming the offending field.
        """
        _require(self.max_pool_size >= 1, "max_pool_size must be >= 1")
        _require(self.cleanup_interval_s > 0, "cleanup_interval_s must be > 0")
        _require(self.max_transaction_age_s >= 0, "max_transaction_age_s must be >= 0")
        _require(self.entry_overhead_bytes >= 0, "entry_overhead_bytes must be >= 0")
        _require(self.min_gas_limit <= self.max_gas_limit, "min_gas_limit > max_gas_limit")


@dataclass(frozen=True, slots=True)
class PoolV2Config:
    """The V2 pool's settings, with the guide's names and units.

    Attributes:
        max_pool_size: Most resident transactions (guide: 50,000).
        cleanup_interval: Milliseconds between age cleanups (guide: 30,000 ms).
        max_transaction_age: Seconds a transaction may stay (guide: 1,800 s).
        memory_limit_mb: Memory limit in MiB under the per-entry byte model (guide: 256).
        priority_queue_segments: Gas-price bands of the priority queue (guide: 8).
        batch_processing_size: Transactions admitted per batch call (guide: 100).
        max_per_sender: Most pending transactions per sender (geth/reth account slots: 16).
        price_bump_percent: Minimum price increase for a same-nonce replacement, percent
            (geth ``PriceBump``, reth ``DEFAULT_PRICE_BUMP``, Nethermind: 10).
        max_transaction_size: Largest raw transaction in bytes (V1's 128 KiB; geth/reth too).
        min_gas_price: Lowest gas price in WEI (V1's 1 gwei = 1,000,000,000): 20 gwei is
            ``20_000_000_000``, not ``20``; below ``segment_top_gas_price``.
        min_gas_limit: Lower gas-limit bound (as V1).
        max_gas_limit: Upper gas-limit bound (as V1).
        segment_top_gas_price: Gas price in wei where the top band starts; bands are
            log-spaced between ``min_gas_price`` and this (they change speed, never order).
        entry_overhead_bytes: Per-entry bytes of the memory model (:mod:`pool.memory_model`).
    """

    max_pool_size: int = 50_000
    cleanup_interval: int = 30_000
    max_transaction_age: float = 1_800.0
    memory_limit_mb: float = 256.0
    priority_queue_segments: int = 8
    batch_processing_size: int = 100
    max_per_sender: int = 16
    price_bump_percent: int = 10
    max_transaction_size: int = MAX_TRANSACTION_SIZE
    min_gas_price: int = GWEI
    min_gas_limit: int = 21_000
    max_gas_limit: int = 8_000_000
    segment_top_gas_price: int = 1_000 * GWEI
    entry_overhead_bytes: int = ENTRY_OVERHEAD_BYTES

    def __post_init__(self) -> None:
        """Check ranges.

        Raises:
            ValueError: Naming the offending field.
        """
        _require(self.max_pool_size >= 1, "max_pool_size must be >= 1")
        _require(self.cleanup_interval > 0, "cleanup_interval (ms) must be > 0")
        _require(self.max_transaction_age >= 0, "max_transaction_age (s) must be >= 0")
        _require(self.memory_limit_mb > 0, "memory_limit_mb must be > 0")
        _require(self.priority_queue_segments >= 1, "priority_queue_segments must be >= 1")
        _require(self.batch_processing_size >= 1, "batch_processing_size must be >= 1")
        _require(self.max_per_sender >= 1, "max_per_sender must be >= 1")
        _require(self.price_bump_percent >= 0, "price_bump_percent must be >= 0")
        _require(self.min_gas_price >= 1, "min_gas_price must be >= 1 wei")
        # Named after min_gas_price: that is the key a user raises (segment_top_gas_price is
        # rarely set); the message says both values and the unit, the usual slip (gwei).
        _require(self.segment_top_gas_price > self.min_gas_price,
                 f"min_gas_price must be below segment_top_gas_price "
                 f"({self.segment_top_gas_price:,} wei): gas prices are in wei, 1 gwei = "
                 "1,000,000,000 wei")
        _require(self.entry_overhead_bytes >= 0, "entry_overhead_bytes must be >= 0")
        _require(self.min_gas_limit <= self.max_gas_limit, "min_gas_limit > max_gas_limit")

    @property
    def cleanup_interval_s(self) -> float:
        """``cleanup_interval`` converted from ms to seconds."""
        return self.cleanup_interval / 1000.0

    @property
    def max_transaction_age_s(self) -> float:
        """``max_transaction_age`` in seconds (the guide already gives seconds)."""
        return float(self.max_transaction_age)

    @property
    def memory_limit_bytes(self) -> int:
        """``memory_limit_mb`` converted to bytes (MiB)."""
        return int(self.memory_limit_mb * MIB)

    def segment_bounds(self) -> list[int]:
        """Lower gas-price bounds (wei) of bands 1..k-1, ascending, log-spaced.

        Band 0 holds everything below ``bounds[0]``; band ``k-1`` everything from
        ``bounds[-1]`` up. Bands are contiguous price ranges, so reading them from the top
        band down, each in its own order, gives exactly the global priority order.

        Returns:
            ``priority_queue_segments - 1`` strictly increasing bounds.
        """
        k = self.priority_queue_segments
        lo, hi = float(self.min_gas_price), float(self.segment_top_gas_price)
        bounds: list[int] = []
        for i in range(1, k):
            b = round(lo * (hi / lo) ** (i / (k - 1)))
            if bounds and b <= bounds[-1]:
                b = bounds[-1] + 1
            bounds.append(b)
        return bounds

"""Simulated service time of pool operations, for the GenServer queue of the SimPy model.

A pool instance behaves like an Elixir GenServer: one request at a time, each taking the time
this model charges. The model is deliberately small: a fixed per-call cost, a per-transaction
validation cost, and an index cost that grows **linearly** with the resident size for V1 (a
sorted Erlang list) and **logarithmically** for V2 (a balanced tree per price band).

Constants, and where they come from (all overridable; none is measured on BEAM by us):

* ``call_overhead_s`` 5 µs: one ``GenServer.call`` round trip (send, schedule, receive,
  reply) with a ~200-byte binary copied into the pool process. Assumption in the low
  microseconds typical of local BEAM message passing; V2's batch call pays it once per batch,
  which is all the guide's ``batch_processing_size`` can buy.
* ``validate_s`` 15 µs: ``ExRLP.decode`` of 9 fields in pure Elixir, the ``cond`` checks,
  ``:erlang.term_to_binary`` and a Keccak NIF on the result (``transaction_pool.ex``
  L282-417). Assumption.
* ``signature_check_s``: 0 for V1 (it only tests ``v, r, s > 0``); 40 µs for V2's real check,
  one secp256k1 public-key recovery through a NIF (order of tens of µs; assumption).
* ``index_unit_s``: V1 15 ns per list element walked: ``insert_by_gas_price`` is a non-tail
  recursive walk that rebuilds the prefix, one cons cell and one comparison per element
  (L462-484); an insert walks half the list on average. V2 100 ns per tree level (a
  ``gb_trees``-style insert rebuilds one node per level). For scale, geth's own hot-path
  micro-costs are 8 ns per priority computation and 75 ns per fee-jump logarithm
  (``go-ethereum core/txpool/blobpool/priority.go``; ``reference/client-anchors.md`` §1.1).
* ``remove_unit_s``: V1 removes with two ``Enum.reject`` passes (``by_gas_price`` and, with the
  constant zero sender, a ``by_address`` list as long as the pool): 2 × 15 ns per resident per
  removal. V2: one tree delete, 100 ns per level.
* ``select_per_tx_s`` 50 ns: one ``Map.get`` per transaction listed. V1's
  ``get_pending_transactions`` maps **the whole list** before taking any (L486-498); V2 walks
  only what it takes.
* ``scan_per_entry_s``: V1's cleanup runs ``Enum.split_with`` over every entry (100 ns each,
  L244-278); V2 pops an age heap and touches only what expires (0).

Sanity check against real clients: at V1's 5,000 cap a 300-transaction block costs the pool
about 300 × 2 × 5,000 × 15 ns ≈ 45 ms, well under geth's 150-250 ms for a whole pending-block
assembly at 2k-4k slots including EVM execution (go-ethereum issue #21899,
``reference/client-anchors.md`` §1.1), as a pool-side share should be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class IndexScaling(StrEnum):
    """How the price index's cost grows with the resident size ``n``."""

    LINEAR = "linear"
    """O(n): V1's sorted Erlang list."""
    LOGARITHMIC = "logarithmic"
    """O(log n): V2's balanced tree per band."""


@dataclass(frozen=True, slots=True)
class CostModel:
    """Service time in seconds of each pool operation at a given resident size.

    Use :meth:`v1` and :meth:`v2` for the documented presets; override any constant with
    :func:`dataclasses.replace`.

    Attributes:
        scaling: Linear (V1) or logarithmic (V2) index cost.
        call_overhead_s: Fixed cost per GenServer call (per batch for V2 batches).
        validate_s: Decode and validation per transaction.
        signature_check_s: Real signature recovery per transaction (V2 only).
        index_unit_s: Per list element walked (linear) or per tree level (log), on insert.
        remove_unit_s: Per list element walked (linear) or per tree level (log), on removal.
        select_per_tx_s: Per transaction listed when building a block.
        scan_per_entry_s: Per resident entry scanned by a cleanup.
        batch_size: Transactions per call in :meth:`batch` (1 = no batching).
    """

    scaling: IndexScaling
    call_overhead_s: float = 5e-6
    validate_s: float = 15e-6
    signature_check_s: float = 0.0
    index_unit_s: float = 15e-9
    remove_unit_s: float = 30e-9
    select_per_tx_s: float = 50e-9
    scan_per_entry_s: float = 100e-9
    batch_size: int = 1
    # Derived once for single() (the direct V1 path's hot call), not constants of the model.
    _linear: bool = field(init=False, repr=False, compare=False)
    _per_tx: float = field(init=False, repr=False, compare=False)
    _half_unit: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check that every constant is non-negative and ``batch_size`` positive.

        Raises:
            ValueError: Naming the offending field.
        """
        for name in ("call_overhead_s", "validate_s", "signature_check_s", "index_unit_s",
                     "remove_unit_s", "select_per_tx_s", "scan_per_entry_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        # The leading operations of single(), in its order (so the same bits): Python
        # evaluates ``a + b + w`` as ``(a + b) + w`` and ``u * 0.5 * n`` as ``(u * 0.5) * n``.
        object.__setattr__(self, "_linear", self.scaling is IndexScaling.LINEAR)
        object.__setattr__(self, "_per_tx", self.validate_s + self.signature_check_s)
        object.__setattr__(self, "_half_unit", self.index_unit_s * 0.5)

    @classmethod
    def v1(cls) -> CostModel:
        """The V1 preset: sorted-list index, no batching, no signature recovery."""
        return cls(scaling=IndexScaling.LINEAR)

    @classmethod
    def v2(cls, batch_size: int = 100) -> CostModel:
        """The V2 preset: tree index, batched admission, real signature check.

        Args:
            batch_size: The pool's ``batch_processing_size``.

        Returns:
            The preset.
        """
        return cls(scaling=IndexScaling.LOGARITHMIC, signature_check_s=40e-6,
                   index_unit_s=100e-9, remove_unit_s=100e-9, scan_per_entry_s=0.0,
                   batch_size=batch_size)

    def _walk(self, unit: float, resident: int, fraction: float) -> float:
        if self.scaling is IndexScaling.LINEAR:
            return unit * fraction * resident
        return unit * math.log2(resident + 2)

    def insert(self, resident: int) -> float:
        """Index cost of one insert into ``resident`` entries (V1 walks half the list)."""
        return self._walk(self.index_unit_s, resident, 0.5)

    def remove(self, resident: int) -> float:
        """Index cost of removing one entry from ``resident`` entries."""
        return self._walk(self.remove_unit_s, resident, 1.0)

    def add(self, resident: int) -> float:
        """Service time of one ``add`` call at ``resident`` entries.

        Args:
            resident: Transactions in the pool before the call.

        Returns:
            Seconds.
        """
        return (self.call_overhead_s + self.validate_s + self.signature_check_s
                + self.insert(resident))

    def batch(self, n: int, resident: int) -> float:
        """Service time of admitting ``n`` transactions at ``resident`` entries.

        Calls are ``ceil(n / batch_size)``, each paying ``call_overhead_s`` once. The index
        cost uses the size at the start of the batch (a slight underestimate as it fills).

        Args:
            n: Transactions offered.
            resident: Transactions in the pool before the batch.

        Returns:
            Seconds (0 for an empty batch).
        """
        if n <= 0:
            return 0.0
        calls = -(-n // self.batch_size)
        # insert(resident), inlined (one call per pool batch): the same float operations in
        # the same order as _walk, so the same bits.
        if self.scaling is IndexScaling.LINEAR:
            walk = self.index_unit_s * 0.5 * resident
        else:
            walk = self.index_unit_s * math.log2(resident + 2)
        per_tx = self.validate_s + self.signature_check_s + walk
        return calls * self.call_overhead_s + n * per_tx

    def single(self, resident: int) -> float:
        """``batch(1, resident)`` with fewer calls: the same operations in the same order.

        ``1 * x == x`` exactly for every float, so dropping the unit multipliers of
        :meth:`batch` leaves the result bit for bit unchanged (the direct V1 path's hot call).

        Args:
            resident: Transactions in the pool before the call.

        Returns:
            Seconds.
        """
        if self._linear:
            walk = self._half_unit * resident  # self.index_unit_s * 0.5 * resident
        else:
            walk = self.index_unit_s * math.log2(resident + 2)
        # self.call_overhead_s + (self.validate_s + self.signature_check_s + walk)
        return self.call_overhead_s + (self._per_tx + walk)

    def single_many(self, residents: list[int]) -> list[float]:
        """:meth:`single` of each resident count, in order (the same floats).

        Args:
            residents: Transactions in the pool before each call.

        Returns:
            Seconds, one per call.
        """
        overhead, per_tx = self.call_overhead_s, self._per_tx
        if self._linear:
            half = self._half_unit
            return [overhead + (per_tx + half * r) for r in residents]
        unit = self.index_unit_s
        log2 = math.log2
        return [overhead + (per_tx + unit * log2(r + 2)) for r in residents]

    def take(self, n: int, resident: int) -> float:
        """Service time of selecting and removing ``n`` transactions for a block.

        Args:
            n: Transactions taken.
            resident: Transactions in the pool before the call.

        Returns:
            Seconds.
        """
        listed = resident if self.scaling is IndexScaling.LINEAR else n
        return (self.call_overhead_s + self.select_per_tx_s * listed
                + n * self.remove(resident))

    def cleanup(self, resident: int, removed: int) -> float:
        """Service time of one age cleanup pass.

        Args:
            resident: Transactions in the pool before the pass.
            removed: Transactions it expired.

        Returns:
            Seconds.
        """
        return (self.call_overhead_s + self.scan_per_entry_s * resident
                + removed * self.remove(resident))

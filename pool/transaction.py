"""The transaction record both pools store.

A :class:`Transaction` is an immutable value. It carries what the pools order and account
(sender, nonce, gas price, gas limit, size, arrival time) and the fields that the real V1
validation pipeline reads (RLP field count, ``v``/``r``/``s``, call-data length), following
``Hydepwns/mana`` ``apps/blockchain/lib/blockchain/transaction_pool.ex`` L282-408 (see
``reference/mana-source-facts.md`` §3.1).

It is a :class:`typing.NamedTuple`: immutable, no ``__dict__`` (empty ``__slots__``), and about
three times cheaper to create than a frozen dataclass, which matters because a simulated day
at mainnet load creates over a million of them.

Two hashes exist:

* :attr:`Transaction.tx_hash` identifies the signed transaction (all fields, signature
  included), as a real client's hash does. Pools key their tables by it.
* :func:`unsigned_hash` reproduces the fork's V1 quirk: ``keccak`` of the term restricted to
  ``nonce, gas_price, gas_limit, to, value, data`` (``transaction_pool.ex`` L410-417). It
  ignores the signature and hence the sender, so two different senders' otherwise identical
  transactions collide. ``TxPoolV1`` uses it only under its ``hash_ignores_signature`` switch.

Hashes are 64-bit integers from a SplitMix64-style mixer: stable across processes (unlike
Python's salted ``hash``), cheap, and unique enough for simulated populations (collision
odds below 1e-5 for 2.6e7 transactions, a 15-day run at 20 tx/s).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

GWEI = 1_000_000_000
"""One gwei in wei."""

_MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """Scramble an integer into 64 well-mixed bits (the SplitMix64 finaliser).

    Args:
        value: Any integer; only its low 64 bits are used.

    Returns:
        A 64-bit unsigned integer.
    """
    z = (value + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def combine_hash(*parts: int) -> int:
    """Hash a sequence of integers into one stable 64-bit value.

    Args:
        *parts: The integers to hash, in order.

    Returns:
        A 64-bit unsigned integer that depends on every part and on their order.
    """
    h = 0x6A09E667F3BCC908
    for part in parts:
        h = mix64(h ^ (part & _MASK64))
        high = part >> 64
        # Values outside the 64-bit range (e.g. large wei amounts) mix in their high bits too.
        if high not in (0, -1):
            h = mix64(h ^ (high & _MASK64))
    return h


_U64 = np.uint64
# The SplitMix64 constants as numpy scalars (made once: converting a Python int per call costs
# more than the arithmetic on a chunk of a few hundred values).
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MUL1 = _U64(0xBF58476D1CE4E5B9)
_MUL2 = _U64(0x94D049BB133111EB)
_SHIFT1 = _U64(30)
_SHIFT2 = _U64(27)
_SHIFT3 = _U64(31)


def combine_hash_array(
    *parts: npt.NDArray[np.int64] | npt.NDArray[np.uint64] | npt.NDArray[np.bool_] | int,
) -> npt.NDArray[np.uint64]:
    """Vectorised :func:`combine_hash` over columns of 64-bit integers.

    Element ``i`` of the result equals ``combine_hash(parts[0][i], parts[1][i], ...)`` for
    every value that fits in 64 bits (signed values are taken as two's complement, as the
    Python version's masking does). A part may also be one integer, the same for every
    element (as a column full of it). The workload generator uses it to hash a whole chunk
    of transactions at once.

    Args:
        *parts: Equal-length integer (or boolean, as 0/1) arrays or single integers in
            ``[-2**63, 2**64)``, in hash order; the first must be an array.

    Returns:
        A ``uint64`` array of hashes.
    """
    first = parts[0]
    if isinstance(first, int):
        raise TypeError("the first part must be an array")
    n = len(first)
    h = np.full(n, 0x6A09E667F3BCC908, dtype=np.uint64)
    tmp = np.empty(n, dtype=np.uint64)
    # Outputs are passed positionally (``ufunc(a, b, out)``): the keyword costs more to
    # parse than the arithmetic on a chunk of a few hundred values.
    xor, shift, mul, add = np.bitwise_xor, np.right_shift, np.multiply, np.add
    for part in parts:
        # mix64(h ^ part), in place: uint64 arithmetic wraps modulo 2**64, exactly like the
        # masked Python version, and an int64 column seen as uint64 is its two's complement
        # (what ``& _MASK64`` gives). A single integer broadcasts as a uint64 scalar.
        if isinstance(part, int):
            xor(h, _U64(part & _MASK64), h)
        elif part.dtype == np.int64 or part.dtype == np.uint64:
            xor(h, part.view(np.uint64), h)
        else:
            xor(h, part.astype(np.uint64), h)
        add(h, _GOLDEN, h)
        shift(h, _SHIFT1, tmp)
        xor(h, tmp, h)
        mul(h, _MUL1, h)
        shift(h, _SHIFT2, tmp)
        xor(h, tmp, h)
        mul(h, _MUL2, h)
        shift(h, _SHIFT3, tmp)
        xor(h, tmp, h)
    return h


class Transaction(NamedTuple):
    """An immutable legacy (9-field RLP) transaction as the pools see it.

    Build one with :meth:`Transaction.create`, which fills in :attr:`tx_hash`.

    Attributes:
        tx_hash: Identity of the signed transaction (64-bit, includes the signature).
        sender: Sender address as an integer.
        nonce: Sender nonce.
        gas_price: Gas price in wei.
        gas_limit: Gas limit in gas units.
        size: Encoded size in bytes.
        arrival: Time the transaction first reached the node, in simulated seconds.
        to: Recipient address as an integer.
        value: Value transferred, in wei.
        data_len: Call-data length in bytes (drives intrinsic gas: 21,000 + 16 per byte).
        data_tag: Stand-in for the call-data content (part of both hashes).
        rlp_fields: Number of RLP list items in the encoding; a legacy transaction has 9.
        v: Signature ``v``.
        r: Signature ``r``.
        s: Signature ``s``.
        signature_valid: Whether ECDSA recovery would succeed. V1 never checks it (it only
            tests ``v, r, s > 0``); V2 does.
    """

    tx_hash: int
    sender: int
    nonce: int
    gas_price: int
    gas_limit: int
    size: int
    arrival: float
    to: int = 0
    value: int = 0
    data_len: int = 0
    data_tag: int = 0
    rlp_fields: int = 9
    v: int = 27
    r: int = 1
    s: int = 1
    signature_valid: bool = True

    @classmethod
    def create(
        cls,
        *,
        sender: int,
        nonce: int,
        gas_price: int,
        gas_limit: int = 21_000,
        size: int = 110,
        arrival: float = 0.0,
        to: int = 0,
        value: int = 0,
        data_len: int = 0,
        data_tag: int = 0,
        rlp_fields: int = 9,
        v: int = 27,
        r: int = 1,
        s: int = 1,
        signature_valid: bool = True,
    ) -> Transaction:
        """Build a transaction and compute its :attr:`tx_hash`.

        The hash covers every content field and the signature, but not :attr:`arrival`
        (the same transaction gossiped twice is the same transaction).

        Returns:
            The new transaction.
        """
        tx_hash = combine_hash(
            sender, nonce, gas_price, gas_limit, to, value, data_len, data_tag,
            rlp_fields, v, r, s, int(signature_valid),
        )
        return cls(
            tx_hash, sender, nonce, gas_price, gas_limit, size, arrival, to, value,
            data_len, data_tag, rlp_fields, v, r, s, signature_valid,
        )

    @property
    def intrinsic_gas(self) -> int:
        """Intrinsic gas as V1 computes it: 21,000 plus 16 per call-data byte."""
        return 21_000 + 16 * self.data_len


def unsigned_hash(tx: Transaction) -> int:
    """The fork V1 pool's hash, which ignores the signature (and so the sender).

    ``transaction_pool.ex`` L410-417 hashes only ``nonce, gas_price, gas_limit, to, value,
    data``.

    Args:
        tx: The transaction.

    Returns:
        A 64-bit hash of the unsigned fields.
    """
    return combine_hash(tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value,
                        tx.data_len, tx.data_tag)

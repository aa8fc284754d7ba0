from pool import GWEI, Transaction, unsigned_hash


def make(**kw: object) -> Transaction:
    base: dict[str, object] = {"sender": 7, "nonce": 3, "gas_price": 2 * GWEI}
    base.update(kw)
    return Transaction.create(**base)  # type: ignore[arg-type]


def test_hash_is_stable_and_ignores_arrival() -> None:
    a = make(arrival=1.0)
    b = make(arrival=99.0)
    assert a.tx_hash == b.tx_hash
    # A fixed value guards against accidental changes to the hash (determinism across runs).
    assert a.tx_hash == make().tx_hash
    assert 0 <= a.tx_hash < 2**64


def test_hash_depends_on_signature_and_sender() -> None:
    a = make()
    assert make(r=2).tx_hash != a.tx_hash
    assert make(sender=8).tx_hash != a.tx_hash
    assert make(nonce=4).tx_hash != a.tx_hash


def test_unsigned_hash_ignores_signature_and_sender() -> None:
    a = make()
    assert unsigned_hash(make(r=2, s=5)) == unsigned_hash(a)
    assert unsigned_hash(make(sender=8)) == unsigned_hash(a)
    assert unsigned_hash(make(gas_price=3 * GWEI)) != unsigned_hash(a)


def test_transaction_is_immutable_and_slotted() -> None:
    tx = make()
    assert not hasattr(tx, "__dict__")
    try:
        tx.nonce = 5  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("Transaction must be immutable")


def test_intrinsic_gas() -> None:
    assert make(data_len=0).intrinsic_gas == 21_000
    assert make(data_len=10).intrinsic_gas == 21_160


def test_vectorised_hash_matches_python_hash() -> None:
    import numpy as np

    from pool.transaction import combine_hash, combine_hash_array

    a = np.array([0, 1, -5, 2**62, 123456789], dtype=np.int64)
    b = np.array([7, 0, 3, 9, 2**40], dtype=np.int64)
    got = combine_hash_array(a, b)
    want = [combine_hash(int(x), int(y)) for x, y in zip(a, b, strict=True)]
    assert [int(v) for v in got] == want


def test_vectorised_hash_takes_single_integers_and_other_dtypes() -> None:
    # A single integer hashes as a column full of it; bool columns as 0/1; uint64 as is.
    import numpy as np

    from pool.transaction import combine_hash, combine_hash_array

    a = np.array([0, 1, -5, 2**62, 123456789], dtype=np.int64)
    ok = np.array([True, False, True, True, False])
    big = np.array([2**64 - 1, 0, 2**63, 5, 77], dtype=np.uint64)
    got = combine_hash_array(a, 27, ok, -3, big, 2**64 - 2)
    want = [combine_hash(int(x), 27, int(y), -3, int(z), 2**64 - 2)
            for x, y, z in zip(a, ok, big, strict=True)]
    assert [int(v) for v in got] == want
    assert (combine_hash_array(a, 27) == combine_hash_array(a, np.full(5, 27))).all()

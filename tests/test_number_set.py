"""NumberSet against a plain set: the same membership and size after any adds and clears."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.number_set import NumberSet

# ("add", n), ("clear", 0); numbers from a small range so runs touch, merge and repeat.
_OPS = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(-5, 60)),
                          st.tuples(st.just("clear"), st.just(0))), max_size=120)


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_number_set_equals_a_set(ops: list[tuple[str, int]]) -> None:
    numbers = NumberSet()
    reference: set[int] = set()
    for op, n in ops:
        if op == "add":
            numbers.add(n)
            reference.add(n)
        else:
            numbers.clear()
            reference.clear()
        assert len(numbers) == len(reference)
        assert [k for k in range(-7, 63) if k in numbers] == sorted(reference)


def test_a_contiguous_run_in_any_order_is_held_as_two_integers() -> None:
    numbers = NumberSet()
    for n in [10, 12, 14, 11, 13, 9, 15, 8]:
        numbers.add(n)
    assert len(numbers) == 8
    assert numbers._rest == set()  # swallowed into the run [8, 16)
    assert (numbers._lo, numbers._hi) == (8, 16)
    assert 7 not in numbers
    assert 16 not in numbers
    assert "8" not in numbers


def test_numbers_held_outside_are_swallowed_from_both_ends() -> None:
    numbers = NumberSet()
    for n in [10, 7, 8, 12, 13, 9, 11]:
        numbers.add(n)
    assert (numbers._lo, numbers._hi, numbers._rest) == (7, 14, set())
    assert len(numbers) == 7

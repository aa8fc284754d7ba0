"""A set of block numbers that stays small while the numbers are contiguous.

V1 sync's ``block_numbers`` (``mana-ethereum/mana`` ``apps/ex_wire/lib/ex_wire/sync.ex``
L255-274, L480-496; ``reference/mana-source-facts.md`` §4.1) is only ever added to: following a
chain, it gains one number per block, for ever. A Python ``set`` of them costs about 70
bytes a number, the largest part of what a long run's memory grows by. The numbers a node
queues are almost always one contiguous run, so this keeps that run as two integers and any
number outside it in an ordinary set: the same membership and size as a set, O(1) memory
for a contiguous run.
"""

from __future__ import annotations


class NumberSet:
    """Integers added one at a time: membership, size and clearing, as a ``set[int]``.

    Holds one contiguous run ``[lo, hi)`` plus the numbers outside it. The run grows when a
    number lands just past either end, and then swallows any numbers held outside it that it
    now reaches, so a run of numbers added in any order ends up as two integers.
    """

    __slots__ = ("_hi", "_lo", "_rest")

    def __init__(self) -> None:
        self._lo = 0
        self._hi = 0  # an empty run
        self._rest: set[int] = set()

    def __contains__(self, number: object) -> bool:
        """Whether ``number`` was added (since the last :meth:`clear`)."""
        if isinstance(number, int) and self._lo <= number < self._hi:
            return True
        return number in self._rest

    def __len__(self) -> int:
        """How many distinct numbers were added."""
        return self._hi - self._lo + len(self._rest)

    def add(self, number: int) -> None:
        """Add one number (adding it again changes nothing).

        Args:
            number: Any integer.
        """
        lo, hi = self._lo, self._hi
        if lo <= number < hi:
            return
        rest = self._rest
        if lo == hi:
            # Empty run: it starts here (nothing held outside is adjacent until swallowed).
            lo, hi = number, number + 1
        elif number == hi:
            hi += 1
        elif number == lo - 1:
            lo -= 1
        else:
            rest.add(number)
            return
        rest.discard(number)
        while hi in rest:
            rest.remove(hi)
            hi += 1
        while lo - 1 in rest:
            lo -= 1
            rest.remove(lo)
        self._lo, self._hi = lo, hi

    def clear(self) -> None:
        """Forget every number."""
        self._lo = self._hi = 0
        self._rest.clear()

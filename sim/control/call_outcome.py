"""The outcome of one call to a module instance, as the router sees it."""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

OutcomeKind = Literal["ok", "error", "timeout"]
"""``ok``: a normal reply; ``error``: the module replied ``{:error, _}`` or raised;
``timeout``: no reply within the caller's timeout."""

OUTCOME_KINDS: Final[tuple[OutcomeKind, ...]] = ("ok", "error", "timeout")
"""All outcome kinds."""


class CallOutcome(NamedTuple):
    """One call's result and how long it took.

    Attributes:
        kind: ``"ok"``, ``"error"`` or ``"timeout"``.
        latency: Time from the call to its reply (or to the timeout), in seconds.
    """

    kind: OutcomeKind
    latency: float

    @property
    def ok(self) -> bool:
        """Whether the call replied normally."""
        return self.kind == "ok"

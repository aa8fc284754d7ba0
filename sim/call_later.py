"""Call a function after a delay, in exactly the event order a one-timeout process gives.

The sync link used to start a SimPy process per answer, block and timer wake-up whose body
was ``yield env.timeout(delay)`` followed by plain code. A process costs a generator, a
:class:`simpy.Process` event and two resumptions; :func:`call_later` does the same with one
event, scheduled twice (as the start event, then as the timeout), at about a third of the
cost (the link starts ~10 per slot).

Same order, not just same times: SimPy orders events at equal times by priority, then by
creation. Starting a process schedules an URGENT start event now (``simpy.events.Initialize``)
and the timeout is created only when that start event is processed; :class:`_Start` below is
that start event, so the timeout gets the same place among equal-time events (ties are real:
a request deadline ``slot + 30 s`` can meet a 10-s metrics sample). The one event a process
adds beyond that, its own completion (scheduled when the body returns, with no callbacks
because nobody waits on these processes), does nothing; dropping it leaves the relative
order of every other event unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT


class _Start(simpy.Event):
    """The start event of :func:`call_later`; mirrors ``simpy.events.Initialize``."""

    def __init__(self, env: simpy.Environment, delay: float, fn: Callable[..., Any],
                 args: tuple[Any, ...]) -> None:
        # Event.__init__ inlined and triggered at once, as Initialize does.
        self.env = env
        self.callbacks = [self._arm]
        self._value = None
        self._ok = True
        self._delay = delay
        self._fn = fn
        self._args = args
        env.schedule(self, URGENT)

    def _arm(self, _event: simpy.Event) -> None:
        # Where the process would create its timeout, this event schedules itself again as
        # that timeout (same time, NORMAL priority, a creation number taken at this very
        # moment), which spares allocating one: simpy.Timeout does exactly this schedule.
        if self._delay < 0:
            raise ValueError(f"negative delay {self._delay}")
        self.callbacks = [self._fire]
        self.env.schedule(self, NORMAL, self._delay)

    def _fire(self, _event: simpy.Event) -> None:
        self._fn(*self._args)


def call_later(env: simpy.Environment, delay: float, fn: Callable[..., None],
               *args: Any) -> None:
    """Run ``fn(*args)`` ``delay`` seconds from now, ordered as a process would be.

    Equivalent to ``env.process(p())`` with ``def p(): yield env.timeout(delay); fn(*args)``
    (see the module docstring), for code that never waits on the process.

    Args:
        env: The SimPy environment.
        delay: Seconds from now, ``>= 0``.
        fn: The function to call.
        *args: Its arguments.
    """
    _Start(env, delay, fn, args)


class _Repeat(_Start):
    """The event of :func:`call_repeatedly`: :class:`_Start`, then rescheduled after each call."""

    def _fire(self, _event: simpy.Event) -> None:
        delay = self._fn(*self._args)
        if delay is None:
            return
        # Where the process would yield its next timeout (after the body's work, so after
        # every event that work created), the event schedules itself again as that timeout.
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        self.callbacks = [self._fire]
        self.env.schedule(self, NORMAL, delay)


def call_repeatedly(env: simpy.Environment, delay: float, fn: Callable[..., float | None],
                    *args: Any) -> None:
    """Run ``fn(*args)`` after ``delay``, then again after each delay it returns, until None.

    Equivalent to ``env.process(p())`` with ``def p(): d = delay; while d is not None: yield
    env.timeout(d); d = fn(*args)``, for a recurring process that nobody waits on: the same
    events at the same times in the same order (see the module docstring; each later
    timeout takes its creation number where the process would create it, right after the
    body's work), with one event object reused instead of a timeout and a resumption each
    time.

    Args:
        env: The SimPy environment.
        delay: Seconds from now to the first call, ``>= 0``.
        fn: The recurring work; returns the seconds to its next call (``>= 0``), or None to
            stop.
        *args: Its arguments.
    """
    _Repeat(env, delay, fn, args)


class _Timer(simpy.Event):
    """The event of :func:`call_after`: one NORMAL timeout, scheduled at once."""

    def __init__(self, env: simpy.Environment, delay: float, fn: Callable[..., Any],
                 args: tuple[Any, ...]) -> None:
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        self.env = env
        self.callbacks = [self._fire]
        self._value = None
        self._ok = True
        self._fn = fn
        self._args = args
        env.schedule(self, NORMAL, delay)

    def _fire(self, _event: simpy.Event) -> None:
        self._fn(*self._args)


def urgent_pending(env: simpy.Environment) -> bool:
    """Whether an URGENT event is scheduled at the current time (a start not yet run).

    Every scheduled event is at ``now`` or later and URGENT sorts before NORMAL, so such an
    event, if any, is at the head of the queue.
    """
    queue = env._queue  # read only: SimPy has no public view of the head of its queue
    return bool(queue) and queue[0][0] == env.now and queue[0][1] == URGENT


def call_after(env: simpy.Environment, delay: float, fn: Callable[..., None],
               *args: Any) -> None:
    """Run ``fn(*args)`` ``delay`` seconds from now, its timeout created right now.

    One event instead of :func:`call_later`'s start event then timeout. The two orders are
    the same when the caller is the LAST thing its event's callback schedules anything with
    (other :func:`call_after` calls aside) and :func:`urgent_pending` is False: then
    :func:`call_later`'s start event would be the very next event processed, right after the
    callback returns, and would create the timeout before anything else is scheduled, so the
    timeout takes the same place among the events at its time (only calls to
    :func:`call_after` come between, in the same order either way). The sync link uses it in
    its own callbacks (answers, processed blocks, wake-ups), which schedule nothing else.

    Args:
        env: The SimPy environment.
        delay: Seconds from now, ``>= 0``.
        fn: The function to call.
        *args: Its arguments.

    Raises:
        ValueError: If ``delay`` is negative.
    """
    _Timer(env, delay, fn, args)

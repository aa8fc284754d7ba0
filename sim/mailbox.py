"""A GenServer-like mailbox: one server, FIFO, one message (or one batch) at a time.

Every module instance of the node (V1 and V2 of each module) is an Elixir GenServer in the real
client: one process, one mailbox, one message at a time (DESIGN.md, "The model"). Its latency
is the wait behind earlier messages plus its own service time; its CPU is the server's busy
fraction.

The schedule is computed, not simulated: messages are offered in time order and the Lindley
recursion ``start = max(arrival, busy_until)``, ``finish = start + service`` gives each one's
start and finish without any SimPy event (simulation-anchors.md §3.1 "Lindley recursion"; §1d
for why: a per-request SimPy process costs about six events). The SimPy trace mode serves the
same messages through real SimPy processes, and a test shows the two agree.

Batching (the V2 pool's ``batch_processing_size``): when the server becomes free it takes every
waiting *batchable* message, up to the batch size, and handles them as one unit of work. A
message that arrives while the server is busy therefore joins the batch that will start when
the server frees. That batch can only be closed once it is known that nobody else joins it: a
later arrival after its start, a full batch, a non-batchable message (which queues behind it),
or an explicit :meth:`Mailbox.flush`. Its work is done by a callback that receives the start time
and the items and returns the service time; the callback applies the items' effects (e.g. the
pool adds) at the start time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from functools import reduce
from operator import add
from typing import Generic, TypeVar

T = TypeVar("T")

BatchRunner = Callable[[float, list[T]], float]
"""``run(start, items) -> service_time``: does a batch's work at ``start``."""


class Mailbox(Generic[T]):
    """A single FIFO server whose schedule follows the Lindley recursion, with batching.

    Args:
        run_batch: Called once per batch with (start time, items); returns its service time.
        batch_size: Largest batch; 1 means every message is handled on its own.

    Attributes:
        busy_until: When the server finishes the work it has started, seconds.
        busy_time: Total service time so far, seconds (CPU busy = busy_time / elapsed).
        served: Messages served (batch items count one each).
        batches: Batches run.
        waiting_start: Start time of the waiting batch, ``inf`` when none waits: a caller
            that sees ``waiting_start > t`` knows :meth:`flush` at ``t`` would do nothing.
    """

    __slots__ = ("_finishes", "_pending", "_pending_start", "_run_batch", "batch_size",
                 "batches", "busy_time", "busy_until", "served", "waiting_start")

    def __init__(self, run_batch: BatchRunner[T], batch_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._run_batch = run_batch
        self.batch_size = batch_size
        self.busy_until = 0.0
        self.busy_time = 0.0
        self.served = 0
        self.batches = 0
        self._pending: list[T] = []
        self._pending_start = 0.0
        self.waiting_start = math.inf
        # Finish time of every message served and not yet seen finished by in_system, one
        # entry per message. The server is FIFO and service times are >= 0, so the entries
        # never decrease: in_system finds the finished prefix by bisection.
        self._finishes: list[float] = []

    def _run_pending(self) -> None:
        items = self._pending
        self._pending = []
        self.waiting_start = math.inf
        start = self._pending_start
        service = self._run_batch(start, items)
        finish = start + service
        self.busy_until = finish
        self.busy_time += service
        self.served += len(items)
        self.batches += 1
        self._finishes.extend([finish] * len(items))

    def offer(self, arrival: float, item: T) -> None:
        """Offer one batchable message. Offers must come in non-decreasing arrival order.

        Args:
            arrival: When the message reaches the mailbox, seconds.
            item: The message.
        """
        if self._pending and (
            arrival > self._pending_start or len(self._pending) >= self.batch_size
        ):
            self._run_pending()
        if not self._pending:
            self._pending_start = arrival if arrival > self.busy_until else self.busy_until
        self._pending.append(item)
        self.waiting_start = self._pending_start
        # Idle server, or a full batch: nobody else can join, so run it now.
        if self._pending_start <= arrival or len(self._pending) >= self.batch_size:
            self._run_pending()

    def flush(self, until: float) -> None:
        """Run the waiting batch if it starts at or before ``until``.

        Call it before reading state at time ``until`` (a block, a metrics sample).

        Args:
            until: The time of the read, seconds.
        """
        if self._pending and self._pending_start <= until:
            self._run_pending()

    def serve(self, arrival: float, service: float) -> float:
        """Serve one non-batchable message (it queues behind any waiting batch).

        Args:
            arrival: When it reaches the mailbox, seconds.
            service: Its service time, seconds.

        Returns:
            Its finish time.
        """
        if self._pending:
            self._run_pending()
        start = arrival if arrival > self.busy_until else self.busy_until
        finish = start + service
        self.busy_until = finish
        self.busy_time += service
        self.served += 1
        self._finishes.append(finish)
        return finish

    def serve_one(self, arrival: float, service: float) -> float:
        """Serve one message as a batch of its own, its work already done by the caller.

        For a mailbox with ``batch_size == 1`` this is exactly :meth:`offer` with a runner
        that returns ``service``, minus the message object and the callback: the node's direct
        path for the bulk of its traffic. Use :meth:`start_time` first when the work needs
        its start time.

        Args:
            arrival: When the message reaches the mailbox, seconds.
            service: Its service time, seconds.

        Returns:
            Its finish time.
        """
        if self._pending:
            self._run_pending()
        busy_until = self.busy_until
        finish = (arrival if arrival > busy_until else busy_until) + service
        self.busy_until = finish
        self.busy_time += service
        self.served += 1
        self.batches += 1
        self._finishes.append(finish)
        return finish

    @property
    def log_finish(self) -> Callable[[float], None]:
        """Append one message's finish time to the log that :meth:`in_system` reads.

        For a hot loop that inlines :meth:`serve_one` on a mailbox with ``batch_size == 1``
        (nothing ever waits in it then, since :meth:`offer` runs every message at once): the
        loop updates ``busy_until``, ``busy_time``, ``served`` and ``batches`` as
        :meth:`serve_one` does and logs the finish with this. The log lives as long as the
        mailbox (it is only trimmed and cleared in place), so the callable stays valid.
        """
        return self._finishes.append

    def serve_many(self, arrivals: list[float], services: list[float]) -> list[float]:
        """Serve messages one at a time, exactly as :meth:`serve_one` on each in order.

        Args:
            arrivals: Their arrival times, non-decreasing, seconds.
            services: Their service times, seconds.

        Returns:
            Their finish times.
        """
        if self._pending:
            self._run_pending()
        busy_until = self.busy_until
        busy_time = self.busy_time
        finishes: list[float] = []
        for arrival, service in zip(arrivals, services, strict=True):
            busy_until = (arrival if arrival > busy_until else busy_until) + service
            busy_time += service
            finishes.append(busy_until)
        self._finishes.extend(finishes)
        self.busy_until = busy_until
        self.busy_time = busy_time
        self.served += len(finishes)
        self.batches += len(finishes)
        return finishes

    def serve_many_starts(self, arrivals: list[float], services: list[float]
                          ) -> tuple[list[float], list[float]]:
        """:meth:`serve_many` that also returns each message's start time.

        For work applied at each message's start (the V1 pool's bulk adds). The same
        operations in the same order as :meth:`start_time` then :meth:`serve_one` on each
        message (``busy_time`` is the same running float sum).

        Args:
            arrivals: Their arrival times, non-decreasing, seconds.
            services: Their service times, seconds.

        Returns:
            ``(starts, finishes)``, seconds.
        """
        if self._pending:
            self._run_pending()
        busy_until = self.busy_until
        starts: list[float] = []
        finishes: list[float] = []
        start_append, finish_append = starts.append, finishes.append
        for arrival, service in zip(arrivals, services, strict=True):
            start = arrival if arrival > busy_until else busy_until
            busy_until = start + service
            start_append(start)
            finish_append(busy_until)
        self._finishes.extend(finishes)
        self.busy_until = busy_until
        self.busy_time = reduce(add, services, self.busy_time)
        self.served += len(finishes)
        self.batches += len(finishes)
        return starts, finishes

    def start_time(self, arrival: float) -> float:
        """When a non-batchable message arriving at ``arrival`` would start (no state change).

        Args:
            arrival: Arrival time, seconds.

        Returns:
            Its start time given the work accepted so far (waiting batch excluded).
        """
        return arrival if arrival > self.busy_until else self.busy_until

    def in_system(self, now: float) -> int:
        """Messages waiting or in service at ``now``.

        Args:
            now: Sampling time, seconds; must not decrease between calls.

        Returns:
            The mailbox length, counting batch items one each.
        """
        finishes = self._finishes
        done = bisect_right(finishes, now)
        if done:
            del finishes[:done]
        return len(finishes) + len(self._pending)

    def reset(self, now: float) -> list[T]:
        """Drop all queued work (a restart); the server is idle from ``now``.

        Args:
            now: Restart time, seconds.

        Returns:
            The batchable messages that were waiting and are now lost to this server.
        """
        lost = self._pending
        self._pending = []
        self.waiting_start = math.inf
        self._finishes.clear()
        self.busy_until = now
        return lost

"""The node's high-rate inputs, drawn in chunks and fed in time order.

Transactions (from :class:`~sim.workload.TxWorkload`), inbound sync requests from peers
(Poisson per peer, plus flooding peers), and filter and subscription calls (Poisson) are drawn
for a whole chunk of simulated time at once with numpy, merged into one time-ordered stream,
and handed to the node one by one, each at its own time, by :meth:`InputFeeder.advance`.
SimPy never sees them: it only schedules the coarse events (slots, timers, samples), and each
coarse event first advances the feeder to its own time (DESIGN.md, "Speed").

The draws depend only on the seed and the chunk length, never on the model's state, so the
fast mode and the per-transaction trace mode see exactly the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pool import Transaction
from sim.workload import TxWorkload

KIND_TX = 0
KIND_SYNC = 1
KIND_FILTER = 2
KIND_SUBSCRIPTION = 3

REQUEST_MODULES = {KIND_SYNC: "sync_service", KIND_FILTER: "filter_manager",
                   KIND_SUBSCRIPTION: "subscription_manager"}
"""Input kind to the module that serves it."""

BATCH_KINDS = (KIND_FILTER, KIND_SUBSCRIPTION)
"""Request kinds a stretch offers to a batch handler, in this order. Not inbound sync
requests: each passes the per-peer limiter, whose verdicts and refusal log follow their order
among the other inputs, so they are handled one by one (``Node.submit_requests`` refuses
them); offering them only cost a mask, a list and a refusal per stretch."""

BatchHandler = Callable[[int, list[float]], bool]
"""``on_requests(kind, times) -> taken``: may serve all of a stretch's requests of one kind."""

StretchHandler = Callable[[list[int], list[int], list[float], list[Transaction], list[int]],
                          None]
"""``on_stretch(kinds, args, times, txs, relays)``: handles a stretch's inputs in order."""


@dataclass(frozen=True, slots=True)
class RequestSource:
    """A Poisson stream of generic requests.

    Attributes:
        kind: One of the ``KIND_*`` request kinds.
        rate: Requests per second.
        callers: Caller ids the requests come from (uniformly).
        start: First time the stream is active, seconds.
        end: Time the stream stops, seconds (``inf`` = never).
    """

    kind: int
    rate: float
    callers: tuple[int, ...]
    start: float = 0.0
    end: float = float("inf")


@dataclass(slots=True)
class Chunk:
    """One chunk of merged inputs in time order.

    Attributes:
        times: Input times, seconds.
        kinds: Input kinds.
        args: Per input: index into ``txs`` (transactions) or the caller id.
        txs: The chunk's transactions.
        relays: Per transaction, the relaying peer id.
    """

    times: npt.NDArray[np.float64]
    kinds: npt.NDArray[np.int64]
    args: npt.NDArray[np.int64]
    txs: list[Transaction]
    relays: npt.NDArray[np.int64]


def _counts_before(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """``out[i]``: how many of ``mask[:i]`` are True (``i`` from 0 to ``mask.size``)."""
    out = np.zeros(mask.size + 1, dtype=np.int64)
    np.cumsum(mask, out=out[1:])
    return out


@dataclass(slots=True)
class _Split:
    """A chunk's inputs by what a batch handler may take, built once per chunk.

    A stretch is a range ``[pos, stop)`` of the chunk's inputs; its inputs of one part are a
    range of that part too, found from the part's counts (``before[pos]`` to
    ``before[stop]``), so a stretch costs slices instead of masks over the chunk.

    Attributes:
        kinds: Kinds of the inputs of no batch kind (transactions, inbound sync requests).
        args: Their args.
        times: Their times.
        before: ``before[i]``: how many of them are among the chunk's first ``i`` inputs.
        batch_times: Per kind of :data:`BATCH_KINDS`, its inputs' times.
        batch_before: Per kind of :data:`BATCH_KINDS`, counts as ``before``.
    """

    kinds: list[int]
    args: list[int]
    times: list[float]
    before: npt.NDArray[np.int64]
    batch_times: list[list[float]]
    batch_before: list[npt.NDArray[np.int64]]

    @classmethod
    def of(cls, chunk: Chunk) -> _Split:
        """Split ``chunk``'s inputs (each part keeps the chunk's order)."""
        rest = np.ones(chunk.kinds.size, dtype=np.bool_)
        batch_times: list[list[float]] = []
        batch_before: list[npt.NDArray[np.int64]] = []
        for kind in BATCH_KINDS:
            mask = chunk.kinds == kind
            rest &= ~mask
            batch_times.append(chunk.times[mask].tolist())
            batch_before.append(_counts_before(mask))
        return cls(chunk.kinds[rest].tolist(), chunk.args[rest].tolist(),
                   chunk.times[rest].tolist(), _counts_before(rest), batch_times, batch_before)


class InputFeeder:
    """Draws inputs chunk by chunk and feeds them to handlers in time order.

    Args:
        workload: The transaction workload.
        sources: Generic request streams.
        relay_peers: Peer ids that relay transactions (chosen uniformly per transaction).
        rng: Stream for request times, callers and relays.
        chunk: Chunk length in seconds.
        end: Run end; nothing is drawn at or after it.
    """

    def __init__(self, workload: TxWorkload, sources: list[RequestSource],
                 relay_peers: tuple[int, ...], rng: np.random.Generator, chunk: float,
                 end: float) -> None:
        self.workload = workload
        self.sources = sources
        # Each source's callers as an array, converted once (a thousand-caller tuple costs
        # more to convert than the rest of a chunk's request draws).
        self._callers = [np.asarray(src.callers, dtype=np.int64) for src in sources]
        self.relay_peers = np.asarray(relay_peers or (0,), dtype=np.int64)
        self.rng = rng
        self.chunk_len = chunk
        self.end = end
        self._chunk_index = 0
        self._chunk: Chunk | None = None
        # The chunk's relays as Python ints, converted once per chunk (not once per stretch).
        self._relays: list[int] = []
        # The chunk's inputs split for the batch handler (built at its first use per chunk).
        self._split: _Split | None = None
        self._pos = 0
        self.fed = 0

    def _draw(self, t0: float, t1: float) -> Chunk:
        arrivals = self.workload.chunk(t0, t1)
        txs = arrivals.txs
        n_tx = len(txs)
        parts_t = [arrivals.times]
        parts_k = [np.full(n_tx, KIND_TX, dtype=np.int64)]
        parts_a = [np.arange(n_tx, dtype=np.int64)]
        relays = self.relay_peers[self.rng.integers(0, self.relay_peers.size, size=n_tx)]
        for src, callers in zip(self.sources, self._callers, strict=True):
            a, b = max(t0, src.start), min(t1, src.end)
            if b <= a or src.rate <= 0.0 or not callers.size:
                continue
            n = int(self.rng.poisson(src.rate * (b - a)))
            parts_t.append(self.rng.uniform(a, b, size=n))
            parts_k.append(np.full(n, src.kind, dtype=np.int64))
            parts_a.append(callers[self.rng.integers(0, callers.size, size=n)])
        times = np.concatenate(parts_t)
        order = np.argsort(times, kind="stable")
        return Chunk(times[order], np.concatenate(parts_k)[order],
                     np.concatenate(parts_a)[order], txs, relays)

    def _next_chunk(self) -> Chunk | None:
        t0 = self._chunk_index * self.chunk_len
        if t0 >= self.end:
            return None
        t1 = min(self.end, t0 + self.chunk_len)
        self._chunk_index += 1
        return self._draw(t0, t1)

    def advance(self, until: float, on_tx: Callable[[Transaction, int], None],
                on_request: Callable[[int, int, float], None],
                on_requests: BatchHandler | None = None,
                on_stretch: StretchHandler | None = None) -> None:
        """Feed every input with time < ``until`` to the handlers, in time order.

        Args:
            until: Time bound, seconds.
            on_tx: Called as ``on_tx(tx, relay_peer)``.
            on_request: Called as ``on_request(kind, caller, time)``.
            on_requests: If given, first offered the inputs of each kind in
                :data:`BATCH_KINDS` of every stretch fed at once (their times, in order;
                kinds without inputs are not offered); when it returns True it has handled
                them and they are not fed one by one. The handler must only take a batch
                whose handling does not depend on the other inputs of the stretch.
            on_stretch: If given, called once per stretch with the inputs left (kinds, args,
                times, the chunk's transactions and relays) instead of ``on_tx`` and
                ``on_request`` on each; it must handle them exactly as those would, in order.
        """
        while True:
            chunk = self._chunk
            if chunk is None or self._pos >= chunk.times.size:
                if self._chunk_index * self.chunk_len >= min(until, self.end):
                    return
                chunk = self._next_chunk()
                if chunk is None:
                    return
                self._chunk, self._pos = chunk, 0
                self._relays = chunk.relays.tolist()
                self._split = None
                continue
            times, kinds, args, txs = chunk.times, chunk.kinds, chunk.args, chunk.txs
            stop = int(np.searchsorted(times, until, side="left"))
            pos = self._pos
            if stop <= pos:
                return
            taken: list[int] = []
            declined = False
            split: _Split | None = None
            if on_requests is not None:
                split = self._split
                if split is None:
                    split = self._split = _Split.of(chunk)
                # Each batch kind's inputs of the stretch, in kind order: a slice of its part.
                for kind, kind_times, kind_before in zip(
                        BATCH_KINDS, split.batch_times, split.batch_before, strict=True):
                    first, last = int(kind_before[pos]), int(kind_before[stop])
                    if last > first:
                        if on_requests(kind, kind_times[first:last]):
                            taken.append(kind)
                        else:
                            declined = True
            if split is not None and not declined:
                # Every batch kind with inputs taken: the stretch's other inputs are a slice
                # of the chunk's part of no batch kind (the same values, in the same order,
                # as masking the stretch).
                first, last = int(split.before[pos]), int(split.before[stop])
                kinds_l = split.kinds[first:last]
                args_l = split.args[first:last]
                times_l = split.times[first:last]
            else:
                seg_kinds, seg_args = kinds[pos:stop], args[pos:stop]
                seg_times = times[pos:stop]
                if taken:
                    keep = seg_kinds != taken[0]
                    for kind in taken[1:]:
                        keep &= seg_kinds != kind
                    seg_kinds, seg_args = seg_kinds[keep], seg_args[keep]
                    seg_times = seg_times[keep]
                kinds_l = seg_kinds.tolist()
                args_l = seg_args.tolist()
                times_l = seg_times.tolist()
            relays_l = self._relays
            if on_stretch is not None:
                on_stretch(kinds_l, args_l, times_l, txs, relays_l)
            else:
                self._feed(kinds_l, args_l, times_l, txs, relays_l, on_tx, on_request)
            self.fed += stop - pos
            self._pos = stop
            if stop < times.size:
                return

    @staticmethod
    def _feed(kinds_l: list[int], args_l: list[int], times_l: list[float],
              txs: list[Transaction], relays_l: list[int],
              on_tx: Callable[[Transaction, int], None],
              on_request: Callable[[int, int, float], None]) -> None:
        for kind, arg, t in zip(kinds_l, args_l, times_l, strict=True):
            if kind == KIND_TX:
                on_tx(txs[arg], relays_l[arg])
            else:
                on_request(kind, arg, t)

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

from bisect import bisect_left
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


@dataclass(frozen=True, slots=True)
class _View:
    """A chunk's inputs without some request kinds, as Python lists (made once per chunk).

    Attributes:
        kept: Chunk positions of the inputs kept, ascending (None: all are kept).
        kinds: Their kinds.
        args: Their args.
        times: Their times, seconds.
    """

    kept: list[int] | None
    kinds: list[int]
    args: list[int]
    times: list[float]


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
        # Per chunk, made once (a stretch is a few hundred inputs, so a stretch's cost is its
        # number of numpy calls; a chunk holds about fifteen stretches): the relays as Python
        # ints; per request kind, its chunk positions and times (what a stretch offers to
        # on_requests is a slice of them); and, per set of kinds taken by on_requests, the
        # inputs left (a stretch's inputs are a slice of that view).
        self._relays: list[int] = []
        self._by_kind: list[tuple[int, list[int], list[float]]] = []
        self._views: dict[tuple[int, ...], _View] = {}
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
            on_requests: If given, first offered each request kind's inputs of every stretch
                fed at once (their times, in order); when it returns True it has handled
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
                self._start_chunk(chunk)
                continue
            times = chunk.times
            stop = int(times.searchsorted(until, side="left"))
            pos = self._pos
            if stop <= pos:
                return
            # The kinds to leave out of the stretch, in REQUEST_MODULES order: on_requests is
            # offered every kind with inputs in [pos, stop) (their times, in order) and those
            # it takes are left out. A kind without inputs in the stretch is left out too: that
            # changes nothing in [pos, stop), and so most stretches of a chunk share one view.
            taken: tuple[int, ...] = ()
            if on_requests is not None:
                for kind, positions, kind_times in self._by_kind:
                    lo = bisect_left(positions, pos)
                    hi = bisect_left(positions, stop, lo)
                    if hi == lo or on_requests(kind, kind_times[lo:hi]):
                        taken += (kind,)
            view = self._views.get(taken)
            if view is None:
                view = self._views[taken] = self._view(chunk, taken)
            # The view's inputs at chunk positions in [pos, stop): the stretch's inputs
            # without the taken kinds, in order.
            kept = view.kept
            a, b = (pos, stop) if kept is None else (bisect_left(kept, pos),
                                                     bisect_left(kept, stop))
            kinds_l, args_l, times_l = view.kinds[a:b], view.args[a:b], view.times[a:b]
            txs, relays_l = chunk.txs, self._relays
            if on_stretch is not None:
                on_stretch(kinds_l, args_l, times_l, txs, relays_l)
            else:
                self._feed(kinds_l, args_l, times_l, txs, relays_l, on_tx, on_request)
            self.fed += stop - pos
            self._pos = stop
            if stop < times.size:
                return

    def _start_chunk(self, chunk: Chunk) -> None:
        self._chunk, self._pos = chunk, 0
        self._relays = chunk.relays.tolist()
        self._by_kind = []
        for kind in REQUEST_MODULES:
            positions = np.flatnonzero(chunk.kinds == kind)
            self._by_kind.append((kind, positions.tolist(), chunk.times[positions].tolist()))
        self._views = {}

    @staticmethod
    def _view(chunk: Chunk, taken: tuple[int, ...]) -> _View:
        if not taken:
            return _View(None, chunk.kinds.tolist(), chunk.args.tolist(), chunk.times.tolist())
        keep = chunk.kinds != taken[0]
        for kind in taken[1:]:
            keep &= chunk.kinds != kind
        kept = np.flatnonzero(keep)
        return _View(kept.tolist(), chunk.kinds[kept].tolist(), chunk.args[kept].tolist(),
                     chunk.times[kept].tolist())

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

"""Metrics: per-instance request statistics and the sampled time series.

The names are the guide's ``Mana.Monitoring.V2Metrics`` names (guide, "Key Metrics Dashboard";
mana-source-facts.md §9): ``throughput_tps, avg_latency_ms, p95_latency_ms, p99_latency_ms,
memory_usage_mb, cpu_usage_percent, pool_size, pending_transactions, processed_transactions,
rejected_transactions, error_rate_percent, timeout_count, circuit_breaker_state`` for the pool
and ``sync_speed_bps, blocks_behind, avg_block_processing_ms, connected_peers,
peer_connection_success_rate, network_bandwidth_mbps, memory_usage_mb, cpu_usage_percent,
block_queue_size, peer_request_queue_size`` for sync.

Windowed figures (throughput, latency quantiles, error rate, timeout count, CPU) cover the last
sampling interval, as a dashboard panel would; counters (processed, rejected) are cumulative.
Latency quantiles come from :class:`~sim.histogram.LogHistogram` (streaming, no stored samples).
Memory is reported in MiB (2**20 bytes). docs/timeseries.md documents every column.
"""

from __future__ import annotations

import math
import os
import tempfile
import weakref
from array import array
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from sim.histogram import LogHistogram

MIB = float(2**20)
"""Bytes per MiB; ``*_mb`` metrics are MiB."""


WINDOW_FIGURES = ("requests", "errors", "timeouts", "refused", "avg_latency_ms",
                  "p95_latency_ms", "p99_latency_ms")
"""The names of :meth:`RequestStats.roll`'s figures, in :meth:`RequestStats.roll_figures` order."""


_EMPTY_WINDOW = (0.0, 0.0, 0.0, 0.0, math.nan * 1e3, math.nan * 1e3, math.nan * 1e3)
""":meth:`RequestStats.roll_figures` of a window that recorded nothing (the same operations
on the same values as the general path: ``float(0)`` and an empty histogram's NaN mean and
quantiles times 1e3)."""


class RequestStats:
    """Request counters and latency histograms for one module instance (module, version).

    Window figures reset at every :meth:`roll`; totals never reset.
    """

    __slots__ = ("_latencies", "errors", "refused", "requests", "timeouts", "total_errors",
                 "total_latency", "total_refused", "total_requests", "total_timeouts",
                 "window_latency")

    def __init__(self) -> None:
        # Latencies of the window not yet in its histogram: one bucketing pass per window
        # (LogHistogram.extend, identical to adding them one by one) instead of one per request.
        self._latencies: list[float] = []
        self.requests = 0
        self.errors = 0
        self.timeouts = 0
        self.refused = 0
        self.total_refused = 0
        self.window_latency = LogHistogram()
        self.total_requests = 0
        self.total_errors = 0
        self.total_timeouts = 0
        self.total_latency = LogHistogram()

    def record(self, latency: float, ok: bool = True, timed_out: bool = False) -> None:
        """Record one completed request.

        Args:
            latency: Seconds from arrival to completion.
            ok: False when the request failed (an error counts once, a timeout is an error).
            timed_out: True when it failed by timing out.
        """
        self.requests += 1
        self._latencies.append(latency)
        if not ok or timed_out:
            self.errors += 1
        if timed_out:
            self.timeouts += 1

    def record_refused(self) -> None:
        """Record one call that the instance's open breaker refused (a failed attempt)."""
        self.refused += 1

    def record_each(self, latencies: list[float], oks: list[bool]) -> None:
        """Record requests in order, exactly as :meth:`record` on each (no timeouts).

        Args:
            latencies: Their latencies, seconds.
            oks: Per request, False when it failed.
        """
        self.requests += len(latencies)
        self._latencies.extend(latencies)
        self.errors += oks.count(False)

    def record_many(self, latencies: npt.NDArray[np.float64]) -> None:
        """Record many successful requests at once.

        Args:
            latencies: Their latencies, seconds.
        """
        self._flush()
        self.requests += int(latencies.size)
        self.window_latency.add_many(latencies)

    def _flush(self) -> None:
        if self._latencies:
            self.window_latency.extend(self._latencies)
            self._latencies.clear()

    def window_histogram(self) -> LogHistogram:
        """The current window's latency histogram, seconds, with every latency recorded so far.

        For reading (e.g. merging into another histogram) before :meth:`roll` closes the
        window; recording into it directly would bypass the counters.
        """
        self._flush()
        return self.window_latency

    def roll(self) -> dict[str, float]:
        """Close the window: return its figures and fold it into the totals.

        Returns:
            ``requests, errors, timeouts, refused, avg_latency_ms, p95_latency_ms,
            p99_latency_ms`` of the window (latencies NaN when it saw no request).
        """
        return dict(zip(WINDOW_FIGURES, self.roll_figures(), strict=True))

    def roll_figures(self) -> tuple[float, float, float, float, float, float, float]:
        """:meth:`roll` as a tuple in :data:`WINDOW_FIGURES` order (the sampler's form).

        Returns:
            ``(requests, errors, timeouts, refused, avg_latency_ms, p95_latency_ms,
            p99_latency_ms)`` of the window.
        """
        if not (self.requests or self.refused or self._latencies or self.window_latency.count):
            # Nothing recorded in the window (idle modules; V2 at a small share): the figures
            # below would be zeros and NaNs, no total would move (+= 0), nothing would merge,
            # and the histogram is already as reset leaves it (only add/extend/add_many
            # change it, and each raises its count). errors and timeouts only grow with
            # requests, so they are 0 too.
            return _EMPTY_WINDOW
        self._flush()
        h = self.window_latency
        # An empty window's quantiles are NaN (the common case: V2 at a small share, idle).
        p95, p99 = h.quantiles(0.95, 0.99) if h.count else (math.nan, math.nan)
        out = (float(self.requests), float(self.errors), float(self.timeouts),
               float(self.refused), h.mean * 1e3, p95 * 1e3, p99 * 1e3)
        self.total_requests += self.requests
        self.total_errors += self.errors
        self.total_timeouts += self.timeouts
        self.total_refused += self.refused
        if h.count:
            self.total_latency.merge(h)
        h.reset()
        self.requests = self.errors = self.timeouts = self.refused = 0
        return out

    def totals(self) -> dict[str, float]:
        """Whole-run figures (call after the final :meth:`roll`).

        Returns:
            ``requests, errors, timeouts, refused_by_breaker, error_rate_percent`` (errors
            and breaker refusals over all attempts), ``avg/p50/p95/p99 latency (ms)``.
        """
        h = self.total_latency
        n = self.total_requests
        p50, p95, p99 = h.quantiles(0.50, 0.95, 0.99)
        return {
            "requests": float(n),
            "errors": float(self.total_errors),
            "timeouts": float(self.total_timeouts),
            "refused_by_breaker": float(self.total_refused),
            "error_rate_percent": (100.0 * (self.total_errors + self.total_refused)
                                   / (n + self.total_refused) if n + self.total_refused
                                   else 0.0),
            "avg_latency_ms": h.mean * 1e3,
            "p50_latency_ms": p50 * 1e3,
            "p95_latency_ms": p95 * 1e3,
            "p99_latency_ms": p99 * 1e3,
        }


def _close_all(files: dict[str, BinaryIO]) -> None:
    for f in files.values():
        f.close()


class TimeSeries:
    """Columns of samples taken at a fixed interval; column ``time`` is seconds.

    A column first appearing at a later sample is back-filled with NaN, so all columns always
    have the same length. The series is the only part of a run that grows with simulated time
    (~95 columns x 8,640 rows, ~6.6 MB a simulated day at the default 10-s interval), so only
    the current block of ``block_rows`` rows is held in memory as C-double arrays; each full
    block is spilled to one anonymous temporary file per column (column-major, native
    float64). A run's memory then stays flat in simulated time, and the final series is
    file-backed (:meth:`arrays` with ``final=True``): the OS pages it in only when read.

    Args:
        block_rows: Rows kept in memory before they are spilled to the column files.

    Raises:
        ValueError: If ``block_rows`` is below 1.
    """

    def __init__(self, block_rows: int = 4096) -> None:
        if block_rows < 1:
            raise ValueError(f"block_rows must be >= 1, got {block_rows}")
        self._block_rows = block_rows
        # Rows not yet spilled; every column holds the same number of them.
        self._columns: dict[str, array[float]] = {"time": array("d")}
        self._time = self._columns["time"]
        # Keys of the last row, in order, and their columns, when that row named every column
        # (the usual case: the sampler writes the same keys every time); else None.
        self._row_keys: tuple[str, ...] | None = None
        self._row_columns: list[array[float]] = []
        # Rows of that usual case not yet moved into the columns: row-major, each row its
        # time then its values in `_row_keys` order. One C-level extend per row instead of an
        # append per column; _unpack moves them into the columns (bit for bit) before anything
        # reads or reshapes the columns.
        self._pending: array[float] = array("d")
        self._pending_rows = 0
        # Spilled rows, one file per column; every file holds `_spilled` float64 values.
        self._files: dict[str, BinaryIO] = {}
        self._spilled = 0
        # Close the files when the series is collected (an unclosed file is a ResourceWarning);
        # final memmap views keep working: each map holds its own duplicate of the descriptor.
        weakref.finalize(self, _close_all, self._files)

    def sample(self, time: float, values: dict[str, float]) -> None:
        """Append one row.

        Args:
            time: Sample time, seconds.
            values: Column name to value (columns missing from this row get NaN).
        """
        keys = tuple(values)
        if keys == self._row_keys:
            # The same columns as the last row and no others: each column gets its value,
            # exactly what the loops below would do (no column is new, none is back-filled),
            # held row-major until _unpack.
            self._pending.append(time)
            # fromlist of a list: ~2x faster than extend() on the dict view (same conversions).
            self._pending.fromlist(list(values.values()))
            self._pending_rows += 1
            if len(self._time) + self._pending_rows >= self._block_rows:
                self._spill()
            return
        self._unpack()
        n = len(self._columns["time"])
        self._columns["time"].append(time)
        for name, value in values.items():
            column = self._columns.get(name)
            if column is None:
                column = array("d", [math.nan]) * n
                self._columns[name] = column
                if self._spilled:
                    self._backfill_file(name)
            column.append(value)
        for column in self._columns.values():
            if len(column) == n:
                column.append(math.nan)
        if "time" not in values and len(values) + 1 == len(self._columns):
            # The row named every column: the next row with the same keys takes the path above.
            self._row_keys = keys
            self._row_columns = [self._columns[name] for name in keys]
        else:
            self._row_keys = None
        if n + 1 >= self._block_rows:
            self._spill()

    def sample_values(self, time: float, keys: tuple[str, ...], values: list[float]) -> None:
        """:meth:`sample` of ``dict(zip(keys, values))``, for distinct ``keys``.

        When ``keys`` are the last row's (the sampler's every row but its first), that dict
        would take :meth:`sample`'s first branch, which reads only its keys (then ``keys``)
        and its values in order (then ``values``): done here without making it.

        Args:
            time: Sample time, seconds.
            keys: Column names, distinct, in the row's order.
            values: Their values, in the same order.
        """
        if keys is self._row_keys or keys == self._row_keys:
            self._pending.append(time)
            self._pending.fromlist(values)
            self._pending_rows += 1
            if len(self._time) + self._pending_rows >= self._block_rows:
                self._spill()
            return
        self.sample(time, dict(zip(keys, values, strict=True)))
        if self._row_keys == keys:
            self._row_keys = keys  # the caller's tuple: the next check is by identity

    def _file(self, name: str) -> BinaryIO:
        f = self._files.get(name)
        if f is None:
            # Lives as long as the series (closed when it is collected), not one block.
            f = self._files[name] = tempfile.TemporaryFile()  # noqa: SIM115
        return f

    def _backfill_file(self, name: str) -> None:
        # A late column's spilled rows are NaN, written a block at a time so a column that
        # appears after days of samples does not allocate its whole back-fill at once.
        f = self._file(name)
        nan_block = array("d", [math.nan]) * self._block_rows
        left = self._spilled
        while left:
            k = min(left, self._block_rows)
            nan_block[:k].tofile(f)
            left -= k

    def _unpack(self) -> None:
        """Move the pending row-major rows into their columns (same values, same bits)."""
        rows = self._pending_rows
        if not rows:
            return
        table = np.frombuffer(self._pending, dtype=np.float64).reshape(
            rows, len(self._row_columns) + 1)
        self._time.frombytes(table[:, 0].tobytes())
        for j, column in enumerate(self._row_columns, 1):
            column.frombytes(table[:, j].tobytes())
        del table  # a live view would forbid resizing the buffer below
        del self._pending[:]
        self._pending_rows = 0

    def _spill(self) -> None:
        """Move the in-memory rows to the end of the column files."""
        pending = self._pending_rows
        rows = len(self._time) + pending
        if not rows:
            return
        if not pending:
            for name, column in self._columns.items():
                column.tofile(self._file(name))
                del column[:]
            self._spilled += rows
            return
        # Pending rows name every column (`_row_keys`), so each column's rows are its
        # in-memory part followed by its column of the row-major table: written straight
        # from the table (no second in-memory copy of the block on the way to the files).
        assert self._row_keys is not None
        where = {name: j for j, name in enumerate(("time", *self._row_keys))}
        table = np.frombuffer(self._pending, dtype=np.float64).reshape(pending, len(where))
        for name, column in self._columns.items():
            f = self._file(name)
            column.tofile(f)
            del column[:]
            table[:, where[name]].tofile(f)
        del table  # a live view would forbid resizing the buffer below
        del self._pending[:]
        self._pending_rows = 0
        self._spilled += rows

    def __len__(self) -> int:
        return self._spilled + len(self._columns["time"]) + self._pending_rows

    @property
    def names(self) -> list[str]:
        """Column names: ``time`` first, then the rest sorted."""
        return ["time", *sorted(k for k in self._columns if k != "time")]

    def arrays(self, *, final: bool = False) -> dict[str, npt.NDArray[np.float64]]:
        """Every column as a float64 array, ``time`` first then sorted names.

        Args:
            final: For a series that has spilled to files, spill the rows still in memory and
                return read-only :class:`numpy.memmap` views of the column files instead of
                copies (no copy of a long run's series at the end; pages are read only when
                used; each map holds its own file handle, valid after the series is
                garbage-collected). A series that never spilled is returned in memory.

        Returns:
            Column name to array; copies unless ``final``.
        """
        self._unpack()
        if not final:
            return {name: self.column(name) for name in self.names}
        if self._spilled == 0:
            # A series that never outgrew one block stays in memory: a run that short needs no
            # files, and a sweep holding many short results holds no file handles.
            out_mem = {name: self.column(name) for name in self.names}
            for column in out_mem.values():
                column.flags.writeable = False  # read-only either way
            return out_mem
        self._spill()
        n = self._spilled
        out: dict[str, npt.NDArray[np.float64]] = {}
        for name in self.names:
            if n == 0:
                # mmap cannot map an empty file.
                empty = np.zeros(0, dtype=np.float64)
                empty.flags.writeable = False
                out[name] = empty
                continue
            f = self._files[name]
            f.flush()
            out[name] = np.memmap(f, dtype=np.float64, mode="r", shape=(n,))
        return out

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """One column as a float64 array (spilled rows then in-memory rows; a copy).

        Raises:
            KeyError: If there is no such column.
        """
        self._unpack()
        tail = self._columns[name]
        out = np.empty(self._spilled + len(tail), dtype=np.float64)
        if self._spilled:
            f = self._files[name]
            f.seek(0)
            data = f.read(self._spilled * 8)
            # Later spills append: leave the file positioned at its end.
            f.seek(0, os.SEEK_END)
            out[:self._spilled] = np.frombuffer(data, dtype=np.float64)
        out[self._spilled:] = np.frombuffer(tail, dtype=np.float64)
        return out

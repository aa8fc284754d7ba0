"""Transaction workload: arrival rates over time and the transactions that arrive.

A workload is one or more :class:`TxStream` s merged in time. Each stream has a rate profile
(constant, diurnal, step, burst, flood), a sender population with Zipf popularity, gas-price,
gas-limit and size distributions, a share of same-nonce replacements and a share of invalid
transactions. Arrivals are a non-homogeneous Poisson process, drawn by thinning.

Speed: arrivals are drawn for a whole time chunk at once with numpy (counts, times, every
column, nonces and content hashes), and only then turned into :class:`~pool.Transaction`
values, so generation costs well under a microsecond of numpy work per transaction plus one
tuple construction (simulation-anchors.md §1d: per-block vectorised arrivals are ~30x faster
than one SimPy event per transaction). The draws follow the chunk boundaries (each chunk's
count, then its times and columns, from one stream), so the chunk length (``run.chunk``) is
part of the random stream: the same seed and chunk give the same transactions; another chunk
gives another sample path of the same process (same rates and distributions).

Mainnet-like defaults (client-anchors.md §1.6): public-mempool arrivals of about 11-16 tx/s
(Flashbots Mempool Dumpster 2024) and about 24 tx/s included (ethp2p observatory 2026), so the
default stream runs at 20 tx/s; sender popularity is Zipf with s = 1.1 (client-anchors.md
§1.6, "Historical nonce concentration"); 12-s slots. The gas-price and gas-limit shapes are
parameter choices, not measurements, and are documented on their fields.

Invalid transactions come in kinds, each failing one specific check of the V1 pipeline
(``transaction_pool.ex`` L282-408) or only V2's real signature check (``bad_ecdsa``: v, r, s
are positive, so V1 accepts it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import repeat
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pool.transaction import GWEI, Transaction, combine_hash_array
from sim.duration import PositiveSeconds, Seconds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _Model(BaseModel):
    # No .inf/.nan anywhere: an infinite rate or time would hang the arrival draw.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------
# Rate profiles


class ConstantRate(_Model):
    """A constant arrival rate."""

    kind: Literal["constant"] = "constant"
    rate: Annotated[float, Field(ge=0.0, description="arrivals per second")] = 20.0

    def rate_at(self, t: FloatArray) -> FloatArray:
        """Rate at each time in ``t`` (per second)."""
        return np.full_like(t, self.rate)

    def max_rate(self, t0: float, t1: float) -> float:
        """An upper bound of the rate over ``[t0, t1)``."""
        return self.rate


class DiurnalRate(_Model):
    """A daily sinusoid: ``mean * (1 + amplitude * sin(2π (t - peak + period/4) / period))``."""

    kind: Literal["diurnal"] = "diurnal"
    mean: Annotated[float, Field(ge=0.0, description="mean arrivals per second")] = 20.0
    amplitude: Annotated[float, Field(ge=0.0, le=1.0, description="relative swing")] = 0.3
    period: Annotated[PositiveSeconds, Field(description="seconds or e.g. 1d")] = 86_400.0
    peak: Annotated[Seconds, Field(description="time of the daily peak, seconds")] = (
        54_000.0
    )

    def rate_at(self, t: FloatArray) -> FloatArray:
        """Rate at each time in ``t`` (per second)."""
        phase = 2.0 * math.pi * (t - self.peak) / self.period
        return np.asarray(self.mean * (1.0 + self.amplitude * np.cos(phase)), dtype=np.float64)

    def max_rate(self, t0: float, t1: float) -> float:
        """An upper bound of the rate over ``[t0, t1)``."""
        return self.mean * (1.0 + self.amplitude)


class StepRate(_Model):
    """``before`` until ``at`` seconds, ``after`` from then on."""

    kind: Literal["step"] = "step"
    before: Annotated[float, Field(ge=0.0)] = 20.0
    after: Annotated[float, Field(ge=0.0)] = 40.0
    at: Annotated[Seconds, Field(description="seconds or e.g. 30m")] = 1_800.0

    def rate_at(self, t: FloatArray) -> FloatArray:
        """Rate at each time in ``t`` (per second)."""
        return np.where(t < self.at, self.before, self.after).astype(np.float64)

    def max_rate(self, t0: float, t1: float) -> float:
        """An upper bound of the rate over ``[t0, t1)``."""
        if t1 <= self.at:
            return self.before
        if t0 >= self.at:
            return self.after
        return max(self.before, self.after)


class BurstRate(_Model):
    """A base rate with periodic bursts (``factor`` times the base for ``length`` seconds).

    Mainnet sees 5-10x bursts around NFT mints (client-anchors.md §1.6, suggested workload).
    """

    kind: Literal["burst"] = "burst"
    base: Annotated[float, Field(ge=0.0)] = 20.0
    factor: Annotated[float, Field(ge=1.0)] = 8.0
    every: Annotated[PositiveSeconds, Field(description="seconds between burst starts")] = (
        3_600.0)
    length: Annotated[PositiveSeconds, Field(description="burst length, seconds")] = 120.0
    first: Annotated[Seconds, Field(description="start of the first burst, s")] = 600.0

    @model_validator(mode="after")
    def _length_fits(self) -> BurstRate:
        if self.length > self.every:
            raise ValueError("length must not exceed every")
        return self

    def _in_burst(self, t: FloatArray) -> npt.NDArray[np.bool_]:
        since = t - self.first
        return (since >= 0) & (np.mod(since, self.every) < self.length)

    def rate_at(self, t: FloatArray) -> FloatArray:
        """Rate at each time in ``t`` (per second)."""
        return np.where(self._in_burst(t), self.base * self.factor, self.base).astype(np.float64)

    def max_rate(self, t0: float, t1: float) -> float:
        """An upper bound of the rate over ``[t0, t1)``."""
        return self.base * self.factor


class FloodRate(_Model):
    """A flood: ``rate`` between ``start`` and ``end`` seconds, zero outside (for spam)."""

    kind: Literal["flood"] = "flood"
    rate: Annotated[float, Field(ge=0.0)] = 200.0
    start: Annotated[Seconds, Field(description="seconds or e.g. 10m")] = 600.0
    end: Annotated[PositiveSeconds, Field(description="seconds or e.g. 30m")] = 1_800.0

    @model_validator(mode="after")
    def _ordered(self) -> FloodRate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def rate_at(self, t: FloatArray) -> FloatArray:
        """Rate at each time in ``t`` (per second)."""
        return np.where((t >= self.start) & (t < self.end), self.rate, 0.0).astype(np.float64)

    def max_rate(self, t0: float, t1: float) -> float:
        """An upper bound of the rate over ``[t0, t1)``."""
        return self.rate if (t0 < self.end and t1 > self.start) else 0.0


RateProfile = Annotated[
    ConstantRate | DiurnalRate | StepRate | BurstRate | FloodRate, Field(discriminator="kind")
]


def arrival_times(
    profile: ConstantRate | DiurnalRate | StepRate | BurstRate | FloodRate,
    t0: float,
    t1: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Sorted arrival times of a non-homogeneous Poisson process on ``[t0, t1)``.

    Draws a homogeneous process at the interval's maximum rate and keeps each point with
    probability ``rate(t) / max`` (Lewis-Shedler thinning). A constant rate skips the thinning.

    Args:
        profile: The rate profile.
        t0: Interval start, seconds.
        t1: Interval end, seconds.
        rng: The stream to draw from.

    Returns:
        Sorted float64 array of times in ``[t0, t1)``.
    """
    lam = profile.max_rate(t0, t1)
    if lam <= 0.0 or t1 <= t0:
        return np.empty(0, dtype=np.float64)
    n = int(rng.poisson(lam * (t1 - t0)))
    times = np.sort(rng.uniform(t0, t1, size=n))
    if isinstance(profile, ConstantRate):
        return times
    keep = rng.random(n) * lam < profile.rate_at(times)
    return times[keep]


# --------------------------------------------------------------------------------------------
# Transaction streams


class InvalidKind(StrEnum):
    """Ways a generated transaction can be invalid; each fails exactly one check."""

    BAD_RLP = "bad_rlp"  # 8 RLP items: V1 "Invalid RLP structure"
    LOW_GAS_PRICE = "low_gas_price"  # below 1 gwei
    LOW_GAS_LIMIT = "low_gas_limit"  # below 21,000
    HIGH_GAS_LIMIT = "high_gas_limit"  # above 8,000,000
    ZERO_SIGNATURE = "zero_signature"  # r = 0: V1 "Invalid signature"
    BAD_ECDSA = "bad_ecdsa"  # v, r, s > 0 but recovery fails: only V2 notices
    INTRINSIC_GAS = "intrinsic_gas"  # gas limit below 21,000 + 16 per data byte
    TOO_LARGE = "too_large"  # over 128 KiB


class TxStream(_Model):
    """One source of transactions with its own rate and distributions.

    Gas price is lognormal (``median_gas_price_gwei``, ``gas_price_sigma``) floored at
    ``min_gas_price_gwei``. A share ``transfer_share`` are plain transfers (21,000 gas, no
    data); the rest are contract calls with lognormal call data (``median_data_bytes``) and a
    lognormal gas limit (``median_call_gas``) raised to at least the intrinsic gas and capped
    at ``max_call_gas``. Size is ``base_size_bytes`` plus the data length.
    """

    name: str = "main"
    rate: RateProfile = Field(default_factory=ConstantRate)
    senders: Annotated[int, Field(ge=1, description="size of the sender population")] = 50_000
    sender_offset: Annotated[int, Field(ge=0, description="first sender id")] = 1
    zipf_s: Annotated[float, Field(ge=0.0, le=5.0, description="0 = uniform")] = 1.1
    median_gas_price_gwei: Annotated[float, Field(gt=0.0)] = 8.0
    gas_price_sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 0.7
    min_gas_price_gwei: Annotated[float, Field(ge=0.0)] = 1.0
    transfer_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.55
    median_call_gas: Annotated[int, Field(ge=21_000)] = 150_000
    call_gas_sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 0.8
    max_call_gas: Annotated[int, Field(ge=21_000, le=30_000_000)] = 8_000_000
    median_data_bytes: Annotated[float, Field(ge=0.0)] = 260.0
    data_sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    base_size_bytes: Annotated[int, Field(ge=1)] = 110
    replacement_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.03
    replacement_bump_max: Annotated[float, Field(ge=0.0, le=10.0)] = 0.3
    invalid_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    invalid_kinds: tuple[InvalidKind, ...] = tuple(InvalidKind)


@dataclass(frozen=True, slots=True)
class Arrivals:
    """One chunk of arrivals from every stream, in time order.

    Attributes:
        txs: The transactions, sorted by arrival time (ties keep stream order).
        stream: Index of the stream each transaction came from.
        times: Each transaction's ``arrival``, as an array (saves rebuilding it from the
            transactions).
    """

    txs: list[Transaction]
    stream: IntArray
    times: FloatArray


class _StreamState:
    """Per-stream generator state: nonces and last prices per sender."""

    __slots__ = ("cdf", "last_price", "next_nonce", "spec")

    def __init__(self, spec: TxStream) -> None:
        self.spec = spec
        ranks = np.arange(1, spec.senders + 1, dtype=np.float64)
        weights = ranks ** (-spec.zipf_s)
        self.cdf = np.cumsum(weights) / weights.sum()
        self.next_nonce = np.zeros(spec.senders, dtype=np.int64)
        self.last_price = np.zeros(spec.senders, dtype=np.int64)


class TxWorkload:
    """Generates the transactions of every stream, chunk by chunk, deterministically.

    Args:
        streams: The streams to merge.
        rng: The workload's random stream. Each call to :meth:`chunk` consumes it in a fixed
            order, so the same seed and the same sequence of chunk boundaries give the same
            transactions.
    """

    def __init__(self, streams: tuple[TxStream, ...], rng: np.random.Generator) -> None:
        self._states = [_StreamState(s) for s in streams]
        self._rng = rng
        self.generated = 0

    def chunk(self, t0: float, t1: float) -> Arrivals:
        """All transactions arriving in ``[t0, t1)``, merged across streams in time order.

        Args:
            t0: Chunk start, seconds.
            t1: Chunk end, seconds.

        Returns:
            The arrivals of the chunk.
        """
        parts: list[tuple[FloatArray, list[Transaction], int]] = []
        for index, state in enumerate(self._states):
            times = arrival_times(state.spec.rate, t0, t1, self._rng)
            if times.size:
                parts.append((times, self._make(state, times), index))
        if not parts:
            return Arrivals([], np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        if len(parts) == 1:
            times, txs, index = parts[0]
            self.generated += len(txs)
            return Arrivals(txs, np.full(len(txs), index, dtype=np.int64), times)
        all_times = np.concatenate([p[0] for p in parts])
        all_stream = np.concatenate([np.full(p[0].size, p[2], dtype=np.int64) for p in parts])
        all_txs = [tx for p in parts for tx in p[1]]
        order = np.argsort(all_times, kind="stable")
        self.generated += len(all_txs)
        return Arrivals([all_txs[i] for i in order.tolist()], all_stream[order],
                        all_times[order])

    def iter_chunks(self, t0: float, t1: float, step: float) -> Iterator[Arrivals]:
        """Chunks of length ``step`` covering ``[t0, t1)``.

        Args:
            t0: Start, seconds.
            t1: End, seconds.
            step: Chunk length, seconds.

        Yields:
            One :class:`Arrivals` per chunk.
        """
        k = 0
        while True:
            a = t0 + k * step
            if a >= t1:
                return
            yield self.chunk(a, min(t1, a + step))
            k += 1

    def _make(self, state: _StreamState, times: FloatArray) -> list[Transaction]:
        # A chunk holds a few hundred transactions, so the cost here is the number of numpy
        # calls, not their length: every step below is written to need few of them. The
        # draws are the same values, in the same order, as one call per column (see
        # tests/test_workload_fast_path.py, which checks this against a per-column
        # reference).
        spec = state.spec
        rng = self._rng
        n = times.size
        sender_idx = np.searchsorted(state.cdf, rng.random(n), side="right")
        np.minimum(sender_idx, spec.senders - 1, out=sender_idx)
        if sender_idx.dtype != np.int64:  # intp is int64 on 64-bit platforms: no copy there
            sender_idx = sender_idx.astype(np.int64)

        noise = rng.standard_normal(n)
        price_gwei = spec.median_gas_price_gwei * np.exp(spec.gas_price_sigma * noise)
        gas_price = np.maximum(price_gwei, spec.min_gas_price_gwei) * GWEI
        gas_price_i = gas_price.astype(np.int64)

        is_call = rng.random(n) >= spec.transfer_share
        # Generator.standard_normal and .random keep no state between calls beyond the bit
        # generator's, so one draw of 2n (3n) values is the two (three) draws of n in a row.
        normals = rng.standard_normal(2 * n)
        data_len = np.where(
            is_call,
            np.floor(spec.median_data_bytes * np.exp(spec.data_sigma * normals[:n])),
            0.0,
        ).astype(np.int64)
        data_len = np.minimum(data_len, 100_000)
        call_gas = np.floor(spec.median_call_gas * np.exp(spec.call_gas_sigma * normals[n:]))
        gas_limit = np.where(is_call, call_gas, 21_000.0).astype(np.int64)
        # Raised to the intrinsic gas (itself >= 21,000, so the floor of 21,000 holds), then
        # capped: np.clip(x, 21_000, max_call_gas) without its Python-level wrapper.
        np.maximum(gas_limit, 21_000 + 16 * data_len, out=gas_limit)
        np.minimum(gas_limit, spec.max_call_gas, out=gas_limit)
        size = spec.base_size_bytes + data_len

        # Nonces: a fresh arrival takes its sender's next nonce plus the number of the
        # sender's fresh arrivals before it in this chunk (vectorised group-by via a stable
        # sort). In sorted order, ``first[i]`` is True where a sender's group starts and
        # ``group_start[i]`` is the position where element i's group starts.
        order = np.argsort(sender_idx, kind="stable")
        sorted_s = sender_idx[order]
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(sorted_s[1:], sorted_s[:-1], out=first[1:])
        position = np.arange(n, dtype=np.int64)
        group_start = np.maximum.accumulate(np.where(first, position, 0))
        next_nonce = state.next_nonce[sender_idx]

        # Replacements: re-send the sender's latest nonce from before this chunk with a bump.
        uniforms = rng.random(3 * n)
        is_repl = (uniforms[:n] < spec.replacement_share) & (next_nonce > 0)
        bump = 1.0 + uniforms[n : 2 * n] * spec.replacement_bump_max
        repl_price = (state.last_price[sender_idx] * bump).astype(np.int64)
        gas_price_i = np.where(is_repl, np.maximum(repl_price, 1), gas_price_i)
        # A replacement does not consume a fresh nonce. The fresh arrivals before each one in
        # its group: the running count before it (``cum - fresh_sorted``) less the count
        # before its group's start (that count is where ``cum - fresh_sorted`` stands there).
        fresh_sorted = 1 - is_repl[order]  # int64: 1 for a fresh arrival
        cum = np.cumsum(fresh_sorted)
        cum -= fresh_sorted
        fresh_before = np.empty(n, dtype=np.int64)
        fresh_before[order] = cum - cum[group_start]
        nonce = np.where(is_repl, next_nonce - 1, next_nonce + fresh_before)

        # Per sender of the chunk (one group each, so no index repeats): the fresh nonces it
        # used, and its last price = the price of its newest nonce, i.e. of its last fresh
        # arrival, or (for senders with only replacements here) of its last replacement.
        # ``key`` ranks fresh arrivals above replacements, then later above earlier, so its
        # maximum over a group is that arrival (decoded by ``% n``).
        starts = np.flatnonzero(first)
        senders_here = sorted_s[starts]
        state.next_nonce[senders_here] += np.add.reduceat(fresh_sorted, starts)
        key = fresh_sorted * n + position
        newest = np.maximum.reduceat(key, starts) % n
        state.last_price[senders_here] = gas_price_i[order[newest]]

        rlp = np.full(n, 9, dtype=np.int64)
        r = np.ones(n, dtype=np.int64)
        sig_ok = np.ones(n, dtype=bool)
        bad = np.flatnonzero(uniforms[2 * n :] < spec.invalid_share)
        kinds = spec.invalid_kinds
        if kinds and bad.size:
            which = rng.integers(0, len(kinds), size=n)
            self._spoil(kinds, bad, which[bad], rlp, gas_price_i, gas_limit, r, sig_ok,
                        data_len, size)

        sender = sender_idx + spec.sender_offset
        to = rng.integers(1, 2**40, size=n, dtype=np.int64)
        value = rng.integers(0, 10**15, size=n, dtype=np.int64)
        data_tag = rng.integers(0, 2**62, size=n, dtype=np.int64)
        # ``v`` and ``s`` hash as single integers (the same for every generated transaction).
        tx_hash = combine_hash_array(
            sender, nonce, gas_price_i, gas_limit, to, value, data_len, data_tag, rlp, 27, r,
            1, sig_ok,
        )
        # tuple.__new__ skips NamedTuple's Python-level __new__ wrapper (same object, about
        # half the construction cost), and map() keeps the per-transaction loop in C. ``v``
        # and ``s`` are the same for every generated transaction (27 and 1, hashed above).
        return list(map(
            tuple.__new__, repeat(Transaction, n),
            zip(
                tx_hash.tolist(), sender.tolist(), nonce.tolist(), gas_price_i.tolist(),
                gas_limit.tolist(), size.tolist(), times.tolist(), to.tolist(),
                value.tolist(), data_len.tolist(), data_tag.tolist(), rlp.tolist(),
                repeat(27, n), r.tolist(), repeat(1, n), sig_ok.tolist(), strict=True,
            ),
        ))

    @staticmethod
    def _spoil(kinds: tuple[InvalidKind, ...], bad: IntArray, which: IntArray, rlp: IntArray,
               gas_price: IntArray, gas_limit: IntArray, r: IntArray,
               sig_ok: npt.NDArray[np.bool_], data_len: IntArray, size: IntArray) -> None:
        """Make the transactions at positions ``bad`` invalid, each by kind ``kinds[which]``.

        Each transaction gets exactly one kind, so the kinds' edits never overlap and their
        order does not matter. A chunk usually has a handful of invalid transactions: one
        scalar edit each then costs less than one masked edit per kind.
        """
        if bad.size > 2 * len(kinds):
            for k, kind in enumerate(kinds):
                m = bad[which == k]
                if m.size:
                    _spoil_kind(kind, m, rlp, gas_price, gas_limit, r, sig_ok, data_len, size)
            return
        for i, k in zip(bad.tolist(), which.tolist(), strict=True):
            _spoil_kind(kinds[k], i, rlp, gas_price, gas_limit, r, sig_ok, data_len, size)


def _spoil_kind(kind: InvalidKind, m: IntArray | int, rlp: IntArray, gas_price: IntArray,
                gas_limit: IntArray, r: IntArray, sig_ok: npt.NDArray[np.bool_],
                data_len: IntArray, size: IntArray) -> None:
    # ``m`` is one position or an array of positions; the edits are element-wise either way.
    if kind is InvalidKind.BAD_RLP:
        rlp[m] = 8
    elif kind is InvalidKind.LOW_GAS_PRICE:
        gas_price[m] = GWEI // 2
    elif kind is InvalidKind.LOW_GAS_LIMIT:
        gas_limit[m] = 20_000
        data_len[m] = 0
    elif kind is InvalidKind.HIGH_GAS_LIMIT:
        gas_limit[m] = 9_000_000
    elif kind is InvalidKind.ZERO_SIGNATURE:
        r[m] = 0
    elif kind is InvalidKind.BAD_ECDSA:
        sig_ok[m] = False
    elif kind is InvalidKind.INTRINSIC_GAS:
        data_len[m] = np.maximum(data_len[m], 1_000)
        gas_limit[m] = 21_000 + 16 * data_len[m] - 1
    elif kind is InvalidKind.TOO_LARGE:
        size[m] = 131_073
        data_len[m] = 0

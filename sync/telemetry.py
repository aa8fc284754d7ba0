"""Counters and windows both engines keep, and the metrics dict built from them.

Names follow the guide's sync ``V2Metrics`` (guide L471-490; ``reference/
mana-source-facts.md`` §9): ``sync_speed_bps`` (blocks per second, despite the name),
``blocks_behind``, ``avg_block_processing_ms``, ``connected_peers``,
``peer_connection_success_rate``, ``network_bandwidth_mbps``, ``block_queue_size``,
``peer_request_queue_size``; the memory the engine's own state holds is reported in bytes
(``memory_bytes``) and MiB (``engine_state_mb``). The guide's ``memory_usage_mb`` (the whole
process: a base, this state and any leak) and ``cpu_usage_percent`` are left to the SimPy
model, which owns the process and the workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.window import WindowSum


@dataclass(slots=True)
class Telemetry:
    """Mutable counters shared by the engines.

    Attributes:
        window_s: Length in seconds of the rate windows (speed, bandwidth).
        stall_after_s: Seconds without an import, while behind, after which the engine
            reports ``stalled``.
        started_at: Time of ``start``.
        last_progress: Time of the last import (or of ``start``).
        requests_sent: Requests sent.
        requests_timed_out: Requests that hit their deadline.
        requests_failed: Answers that carried a failure.
        bad_responses: Answers with wrong data.
        late_responses: Answers to requests the engine no longer waits for.
        bans: Peers banned.
        drops: Peers dropped (other than bans).
        connect_attempts: ``peer_connected`` calls.
        connects_accepted: Connections accepted.
        blocks_imported: Blocks imported since start (restarts included).
        invalid_blocks: Blocks rejected at processing.
        processed_blocks: Blocks reported processed.
        processing_cost_s: Sum of their processing costs.
        checkpoints: Checkpoints written.
        imports: Window of imported block counts.
        received_bytes: Window of received bytes.
    """

    window_s: float = 30.0
    stall_after_s: float = 60.0
    started_at: float = 0.0
    last_progress: float = 0.0
    requests_sent: int = 0
    requests_timed_out: int = 0
    requests_failed: int = 0
    bad_responses: int = 0
    late_responses: int = 0
    bans: int = 0
    drops: int = 0
    connect_attempts: int = 0
    connects_accepted: int = 0
    blocks_imported: int = 0
    invalid_blocks: int = 0
    processed_blocks: int = 0
    processing_cost_s: float = 0.0
    checkpoints: int = 0
    imports: WindowSum = field(default_factory=lambda: WindowSum(30.0))
    received_bytes: WindowSum = field(default_factory=lambda: WindowSum(30.0))

    def __post_init__(self) -> None:
        self.imports = WindowSum(self.window_s)
        self.received_bytes = WindowSum(self.window_s)

    def imported(self, now: float, count: int) -> None:
        """Record ``count`` imports at ``now``.

        Args:
            now: Simulated time in seconds.
            count: Blocks imported.
        """
        if count > 0:
            self.blocks_imported += count
            self.imports.add(now, count)
            self.last_progress = now

    def sample_values(self, now: float, tip: int, best_known: int, connected: int,
                      memory_bytes: int, block_queue: int, request_queue: int
                      ) -> tuple[float, float, float, float, float, float, float, float,
                                 float]:
        """The figures a metrics sample reads, as floats, in one tuple (:meth:`metrics` too).

        ``float(metrics(...)[name])`` for ``sync_speed_bps, blocks_behind,
        avg_block_processing_ms, connected_peers, peer_connection_success_rate,
        network_bandwidth_mbps, block_queue_size, peer_request_queue_size, memory_bytes``
        (the same expressions, the windows read in the same order), without the dict of
        two dozen entries the sampler would read nine of.

        Args:
            now: Simulated time in seconds.
            tip: Newest imported block.
            best_known: Highest block number the engine knows of.
            connected: Connected peers.
            memory_bytes: Modelled memory held by the engine.
            block_queue: Downloaded-but-unprocessed blocks.
            request_queue: Request tasks waiting for a peer.

        Returns:
            The nine values, in the order named above.
        """
        return (
            self.imports.rate(now, self.started_at),
            float(max(0, best_known - tip)),
            (1e3 * self.processing_cost_s / self.processed_blocks
             if self.processed_blocks else 0.0),
            float(connected),
            (self.connects_accepted / self.connect_attempts
             if self.connect_attempts else 1.0),
            self.received_bytes.rate(now, self.started_at) * 8 / 1e6,
            float(block_queue),
            float(request_queue),
            float(memory_bytes),
        )

    def metrics(self, now: float, *, tip: int, best_known: int, connected: int,
                memory_bytes: int, block_queue: int, request_queue: int,
                in_flight: int) -> dict[str, float | int | bool]:
        """Build the metrics dict.

        Args:
            now: Simulated time in seconds.
            tip: Newest imported block.
            best_known: Highest block number the engine knows of.
            connected: Connected peers.
            memory_bytes: Modelled memory held by the engine.
            block_queue: Downloaded-but-unprocessed blocks (V1: queued and backlogged).
            request_queue: Request tasks waiting for a peer.
            in_flight: Requests awaiting an answer.

        Returns:
            Metric name to value.
        """
        behind = max(0, best_known - tip)
        since = now - self.last_progress
        # The float figures the sampler reads, computed once in sample_values.
        speed, _, processing_ms, _, success_rate, bandwidth, _, _, _ = self.sample_values(
            now, tip, best_known, connected, memory_bytes, block_queue, request_queue)
        return {
            "sync_speed_bps": speed,
            "blocks_behind": behind,
            "avg_block_processing_ms": processing_ms,
            "connected_peers": connected,
            "peer_connection_success_rate": success_rate,
            "network_bandwidth_mbps": bandwidth,
            "memory_bytes": memory_bytes,
            # MiB, like every memory figure of the model; the engine's state alone (the
            # process's memory_usage_mb adds its base and any leak: not the engine's to know).
            "engine_state_mb": memory_bytes / 1048576,
            "block_queue_size": block_queue,
            "peer_request_queue_size": request_queue,
            "requests_in_flight": in_flight,
            "requests_sent": self.requests_sent,
            "requests_timed_out": self.requests_timed_out,
            "requests_failed": self.requests_failed,
            "bad_responses": self.bad_responses,
            "late_responses": self.late_responses,
            "bans": self.bans,
            "drops": self.drops,
            "blocks_imported": self.blocks_imported,
            "invalid_blocks": self.invalid_blocks,
            "checkpoints": self.checkpoints,
            "synced_to": tip,
            "seconds_since_progress": since,
            "stalled": behind > 0 and since >= self.stall_after_s,
        }

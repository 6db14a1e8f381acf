"""Throughput and resource figures, computed from the times log_batch was called.

The training thread only appends a timestamp (O(1)); a background ticker turns the window into a
PerformanceData about twice a second.
"""

from __future__ import annotations

import collections
import os
import resource
import sys
import threading
import time
from typing import Deque, Optional, Tuple

from .gen.telemetry.v1 import telemetry_pb2 as pb

FPS_WINDOW = 50
"""Batches in the window behind current FPS and time per batch."""

try:  # psutil gives live RSS and a better CPU figure; it is optional.
    import psutil  # type: ignore

    _PROCESS = psutil.Process()
except Exception:  # ImportError, or psutil that cannot read /proc
    _PROCESS = None


class ResourceSampler:
    """Process CPU percent (of one core) and memory; GPU figures when torch uses CUDA."""

    def __init__(self) -> None:
        self._last_wall = time.monotonic()
        self._last_cpu = self._cpu_seconds()
        if _PROCESS is not None:
            _PROCESS.cpu_percent(None)  # primes psutil's own delta

    @staticmethod
    def _cpu_seconds() -> float:
        times = os.times()
        return times.user + times.system

    @staticmethod
    def _memory_bytes() -> int:
        if _PROCESS is not None:
            try:
                return int(_PROCESS.memory_info().rss)
            except Exception:
                pass
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return int(peak if sys.platform == "darwin" else peak * 1024)

    def sample(self) -> pb.ResourceUsage:
        now = time.monotonic()
        cpu = self._cpu_seconds()
        if _PROCESS is not None:
            try:
                percent = float(_PROCESS.cpu_percent(None))
            except Exception:
                percent = 0.0
        else:
            wall = max(now - self._last_wall, 1e-9)
            percent = 100.0 * (cpu - self._last_cpu) / wall
        self._last_wall, self._last_cpu = now, cpu
        usage = pb.ResourceUsage(cpu_percent=max(percent, 0.0), memory_bytes=self._memory_bytes())
        gpu = _gpu_usage()
        if gpu[0] is not None:
            usage.gpu_percent = gpu[0]
        if gpu[1] is not None:
            usage.gpu_memory_bytes = gpu[1]
        return usage


def _gpu_usage() -> Tuple[Optional[float], Optional[int]]:
    # Only when the training script already imported torch: importing it here costs seconds.
    torch = sys.modules.get("torch")
    if torch is None:
        return None, None
    try:
        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None, None
        memory = int(torch.cuda.memory_allocated())
        try:
            percent: Optional[float] = float(torch.cuda.utilization())  # needs pynvml
        except Exception:
            percent = None
        return percent, memory
    except Exception:
        return None, None


class PerformanceTracker:
    """Batch timestamps in, PerformanceData out. ``record_batch`` is the only training-thread call."""

    def __init__(self, total_epochs: int, batches_per_epoch: int, window: int = FPS_WINDOW) -> None:
        self._total_batches = max(0, total_epochs) * max(0, batches_per_epoch)
        self._batches_per_epoch = max(1, batches_per_epoch)
        self._times: Deque[float] = collections.deque(maxlen=max(2, window))
        self._lock = threading.Lock()
        self._first: Optional[float] = None
        self._count = 0
        self._epoch: Optional[int] = None
        self._epoch_start = 0.0
        self._position = 0  # batches done in the whole run, from epoch/batch_idx
        self._sampled_count = -1
        self._resources = ResourceSampler()

    def set_plan(self, total_epochs: int, batches_per_epoch: int) -> None:
        """The run's shape changed (StatusUpdate with a new config): the ETA follows it."""
        with self._lock:
            self._total_batches = max(0, total_epochs) * max(0, batches_per_epoch)
            self._batches_per_epoch = max(1, batches_per_epoch)

    def record_batch(self, epoch: int, batch_idx: int, now: Optional[float] = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._first is None:
                self._first = now
            if epoch != self._epoch:
                # The epoch clock starts at the previous batch end when there was one.
                self._epoch_start = self._times[-1] if self._times else now
                self._epoch = epoch
            self._times.append(now)
            self._count += 1
            self._position = epoch * self._batches_per_epoch + batch_idx + 1

    def sample(self, now: Optional[float] = None, force: bool = False) -> Optional[pb.PerformanceData]:
        """Figures now, or None when no batch was recorded since the last sample (unless ``force``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._first is None or (self._count == self._sampled_count and not force):
                return None
            self._sampled_count = self._count
            times = list(self._times)
            count, first, position, epoch_start = self._count, self._first, self._position, self._epoch_start
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        time_per_batch = span / (len(times) - 1) if len(times) > 1 else 0.0
        current_fps = (len(times) - 1) / span if span > 0 else 0.0
        elapsed = times[-1] - first
        average_fps = (count - 1) / elapsed if elapsed > 0 else current_fps
        remaining = max(0, self._total_batches - position)
        rate = average_fps if average_fps > 0 else current_fps
        eta = remaining / rate if rate > 0 else 0.0
        return pb.PerformanceData(
            time_per_batch_ms=time_per_batch * 1000.0,
            total_time_for_epoch_sec=max(0.0, now - epoch_start),
            estimated_time_remaining_sec=eta,
            current_fps=current_fps,
            average_fps=average_fps,
            resource_usage=self._resources.sample(),
            timestamp_ms=int(time.time() * 1000),
        )

"""System series (``system/...``): CPU, memory and GPU figures sampled every second or two.

The same series as the TypeScript SDK (see libs/sdk-scenarios/nvidia-smi.json): process CPU percent
(of one core) and resident memory, the machine's used and total memory, and per GPU utilisation,
memory, temperature and power where ``nvidia-smi`` exposes them. psutil is used when installed;
without it the figures come from the standard library and /proc.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from typing import Callable, Dict, List, Optional

from .performance import ResourceSampler
from .rules import SYSTEM_SERIES_PREFIX

log = logging.getLogger("trainwatch")

DEFAULT_SYSTEM_INTERVAL = 1.0
"""Seconds between system samples; 1-2 s accepted, as the contract says."""
MIN_SYSTEM_INTERVAL = 1.0
MAX_SYSTEM_INTERVAL = 2.0

NVIDIA_SMI_ARGS: List[str] = [
    "--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw",
    "--format=csv,noheader,nounits",
]
NVIDIA_SMI_MAX_FAILURES = 3
"""Consecutive failed queries after which GPU figures are given up for the run."""

_MIB = 1024 * 1024
_COLUMNS = (
    ("utilization_percent", 1),
    ("memory_used_bytes", _MIB),
    ("memory_total_bytes", _MIB),
    ("temperature_c", 1),
    ("power_w", 1),
)


def parse_nvidia_smi(output: str) -> Dict[str, float]:
    """One line per GPU → ``system/gpu<index>/<series>``; ``[N/A]``/``[Not Supported]`` left out."""
    values: Dict[str, float] = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if not cells or not cells[0].isdigit():
            continue
        for (suffix, factor), cell in zip(_COLUMNS, cells[1:]):
            try:
                number = float(cell)
            except ValueError:
                continue
            if number == number and abs(number) != float("inf"):
                values[f"{SYSTEM_SERIES_PREFIX}gpu{cells[0]}/{suffix}"] = number * factor
    return values


class NvidiaSmiReader:
    """Runs the query with a timeout; gives up for the run when nvidia-smi is missing or keeps failing."""

    def __init__(self, timeout: float, command: str = "nvidia-smi") -> None:
        self._timeout = timeout
        self._command = command
        self._failures = 0
        self.available = True

    def read(self) -> Optional[Dict[str, float]]:
        if not self.available:
            return None
        try:
            done = subprocess.run(
                [self._command, *NVIDIA_SMI_ARGS],
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=True,
            )
        except FileNotFoundError:
            self.available = False
            return None
        except (subprocess.SubprocessError, OSError):
            self._failures += 1
            if self._failures >= NVIDIA_SMI_MAX_FAILURES:
                self.available = False
                log.info("trainwatch: nvidia-smi keeps failing; no GPU series for this run")
            return None
        self._failures = 0
        return parse_nvidia_smi(done.stdout)


def _machine_memory() -> Dict[str, float]:
    try:
        import psutil  # type: ignore

        memory = psutil.virtual_memory()
        return {"used": float(memory.total - memory.available), "total": float(memory.total)}
    except Exception:
        pass
    try:
        fields: Dict[str, int] = {}
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                key, _, rest = line.partition(":")
                fields[key] = int(rest.split()[0]) * 1024
        total = fields["MemTotal"]
        return {"used": float(total - fields["MemAvailable"]), "total": float(total)}
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        return {"used": float(total - os.sysconf("SC_AVPHYS_PAGES") * page), "total": float(total)}
    except (ValueError, OSError, AttributeError):
        return {}


class SystemSampler:
    """Samples on its own daemon thread and hands each sample to ``emit`` (never raises into it)."""

    def __init__(
        self,
        interval: float,
        emit: Callable[[Dict[str, float]], None],
        stopping: threading.Event,
        gpu: Optional[NvidiaSmiReader] = None,
    ) -> None:
        self._interval = interval
        self._emit = emit
        self._stopping = stopping
        self._resources = ResourceSampler()
        self._gpu = gpu if gpu is not None else NvidiaSmiReader(timeout=interval)
        self.thread = threading.Thread(target=self._run, name="trainwatch-system", daemon=True)

    def sample(self) -> Dict[str, float]:
        usage = self._resources.sample()
        values: Dict[str, float] = {
            f"{SYSTEM_SERIES_PREFIX}cpu_percent": float(usage.cpu_percent),
            f"{SYSTEM_SERIES_PREFIX}process_rss_bytes": float(usage.memory_bytes),
        }
        memory = _machine_memory()
        if memory:
            values[f"{SYSTEM_SERIES_PREFIX}memory_used_bytes"] = memory["used"]
            values[f"{SYSTEM_SERIES_PREFIX}memory_total_bytes"] = memory["total"]
        values.update(self._gpu.read() or {})
        return values

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                values = self.sample()
            except Exception as error:  # a broken reading must not end the thread or the run
                log.debug("trainwatch: system sample failed: %s", error)
                continue
            if not self._stopping.is_set():
                self._emit(values)

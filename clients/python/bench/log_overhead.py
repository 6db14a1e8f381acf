#!/usr/bin/python3
"""Training-thread cost of log_batch: what a loop pays per call, with and without sample images.

    /usr/bin/python3 clients/python/bench/log_overhead.py [--server HOST:PORT] [--calls 2000]

Without --server the session points at a closed port, so the figures are the caller-side cost
alone (copying samples and queueing); with a server the network threads compete for the CPU too.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if importlib.util.find_spec("trainwatch") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trainwatch import TrainingSession  # noqa: E402


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def measure(address: str, calls: int, make_images) -> list:
    config = {
        "total_epochs": 1,
        "batches_per_epoch": calls,
        "batch_size": 16,
        "class_names": list("abcdefghij"),
    }
    session = TrainingSession(address, config, buffer_size=calls + 10).connect()
    session.wait_registered(5)
    images, logits, truth = make_images()
    costs = []
    for index in range(calls):
        started = time.perf_counter()
        session.log_batch(0, index, 1.0, images=images, predictions=logits, ground_truth=truth)
        costs.append((time.perf_counter() - started) * 1e6)
    session.close(timeout=10)
    return costs


def report(name: str, costs: list) -> None:
    costs = sorted(costs)
    p99 = costs[int(len(costs) * 0.99) - 1]
    print(
        f"{name:<28} median {statistics.median(costs):8.1f} us   p99 {p99:8.1f} us   max {costs[-1]:8.1f} us"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default=None)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    address = args.server or closed_port()
    rng = np.random.default_rng(0)
    cases = {
        "scalars only": lambda: (None, None, None),
        "16 x 3x32x32 uint8 (numpy)": lambda: (
            rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8),
            rng.normal(size=(16, 10)),
            np.arange(16) % 10,
        ),
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        cases["16 x 3x32x32 float (torch)"] = lambda: (
            torch.rand(16, 3, 32, 32),
            torch.randn(16, 10),
            torch.arange(16) % 10,
        )
    print(
        f"log_batch cost on the calling thread, {args.calls} calls, server {'at ' + address if args.server else 'absent'}"
    )
    for name, make in cases.items():
        report(name, measure(address, args.calls, make))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Training-thread cost of log_batch: what a loop pays per call, with and without sample images.

    /usr/bin/python3 clients/python/bench/log_overhead.py [--server HOST:PORT] [--calls 2000]
        [--rate 60] [--json]

Without --server the session points at a closed port, so the figures are the caller-side cost
alone (queueing the arguments; the samples are copied on the logger thread, or on the caller's with
copy_samples=True, its own case); with a server the network threads compete for the CPU too.
--rate paces the calls like a training loop (calls per second; 0, the default, is back to back);
--json prints one object per case instead of the table (the sdk benchmark reads it).
"""

from __future__ import annotations

import argparse
import json
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


def measure(address: str, calls: int, make_images, rate: float = 0, copy_samples: bool = False) -> list:
    config = {
        "total_epochs": 1,
        "batches_per_epoch": calls,
        "batch_size": 16,
        "class_names": list("abcdefghij"),
    }
    session = TrainingSession(address, config, buffer_size=calls + 10, copy_samples=copy_samples).connect()
    session.wait_registered(5)
    images, logits, truth = make_images()
    costs = []
    interval = 1 / rate if rate > 0 else 0
    next_call = time.perf_counter()
    for index in range(calls):
        if interval:
            # Paced like a loop doing other work between calls (the SDK's threads run meanwhile).
            next_call += interval
            time.sleep(max(0.0, next_call - time.perf_counter()))
        started = time.perf_counter()
        session.log_batch(0, index, 1.0, images=images, predictions=logits, ground_truth=truth)
        costs.append((time.perf_counter() - started) * 1e6)
    session.close(timeout=10)
    return costs


def report(name: str, costs: list, as_json: bool = False) -> None:
    costs = sorted(costs)
    p99 = costs[int(len(costs) * 0.99) - 1]
    if as_json:
        summary = {"case": name, "calls": len(costs), "median_us": statistics.median(costs)}
        print(json.dumps({**summary, "p99_us": p99, "max_us": costs[-1]}))
        return
    print(
        f"{name:<42} median {statistics.median(costs):8.1f} us   p99 {p99:8.1f} us   max {costs[-1]:8.1f} us"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default=None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    address = args.server or closed_port()
    rng = np.random.default_rng(0)

    def numpy_samples():
        return (
            rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8),
            rng.normal(size=(16, 10)),
            np.arange(16) % 10,
        )

    # name -> (samples, copy_samples)
    cases = {
        "scalars only": (lambda: (None, None, None), False),
        "16 x 3x32x32 uint8 (numpy)": (numpy_samples, False),
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        cases["16 x 3x32x32 float (torch)"] = (
            lambda: (torch.rand(16, 3, 32, 32), torch.randn(16, 10), torch.arange(16) % 10),
            False,
        )
    # What the opt-in copy on the calling thread costs (the loop may then reuse its buffers at once).
    cases["16 x 3x32x32 uint8 (numpy, copy_samples)"] = (numpy_samples, True)
    if not args.json:
        pace = f"{args.rate:g} calls/s" if args.rate > 0 else "back to back"
        where = "at " + address if args.server else "absent"
        print(f"log_batch cost on the calling thread, {args.calls} calls ({pace}), server {where}")
    for name, (make, copy_samples) in cases.items():
        report(name, measure(address, args.calls, make, args.rate, copy_samples), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

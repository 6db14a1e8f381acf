"""Runs the scenario suite both SDKs share (libs/sdk-scenarios) against this SDK's outbox.

Every scenario in the file runs; a step this runner does not know fails, so the suite and the runner
cannot drift apart silently. The TypeScript runner is libs/trainer-sdk/src/sdk-scenarios.spec.ts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from trainwatch.buffer import (
    KIND_BATCH,
    KIND_COMMAND_RESULT,
    KIND_EPOCH,
    KIND_METADATA,
    KIND_PERFORMANCE,
    KIND_SCALARS,
    KIND_STATUS,
    KIND_SYSTEM,
    Entry,
    Outbox,
)
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb

SUITE_FILE = Path(__file__).resolve().parents[3] / "libs" / "sdk-scenarios" / "scenarios.json"
SUITE = json.loads(SUITE_FILE.read_text())["scenarios"]


def make_entry(kind: str, images: int, image_bytes: int, index: int) -> Entry:
    if kind == "batch":
        data = pb.BatchData(batch_idx=index, batch_loss=1.0)
        for _ in range(images):
            data.images.add(image_bytes=b"\xff" * image_bytes, format="jpeg", width=1, height=1)
            data.predictions.add(predicted_class=0, confidence=1.0)
            data.ground_truth.append(0)
        return Entry(KIND_BATCH, pb.MetricsRequest(batch_data=data), image_bytes=images * image_bytes)
    requests = {
        "epoch": (
            KIND_EPOCH,
            pb.MetricsRequest(epoch_data=pb.EpochData(epoch=index, metrics={"val/loss": 1.0})),
        ),
        "performance": (
            KIND_PERFORMANCE,
            pb.MetricsRequest(performance_data=pb.PerformanceData(current_fps=1.0)),
        ),
        "system": (
            KIND_SYSTEM,
            pb.MetricsRequest(scalars=pb.ScalarsData(values={"system/cpu_percent": 1.0})),
        ),
        "scalars": (
            KIND_SCALARS,
            pb.MetricsRequest(scalars=pb.ScalarsData(values={"lr": 0.1, "system/cpu_percent": 1.0})),
        ),
        "status": (KIND_STATUS, pb.MetricsRequest(status_update=pb.StatusUpdate(message="x"))),
        "metadata": (KIND_METADATA, pb.MetricsRequest(run_metadata=pb.RunMetadata(tags=["t"]))),
        "command_result": (
            KIND_COMMAND_RESULT,
            pb.MetricsRequest(command_result=pb.CommandResult(command_id=f"c{index}", success=True)),
        ),
    }
    if kind not in requests:
        raise AssertionError(f"unknown message kind {kind}")
    entry_kind, request = requests[kind]
    return Entry(entry_kind, request)


def run(scenario: Dict[str, Any]) -> None:
    drops: List[Tuple[str, Entry, int]] = []
    outbox = Outbox(
        scenario["bound"],
        scenario.get("imageBudgetBytes", 64 * 1024 * 1024),
        on_drop=lambda what, entry: drops.append((what, entry, entry.sequence)),
    )
    names: Dict[int, str] = {}
    entries: Dict[str, Entry] = {}

    def name(entry: Entry) -> str:
        return names.get(id(entry), "?")

    for index, step in enumerate(scenario["steps"]):
        where = f"step {index + 1} {json.dumps(step)}"
        keys = ",".join(sorted(step))
        if keys in ("kind,log", "images,kind,log"):
            entry = make_entry(step["kind"], step.get("images", 0), scenario.get("imageBytes", 100), index)
            names[id(entry)] = step["log"]
            entries[step["log"]] = entry
            outbox.add(entry)
        elif keys == "write,written":
            limit = float("inf") if step["write"] == "all" else step["write"]
            written: List[List[Any]] = []
            while len(written) < limit and (taken := outbox.take_next()) is not None:
                entry, replayed = taken
                assert entry.request.sequence == entry.sequence
                written.append([name(entry), entry.sequence, replayed])
            assert {"where": where, "written": written} == {"where": where, "written": step["written"]}
        elif keys == "ack":
            outbox.ack(step["ack"])
        elif keys == "reconnect":
            outbox.rewind(step["reconnect"])
        elif keys == "resize":
            outbox.set_bound(step["resize"])
        elif keys == "expect":
            want = step["expect"]
            held = outbox.snapshot()
            seen: Dict[str, Any] = {}
            if "held" in want:
                seen["held"] = [name(e) for e in held]
            if "images" in want:
                seen["images"] = [name(e) for e in held if e.holds_images]
            if "sequences" in want:
                seen["sequences"] = {k: entries[k].sequence for k in want["sequences"]}
            if "drops" in want:
                seen["drops"] = [[what, name(entry), sequence] for what, entry, sequence in drops]
            if "counters" in want:
                seen["counters"] = {
                    "droppedImageFrames": outbox.counters["dropped_image_frames"],
                    "droppedMessages": outbox.counters["dropped_messages"],
                }
            if "slots" in want:
                seen["slots"] = outbox.slots
            if "imageBytes" in want:
                seen["imageBytes"] = outbox.image_bytes
            if "lastSequence" in want:
                seen["lastSequence"] = outbox.last_sequence
            if "highestAcked" in want:
                seen["highestAcked"] = outbox.highest_acked
            assert {"where": where, **seen} == {"where": where, **want}
            for entry in held:  # a stripped batch really lost its samples, not just its slot
                if entry.kind == KIND_BATCH and not entry.holds_images:
                    batch = entry.request.batch_data
                    assert not batch.images and not batch.predictions and not batch.ground_truth
        else:
            raise AssertionError(f"{scenario['name']}: {where}: step not understood by this runner")
        results = sum(1 for e in outbox.snapshot() if e.kind == KIND_COMMAND_RESULT)
        assert outbox.slots <= max(scenario["bound"], results)


def test_the_suite_is_not_empty_and_names_are_unique() -> None:
    names = [s["name"] for s in SUITE]
    assert len(names) > 10
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("scenario", SUITE, ids=[s["name"] for s in SUITE])
def test_scenario(scenario: Dict[str, Any]) -> None:
    run(scenario)

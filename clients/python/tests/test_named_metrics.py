"""Named metrics, log(), run metadata and system series: unit checks and against the real server."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from harness import Dashboard, ServerProcess, wait_for
from test_session import new_session

from trainwatch.images import predictions_to_proto
from trainwatch.metadata import RunMetadataState
from trainwatch.metrics import MetricFilter
from trainwatch.system import NVIDIA_SMI_ARGS, NvidiaSmiReader, SystemSampler, parse_nvidia_smi

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[3] / "libs" / "sdk-scenarios" / "nvidia-smi.json").read_text()
)


def test_nvidia_smi_output_is_read_as_the_typescript_sdk_reads_it() -> None:
    assert NVIDIA_SMI_ARGS == FIXTURE["args"]
    assert parse_nvidia_smi(FIXTURE["output"]) == pytest.approx(FIXTURE["series"])
    assert parse_nvidia_smi("NVIDIA-SMI has failed because it could not communicate with the driver.") == {}


def test_a_missing_nvidia_smi_is_given_up_for_the_run() -> None:
    reader = NvidiaSmiReader(timeout=1.0, command="trainwatch-no-such-command")
    assert reader.read() is None and not reader.available


def test_system_sample_has_the_shared_process_series() -> None:
    import threading

    sampler = SystemSampler(
        1.0, lambda values: None, threading.Event(), NvidiaSmiReader(1.0, "trainwatch-no-such-command")
    )
    values = sampler.sample()
    assert sorted(values) == sorted(FIXTURE["processSeries"])
    assert values["system/memory_total_bytes"] >= values["system/memory_used_bytes"] > 0
    assert values["system/process_rss_bytes"] > 0


def test_metric_filter_leaves_out_what_the_server_would_refuse(caplog: pytest.LogCaptureFixture) -> None:
    metrics = MetricFilter()
    values = {"x" * 10_000: 1.0, "/lead": 2.0, "loss": 3.0, "ok": 4.0, "nan": math.nan, "text": "a"}
    with caplog.at_level(logging.WARNING, logger="trainwatch"):
        first = metrics.filter(values, "log_batch 0/1")
        metrics.filter(values, "log_batch 0/2")
    assert list(first) == ["ok", "nan"] and math.isnan(first["nan"])
    assert [name[:5] for name, _ in metrics.problems] == ["xxxxx", "/lead", "loss", "text"]
    assert "a series name must be 1-128 characters" in metrics.problems[0][1]
    assert len(caplog.records) == 4  # once per name, not every batch
    metrics.set_limits(max_series=4, max_per_message=0)  # loss, ok, nan + one
    assert metrics.filter({"a": 1, "b": 2}, "log") == {"a": 1.0}
    assert "already has 4 series" in metrics.problems[-1][1]


def test_metadata_is_checked_and_merged() -> None:
    state = RunMetadataState()
    message, problems = state.update({"lr": 0.01, "opt": "sgd", "nesterov": True}, ["a", "b"], "first")
    assert problems == []
    assert message.hyperparameters["lr"].number == 0.01 and message.hyperparameters["nesterov"].flag
    _, problems = state.update({"lr": math.inf, "warmup": 5}, ["c", "a,b"], "n" * 5000)
    assert problems[0] == "hyperparameter lr: inf is not finite (the server refuses it)"
    assert "a tag must be" in problems[1] and problems[2] == "note of 5000 characters, at most 4096"
    merged = state.merged()
    assert list(merged.tags) == ["a", "b", "c"] and merged.note == "first"
    assert merged.hyperparameters["lr"].number == 0.01 and merged.hyperparameters["warmup"].number == 5


def test_confidence_is_clipped_into_0_1() -> None:
    # Rows that sum to 1 within the tolerance but hold a value just above 1.
    predictions = predictions_to_proto(np.array([[1.0005, 0.0], [0.2, 0.8]]), ["a", "b"], 16)
    assert [p.confidence for p in predictions] == [1.0, pytest.approx(0.8)]


def test_named_values_metadata_and_system_series_reach_the_dashboard(server: ServerProcess) -> None:
    run = new_session(
        server.address,
        hyperparameters={"lr": 0.01, "optimizer": "sgd"},
        tags=["demo"],
        note="baseline",
    ).connect()
    healthy = new_session(server.address, system_metrics=False).connect()
    dashboard = Dashboard(server.address)
    try:
        for batch_idx in range(10):
            run.log_batch(
                0,
                batch_idx,
                1.0 / (batch_idx + 1),
                metrics={
                    "lr": 0.01,
                    "grad_norm": 2.0 + batch_idx,
                    "train/acc": batch_idx / 10,
                    "x" * 10_000: 1,
                },
                # A model with more outputs than named classes: the batch goes without its samples.
                images=np.zeros((1, 8, 8, 3), np.uint8),
                predictions=np.array([12]),
                ground_truth=np.array([1]),
            )
            healthy.log_batch(0, batch_idx, 1.0)
        run.log({"train/epoch_time_s": 3.5})
        run.log_epoch(0, 0.5, 0.8, metrics={"val/loss": 0.6, "val/acc": 0.7})
        run.update_metadata(hyperparameters={"lr": math.nan, "warmup": 5}, tags=["tuned"], note="tuned")
        wait_for(
            lambda: any(s.name == "system/cpu_percent" for s in dashboard.snapshot(run.session_id).series),
            what="a system sample",
            timeout=5,
        )
        assert run.flush(10) and healthy.flush(10)
        assert run.errors() == []  # the server refused nothing
        assert run.stats()["batches_class_out_of_range"] == 10
        snapshot = dashboard.snapshot(run.session_id)
        series = {s.name: s for s in snapshot.series}
        assert list(series["grad_norm"].values) == [2.0 + i for i in range(10)]
        assert list(series["grad_norm"].steps) == list(range(10))
        assert len(series["lr"].values) == 10 and len(series["train/acc"].values) == 10
        assert list(series["train/epoch_time_s"].steps) == [9]  # the latest batch's global step
        assert list(series["val/loss"].values) == [0.6] and list(series["val/acc"].values) == [0.7]
        assert series["system/memory_total_bytes"].values[0] > 0
        assert not any(name.startswith("xxx") for name in series)
        metadata = snapshot.session.metadata
        assert metadata.note == "tuned" and list(metadata.tags) == ["demo", "tuned"]
        assert metadata.hyperparameters["lr"].number == 0.01
        assert metadata.hyperparameters["warmup"].number == 5
        assert metadata.hyperparameters["optimizer"].text == "sgd"
        # The second session was unaffected.
        assert healthy.errors() == []
        summary = dashboard.session(healthy.session_id)
        assert summary.batches_received == 10 and summary.series_count == 1
    finally:
        run.close(timeout=5)
        healthy.close(timeout=5)
        dashboard.close()

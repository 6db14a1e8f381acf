"""TrainingSession against the real server: registration, acks, images, heartbeats, commands, gate."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest
from harness import Dashboard, ServerProcess, wait_for

from trainwatch import ConnectionOptions, TrainingSession
from trainwatch.gen.telemetry.v1 import dashboard_pb2 as dpb
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FAST = ConnectionOptions(reconnect_initial_delay=0.05, reconnect_max_delay=0.3, ack_timeout=5.0)


def new_session(address: str, total_epochs: int = 2, **options) -> TrainingSession:
    config = {
        "total_epochs": total_epochs,
        "batches_per_epoch": 20,
        "batch_size": 8,
        "model_name": "tiny-cnn",
        "dataset_name": "shapes",
        "class_names": CLASSES,
    }
    options.setdefault("session_id", f"py-{uuid.uuid4().hex[:12]}")
    options.setdefault("connection", FAST)
    return TrainingSession(address, config, **options)


def test_registers_and_reports_server_limits(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()
    try:
        assert session.wait_registered(10)
        limits = session.server_config
        assert limits is not None and limits.max_batch_size == 16 and limits.max_image_dimension == 512
        assert session.stats()["bound"] == limits.buffer_size  # the server's buffer size is adopted
        session.set_status("initializing", "loading data")
        assert session.flush(10)
        summary = dashboard.session(session.session_id)
        assert summary.status == pb.TRAINING_STATUS_INITIALIZING and summary.status_message == "loading data"
        assert summary.client_name == "trainwatch-python"
        # Summaries leave class lists out; the snapshot carries them.
        assert summary.class_count == len(CLASSES)
        assert dashboard.snapshot(session.session_id).session.config.class_names == CLASSES
        assert summary.connection == dpb.CONNECTION_STATE_CONNECTED
    finally:
        session.close()


def test_batches_are_acknowledged_and_applied_once(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()
    rng = np.random.default_rng(1)
    for batch_idx in range(20):
        images = rng.integers(0, 255, size=(8, 3, 600, 300), dtype=np.uint8)  # over 512 px: must shrink
        logits = rng.normal(size=(8, 10))
        session.log_batch(
            0, batch_idx, 2.0 - batch_idx * 0.05, images=images, predictions=logits, ground_truth=np.arange(8)
        )
    session.log_epoch(0, 1.5, 0.25)
    assert session.flush(15), session.stats()
    stats = session.stats()
    assert stats["acked"] == stats["sent"] and stats["rejected"] == 0 and stats["buffered"] == 0
    assert session.errors() == []

    summary = dashboard.session(session.session_id)
    assert summary.batches_received == 20 and summary.batch_idx == 19
    assert summary.latest_loss == pytest.approx(2.0 - 19 * 0.05)
    snapshot = dashboard.snapshot(session.session_id)
    assert list(snapshot.loss_history.steps) == list(range(20))
    assert len(snapshot.epochs) == 1 and snapshot.epochs[0].average_accuracy == pytest.approx(0.25)
    frame = snapshot.latest_images
    assert frame.batch_idx == 19 and len(frame.images) == 8 and list(frame.ground_truth) == list(range(8))
    image = frame.images[0]
    assert image.image_bytes[:3] == b"\xff\xd8\xff" and (image.width, image.height) == (256, 512)
    assert image.channels == 3
    assert frame.predictions[0].predicted_label == CLASSES[frame.predictions[0].predicted_class]
    assert 0.0 < frame.predictions[0].confidence <= 1.0
    session.close()


def test_performance_figures_reach_the_server(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address, performance_interval=0.1).connect()
    for batch_idx in range(10):
        session.log_batch(0, batch_idx, 1.0)
    session.close()
    snapshot = dashboard.snapshot(session.session_id)
    perf = snapshot.latest_performance
    assert perf.average_fps > 0 and perf.current_fps > 0 and perf.time_per_batch_ms > 0
    # 10 of 40 planned batches done: the ETA covers the other 30 at the measured rate.
    assert perf.estimated_time_remaining_sec == pytest.approx(30 / perf.average_fps, rel=0.01)
    assert perf.HasField("resource_usage") and perf.resource_usage.memory_bytes > 0
    assert snapshot.session.status == pb.TRAINING_STATUS_COMPLETED


def test_heartbeats_keep_an_idle_session_alive(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()
    try:
        first = wait_for(lambda: dashboard.session(session.session_id), what="session listed")
        # Nothing is logged: only heartbeats (every 200 ms here) can move last_update_ms, and a
        # session without them turns STALE after 3 missed intervals.
        for _ in range(4):
            seen = first.last_update_ms
            first = wait_for(
                lambda: (s := dashboard.session(session.session_id)) and s.last_update_ms > seen and s,
                what="a heartbeat",
            )
        assert first.connection == dpb.CONNECTION_STATE_CONNECTED
        assert session.stats()["sent"] == 0  # heartbeats are not sequenced messages
    finally:
        session.close()


def test_commands_drive_the_gate_and_are_reported(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()
    seen_commands = []
    session.on_command(lambda command: seen_commands.append(command.type))
    steps = []

    def train() -> None:
        batch_idx = 0
        while session.gate():
            time.sleep(0.005)  # the training step itself; the loop only ends through STOP
            session.log_batch(batch_idx // 20, batch_idx % 20, 1.0)
            steps.append(batch_idx)
            batch_idx += 1

    loop = threading.Thread(target=train, daemon=True)
    loop.start()
    try:
        wait_for(
            lambda: len(steps) > 5 and session.stats()["acked"] > 0, what="training running, stream open"
        )
        paused = dashboard.command(session.session_id, pb.COMMAND_TYPE_PAUSE)
        assert (
            paused.entry.state == dpb.COMMAND_STATE_SUCCEEDED and paused.status == pb.TRAINING_STATUS_PAUSED
        )
        wait_for(lambda: session.waiting_at_gate == 1, what="loop parked at the gate")
        parked_at = len(steps)
        assert session.state == "paused"
        assert wait_for(lambda: dashboard.session(session.session_id)).status == pb.TRAINING_STATUS_PAUSED
        assert len(steps) == parked_at  # still parked once the dashboard shows PAUSED

        resumed = dashboard.command(session.session_id, pb.COMMAND_TYPE_RESUME)
        assert (
            resumed.entry.state == dpb.COMMAND_STATE_SUCCEEDED
            and resumed.status == pb.TRAINING_STATUS_RUNNING
        )
        wait_for(lambda: len(steps) > parked_at + 5, what="loop running again")

        stopped = dashboard.command(session.session_id, pb.COMMAND_TYPE_STOP)
        # COMPLETED is final on the server: it is reported by close(), after the loop has ended.
        assert (
            stopped.entry.state == dpb.COMMAND_STATE_SUCCEEDED
            and stopped.status == pb.TRAINING_STATUS_RUNNING
        )
        loop.join(5)
        assert not loop.is_alive() and session.should_stop
    finally:
        session.close()
    assert seen_commands == [pb.COMMAND_TYPE_PAUSE, pb.COMMAND_TYPE_RESUME, pb.COMMAND_TYPE_STOP]
    audit = dashboard.snapshot(session.session_id).commands
    assert [entry.type for entry in audit] == seen_commands
    assert all(entry.state == dpb.COMMAND_STATE_SUCCEEDED and entry.issued_by == "pytest" for entry in audit)
    final = dashboard.session(session.session_id)
    assert final.status == pb.TRAINING_STATUS_COMPLETED and final.status_message == "stopped on request"


def test_a_failing_handler_reports_the_command_failed(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()

    @session.on_command
    def refuse(command: pb.ControlCommand) -> None:
        raise RuntimeError("checkpoint in progress")

    try:
        session.set_status("running")
        assert session.flush(10)  # acknowledged: the stream is open and bound to the session
        result = dashboard.command(session.session_id, pb.COMMAND_TYPE_PAUSE)
        assert result.entry.state == dpb.COMMAND_STATE_FAILED
        assert "checkpoint in progress" in result.entry.result_message
    finally:
        session.close()


def test_bad_input_gets_an_error_and_the_stream_goes_on(server: ServerProcess, dashboard: Dashboard) -> None:
    session = new_session(server.address).connect()
    # A batch outside the run's declared epochs (NaN losses are data, not bad input).
    session.log_batch(50, 0, 0.7)
    session.log_batch(0, 1, 0.5)
    assert session.flush(10)
    assert session.stats()["rejected"] == 1
    [error] = session.errors()
    assert error.code == pb.ERROR_CODE_OUT_OF_SHAPE and error.epoch == 50 and error.batch_idx == 0
    assert dashboard.session(session.session_id).batches_received == 1
    session.close()


def test_an_exception_in_a_with_block_reports_failed(server: ServerProcess, dashboard: Dashboard) -> None:
    with pytest.raises(RuntimeError):
        with new_session(server.address) as session:
            session.log_batch(0, 0, 1.0)
            raise RuntimeError("CUDA out of memory")
    summary = dashboard.session(session.session_id)
    assert summary.status == pb.TRAINING_STATUS_FAILED
    assert summary.status_message == "RuntimeError: CUDA out of memory"
    assert summary.batches_received == 1

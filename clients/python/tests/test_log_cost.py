"""What log_batch leaves to the logger thread: the copy of the samples, the request, the buffer."""

from __future__ import annotations

import io
import threading
import uuid

import numpy as np
import pytest
from harness import Dashboard, ServerProcess, wait_for
from PIL import Image

import trainwatch.client as client_module
from trainwatch import TrainingSession
from trainwatch import images as imaging
from trainwatch.buffer import KIND_BATCH, KIND_EPOCH, KIND_STATUS
from trainwatch.deferred import LOG_CALLS_DEFERRED

CONFIG = {"total_epochs": 1, "batches_per_epoch": 1000, "batch_size": 4, "class_names": ["a", "b", "c"]}


def new_session(address: str, **options) -> TrainingSession:
    return TrainingSession(address, CONFIG, session_id=f"py-{uuid.uuid4().hex[:12]}", **options)


@pytest.fixture
def snapshot_threads(monkeypatch: pytest.MonkeyPatch):
    """Names of the threads that copied samples, in order."""
    names = []
    copy = imaging.snapshot

    def recording(*args, **kwargs):
        names.append(threading.current_thread().name)
        return copy(*args, **kwargs)

    monkeypatch.setattr(client_module.imaging, "snapshot", recording)
    return names


def pixel(frame, index: int = 0) -> int:
    return Image.open(io.BytesIO(frame.images[index].image_bytes)).convert("L").getpixel((4, 4))


def test_samples_are_copied_off_the_calling_thread_and_reach_the_dashboard(
    server: ServerProcess, dashboard: Dashboard, snapshot_threads
) -> None:
    session = new_session(server.address).connect()
    assert session.wait_registered(10)
    images = np.full((4, 8, 8, 3), 255, np.uint8)
    session.log_batch(0, 0, 0.5, images=images, predictions=np.arange(4) % 3, ground_truth=np.arange(4) % 3)
    # Nothing that drains (stats, flush, another message) runs here: the logger thread does it alone.
    wait_for(lambda: snapshot_threads, timeout=5, what="the logger thread to copy the samples")
    assert snapshot_threads == ["trainwatch-logger"]
    frame = wait_for(
        lambda: dashboard.snapshot(session.session_id).latest_images.images
        and dashboard.snapshot(session.session_id).latest_images,
        what="the batch's images on the dashboard",
    )
    assert len(frame.images) == 4 and pixel(frame) > 240
    session.close()


def test_copy_samples_copies_on_the_call_so_the_loop_may_reuse_its_buffer(
    server: ServerProcess, dashboard: Dashboard, snapshot_threads
) -> None:
    session = new_session(server.address, copy_samples=True).connect()
    assert session.wait_registered(10)
    buffer = np.full((4, 8, 8, 3), 255, np.uint8)
    session.log_batch(0, 0, 0.5, images=buffer, ground_truth=np.arange(4) % 3)
    assert snapshot_threads == [threading.current_thread().name]
    buffer[:] = 0  # the loop refills its buffer for the next step at once
    assert session.flush(10), session.stats()
    frame = dashboard.snapshot(session.session_id).latest_images
    assert len(frame.images) == 4 and pixel(frame) > 240  # what was logged, not the refill
    session.close()


def test_queued_batches_keep_their_place_before_later_messages() -> None:
    # Not connected: the logger thread is not running, so only the drains move queued calls.
    session = new_session("127.0.0.1:1", system_metrics=False)
    for batch_idx in range(3):
        session.log_batch(0, batch_idx, 1.0, images=np.zeros((2, 4, 4), np.uint8))
    assert len(session._deferred) == 3
    session.log_epoch(0, 1.0)
    kinds = [(entry.kind, entry.request.batch_data.batch_idx) for entry in session._outbox.snapshot()]
    assert kinds == [(KIND_STATUS, 0), (KIND_BATCH, 0), (KIND_BATCH, 1), (KIND_BATCH, 2), (KIND_EPOCH, 0)]
    assert session.stats()["buffered"] == 5
    session.close(status=None, timeout=0.1)


def test_a_loop_that_starves_the_logger_thread_cannot_grow_the_queue() -> None:
    session = new_session("127.0.0.1:1", system_metrics=False, buffer_size=10_000)
    for batch_idx in range(LOG_CALLS_DEFERRED * 3 + 5):
        session.log_batch(0, batch_idx, 1.0)
        assert len(session._deferred) < LOG_CALLS_DEFERRED
    assert session.stats()["buffered"] == LOG_CALLS_DEFERRED * 3 + 5 + 1  # and the RUNNING status
    session.close(status=None, timeout=0.1)


def test_a_batch_that_fails_later_is_logged_and_the_next_ones_still_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = new_session("127.0.0.1:1", system_metrics=False)
    session.log_batch(0, 0, 1.0, batch_size="not a size")
    session.log_batch(0, 1, 1.0)
    assert session.stats()["buffered"] == 2  # RUNNING status and batch 1
    assert "could not be turned into a message" in caplog.text
    session.close(status=None, timeout=0.1)

"""Losing the server: replay after restart and after cut connections, bounded memory meanwhile."""

from __future__ import annotations

import time

import numpy as np
from harness import CuttableProxy, Dashboard, ServerProcess, free_port, wait_for
from test_session import new_session

from trainwatch import ConnectionOptions
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb


def steps_of(dashboard: Dashboard, session_id: str) -> list:
    return list(dashboard.snapshot(session_id).loss_history.steps)


def test_replay_after_a_server_restart_loses_and_doubles_nothing(forgetful_server: ServerProcess) -> None:
    forgetful_server.start()
    session = new_session(forgetful_server.address).connect()
    for batch_idx in range(10):
        session.log_batch(0, batch_idx, 1.0)
    assert session.flush(10)

    forgetful_server.kill()  # a crash: the in-memory server forgets everything
    wait_for(lambda: not session.stats()["connected"], what="client notices the crash")
    for batch_idx in range(10, 20):
        started = time.monotonic()
        session.log_batch(0, batch_idx, 1.0, images=np.zeros((4, 3, 8, 8), np.uint8))
        assert time.monotonic() - started < 0.5  # never waits for the missing server
    assert session.stats()["buffered"] >= 10

    forgetful_server.start()
    assert session.flush(15), session.stats()
    dashboard = Dashboard(forgetful_server.address)
    try:
        summary = dashboard.session(session.session_id)
        # The restarted server knows the session again under the same id and has exactly the
        # batches logged while it was down: none lost, none applied twice.
        assert summary is not None and summary.batches_received == 10
        assert steps_of(dashboard, session.session_id) == list(range(10, 20))
        assert session.stats()["reconnects"] >= 1
    finally:
        session.close()
        dashboard.close()


def test_after_a_server_restart_the_dashboard_shows_each_run_as_it_is(
    forgetful_server: ServerProcess,
) -> None:
    forgetful_server.start()
    running = new_session(forgetful_server.address).connect()
    paused = new_session(forgetful_server.address).connect()
    dashboard = Dashboard(forgetful_server.address)
    try:
        for batch_idx in range(5):
            running.log_batch(0, batch_idx, 1.0)
            paused.log_batch(0, batch_idx, 1.0)
        assert running.flush(10) and paused.flush(10)
        dashboard.command(paused.session_id, pb.COMMAND_TYPE_PAUSE)
        assert paused.state == "paused" and paused.flush(10)

        # Everything is acknowledged: the new server gets no replay, only what re-registering sends.
        forgetful_server.stop()
        forgetful_server.start()
        dashboard.close()
        dashboard = Dashboard(forgetful_server.address)
        for session in (running, paused):
            wait_for(
                lambda s=session: s.stats()["reconnects"] >= 1 and s.stats()["connected"],
                what="re-registration",
            )

        def status_of(session_id: str):
            summary = dashboard.session(session_id)
            return summary.status if summary is not None else None

        wait_for(lambda: status_of(running.session_id) == pb.TRAINING_STATUS_RUNNING, what="RUNNING")
        wait_for(lambda: status_of(paused.session_id) == pb.TRAINING_STATUS_PAUSED, what="PAUSED")
        summary = dashboard.session(running.session_id)
        assert summary.config.model_name == "tiny-cnn" and summary.config.batches_per_epoch == 20

        running.log_batch(0, 5, 0.5)
        assert running.flush(10)
        summary = dashboard.session(running.session_id)
        # The SDK said how far the old server had acknowledged: the new one knows it lacks the start.
        assert summary.batches_received == 1
        assert summary.partial_history and summary.history_start_step == 5
        resumed = dashboard.command(paused.session_id, pb.COMMAND_TYPE_RESUME)
        assert resumed.status == pb.TRAINING_STATUS_RUNNING
    finally:
        running.close(timeout=2)
        paused.close(timeout=2)
        dashboard.close()


def test_last_error_is_cleared_once_the_connection_recovers(own_server: ServerProcess) -> None:
    own_server.start()
    session = new_session(own_server.address).connect()
    try:
        assert session.wait_registered(10)
        assert session.stats()["last_error"] is None
        own_server.kill()
        error = wait_for(lambda: session.stats()["last_error"], what="the outage to be reported")
        own_server.start()
        wait_for(lambda: session.stats()["connected"], what="reconnection")
        session.log_batch(0, 0, 1.0)
        assert session.flush(10)
        stats = session.stats()
        assert stats["last_error"] is None and stats["fatal_error"] is None
        assert stats["recovered_error"] is not None and stats["recovered_at"] is not None
        assert stats["recovered_error"] != "" and isinstance(error, str)
    finally:
        session.close(timeout=2)


def test_messages_lost_on_a_cut_connection_are_replayed_once(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    proxy = CuttableProxy(server.grpc_port)
    session = new_session(proxy.address).connect()
    try:
        assert session.wait_registered(10)
        session.log_batch(0, 0, 1.0)
        assert session.flush(10)
        proxy.hold_upstream.set()  # the trainer writes, the server never reads
        for batch_idx in range(1, 20):
            session.log_batch(0, batch_idx, 1.0)
        wait_for(lambda: session.stats()["sent"] >= 20, what="batches written into the held connection")
        proxy.cut()
        assert session.flush(15), session.stats()
        stats = session.stats()
        assert stats["replayed"] >= 19 and stats["duplicates"] == 0
        assert dashboard.session(session.session_id).batches_received == 20
        assert steps_of(dashboard, session.session_id) == list(range(20))
    finally:
        session.close()
        proxy.close()


def test_applied_but_unacknowledged_messages_are_not_applied_twice(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    proxy = CuttableProxy(server.grpc_port)
    session = new_session(proxy.address).connect()
    try:
        assert session.wait_registered(10)
        proxy.hold_downstream.set()  # the server applies and acknowledges; the acks never arrive
        for batch_idx in range(20):
            session.log_batch(0, batch_idx, 1.0)
        wait_for(
            lambda: (s := dashboard.session(session.session_id)) and s.batches_received == 20,
            what="server applied all",
        )
        assert session.stats()["acked"] == 0
        proxy.cut()
        assert session.flush(15), session.stats()
        # Re-registration told the client what the server already applied, so nothing was resent.
        assert session.stats()["replayed"] == 0 and session.stats()["reconnects"] >= 1
        assert dashboard.session(session.session_id).batches_received == 20
        assert steps_of(dashboard, session.session_id) == list(range(20))
    finally:
        session.close()
        proxy.close()


def test_a_silently_dead_connection_is_abandoned_and_its_messages_replayed(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    proxy = CuttableProxy(server.grpc_port)
    quick = ConnectionOptions(
        reconnect_initial_delay=0.05,
        reconnect_max_delay=0.3,
        ack_timeout=1.0,
        keepalive_time=1.0,
        keepalive_timeout=1.0,
    )
    session = new_session(proxy.address, connection=quick).connect()
    try:
        session.log_batch(0, 0, 1.0)
        assert session.flush(10)
        proxy.freeze()  # no reset, no FIN: only missing acks and pings reveal it
        for batch_idx in range(1, 10):
            session.log_batch(0, batch_idx, 1.0)
        assert session.flush(20), session.stats()
        assert proxy.connections >= 2 and session.stats()["reconnects"] >= 1
        assert steps_of(dashboard, session.session_id) == list(range(10))
    finally:
        session.close(timeout=2)
        proxy.close()


def test_memory_stays_bounded_while_the_server_is_away(own_server: ServerProcess) -> None:
    bound = 50
    budget = 64 * 1024
    slow = ConnectionOptions(reconnect_initial_delay=0.05, reconnect_max_delay=0.2, ack_timeout=5.0)
    # No performance samples in this run (interval longer than the test) so the count is exact;
    # their eviction order is covered by test_buffer.
    session = new_session(
        own_server.address,
        total_epochs=20,  # the run logs 400 batches of 20 per epoch; the server refuses steps outside it
        buffer_size=bound,
        image_buffer_bytes=budget,
        connection=slow,
        performance_interval=600,
        system_metrics=False,
    ).connect()
    images = np.random.default_rng(0).integers(0, 255, size=(16, 3, 32, 32), dtype=np.uint8)  # 48 KiB raw
    for step in range(400):
        session.log_batch(
            step // 20,
            step % 20,
            1.0,
            images=images,
            predictions=np.arange(16) % 10,
            ground_truth=np.arange(16) % 10,
        )
        stats = session.stats()
        assert stats["buffered"] <= bound and stats["image_bytes"] <= budget
    stats = session.stats()
    assert stats["buffered"] == bound  # exactly at the bound, never above
    # A full buffer strips a new frame before it drops an older message (images go first): every
    # frame lost its images, the newest too, and each batch's loss stayed until evicted.
    assert stats["dropped_image_frames"] == 400
    # Kept: the newest 50 batches; the "running" status and the 350 oldest batches were dropped
    # (oldest first, whatever their kind).
    assert stats["dropped_messages"] == 351

    own_server.start()
    assert session.flush(15), session.stats()
    dashboard = Dashboard(own_server.address)
    try:
        snapshot = dashboard.snapshot(session.session_id)
        # On reconnect the dashboard is told what was lost; that status message takes a slot of the
        # full buffer, so one more batch goes (the oldest), and every other kept batch arrives once.
        assert "dropped the images of 400 batches and 351 messages" in snapshot.session.status_message
        assert session.stats()["dropped_messages"] == 352
        assert snapshot.session.batches_received == 49
        assert list(snapshot.loss_history.steps) == list(range(351, 400))
        assert len(snapshot.latest_images.images) == 0  # no frame kept its images
        assert session.errors() == []
    finally:
        session.close(timeout=5)
        dashboard.close()


def test_logging_never_raises_when_no_server_exists() -> None:
    options = ConnectionOptions(reconnect_initial_delay=0.01, reconnect_max_delay=0.05)
    session = new_session(f"127.0.0.1:{free_port()}", buffer_size=10, connection=options).connect()
    for step in range(100):
        session.log_batch(step // 20, step % 20, 1.0, images=np.zeros((2, 8, 8, 3), np.uint8))
    session.log_epoch(0, 1.0, 0.5)
    session.set_status("running", "still here")
    wait_for(lambda: session.stats()["reconnects"] >= 3, what="reconnect attempts with backoff")
    assert session.stats()["buffered"] == 10
    assert session.close(timeout=0.2) is False  # reports what could not be delivered, no exception

"""A command that reaches a trainer after its deadline is answered as expired, never applied."""

from __future__ import annotations

import threading

import grpc
import pytest
from harness import Dashboard, ServerProcess, wait_for
from test_session import new_session

from trainwatch.gen.telemetry.v1 import dashboard_pb2 as dpb
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb

COMMAND_TIMEOUT_MS = 300


def test_pause_reaching_a_stalled_trainer_late_is_not_applied_and_the_audit_says_expired(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    stalled = new_session(server.address).connect()
    healthy = new_session(server.address).connect()
    entered, release = threading.Event(), threading.Event()

    @stalled.on_command
    def slow(command: pb.ControlCommand) -> None:
        # Commands are read and applied on the connection thread: holding it here is a trainer
        # that reads nothing from the server meanwhile (a long GIL-holding step, a debugger).
        if command.type == pb.COMMAND_TYPE_RESUME:
            entered.set()
            release.wait(10)

    try:
        assert stalled.wait_registered(10) and healthy.wait_registered(10)
        stalled.log_batch(0, 0, 1.0)
        healthy.log_batch(0, 0, 1.0)
        assert stalled.flush(10) and healthy.flush(10)

        first = threading.Thread(
            target=lambda: dashboard.command(stalled.session_id, pb.COMMAND_TYPE_RESUME), daemon=True
        )
        first.start()
        assert entered.wait(10)
        with pytest.raises(grpc.RpcError) as timed_out:
            dashboard.command(stalled.session_id, pb.COMMAND_TYPE_PAUSE, timeout_ms=COMMAND_TIMEOUT_MS)
        assert timed_out.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        release.set()
        first.join(10)

        def pause_entry():
            entries = dashboard.snapshot(stalled.session_id).commands
            pauses = (e for e in entries if e.type == pb.COMMAND_TYPE_PAUSE)
            return next((e for e in pauses if e.state == dpb.COMMAND_STATE_EXPIRED), None)

        entry = wait_for(pause_entry, what="the audit to say EXPIRED")
        assert "did not apply it" in entry.result_message
        assert stalled.state == "running"
        assert stalled.stats()["commands_expired"] == 1
        assert not any(e.code == pb.ERROR_CODE_UNKNOWN_COMMAND for e in stalled.errors())
        assert stalled.gate(timeout=1)
        stalled.log_batch(0, 1, 0.5)
        assert stalled.flush(10)
        assert dashboard.session(stalled.session_id).status == pb.TRAINING_STATUS_RUNNING

        # The other run on the same server is unaffected and still obeys commands.
        healthy.log_batch(0, 1, 0.5)
        assert healthy.flush(10)
        paused = dashboard.command(healthy.session_id, pb.COMMAND_TYPE_PAUSE)
        assert paused.entry.state == dpb.COMMAND_STATE_SUCCEEDED
        assert healthy.state == "paused"
    finally:
        release.set()
        stalled.close(timeout=2)
        healthy.close(timeout=2)

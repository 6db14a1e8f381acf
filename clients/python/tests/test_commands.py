"""Command handling without a server: once per id, handlers can refuse, the gate moves."""

from __future__ import annotations

from trainwatch.commands import CommandProcessor
from trainwatch.config import status_value
from trainwatch.gate import Gate
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb


class Recorder:
    def __init__(self) -> None:
        self.gate = Gate()
        self.status = pb.TRAINING_STATUS_RUNNING
        self.statuses: list = []
        self.results: list = []
        self.processor = CommandProcessor(
            self.gate, self.set_status, lambda: self.status, self.results.append
        )

    def set_status(self, status: str, message: str) -> None:
        self.status = status_value(status)
        self.statuses.append((status, message))

    def send(self, kind: int, command_id: str) -> None:
        self.processor.apply(pb.ControlCommand(type=kind, command_id=command_id, issued_by="alice"))


def test_each_command_gets_one_result_with_the_status_after_it() -> None:
    r = Recorder()
    r.send(pb.COMMAND_TYPE_PAUSE, "c1")
    r.send(pb.COMMAND_TYPE_PAUSE, "c1")  # redelivered after a reconnect: ignored
    r.send(pb.COMMAND_TYPE_RESUME, "c2")
    assert [(x.command_id, x.success, x.status) for x in r.results] == [
        ("c1", True, pb.TRAINING_STATUS_PAUSED),
        ("c2", True, pb.TRAINING_STATUS_RUNNING),
    ]
    assert r.statuses == [("paused", "paused by alice"), ("running", "resumed by alice")]


def test_commands_that_do_not_fit_are_refused_with_the_reason() -> None:
    r = Recorder()
    r.send(pb.COMMAND_TYPE_RESUME, "c1")
    r.send(pb.COMMAND_TYPE_STOP, "c2")
    r.send(pb.COMMAND_TYPE_PAUSE, "c3")
    r.send(pb.COMMAND_TYPE_STOP, "c4")
    r.send(pb.COMMAND_TYPE_UNSPECIFIED, "c5")
    assert [(x.success, x.message) for x in r.results] == [
        (False, "not paused (running)"),
        (True, "stopping: the loop ends at its next gate"),
        (False, "not running (stopped)"),
        (False, "already stopping"),
        (False, "unsupported command type 0"),
    ]
    assert r.gate.wait(0) is False


def test_a_handler_that_raises_refuses_the_command_and_the_gate_stays() -> None:
    r = Recorder()
    seen = []
    r.processor.handlers.append(lambda command: seen.append(command.command_id))
    r.processor.handlers.append(lambda command: 1 / 0)
    r.send(pb.COMMAND_TYPE_PAUSE, "c1")
    [result] = r.results
    assert not result.success and result.message == "handler failed: ZeroDivisionError: division by zero"
    assert seen == ["c1"] and r.gate.state == "running" and r.statuses == []


def test_a_command_past_its_deadline_is_answered_expired_and_not_applied() -> None:
    import time

    r = Recorder()
    now_ms = int(time.time() * 1000)
    r.processor.apply(
        pb.ControlCommand(type=pb.COMMAND_TYPE_PAUSE, command_id="late", expires_at_ms=now_ms - 1000)
    )
    assert r.gate.state == "running"
    assert r.statuses == []
    assert r.processor.expired == 1
    [result] = r.results
    assert (result.command_id, result.success, result.expired) == ("late", False, True)
    assert "after its deadline" in result.message
    # A deadline still ahead, or none (0), is applied as before.
    r.processor.apply(
        pb.ControlCommand(type=pb.COMMAND_TYPE_PAUSE, command_id="on-time", expires_at_ms=now_ms + 60_000)
    )
    assert r.gate.state == "paused"
    assert (r.results[1].success, r.results[1].expired) == (True, False)

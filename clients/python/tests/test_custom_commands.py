"""Custom commands (``@run.command``): declarations, the handler's outcome, and the real server."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from harness import Dashboard, ServerProcess, wait_for

from trainwatch import Arg, ConnectionOptions, TrainingSession
from trainwatch.commands import CommandProcessor
from trainwatch.gate import Gate
from trainwatch.gen.telemetry.v1 import custom_commands_pb2 as cpb
from trainwatch.gen.telemetry.v1 import dashboard_pb2 as dpb
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb
from trainwatch.rules import MAX_CUSTOM_COMMANDS

FAST = ConnectionOptions(reconnect_initial_delay=0.05, reconnect_max_delay=0.3, ack_timeout=5.0)
CONFIG = {"total_epochs": 1, "batches_per_epoch": 1000, "batch_size": 8}


def number(value: float) -> pb.HyperparameterValue:
    return pb.HyperparameterValue(number=value)


def send_once_attached(dashboard: Dashboard, request: dpb.SendCommandRequest) -> dpb.SendCommandResponse:
    """SendCommand, asked again only while the server has not attached the trainer's stream yet.

    The client counts its stream open before the server has read the stream's first message; until
    then the server answers FAILED_PRECONDITION without telling the trainer, so asking again sends
    the command once.
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            return dashboard.stub.SendCommand(request, timeout=10)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION or time.monotonic() >= deadline:
                raise
        time.sleep(0.02)


def custom(session_id: str, name: str, **arguments: pb.HyperparameterValue) -> dpb.SendCommandRequest:
    return dpb.SendCommandRequest(
        session_id=session_id,
        type=pb.COMMAND_TYPE_CUSTOM,
        custom_name=name,
        arguments=arguments,
        issued_by="pytest",
        timeout_ms=5000,
    )


# -- without a server ---------------------------------------------------------------------------


def processor() -> tuple:
    results: list = []
    gate = Gate()
    commands = CommandProcessor(gate, lambda status, message: None, lambda: 2, results.append)
    return commands, gate, results


def test_the_handler_gets_keywords_and_its_return_is_the_result() -> None:
    commands, gate, results = processor()
    seen = []

    def set_lr(lr: float, steps: int, note: str) -> str:
        seen.append((lr, steps, note))
        return f"lr is {lr}"

    commands.custom.add("set_lr", set_lr, {"lr": float, "steps": int, "note": Arg(str, required=False)})
    commands.apply(
        pb.ControlCommand(
            type=pb.COMMAND_TYPE_CUSTOM,
            command_id="c1",
            custom_name="set_lr",
            arguments={"lr": number(0.5), "steps": number(3)},
        )
    )
    # An int argument arrives as an int; one left out is None.
    assert seen == [(0.5, 3, None)] and isinstance(seen[0][1], int)
    assert [(r.command_id, r.success, r.message) for r in results] == [("c1", True, "lr is 0.5")]
    assert gate.state == "running"


def test_raising_or_an_unknown_name_fails_the_command_with_the_reason() -> None:
    commands, gate, results = processor()

    def explode() -> None:
        raise OSError("disk full")

    commands.custom.add("save_checkpoint", explode, {})
    for command_id, name in (("c1", "save_checkpoint"), ("c2", "reboot")):
        commands.apply(
            pb.ControlCommand(type=pb.COMMAND_TYPE_CUSTOM, command_id=command_id, custom_name=name)
        )
    assert [(r.success, r.message) for r in results] == [
        (False, "handler failed: OSError: disk full"),
        (False, "this trainer has no handler for reboot"),
    ]
    assert gate.state == "running"


def test_declarations_that_break_a_rule_are_refused_naming_it() -> None:
    commands, _, _ = processor()
    with pytest.raises(ValueError, match=r"'Set LR' is invalid: use 1-64 characters"):
        commands.custom.add("Set LR", lambda: None, {})
    with pytest.raises(TypeError, match="argument lr has type <class 'list'>"):
        commands.custom.add("set_lr", lambda lr: None, {"lr": list})
    with pytest.raises(ValueError, match="default of argument lr is not a"):
        commands.custom.add("set_lr", lambda lr: None, {"lr": Arg(float, default="fast")})
    for index in range(MAX_CUSTOM_COMMANDS):
        commands.custom.add(f"c{index}", lambda: None, {})
    with pytest.raises(ValueError, match=f"at most {MAX_CUSTOM_COMMANDS} custom commands"):
        commands.custom.add("one_more", lambda: None, {})


# -- against the real server --------------------------------------------------------------------


def test_a_decorated_handler_is_advertised_and_run_from_the_dashboard(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    def run() -> TrainingSession:
        session_id = f"py-{uuid.uuid4().hex[:12]}"
        return TrainingSession(server.address, CONFIG, session_id=session_id, connection=FAST)

    session, other = run(), run()
    other_commands: list = []
    other.on_command(other_commands.append)
    rates: list = []

    @session.command("set_lr", lr=float, note=Arg(str, default="manual"), description="learning rate")
    def set_lr(lr: float, note: str) -> str:
        rates.append(lr)
        return f"lr is {lr} ({note})"

    try:
        session.connect()
        other.connect()
        assert session.wait_registered(10) and other.wait_registered(10)
        snapshot = dashboard.snapshot(session.session_id)
        [spec] = snapshot.custom_commands
        assert spec.name == "set_lr" and spec.description == "learning rate"
        assert [(a.name, a.type, a.required) for a in spec.arguments] == [
            ("lr", cpb.COMMAND_ARGUMENT_TYPE_NUMBER, True),
            ("note", cpb.COMMAND_ARGUMENT_TYPE_TEXT, False),
        ]
        answer = send_once_attached(dashboard, custom(session.session_id, "set_lr", lr=number(0.02)))
        assert answer.entry.state == dpb.COMMAND_STATE_SUCCEEDED
        assert answer.entry.result_message == "lr is 0.02 (manual)"
        assert answer.entry.custom_name == "set_lr" and rates == [0.02]

        # Refused by the server before the trainer hears of it.
        with pytest.raises(grpc.RpcError) as refused:
            dashboard.stub.SendCommand(custom(session.session_id, "set_lr"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == "command set_lr: argument lr is required"
        assert rates == [0.02]

        # One added while streaming registers again; the run carries on.
        @session.command("save_checkpoint")
        def save_checkpoint() -> str:
            return "/tmp/ckpt-3.pt"

        wait_for(
            lambda: [c.name for c in dashboard.snapshot(session.session_id).custom_commands]
            == ["set_lr", "save_checkpoint"],
            what="save_checkpoint advertised",
        )
        saved = dashboard.stub.SendCommand(custom(session.session_id, "save_checkpoint"), timeout=10)
        assert saved.entry.result_message == "/tmp/ckpt-3.pt"
        assert session.stats()["reconnects"] == 0
        assert other_commands == []
    finally:
        session.close()
        other.close()

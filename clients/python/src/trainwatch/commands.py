"""What the trainer does with a ControlCommand: handlers, the gate, a status and one result."""

from __future__ import annotations

import collections
import logging
import time
from typing import Any, Callable, Deque, List, Optional, Tuple

from .custom_commands import CustomCommands
from .gate import Gate
from .gen.telemetry.v1 import telemetry_pb2 as pb

CommandHandler = Callable[[pb.ControlCommand], Any]

REMEMBERED_COMMANDS = 256
"""Command ids remembered so a redelivered command is not applied twice."""

log = logging.getLogger("trainwatch")


def command_expired(command: pb.ControlCommand, now_ms: Optional[int] = None) -> bool:
    """True when ``command`` carries a deadline (``expires_at_ms``) that has passed.

    The deadline is on the server's clock and ``now_ms`` on the trainer's: this assumes the two are
    kept in step (NTP) to well within the command timeout (10 s by default). A trainer clock that runs
    behind accepts late commands for that much longer; one that runs ahead expires them early.
    """
    if command.expires_at_ms <= 0:
        return False
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return now > command.expires_at_ms


class CommandProcessor:
    """Applies commands in arrival order on the connection thread.

    Handlers run first; one that raises refuses the command and the gate stays as it was. The new
    status is queued before the CommandResult, so by the time the dashboard's SendCommand resolves
    the session already shows it.
    """

    def __init__(
        self,
        gate: Gate,
        set_status: Callable[[str, str], None],
        current_status: Callable[[], int],
        send_result: Callable[[pb.CommandResult], None],
    ) -> None:
        self._gate = gate
        self._set_status = set_status
        self._current_status = current_status
        self._send_result = send_result
        self.handlers: List[CommandHandler] = []
        self.custom = CustomCommands()
        """Handlers of COMMAND_TYPE_CUSTOM by name (``TrainingSession.command``)."""
        self._seen: Deque[str] = collections.deque(maxlen=REMEMBERED_COMMANDS)
        self.expired = 0
        """Commands that arrived after their deadline and were answered as expired, not applied."""

    def apply(self, command: pb.ControlCommand) -> None:
        if command.command_id and command.command_id in self._seen:
            return  # redelivered after a reconnect: its result is already queued
        self._seen.append(command.command_id)
        now_ms = int(time.time() * 1000)
        if command_expired(command, now_ms):
            # The dashboard was already told it timed out: applying it now would surprise everyone.
            self.expired += 1
            message = (
                f"not applied: received {now_ms - command.expires_at_ms} ms after its deadline "
                "(the dashboard had stopped waiting)"
            )
            log.warning("trainwatch: command %s %s", command.command_id, message)
            self._send_result(
                pb.CommandResult(
                    command_id=command.command_id,
                    success=False,
                    message=message,
                    status=self._current_status(),
                    expired=True,
                )
            )
            return
        success, message = True, ""
        try:
            for handler in list(self.handlers):
                handler(command)
            if command.type == pb.COMMAND_TYPE_CUSTOM:
                success, message = self.custom.run(command)
        except Exception as error:  # a user callback must not take the connection down
            success, message = False, f"handler failed: {type(error).__name__}: {error}"
        # A custom command runs its handler only; the gate stays where it is.
        if success and command.type != pb.COMMAND_TYPE_CUSTOM:
            success, message = self._move_gate(command)
        self._send_result(
            pb.CommandResult(
                command_id=command.command_id, success=success, message=message, status=self._current_status()
            )
        )

    def _move_gate(self, command: pb.ControlCommand) -> Tuple[bool, str]:
        by = command.issued_by or "dashboard"
        if command.type == pb.COMMAND_TYPE_PAUSE:
            if not self._gate.pause():
                return False, f"not running ({self._gate.state})"
            self._set_status("paused", f"paused by {by}")
            return True, "paused before the next batch"
        if command.type == pb.COMMAND_TYPE_RESUME:
            if not self._gate.resume():
                return False, f"not paused ({self._gate.state})"
            self._set_status("running", f"resumed by {by}")
            return True, "resumed"
        if command.type == pb.COMMAND_TYPE_STOP:
            if not self._gate.stop():
                return False, "already stopping"
            # COMPLETED is final on the server, so close() reports it once the loop has ended.
            self._set_status("running", f"stopping (by {by})")
            return True, "stopping: the loop ends at its next gate"
        return False, f"unsupported command type {command.type}"

"""Custom commands: named handlers with typed arguments a dashboard can run (``@run.command``).

The bounds and name pattern are those of libs/proto/src/rules.ts (see rules.py); the server checks
them again at registration and checks every sent command against the declaration before the
trainer hears of it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .gen.telemetry.v1 import custom_commands_pb2 as cpb
from .gen.telemetry.v1 import telemetry_pb2 as pb
from .rules import (
    CUSTOM_COMMAND_NAME_PATTERN,
    CUSTOM_COMMAND_NAME_RULE,
    MAX_COMMAND_ARGUMENTS,
    MAX_COMMAND_DESCRIPTION_LENGTH,
    MAX_COMMAND_TEXT_ARGUMENT_LENGTH,
    MAX_CUSTOM_COMMANDS,
)

Value = Union[float, int, str, bool]
CustomHandler = Callable[..., Any]

_TYPES: Dict[Any, int] = {
    float: cpb.COMMAND_ARGUMENT_TYPE_NUMBER,
    int: cpb.COMMAND_ARGUMENT_TYPE_NUMBER,
    "number": cpb.COMMAND_ARGUMENT_TYPE_NUMBER,
    str: cpb.COMMAND_ARGUMENT_TYPE_TEXT,
    "text": cpb.COMMAND_ARGUMENT_TYPE_TEXT,
    bool: cpb.COMMAND_ARGUMENT_TYPE_FLAG,
    "flag": cpb.COMMAND_ARGUMENT_TYPE_FLAG,
}


class Arg:
    """One argument with more than its type: ``Arg(float, default=1e-3, description="...")``.

    A bare type (``lr=float``) is a required argument. With a default it may be left out; with
    ``required=False`` and no default the handler gets ``None`` when it is.
    """

    def __init__(
        self,
        type: Any,  # noqa: A002 - reads as the declaration it is: Arg(float, ...)
        *,
        default: Optional[Value] = None,
        required: Optional[bool] = None,
        description: str = "",
    ) -> None:
        self.type = type
        self.default = default
        self.required = (default is None) if required is None else required
        self.description = description


def _argument_spec(command: str, name: str, declaration: Any) -> Tuple[cpb.CommandArgumentSpec, Any]:
    arg = declaration if isinstance(declaration, Arg) else Arg(declaration)
    kind = _TYPES.get(arg.type)
    if kind is None:
        raise TypeError(
            f"custom command {command}: argument {name} has type {arg.type!r}; use float, int, str or bool"
        )
    if not CUSTOM_COMMAND_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"custom command {command}: argument name {name!r} is invalid: use {CUSTOM_COMMAND_NAME_RULE}"
        )
    if len(arg.description) > MAX_COMMAND_DESCRIPTION_LENGTH:
        raise ValueError(
            f"custom command {command}: argument {name}: description is longer than "
            f"{MAX_COMMAND_DESCRIPTION_LENGTH} characters"
        )
    spec = cpb.CommandArgumentSpec(name=name, type=kind, description=arg.description, required=arg.required)
    if arg.default is not None:
        default = arg.default
        if kind == cpb.COMMAND_ARGUMENT_TYPE_FLAG and isinstance(default, bool):
            spec.default_flag = default
        elif kind == cpb.COMMAND_ARGUMENT_TYPE_NUMBER and type(default) in (int, float):
            spec.default_number = float(default)
        elif kind == cpb.COMMAND_ARGUMENT_TYPE_TEXT and isinstance(default, str):
            if len(default) > MAX_COMMAND_TEXT_ARGUMENT_LENGTH:
                raise ValueError(
                    f"custom command {command}: default of argument {name} is longer than "
                    f"{MAX_COMMAND_TEXT_ARGUMENT_LENGTH} characters"
                )
            spec.default_text = default
        else:
            raise ValueError(f"custom command {command}: default of argument {name} is not a {arg.type!r}")
    return spec, arg.type


def _plain(value: pb.HyperparameterValue, declared: Any) -> Optional[Value]:
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    plain = getattr(value, kind)
    # An int argument arrives as a double; hand the handler an int when it is whole.
    if declared is int and isinstance(plain, float) and plain.is_integer():
        return int(plain)
    return plain


class CustomCommands:
    """The handlers a run offers by name (at most MAX_CUSTOM_COMMANDS), in the order added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: Dict[str, Tuple[cpb.CustomCommandSpec, Dict[str, Any], CustomHandler]] = {}

    def add(
        self, name: str, handler: CustomHandler, arguments: Mapping[str, Any], description: str = ""
    ) -> cpb.CustomCommandSpec:
        """Declares a command; ValueError or TypeError naming the rule it breaks."""
        if not CUSTOM_COMMAND_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"custom command name {name!r} is invalid: use {CUSTOM_COMMAND_NAME_RULE}")
        if len(description) > MAX_COMMAND_DESCRIPTION_LENGTH:
            raise ValueError(
                f"custom command {name}: description is longer than "
                f"{MAX_COMMAND_DESCRIPTION_LENGTH} characters"
            )
        if len(arguments) > MAX_COMMAND_ARGUMENTS:
            raise ValueError(
                f"custom command {name} declares {len(arguments)} arguments; "
                f"at most {MAX_COMMAND_ARGUMENTS} are allowed"
            )
        declared: Dict[str, Any] = {}
        specs: List[cpb.CommandArgumentSpec] = []
        for argument, declaration in arguments.items():
            spec, python_type = _argument_spec(name, argument, declaration)
            specs.append(spec)
            declared[argument] = python_type
        command = cpb.CustomCommandSpec(name=name, description=description, arguments=specs)
        with self._lock:
            if name in self._by_name:
                raise ValueError(f"custom command {name} already has a handler; remove it first")
            if len(self._by_name) >= MAX_CUSTOM_COMMANDS:
                raise ValueError(
                    f"a run may offer at most {MAX_CUSTOM_COMMANDS} custom commands; {name} would be one more"
                )
            self._by_name[name] = (command, declared, handler)
        return command

    def remove(self, name: str) -> bool:
        with self._lock:
            return self._by_name.pop(name, None) is not None

    def specs(self) -> List[cpb.CustomCommandSpec]:
        """What SessionInfo.custom_commands advertises."""
        with self._lock:
            return [spec for spec, _, _ in self._by_name.values()]

    def run(self, command: pb.ControlCommand) -> Tuple[bool, str]:
        """Calls the named handler with the command's arguments as keywords; its outcome.

        A returned string is the result message; a ``(success, message)`` tuple or a dict with
        ``success``/``message`` says more; raising reports the command failed with the error.
        """
        with self._lock:
            found = self._by_name.get(command.custom_name)
        if found is None:
            return False, f"this trainer has no handler for {command.custom_name}"
        spec, declared, handler = found
        kwargs: Dict[str, Any] = {argument.name: None for argument in spec.arguments}
        for name, value in command.arguments.items():
            kwargs[name] = _plain(value, declared.get(name))
        result = handler(**kwargs)
        if result is None:
            return True, f"{command.custom_name} done"
        if isinstance(result, tuple) and len(result) == 2:
            return bool(result[0]), str(result[1])
        if isinstance(result, Mapping):
            message = result.get("message", f"{command.custom_name} done")
            return bool(result.get("success", True)), str(message)
        return True, str(result)

"""Hyperparameters, tags and note of a run (RunMetadata), checked and merged.

The merged state is what registration sends (so a restarted server learns all of it); an update
returns the part to send and, for each entry left out, why. Same rules as the server and the
TypeScript SDK.
"""

from __future__ import annotations

import math
import numbers
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from .gen.telemetry.v1 import telemetry_pb2 as pb
from .rules import (
    MAX_HYPERPARAMETER_TEXT_LENGTH,
    MAX_HYPERPARAMETERS,
    MAX_NOTE_LENGTH,
    MAX_TAGS,
    SERIES_NAME_PATTERN,
    SERIES_NAME_RULE,
    TAG_PATTERN,
    TAG_RULE,
)

Hyperparameter = Union[float, int, str, bool]


def _value(value: Hyperparameter) -> pb.HyperparameterValue:
    if isinstance(value, bool):
        return pb.HyperparameterValue(flag=value)
    if isinstance(value, numbers.Real):
        return pb.HyperparameterValue(number=float(value))
    return pb.HyperparameterValue(text=value)


def _problem(name: Any, value: Any) -> Optional[str]:
    if not isinstance(name, str) or not SERIES_NAME_PATTERN.fullmatch(name):
        return f"hyperparameter {str(name)[:80]!r}: a name must be {SERIES_NAME_RULE}"
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        if math.isfinite(float(value)):
            return None
        return f"hyperparameter {name}: {value} is not finite (the server refuses it)"
    if isinstance(value, str):
        if len(value) <= MAX_HYPERPARAMETER_TEXT_LENGTH:
            return None
        return (
            f"hyperparameter {name}: text of {len(value)} characters, "
            f"at most {MAX_HYPERPARAMETER_TEXT_LENGTH}"
        )
    return f"hyperparameter {name}: must be a number, a string or a bool, got {type(value).__name__}"


class RunMetadataState:
    def __init__(self) -> None:
        self._hyperparameters: Dict[str, Hyperparameter] = {}
        self._tags: List[str] = []
        self._note: Optional[str] = None
        self._lock = threading.Lock()

    def update(
        self,
        hyperparameters: Optional[Mapping[str, Hyperparameter]] = None,
        tags: Optional[Iterable[str]] = None,
        note: Optional[str] = None,
        replace_tags: bool = False,
    ) -> Tuple[pb.RunMetadata, List[str]]:
        problems: List[str] = []
        message = pb.RunMetadata(replace_tags=replace_tags)
        with self._lock:
            for name, value in (hyperparameters or {}).items():
                full = name not in self._hyperparameters and len(self._hyperparameters) >= MAX_HYPERPARAMETERS
                problem = _problem(name, value) or (
                    f"hyperparameter {name}: a run has at most {MAX_HYPERPARAMETERS}" if full else None
                )
                if problem is not None:
                    problems.append(problem)
                    continue
                self._hyperparameters[name] = value
                message.hyperparameters[name].CopyFrom(_value(value))
            base = [] if replace_tags else self._tags
            added: List[str] = []
            for tag in tags or []:
                if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
                    problems.append(f"tag {str(tag)[:80]!r}: a tag must be {TAG_RULE}")
                elif tag not in base and tag not in added and len(base) + len(added) >= MAX_TAGS:
                    problems.append(f"tag {tag}: a run has at most {MAX_TAGS} tags")
                else:
                    added.append(tag)
            message.tags.extend(added)
            self._tags = list(dict.fromkeys([*base, *added]))
            if note is not None:
                if len(note) > MAX_NOTE_LENGTH:
                    problems.append(f"note of {len(note)} characters, at most {MAX_NOTE_LENGTH}")
                else:
                    self._note = note
                    message.note = note
        return message, problems

    def merged(self) -> pb.RunMetadata:
        with self._lock:
            merged = pb.RunMetadata(tags=self._tags, replace_tags=True)
            for name, value in self._hyperparameters.items():
                merged.hyperparameters[name].CopyFrom(_value(value))
            if self._note is not None:
                merged.note = self._note
            return merged

"""What a run is (TrainingConfig) and how statuses are spelled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Union

from .gen.telemetry.v1 import telemetry_pb2 as pb


@dataclass
class TrainingConfig:
    """Shape of the run, sent when registering. Totals drive the ETA."""

    total_epochs: int
    batches_per_epoch: int
    batch_size: int
    model_name: str = ""
    dataset_name: str = ""
    class_names: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("total_epochs", "batches_per_epoch", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TrainingConfig.{name} must be an integer >= 1, got {value!r}")
        self.class_names = [str(name) for name in self.class_names]

    @classmethod
    def coerce(cls, value: Union["TrainingConfig", Mapping[str, Any]]) -> "TrainingConfig":
        if isinstance(value, TrainingConfig):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown TrainingConfig fields: {', '.join(sorted(unknown))}")
            return cls(**dict(value))
        raise TypeError(f"config must be a TrainingConfig or a dict, got {type(value).__name__}")

    def to_proto(self) -> pb.TrainingConfig:
        return pb.TrainingConfig(
            total_epochs=self.total_epochs,
            batches_per_epoch=self.batches_per_epoch,
            batch_size=self.batch_size,
            model_name=self.model_name,
            dataset_name=self.dataset_name,
            class_names=self.class_names,
        )


_STATUS_BY_NAME: Dict[str, int] = {
    name[len("TRAINING_STATUS_") :].lower(): value for name, value in pb.TrainingStatus.items()
}


def status_value(status: Union[str, int]) -> int:
    """ "running" / "RUNNING" / "TRAINING_STATUS_RUNNING" / the enum number → the enum number."""
    if isinstance(status, int) and not isinstance(status, bool):
        if status not in _STATUS_BY_NAME.values():
            raise ValueError(f"unknown training status {status}")
        return status
    if isinstance(status, str):
        key = status.strip().lower()
        key = key[len("training_status_") :] if key.startswith("training_status_") else key
        if key in _STATUS_BY_NAME:
            return _STATUS_BY_NAME[key]
    raise ValueError(f"unknown training status {status!r}; use one of {', '.join(_STATUS_BY_NAME)}")


def status_name(value: int) -> str:
    return next((name for name, number in _STATUS_BY_NAME.items() if number == value), "unknown")

"""TrainingConfig and status spelling; bad input is named before anything is sent."""

from __future__ import annotations

import pytest

from trainwatch import TrainingConfig, TrainingSession
from trainwatch.config import status_value
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb

BASE = {"total_epochs": 2, "batches_per_epoch": 10, "batch_size": 4}


def test_a_dict_becomes_the_proto_config() -> None:
    config = TrainingConfig.coerce({**BASE, "class_names": ["a", "b"], "model_name": "m"})
    assert config.to_proto() == pb.TrainingConfig(
        total_epochs=2, batches_per_epoch=10, batch_size=4, model_name="m", class_names=["a", "b"]
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"total_epochs": 0}, "total_epochs"),
        ({"batch_size": "4"}, "batch_size"),
        ({"learning_rate": 1}, "unknown"),
    ],
)
def test_bad_configs_are_named(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingConfig.coerce({**BASE, **change})


def test_session_ids_and_buffer_sizes_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="session_id"):
        TrainingSession("127.0.0.1:1", BASE, session_id="has spaces")
    with pytest.raises(ValueError, match="buffer_size"):
        TrainingSession("127.0.0.1:1", BASE, buffer_size=0)


def test_status_spellings() -> None:
    assert status_value("running") == status_value("RUNNING") == status_value("TRAINING_STATUS_RUNNING")
    assert status_value(pb.TRAINING_STATUS_FAILED) == pb.TRAINING_STATUS_FAILED
    with pytest.raises(ValueError, match="unknown training status"):
        status_value("sleeping")

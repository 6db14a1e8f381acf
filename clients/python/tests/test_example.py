"""examples/train_cnn.py trains for real, streams into the server and obeys the dashboard."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from harness import Dashboard, ServerProcess, wait_for

from trainwatch.gen.telemetry.v1 import dashboard_pb2 as dpb
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_cnn.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed (python3-torch)"
)


def test_the_example_streams_and_stops_when_the_dashboard_says_so(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    session_id = f"example-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLE),
            "--server",
            server.address,
            "--epochs",
            "50",
            "--batches",
            "40",
            "--session-id",
            session_id,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(
            lambda: (s := dashboard.session(session_id)) and s.batches_received >= 45,
            timeout=60,
            what="the example past its first epoch",
        )
        snapshot = dashboard.snapshot(session_id)
        assert len(snapshot.epochs) >= 1 and snapshot.latest_images.images
        assert snapshot.latest_images.predictions[0].predicted_label in snapshot.session.config.class_names
        names = {series.name for series in snapshot.series}
        assert {"loss", "lr", "grad_norm", "train/acc", "val/loss", "val/acc"} <= names, names
        assert list(snapshot.session.metadata.tags) == ["example", "shapes"]
        assert snapshot.session.metadata.hyperparameters["optimizer"].text == "sgd"
        # The custom commands: a fixed learning rate from the next step, and a checkpoint on disk.
        set_lr = dashboard.stub.SendCommand(
            dpb.SendCommandRequest(
                session_id=session_id,
                type=pb.COMMAND_TYPE_CUSTOM,
                custom_name="set_lr",
                arguments={"lr": pb.HyperparameterValue(number=0.0042)},
            ),
            timeout=15,
        )
        assert set_lr.entry.state == dpb.COMMAND_STATE_SUCCEEDED, set_lr.entry.result_message
        wait_for(
            lambda: [
                value
                for series in dashboard.stub.QuerySeries(
                    dpb.QuerySeriesRequest(session_id=session_id, names=["lr"], max_points=10000),
                    timeout=5,
                ).series
                for value in series.lasts
                if value == pytest.approx(0.0042)
            ],
            timeout=30,
            what="lr 0.0042 in the lr series",
        )
        saved = dashboard.stub.SendCommand(
            dpb.SendCommandRequest(
                session_id=session_id, type=pb.COMMAND_TYPE_CUSTOM, custom_name="save_checkpoint"
            ),
            timeout=15,
        )
        assert saved.entry.state == dpb.COMMAND_STATE_SUCCEEDED, saved.entry.result_message
        checkpoint = Path(saved.entry.result_message)
        assert checkpoint.suffix == ".pt" and checkpoint.stat().st_size > 0
        import torch  # present: the module is skipped without it

        assert torch.load(checkpoint)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.0042)
        result = dashboard.command(session_id, pb.COMMAND_TYPE_STOP)
        assert result.entry.state == dpb.COMMAND_STATE_SUCCEEDED
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "(stopped)" in output
    summary = dashboard.session(session_id)
    assert (
        summary.status == pb.TRAINING_STATUS_COMPLETED
        and summary.status_message == "stopped from the dashboard"
    )
    assert summary.batches_received < 50 * 40

"""The checked-in stubs are exactly what scripts/generate.py makes from proto/ today."""

from __future__ import annotations

import filecmp
import importlib.util
import shutil
from pathlib import Path

import pytest

CLIENT_ROOT = Path(__file__).resolve().parents[1]
CHECKED_IN = CLIENT_ROOT / "src" / "trainwatch" / "gen"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate", CLIENT_ROOT / "scripts" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*.py"))}


def regenerate(generator, out: Path, proto_root: Path = None) -> dict:
    try:
        generator.generate(out, proto_root or generator.PROTO_ROOT)
    except generator.GenerateError as error:
        pytest.fail(f"cannot regenerate the stubs: {error}")
    return tree(out)


def test_checked_in_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    fresh = regenerate(load_generator(), tmp_path / "gen")
    current = tree(CHECKED_IN)
    assert sorted(fresh) == sorted(current), "run: /usr/bin/python3 clients/python/scripts/generate.py"
    drifted = [name for name in fresh if not filecmp.cmp(fresh[name], current[name], shallow=False)]
    assert drifted == [], f"stale stubs {drifted}; run: /usr/bin/python3 clients/python/scripts/generate.py"


def test_a_proto_change_shows_up_as_drift(tmp_path: Path) -> None:
    generator = load_generator()
    protos = tmp_path / "proto"
    shutil.copytree(generator.PROTO_ROOT, protos)
    telemetry = protos / "telemetry" / "v1" / "telemetry.proto"
    telemetry.write_text(
        telemetry.read_text().replace("message Heartbeat {", "message Heartbeat {\n  string note = 99;")
    )
    changed = regenerate(generator, tmp_path / "gen", protos)
    assert not filecmp.cmp(
        changed["telemetry/v1/telemetry_pb2.py"], CHECKED_IN / "telemetry/v1/telemetry_pb2.py", shallow=False
    )


def test_stubs_import_from_the_package() -> None:
    from trainwatch.gen.telemetry.v1 import dashboard_pb2_grpc, telemetry_pb2

    assert telemetry_pb2.MetricsRequest.DESCRIPTOR.full_name == "telemetry.v1.MetricsRequest"
    assert hasattr(dashboard_pb2_grpc, "DashboardServiceStub")

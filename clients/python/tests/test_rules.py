"""rules.py carries the values of libs/proto/src/rules.ts; this fails on any difference."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from trainwatch import rules

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "clients" / "python" / "scripts" / "print_rules.cjs"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to read rules.ts")
def test_rules_match_the_typescript_source() -> None:
    printed = subprocess.run(
        ["node", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert rules.RULES == json.loads(printed)


def test_patterns_match_whole_names_only() -> None:
    assert rules.SERIES_NAME_PATTERN.fullmatch("val/loss")
    assert not rules.SERIES_NAME_PATTERN.fullmatch("val/loss\n")
    assert not rules.SERIES_NAME_PATTERN.fullmatch("/lead")
    assert not rules.SERIES_NAME_PATTERN.fullmatch("x" * 129)
    assert rules.TAG_PATTERN.fullmatch("baseline run")
    assert not rules.TAG_PATTERN.fullmatch(" lead")
    assert not rules.TAG_PATTERN.fullmatch("a,b")
    assert rules.global_step(2, 3, 10) == 23
    assert rules.CUSTOM_COMMAND_NAME_PATTERN.fullmatch("set_lr")
    assert not rules.CUSTOM_COMMAND_NAME_PATTERN.fullmatch("Set-LR")
    assert not rules.CUSTOM_COMMAND_NAME_PATTERN.fullmatch("set_lr\n")

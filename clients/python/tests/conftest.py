"""Fixtures: the real server (built by `npx nx build server`) over real sockets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

# Tests run against the source tree; `pip install ./clients/python` is not required.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Dashboard, ServerProcess  # noqa: E402

# Short heartbeats so liveness is observable in a test's time; everything else is the default.
FAST_SERVER_ENV = {"HEARTBEAT_INTERVAL_MS": "200", "COMMAND_TIMEOUT_MS": "5000"}


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One server shared by tests that never stop it."""
    process = ServerProcess(FAST_SERVER_ENV).start()
    yield process
    process.stop()


@pytest.fixture
def own_server() -> Iterator[ServerProcess]:
    """A server this test may kill and restart (not started yet)."""
    process = ServerProcess(FAST_SERVER_ENV)
    yield process
    process.stop()


@pytest.fixture
def forgetful_server() -> Iterator[ServerProcess]:
    """A server that keeps nothing across its restart (STORE_ENGINE=memory): how the client copes
    when the server lost its state. The durable path is the store's own kill -9 test."""
    process = ServerProcess({**FAST_SERVER_ENV, "STORE_ENGINE": "memory"})
    yield process
    process.stop()


@pytest.fixture
def dashboard(server: ServerProcess) -> Iterator[Dashboard]:
    client = Dashboard(server.address)
    yield client
    client.close()

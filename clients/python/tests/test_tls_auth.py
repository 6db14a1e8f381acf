"""TLS and API keys, as the Python SDK sees them: a CA made by the test, a key from the admin CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict

import pytest

from harness import WORKSPACE_ROOT, ServerProcess, wait_for
from trainwatch import TrainingSession
from trainwatch.connection import ConnectionOptions

ADMIN_ENTRY = WORKSPACE_ROOT / "dist" / "apps" / "server" / "admin.js"
CONFIG = {"total_epochs": 1, "batches_per_epoch": 10, "batch_size": 1}


def _certificates(directory: Path, prefix: str, name: str) -> Dict[str, str]:
    """A CA and a server certificate for ``name`` signed by it, made with the openssl CLI."""

    def file(suffix: str) -> str:
        return str(directory / f"{prefix}-{suffix}")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={prefix} CA",
            "-keyout", file("ca.key"), "-out", file("ca.pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", file("server.key"), "-out", file("server.csr"))
    Path(file("ext")).write_text(f"subjectAltName=DNS:{name}")
    openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
            "-CAcreateserial", "-days", "1", "-extfile", file("ext"), "-out", file("server.pem"))
    return {"ca": file("ca.pem"), "cert": file("server.pem"), "key": file("server.key")}


def _admin(data_dir: str, *args: str) -> list:
    result = subprocess.run(
        ["node", str(ADMIN_ENTRY), *args],
        cwd=WORKSPACE_ROOT,
        env={"DATA_DIR": data_dir, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("tls")
    good = _certificates(directory, "good", "trainwatch.test")
    other = _certificates(directory, "other", "trainwatch.test")
    data_dir = str(directory / "data")
    _admin(data_dir, "create-user", "tina", "--role", "viewer")
    key = _admin(data_dir, "create-key", "tina")[1]
    server = ServerProcess(
        env={
            "AUTH": "required",
            "DATA_DIR": data_dir,
            "TLS_CERT_FILE": good["cert"],
            "TLS_KEY_FILE": good["key"],
        }
    ).start()
    try:
        yield server, key, good, other
    finally:
        server.stop()


def test_streams_over_tls_with_the_tests_ca_and_an_api_key(tls_server) -> None:
    server, key, good, _ = tls_server
    options = ConnectionOptions(api_key=key, tls_ca_file=good["ca"], tls_server_name="trainwatch.test")
    session = TrainingSession(server.address, CONFIG, connection=options, system_metrics=False).connect()
    try:
        assert session.wait_registered(10)
        session.log_batch(0, 0, 0.5)
        assert session.flush(10)
    finally:
        session.close()


def test_a_wrong_ca_fails_with_a_clear_error(tls_server) -> None:
    server, key, _, other = tls_server
    options = ConnectionOptions(api_key=key, tls_ca_file=other["ca"], tls_server_name="trainwatch.test",
                                register_timeout=1.0)
    session = TrainingSession(server.address, CONFIG, connection=options, system_metrics=False).connect()
    try:
        error = wait_for(lambda: session.stats()["last_error"], what="a connection error")
        assert "UNAVAILABLE" in error
        assert any(word in error.lower() for word in ("certificate", "ssl", "handshake", "tls")), error
    finally:
        session.close(timeout=0)


def test_without_a_key_registration_is_refused_for_good(tls_server) -> None:
    server, _, good, _ = tls_server
    options = ConnectionOptions(api_key="", tls_ca_file=good["ca"], tls_server_name="trainwatch.test")
    session = TrainingSession(server.address, CONFIG, connection=options, system_metrics=False).connect()
    try:
        fatal = wait_for(lambda: session.stats()["fatal_error"], what="the refusal")
        assert "UNAUTHENTICATED" in fatal and "needs an API key" in fatal
    finally:
        session.close(timeout=0)


def test_a_key_revoked_mid_run_by_the_admin_cli_ends_that_run_only(tls_server) -> None:
    server, key, good, _ = tls_server
    data_dir = server.env["DATA_DIR"]
    created = _admin(data_dir, "create-key", "tina", "--name", "doomed")
    key_id, doomed = created[0].split()[1], created[1]
    sessions = {}
    for name, secret in (("kept", key), ("doomed", doomed)):
        options = ConnectionOptions(api_key=secret, tls_ca_file=good["ca"], tls_server_name="trainwatch.test")
        session = TrainingSession(server.address, CONFIG, connection=options, system_metrics=False)
        sessions[name] = session.connect()
    try:
        for session in sessions.values():
            assert session.wait_registered(10)
            session.log_batch(0, 0, 0.5)
            assert session.flush(10)
        # The CLI writes the store from its own process; the server notices on its next check.
        _admin(data_dir, "revoke-key", key_id)
        fatal = wait_for(lambda: sessions["doomed"].stats()["fatal_error"], timeout=1.0,
                         what="the revoked key's run to end")
        assert "UNAUTHENTICATED" in fatal and f"API key {key_id} was revoked" in fatal
        assert doomed not in fatal
        sessions["kept"].log_batch(0, 1, 0.4)
        assert sessions["kept"].flush(10)
        assert sessions["kept"].stats()["fatal_error"] is None
    finally:
        for session in sessions.values():
            session.close(timeout=0)

"""Test helpers: the real server as a child process, a cuttable TCP proxy, waits with deadlines."""

from __future__ import annotations

import atexit
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional, TypeVar

import grpc

from trainwatch.gen.telemetry.v1 import dashboard_pb2 as dpb
from trainwatch.gen.telemetry.v1 import dashboard_pb2_grpc as drpc

WORKSPACE_ROOT = Path(__file__).resolve().parents[3]
SERVER_ENTRY = WORKSPACE_ROOT / "dist" / "apps" / "server" / "main.js"

T = TypeVar("T")


def wait_for(
    probe: Callable[[], Optional[T]], timeout: float = 10.0, what: str = "condition", interval: float = 0.02
) -> T:
    """Polls ``probe`` until it returns something truthy; fails naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as error:  # probes may race the thing they watch; report the last failure
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(http_port: int, grpc_port: int, tls: bool = False) -> bool:
    # Readiness only: a TLS server's certificate is checked by the tests themselves, not here.
    url = f"{'https' if tls else 'http'}://127.0.0.1:{http_port}/healthz"
    context = ssl._create_unverified_context() if tls else None
    try:
        with urllib.request.urlopen(url, timeout=1, context=context) as response:
            if response.status != 200:
                return False
        with socket.create_connection(("127.0.0.1", grpc_port), timeout=1):
            return True
    except OSError:
        return False


class ServerProcess:
    """``node dist/apps/server/main.js`` on fixed free ports; stop/kill/start for restart tests."""

    def __init__(self, env: Optional[Dict[str, str]] = None, grpc_port: Optional[int] = None) -> None:
        if not SERVER_ENTRY.exists():
            raise RuntimeError(f"{SERVER_ENTRY} is missing: run `npx nx build server` first")
        self.grpc_port = grpc_port or free_port()
        self.http_port = free_port()
        # Each server keeps its runs in its own temporary DATA_DIR (kept across restart(), removed at exit).
        self.data_dir = (env or {}).get("DATA_DIR") or tempfile.mkdtemp(prefix="trainwatch-data-")
        if "DATA_DIR" not in (env or {}):
            atexit.register(shutil.rmtree, self.data_dir, True)
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "GRPC_PORT": str(self.grpc_port),
            "HTTP_PORT": str(self.http_port),
            "DATA_DIR": self.data_dir,
            **(env or {}),
        }
        self.process: Optional[subprocess.Popen] = None
        self._log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"trainwatch-server-{self.grpc_port}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        log = open(self._log_path, "ab")
        self.process = subprocess.Popen(
            ["node", str(SERVER_ENTRY)],
            cwd=WORKSPACE_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
            return _healthy(self.http_port, self.grpc_port, bool(self.env.get("TLS_CERT_FILE")))

        wait_for(ready, timeout, f"server on :{self.grpc_port}/:{self.http_port}", interval=0.05)
        return self

    def output(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: a crash, as far as clients can tell."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Dashboard:
    """What a dashboard sees, over the generated DashboardService stubs."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = drpc.DashboardServiceStub(self.channel)

    def session(self, session_id: str) -> Optional[dpb.SessionSummary]:
        sessions = self.stub.ListSessions(dpb.ListSessionsRequest(), timeout=5).sessions
        return next((s for s in sessions if s.session_id == session_id), None)

    def snapshot(self, session_id: str) -> dpb.SessionSnapshot:
        stream = self.stub.WatchSession(dpb.WatchSessionRequest(session_id=session_id), timeout=5)
        try:
            first = next(iter(stream))
            assert first.WhichOneof("event") == "snapshot", first
            return first.snapshot
        finally:
            stream.cancel()

    def command(self, session_id: str, kind: int, timeout_ms: int = 5000) -> dpb.SendCommandResponse:
        request = dpb.SendCommandRequest(
            session_id=session_id, type=kind, issued_by="pytest", timeout_ms=timeout_ms
        )
        return self.stub.SendCommand(request, timeout=timeout_ms / 1000 + 5)

    def close(self) -> None:
        self.channel.close()


class CuttableProxy:
    """A TCP forwarder in front of the server that can hold traffic and cut every connection.

    Holding the trainer→server direction and then cutting loses messages the trainer believes it
    sent; holding server→trainer loses the acknowledgements of messages the server applied.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.hold_upstream = threading.Event()
        self.hold_downstream = threading.Event()
        self.connections = 0
        self._pairs: List[List[socket.socket]] = []
        self._frozen: List[threading.Event] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            frozen = threading.Event()
            with self._lock:
                self.connections += 1
                self._pairs.append([client, upstream])
                self._frozen.append(frozen)
            threading.Thread(
                target=self._pump, args=(client, upstream, self.hold_upstream, frozen), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, self.hold_downstream, frozen), daemon=True
            ).start()

    def freeze(self) -> None:
        """The open connections go silent both ways without a reset, as behind a dead router."""
        with self._lock:
            for frozen in self._frozen:
                frozen.set()

    @staticmethod
    def _pump(
        source: socket.socket, target: socket.socket, hold: threading.Event, frozen: threading.Event
    ) -> None:
        try:
            while True:
                if hold.is_set() or frozen.is_set():
                    time.sleep(0.005)  # held: leave bytes unread so they die with the connection
                    continue
                readable, _, _ = select.select([source], [], [], 0.05)
                if not readable or hold.is_set() or frozen.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except (OSError, ValueError):  # the socket was cut under us
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Resets every open connection (RST, as a crashed peer would) and releases the holds."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self._frozen = []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.close()
                except OSError:
                    pass
        self.hold_upstream.clear()
        self.hold_downstream.clear()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()

"""The network half of a session: register, keep one StreamMetrics stream open, reconnect.

Runs on its own thread. The request side of the stream is a generator that gRPC drains on one of
its threads; it writes a heartbeat first (so the server binds the stream to the session at once),
then whatever the outbox has ready, plus a heartbeat every ``heartbeat_interval_ms``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import grpc

from .buffer import Outbox
from .gen.telemetry.v1 import telemetry_pb2 as pb
from .gen.telemetry.v1 import telemetry_pb2_grpc as rpc

log = logging.getLogger("trainwatch")

# Codes that mean "this registration will never work": retrying cannot help. ALREADY_EXISTS:
# another trainer is streaming to this session (a run needs its own session id).
_FATAL_REGISTER_CODES = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.ALREADY_EXISTS,
    # AUTH=required: no key, a wrong or revoked one, or another key's session.
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
)

# Codes that end a stream for good: ALREADY_EXISTS, another trainer holds the session; ABORTED, a
# newer stream presenting this session's resume token replaced this one.
_FATAL_STREAM_CODES = (
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
)

API_KEY_ENV = "TRAINWATCH_API_KEY"
"""Environment variable the API key is read from when ConnectionOptions.api_key is None."""

RESUME_TOKEN_METADATA = "trainwatch-resume-token"
"""Call metadata that proves a stream comes from the trainer holding the session."""


@dataclass
class ConnectionOptions:
    """Timing of the connection; every value is in seconds."""

    register_timeout: float = 5.0
    """Deadline of one RegisterTrainingSession call."""
    reconnect_initial_delay: float = 0.1
    """First wait after a failure; doubles per failed attempt, with jitter."""
    reconnect_max_delay: float = 5.0
    """Longest wait between attempts."""
    ack_timeout: float = 15.0
    """A message unacknowledged this long means the stream is dead though the socket looks open."""
    keepalive_time: float = 20.0
    """HTTP/2 ping interval; with keepalive_timeout it tears down a connection whose peer vanished
    without a reset (the ack timeout alone would retry on the same dead connection). 0 disables."""
    keepalive_timeout: float = 10.0
    """How long a ping may go unanswered before the connection is considered dead."""
    api_key: Optional[str] = None
    """API key for a server with AUTH=required, sent as ``authorization: Bearer <key>``; None
    reads TRAINWATCH_API_KEY, and neither sends none."""
    tls: bool = False
    """Connect over TLS, trusting the system's roots unless tls_ca_file is given."""
    tls_ca_file: Optional[str] = None
    """PEM file of the CA that signed the server's certificate (implies tls)."""
    tls_server_name: Optional[str] = None
    """Name the server's certificate must carry when it differs from the address' host."""


def _channel(address: str, options: ConnectionOptions, channel_options: list) -> grpc.Channel:
    """A plaintext or TLS channel; a CA file that cannot be read fails here, naming it."""
    if not options.tls and options.tls_ca_file is None:
        return grpc.insecure_channel(address, options=channel_options)
    root = None
    if options.tls_ca_file is not None:
        try:
            with open(options.tls_ca_file, "rb") as handle:
                root = handle.read()
        except OSError as error:
            raise ValueError(f"tls_ca_file {options.tls_ca_file} cannot be read: {error}") from error
    if options.tls_server_name:
        channel_options = channel_options + [
            ("grpc.ssl_target_name_override", options.tls_server_name),
            ("grpc.default_authority", options.tls_server_name),
        ]
    credentials = grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.secure_channel(address, credentials, options=channel_options)


class _Stream:
    """State of one StreamMetrics call."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.heartbeats = 0
        self.call: Optional[grpc.Future] = None

    def stop(self) -> None:
        self.stopped.set()
        if self.call is not None:
            self.call.cancel()


class Connection:
    """Owns the channel and the reconnect loop of one TrainingSession."""

    def __init__(
        self,
        address: str,
        outbox: Outbox,
        session_info: Callable[[], pb.SessionInfo],
        on_registered: Callable[[pb.SessionResponse], None],
        on_response: Callable[[pb.MetricsResponse], None],
        options: ConnectionOptions,
    ) -> None:
        self._outbox = outbox
        self._session_info = session_info
        self._on_registered = on_registered
        self._on_response = on_response
        self._options = options
        channel_options = [
            # Our own backoff decides when to retry; keep the channel's from adding minutes.
            ("grpc.initial_reconnect_backoff_ms", int(options.reconnect_initial_delay * 1000)),
            ("grpc.min_reconnect_backoff_ms", int(options.reconnect_initial_delay * 1000)),
            ("grpc.max_reconnect_backoff_ms", int(max(options.reconnect_max_delay, 0.1) * 1000)),
            # The server's own limit (ServerConfig.max_message_bytes) is enforced before sending.
            ("grpc.max_send_message_length", 1024 * 1024 * 1024),
        ]
        if options.keepalive_time > 0:
            channel_options += [
                # Heartbeats keep data flowing on the stream, so these pings never count as idle
                # pings a server could punish with GOAWAY (too_many_pings).
                ("grpc.keepalive_time_ms", int(options.keepalive_time * 1000)),
                ("grpc.keepalive_timeout_ms", int(options.keepalive_timeout * 1000)),
                ("grpc.http2.max_pings_without_data", 0),
            ]
        self._channel = _channel(address, options, channel_options)
        key = options.api_key if options.api_key is not None else os.environ.get(API_KEY_ENV, "")
        # Sent on both rpcs; never logged.
        self._auth: tuple = (("authorization", f"Bearer {key}"),) if key else ()
        self._stub = rpc.TelemetryServiceStub(self._channel)
        self._closing = threading.Event()
        self._finishing = threading.Event()
        self._stream: Optional[_Stream] = None
        # Taking from the outbox and ending a stream exclude each other, so a dying stream's
        # generator cannot take a message after the reconnect has rewound the outbox.
        self._take_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="trainwatch-connection", daemon=True)
        self.session_id = ""
        self.heartbeat_interval = 2.0
        self.connected = threading.Event()
        self.reconnects = 0
        self.fatal_error: Optional[str] = None
        """Why the server refused the session for good; set once, and nothing is retried after it."""
        self.last_error: Optional[str] = None
        """The current problem; cleared once the server accepts the session again."""
        self.recovered_error: Optional[str] = None
        """The last problem the connection recovered from, and when (``recovered_at``, time.time())."""
        self.recovered_at: Optional[float] = None
        self.resume_token = ""
        """SessionResponse.resume_token, kept across reconnects and presented on each one."""

    def start(self) -> None:
        self._thread.start()

    # -- lifecycle -----------------------------------------------------------------------------

    def finish(self, timeout: float) -> None:
        """Ends the request stream (the server sees a clean half-close), then stops reconnecting."""
        self._closing.set()
        self._finishing.set()
        with self._outbox.cond:
            self._outbox.cond.notify_all()
        self._thread.join(timeout)
        stream = self._stream
        if stream is not None:
            stream.stop()
        self._thread.join(1.0)
        self._channel.close()

    def refresh_registration(self, on_failure: Callable[[], None]) -> None:
        """Registers again on the open session, without touching its stream, on a thread of its own.

        The server learns a changed SessionInfo (custom commands added or removed). Waits for the
        stream when a (re)connection is under way; when none comes in time, the next registration
        carries the change anyway.
        """

        def run() -> None:
            if not self.connected.wait(self._options.register_timeout) or self._closing.is_set():
                on_failure()
                return
            try:
                self._stub.RegisterTrainingSession(
                    self._session_info(),
                    timeout=self._options.register_timeout,
                    metadata=self._auth or None,
                )
            except grpc.RpcError as error:
                on_failure()
                log.warning("trainwatch: could not advertise custom commands: %s", error)

        threading.Thread(target=run, name="trainwatch-advertise", daemon=True).start()

    def _sleep_backoff(self, attempt: int) -> None:
        ceiling = min(
            self._options.reconnect_max_delay, self._options.reconnect_initial_delay * (2**attempt)
        )
        self._closing.wait(random.uniform(ceiling / 2, ceiling))

    def _run(self) -> None:
        attempt = 0
        first = True
        while not self._closing.is_set():
            if not first:
                self.reconnects += 1
            first = False
            try:
                response = self._stub.RegisterTrainingSession(
                    self._session_info(),
                    timeout=self._options.register_timeout,
                    metadata=self._auth or None,
                )
            except grpc.RpcError as error:
                code = error.code() if hasattr(error, "code") else None
                self.last_error = (
                    f"register: {code}: {error.details() if hasattr(error, 'details') else error}"
                )
                if code in _FATAL_REGISTER_CODES:
                    self.fatal_error = self.last_error
                    log.error("trainwatch: giving up, the server refused the session: %s", self.last_error)
                    return
                log.debug("trainwatch: %s", self.last_error)
                self._sleep_backoff(attempt)
                attempt += 1
                continue
            if not response.success:
                self.last_error = f"register refused: {response.message}"
                log.warning("trainwatch: %s", self.last_error)
                self._sleep_backoff(attempt)
                attempt += 1
                continue
            self.session_id = response.session_id
            if response.resume_token:
                self.resume_token = response.resume_token
            if self.last_error is not None:
                self.recovered_error, self.recovered_at = self.last_error, time.time()
                self.last_error = None
            if response.server_config.heartbeat_interval_ms > 0:
                self.heartbeat_interval = response.server_config.heartbeat_interval_ms / 1000.0
            replay = self._outbox.rewind(response.last_sequence)
            self._on_registered(response)
            log.info(
                "trainwatch: session %s %s (server applied up to %d, replaying %d)",
                response.session_id,
                "resumed" if response.resumed else "registered",
                response.last_sequence,
                replay,
            )
            if self._stream_once():
                attempt = 0
            if self.fatal_error is not None:
                return
            if not self._closing.is_set():
                self._sleep_backoff(attempt)
                attempt += 1

    def _stream_once(self) -> bool:
        """Runs one StreamMetrics call to its end; True when the server answered anything."""
        stream = _Stream()
        self._stream = stream
        answered = False
        try:
            resume = ((RESUME_TOKEN_METADATA, self.resume_token),) if self.resume_token else ()
            metadata = (self._auth + resume) or None
            call = self._stub.StreamMetrics(self._requests(stream), metadata=metadata)
            stream.call = call
            self.connected.set()
            for response in call:
                answered = True
                self._on_response(response)
        except grpc.RpcError as error:
            if not self._closing.is_set():
                self.last_error = f"stream: {error.code()}: {error.details()}"
                if error.code() in _FATAL_STREAM_CODES:
                    self.fatal_error = self.last_error
                    log.error("trainwatch: giving up, the server ended the session: %s", self.last_error)
                else:
                    log.info("trainwatch: stream ended (%s); reconnecting", self.last_error)
        finally:
            self.connected.clear()
            with self._take_lock:
                stream.stop()
            with self._outbox.cond:
                self._outbox.cond.notify_all()
        return answered

    # -- request side --------------------------------------------------------------------------

    def _heartbeat(self, stream: _Stream) -> pb.MetricsRequest:
        stream.heartbeats += 1
        return pb.MetricsRequest(
            session_id=self.session_id,
            timestamp_ms=int(time.time() * 1000),
            heartbeat=pb.Heartbeat(sequence_number=stream.heartbeats),
        )

    def _requests(self, stream: _Stream) -> Iterator[pb.MetricsRequest]:
        outbox = self._outbox
        yield self._heartbeat(stream)
        next_heartbeat = time.monotonic() + self.heartbeat_interval
        while not stream.stopped.is_set():
            now = time.monotonic()
            if self._finishing.is_set() and (outbox.is_drained() or not self.connected.is_set()):
                return  # half-close: the server ends the call and the loop exits
            if now >= next_heartbeat:
                next_heartbeat = now + self.heartbeat_interval
                yield self._heartbeat(stream)
                continue
            if outbox.oldest_in_flight_age(now) > self._options.ack_timeout:
                log.warning(
                    "trainwatch: no acknowledgement for %.1fs; reconnecting", self._options.ack_timeout
                )
                stream.stop()
                return
            with self._take_lock:
                taken = None if stream.stopped.is_set() else outbox.take_next()
            if taken is not None:
                entry, replayed = taken
                request = entry.request
                if request.session_id != self.session_id:
                    if replayed:
                        # Already handed to gRPC once: send a copy, never edit what it may still read.
                        copy = pb.MetricsRequest()
                        copy.CopyFrom(request)
                        request = copy
                    request.session_id = self.session_id
                yield request
                continue
            with outbox.cond:
                if not outbox.has_ready() and not stream.stopped.is_set():
                    outbox.cond.wait(min(max(next_heartbeat - now, 0.0), 0.25))

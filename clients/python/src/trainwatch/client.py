"""TrainingSession: what a training loop talks to.

Every ``log_*`` call builds a small message and appends it to the bounded outbox; nothing on the
training thread waits for the network, and nothing raises because the server is away. ``log_batch``
builds nothing at all: it queues its arguments (see deferred.py). Background threads do the rest:
the logger (``log_batch`` arguments to requests), the connection (register, stream, reconnect), the
encoder (images to JPEG) and the ticker (performance figures twice a second).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import images as imaging
from .commands import CommandHandler, CommandProcessor
from .buffer import (
    DEFAULT_BOUND,
    DEFAULT_IMAGE_BUDGET_BYTES,
    KIND_BATCH,
    KIND_COMMAND_RESULT,
    KIND_EPOCH,
    KIND_METADATA,
    KIND_PERFORMANCE,
    KIND_SCALARS,
    KIND_STATUS,
    KIND_SYSTEM,
    Entry,
    Outbox,
)
from .config import TrainingConfig, status_name, status_value
from .connection import Connection, ConnectionOptions
from .deferred import LOG_CALLS_DEFERRED, DeferredCalls
from .encoder import Encoder
from .gate import STOPPED, Gate
from .gen.telemetry.v1 import custom_commands_pb2 as cpb
from .gen.telemetry.v1 import telemetry_pb2 as pb
from .alerts import to_alert_rules, to_webhook_urls
from .metadata import Hyperparameter, RunMetadataState
from .metrics import MetricFilter
from .performance import PerformanceTracker
from .rules import SESSION_ID_PATTERN, SESSION_ID_RULE, SYSTEM_SERIES_PREFIX, global_step
from .system import DEFAULT_SYSTEM_INTERVAL, MAX_SYSTEM_INTERVAL, MIN_SYSTEM_INTERVAL, SystemSampler
from .version import __version__

log = logging.getLogger("trainwatch")

DEFAULT_MAX_IMAGES = 16
"""Images kept per batch until the server says its own limit (ServerConfig.max_batch_size)."""

_FINAL_STATUSES = (pb.TRAINING_STATUS_COMPLETED, pb.TRAINING_STATUS_FAILED)
_NOT_STARTED = (pb.TRAINING_STATUS_UNKNOWN, pb.TRAINING_STATUS_INITIALIZING)

REMEMBERED_ERRORS = 100
"""Server ErrorResponses kept for ``errors()``."""

WRITER_CONFLICT_QUIET = 10.0
"""Seconds: writer conflicts closer together than this are one burst, logged once."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _advertised_form(specs: List[cpb.CustomCommandSpec]) -> bytes:
    """A set of custom commands as comparable bytes."""
    return cpb.CustomCommandSet(commands=specs).SerializeToString()


class TrainingSession:
    """One training run streaming to a trainwatch server.

    >>> session = TrainingSession("127.0.0.1:50051", {"total_epochs": 3, "batches_per_epoch": 100,
    ...                                                "batch_size": 32}).connect()
    """

    def __init__(
        self,
        address: str,
        config: Union[TrainingConfig, Mapping[str, Any]],
        session_id: Optional[str] = None,
        buffer_size: Optional[int] = None,
        *,
        client_name: str = "trainwatch-python",
        image_buffer_bytes: int = DEFAULT_IMAGE_BUDGET_BYTES,
        max_image_side: Optional[int] = None,
        performance_interval: float = 0.5,
        connection: Optional[ConnectionOptions] = None,
        hyperparameters: Optional[Mapping[str, Hyperparameter]] = None,
        tags: Optional[Iterable[str]] = None,
        note: Optional[str] = None,
        system_metrics: bool = True,
        system_interval: float = DEFAULT_SYSTEM_INTERVAL,
        alerts: Optional[Iterable[Mapping[str, Any]]] = None,
        webhooks: Optional[Iterable[str]] = None,
        copy_samples: bool = False,
    ) -> None:
        if session_id is not None and not SESSION_ID_PATTERN.fullmatch(session_id):
            raise ValueError(f"session_id must be {SESSION_ID_RULE}, got {session_id!r}")
        if not MIN_SYSTEM_INTERVAL <= system_interval <= MAX_SYSTEM_INTERVAL:
            raise ValueError(
                f"system_interval must be {MIN_SYSTEM_INTERVAL}-{MAX_SYSTEM_INTERVAL} s, "
                f"got {system_interval!r}"
            )
        self._alert_rules = to_alert_rules(alerts)
        self._webhook_urls = to_webhook_urls(webhooks)
        self._metadata = RunMetadataState()
        _, problems = self._metadata.update(hyperparameters, tags, note)
        if problems:
            raise ValueError("metadata: " + "; ".join(problems))
        self._metrics = MetricFilter()
        # (epoch, batch_idx) of the latest batch: its global step is the default step of log() and
        # system samples, computed when needed rather than on log_batch's path.
        self._latest = (0, 0)
        # False: log_batch keeps references to the caller's samples and the logger thread copies them
        # moments later; True: log_batch copies them itself, so the loop may reuse its buffers at once.
        self._copy_samples = copy_samples
        if buffer_size is not None and buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        self.config = TrainingConfig.coerce(config)
        self.address = address
        self._requested_id = session_id or ""
        self._buffer_size = buffer_size
        self._client_name = client_name
        self._performance_interval = performance_interval
        self._outbox = Outbox(buffer_size or DEFAULT_BOUND, image_buffer_bytes)
        self._gate = Gate()
        self._perf = PerformanceTracker(self.config.total_epochs, self.config.batches_per_epoch)
        self._errors: Deque[pb.ErrorResponse] = collections.deque(maxlen=REMEMBERED_ERRORS)
        self._server_config: Optional[pb.ServerConfig] = None
        self._registered = threading.Event()
        self._stopping = threading.Event()
        self._status = pb.TRAINING_STATUS_UNKNOWN
        self._reported_drops = (0, 0)  # (image frames, messages) already told to the dashboard
        self._status_message = ""
        self._writer_conflicts = 0
        self._last_writer_conflict = float("-inf")
        self._closed = False
        self._lock = threading.Lock()
        self._connection = Connection(
            address,
            self._outbox,
            self._session_info,
            self._on_registered,
            self._on_response,
            connection or ConnectionOptions(),
        )
        self._commands = CommandProcessor(
            self._gate, self.set_status, lambda: self._status, self._send_result
        )
        encoder = Encoder(
            self._outbox,
            lambda: self._server_config,
            lambda: self.config.class_names,
            max_image_side,
            self._stopping,
        )
        self._deferred = DeferredCalls(LOG_CALLS_DEFERRED, self._finish_batch, self._stopping)
        self._threads = [
            self._deferred.thread,
            encoder.thread,
            threading.Thread(target=self._tick_loop, name="trainwatch-ticker", daemon=True),
        ]
        if system_metrics:
            sampler = SystemSampler(
                system_interval,
                lambda values: self._log_scalars(values, None, "system sample"),
                self._stopping,
            )
            self._threads.append(sampler.thread)
        self._started = False
        self._advertised = b""
        """The custom commands the latest registration carried (see _advertised_form)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def connect(self) -> "TrainingSession":
        """Starts the background threads and returns at once; registration happens on them."""
        with self._lock:
            if not self._started:
                self._started = True
                self._connection.start()
                for thread in self._threads:
                    thread.start()
        return self

    def wait_registered(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the server accepted the session (for scripts and tests; never needed)."""
        return self._registered.wait(timeout)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until the server acknowledged everything logged so far; False on timeout.

        False at once when the server refused the session for good (``stats()["fatal_error"]``).
        """
        if self._connection.fatal_error is not None:
            return False
        self._deferred.drain()
        return self._outbox.wait_drained(timeout)

    def close(
        self,
        status: Optional[Union[str, int]] = "completed",
        message: Optional[str] = None,
        timeout: float = 10.0,
    ) -> bool:
        """Reports ``status`` (None to skip), flushes for up to ``timeout`` s and stops the threads.

        The default message says whether the run finished or was stopped from the dashboard.
        Returns True when everything was acknowledged. Idempotent.
        """
        with self._lock:
            if self._closed:
                return self._outbox.is_drained()
            self._closed = True
        # Batches logged before close() are recorded (and timed) before the final figures.
        self._deferred.drain()
        final_sample = self._perf.sample(force=True)
        if final_sample is not None:
            self._add(Entry(KIND_PERFORMANCE, self._request(performance_data=final_sample)))
        if status is not None and self._status not in _FINAL_STATUSES:
            if message is None:
                message = "stopped on request" if self._gate.state == STOPPED else "finished"
            self.set_status(status, message)
        drained = self.flush(timeout) if self._started else False
        if not drained:
            log.warning("trainwatch: closing with %d unacknowledged messages", len(self._outbox))
        self._stopping.set()
        self._deferred.stop()
        with self._outbox.cond:
            self._outbox.cond.notify_all()
        self._gate.stop()
        if self._started:
            self._connection.finish(timeout=2.0)
            for thread in self._threads:
                thread.join(2.0)
        return drained

    def __enter__(self) -> "TrainingSession":
        return self.connect()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.close("completed")
        else:
            self.close("failed", f"{exc_type.__name__}: {exc}")

    # -- logging (training thread) -------------------------------------------------------------

    def log_batch(
        self,
        epoch: int,
        batch_idx: int,
        loss: float,
        images: Any = None,
        predictions: Any = None,
        ground_truth: Any = None,
        batch_size: Optional[int] = None,
        metrics: Optional[Mapping[str, float]] = None,
    ) -> None:
        """Records one training step. Returns at once; the rest happens on background threads.

        ``images``: torch tensor (N,C,H,W) float 0..1 or uint8, or numpy (N,H,W,C)/(N,C,H,W)/(N,H,W).
        ``predictions``: class indices (N,) or logits/probabilities (N,K). ``ground_truth``: (N,).
        Only the first ServerConfig.max_batch_size samples are kept. ``loss`` may be a 0-d tensor
        (reading it waits for the device, as ``loss.item()`` would). ``metrics``: other named values
        at this step (``{"lr": 0.01, "grad_norm": 1.3, "train/acc": 0.9}``); a name that breaks the
        contract's rules is left out and logged, never raised.

        The call checks the indexes, reads the loss and the clock, and queues its arguments: the
        samples are read (copied) on the logger thread within milliseconds, so do not change them in
        place after the call (a new tensor per step, as a DataLoader gives, is fine), or construct
        the session with ``copy_samples=True`` to copy them here.
        """
        if epoch < 0 or batch_idx < 0:
            raise ValueError(f"epoch and batch_idx must be >= 0, got {epoch}, {batch_idx}")
        called = time.monotonic()
        if self._status in _NOT_STARTED:
            self.set_status("running", "training started")
        self._latest = (epoch, batch_idx)
        loss = float(loss)
        if self._copy_samples and (images is not None or predictions is not None or ground_truth is not None):
            if batch_size is None:
                batch_size = len(images) if images is not None else self.config.batch_size
            images = imaging.snapshot(images, predictions, ground_truth, self._max_images())
            predictions = ground_truth = None
        self._deferred.defer(
            (epoch, batch_idx, loss, images, predictions, ground_truth, batch_size, metrics, called)
        )

    def _finish_batch(self, call: Tuple[Any, ...]) -> None:
        """On the logger thread (or the caller's at the bound): a queued log_batch to the outbox."""
        epoch, batch_idx, loss, images, predictions, ground_truth, batch_size, metrics, called = call
        self._perf.record_batch(epoch, batch_idx, called)
        if batch_size is None:
            batch_size = len(images) if images is not None else self.config.batch_size
        now_ms = _now_ms()
        # The batch's time is the call's, not this moment's.
        logged_ms = now_ms - int((time.monotonic() - called) * 1000)
        request = pb.MetricsRequest(
            session_id=self._connection.session_id,
            timestamp_ms=now_ms,
            batch_data=pb.BatchData(
                epoch=epoch,
                batch_idx=batch_idx,
                batch_size=int(batch_size),
                batch_loss=loss,
                timestamp_ms=logged_ms,
                metrics=self._metrics.filter(metrics, f"log_batch {epoch}/{batch_idx}"),
            ),
        )
        if isinstance(images, imaging.RawBatch):
            raw = images  # copied by log_batch (copy_samples=True)
        elif images is None and predictions is None and ground_truth is None:
            self._outbox.add(Entry(KIND_BATCH, request))
            return
        else:
            raw = imaging.snapshot(images, predictions, ground_truth, self._max_images())
        self._outbox.add(Entry(KIND_BATCH, request, raw=raw, image_bytes=raw.nbytes))

    def log_epoch(
        self,
        epoch: int,
        average_loss: float,
        average_accuracy: float = 0.0,
        metrics: Optional[Mapping[str, float]] = None,
    ) -> None:
        """Records an epoch summary (accuracy as a fraction 0..1).

        ``metrics`` are epoch series, charted by epoch: ``{"val/loss": 0.41, "val/acc": 0.87}``.
        """
        data = pb.EpochData(
            epoch=epoch,
            average_loss=float(average_loss),
            average_accuracy=float(average_accuracy),
            metrics=self._metrics.filter(metrics, f"log_epoch {epoch}"),
        )
        self._add(Entry(KIND_EPOCH, self._request(epoch_data=data)))

    def log(self, values: Mapping[str, float], step: Optional[int] = None) -> None:
        """Logs named values at a step, like ``wandb.log``: ``session.log({"lr": 0.01})``.

        ``step`` defaults to the global step of the latest batch. Returns at once; a value that
        breaks a rule (name, count, series bound) is left out and logged, never raised.
        """
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            log.warning("trainwatch: log: step must be an integer >= 0, got %r; used %d", step, self._step)
            step = None
        self._log_scalars(values, step, "log")

    def update_metadata(
        self,
        hyperparameters: Optional[Mapping[str, Hyperparameter]] = None,
        tags: Optional[Iterable[str]] = None,
        note: Optional[str] = None,
        replace_tags: bool = False,
    ) -> None:
        """Changes hyperparameters, tags or note during the run.

        A hyperparameter sent again replaces its value; tags are added (or replace the run's with
        ``replace_tags``); a note replaces the note. An entry that breaks a rule is left out and
        logged; the rest is sent.
        """
        message, problems = self._metadata.update(hyperparameters, tags, note, replace_tags)
        for problem in problems:
            log.warning("trainwatch: update_metadata: %s", problem)
        self._add(Entry(KIND_METADATA, self._request(run_metadata=message)))

    def set_status(
        self,
        status: Union[str, int],
        message: str = "",
        config: Optional[Union[TrainingConfig, Mapping[str, Any]]] = None,
    ) -> None:
        """Reports a lifecycle change ("initializing", "running", "paused", "completed", "failed")."""
        value = status_value(status)
        if self._status in _FINAL_STATUSES:
            log.warning(
                "trainwatch: status is already final (%s); not reporting %s",
                status_name(self._status),
                status_name(value),
            )
            return
        self._status = value
        self._status_message = message
        update = pb.StatusUpdate(status=value, message=message, timestamp_ms=_now_ms())
        if config is not None:
            self.config = TrainingConfig.coerce(config)
            self._perf.set_plan(self.config.total_epochs, self.config.batches_per_epoch)
            update.config.CopyFrom(self.config.to_proto())
        self._add(Entry(KIND_STATUS, self._request(status_update=update)))

    # -- control -------------------------------------------------------------------------------

    def gate(self, timeout: Optional[float] = None) -> bool:
        """Call before each batch: blocks while paused; True to go on, False once stopped."""
        return self._gate.wait(timeout)

    @property
    def state(self) -> str:
        """ "running", "paused" or "stopped", as the dashboard last set it."""
        return self._gate.state

    @property
    def waiting_at_gate(self) -> int:
        """Threads currently held by ``gate()``."""
        return self._gate.waiting

    @property
    def should_stop(self) -> bool:
        return self._gate.state == STOPPED

    def command(
        self, name: str, *, description: str = "", **arguments: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator offering a custom command the dashboard draws a form for::

            @run.command("set_lr", lr=float, description="learning rate from the next step")
            def set_lr(lr: float) -> str:
                optimizer.param_groups[0]["lr"] = lr
                return f"lr is {lr}"

        Arguments are ``float``/``int`` (a number), ``str`` (a text) or ``bool`` (a flag), or an
        :class:`~trainwatch.Arg` with a default or a description. The handler runs on the
        connection thread with the arguments as keywords, in order with pause/resume/stop; what it
        returns is the result the dashboard shows, and raising reports the command failed. Offered
        at registration; one added after :meth:`connect` registers the session again so the server
        knows. ValueError or TypeError naming the rule a declaration breaks.
        """

        def offer(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._commands.custom.add(name, handler, arguments, description)
            self._advertise_commands()
            return handler

        return offer

    def remove_command(self, name: str) -> bool:
        """Withdraws a custom command (the server is told by a new registration); False if unknown."""
        removed = self._commands.custom.remove(name)
        if removed:
            self._advertise_commands()
        return removed

    def _advertise_commands(self) -> None:
        """Registers again when the server may not know the current set of custom commands."""
        if not self._registered.is_set() or self._closed:
            return  # the first registration carries the set, or _on_registered catches up
        current = _advertised_form(self._commands.custom.specs())
        if current == self._advertised:
            return

        def failed() -> None:
            self._advertised = b"unknown"  # not known to have arrived: the next change sends it again

        self._connection.refresh_registration(failed)

    def on_command(self, handler: CommandHandler) -> CommandHandler:
        """Registers ``handler(command)``, called on a background thread after the gate moved.

        Raising marks the command failed (the dashboard sees the message). Usable as a decorator.
        """
        self._commands.handlers.append(handler)
        return handler

    # -- introspection -------------------------------------------------------------------------

    @property
    def session_id(self) -> Optional[str]:
        return self._connection.session_id or self._requested_id or None

    @property
    def server_config(self) -> Optional[pb.ServerConfig]:
        return self._server_config

    def errors(self) -> List[pb.ErrorResponse]:
        """The latest ErrorResponses the server sent (bounded)."""
        return list(self._errors)

    def stats(self) -> Dict[str, Any]:
        # What was logged so far counts as buffered or dropped, as if it had been added at once.
        self._deferred.drain()
        counters = self._outbox.counters
        return {
            "session_id": self.session_id,
            "connected": self._connection.connected.is_set(),
            "sent": counters["sent"],
            "acked": counters["acked"],
            "replayed": counters["replayed"],
            "duplicates": counters["duplicates"],
            "rejected": counters["rejected"],
            "dropped_image_frames": counters["dropped_image_frames"],
            "dropped_messages": counters["dropped_messages"],
            "buffered": len(self._outbox),
            "bound": self._outbox.bound,
            "image_bytes": self._outbox.image_bytes,
            "reconnects": self._connection.reconnects,
            # The current problem: None again once the server accepts the session after an outage.
            "last_error": self._connection.fatal_error or self._connection.last_error,
            # The last problem it recovered from, and when (time.time()).
            "recovered_error": self._connection.recovered_error,
            "recovered_at": self._connection.recovered_at,
            # Set when the server refused the session for good: another trainer holds it
            # (ALREADY_EXISTS) or a newer stream of this session replaced this one (ABORTED).
            # Nothing is retried or delivered after it.
            "fatal_error": self._connection.fatal_error,
            "highest_acked": self._outbox.highest_acked,
            "commands_expired": self._commands.expired,
            "writer_conflicts": self._writer_conflicts,
            # Distinct series sent (loss included), and named values left out for breaking a rule.
            "series": self._metrics.series_count,
            "metrics_left_out": self._metrics.left_out,
            "batches_class_out_of_range": counters["batches_class_out_of_range"],
        }

    def metric_problems(self) -> List[Tuple[str, str]]:
        """(name, why) of each named value left out, once per name (bounded)."""
        return list(self._metrics.problems)

    # -- internals -----------------------------------------------------------------------------

    def _log_scalars(self, values: Mapping[str, float], step: Optional[int], where: str) -> None:
        kept = self._metrics.filter(values, where)
        if not kept:
            return
        data = pb.ScalarsData(step=self._step if step is None else step, values=kept, timestamp_ms=_now_ms())
        system = all(name.startswith(SYSTEM_SERIES_PREFIX) for name in kept)
        self._add(Entry(KIND_SYSTEM if system else KIND_SCALARS, self._request(scalars=data)))

    def _add(self, entry: Entry) -> None:
        """Adds a message after every log_batch call made before it (their order is the log order)."""
        with self._deferred.lock:
            self._deferred.drain()
            self._outbox.add(entry)

    @property
    def _step(self) -> int:
        epoch, batch_idx = self._latest
        return global_step(epoch, batch_idx, self.config.batches_per_epoch)

    def _request(self, **payload: Any) -> pb.MetricsRequest:
        return pb.MetricsRequest(session_id=self._connection.session_id, timestamp_ms=_now_ms(), **payload)

    def _max_images(self) -> int:
        config = self._server_config
        return config.max_batch_size if config is not None else DEFAULT_MAX_IMAGES

    def _session_info(self) -> pb.SessionInfo:
        return pb.SessionInfo(
            session_id=self._connection.session_id or self._requested_id,
            client_name=self._client_name,
            client_version=__version__,
            config=self.config.to_proto(),
            timestamp_ms=_now_ms(),
            resume_token=self._connection.resume_token,
            resume_from_sequence=self._outbox.highest_acked,
            # All of it: a restarted server learns the run's metadata again.
            metadata=self._metadata.merged(),
            alert_rules=self._alert_rules,
            webhook_urls=self._webhook_urls,
            custom_commands=self._advertise(self._commands.custom.specs()),
        )

    def _advertise(self, specs: List[cpb.CustomCommandSpec]) -> List[cpb.CustomCommandSpec]:
        """Remembers what a registration carries, so a later change is known to need another."""
        self._advertised = _advertised_form(specs)
        return specs

    def _on_registered(self, response: pb.SessionResponse) -> None:
        self._server_config = response.server_config
        limits = response.server_config
        self._metrics.set_limits(limits.max_series, limits.max_metrics_per_message)
        if self._buffer_size is None and response.server_config.buffer_size > 0:
            self._outbox.set_bound(response.server_config.buffer_size)
        if self._registered.is_set():
            self._resend_status()
        self._registered.set()
        self._report_drops()
        # A command added while this registration was in flight is not in it yet.
        self._advertise_commands()

    def _resend_status(self) -> None:
        """After a re-registration, tells the server the current status and config again.

        The server may be a new one that knows only the session id (it shows INITIALIZING) and gets
        only what was unacknowledged. Queued after the replay, this is the last status it applies.
        """
        if self._status in (pb.TRAINING_STATUS_UNKNOWN, *_FINAL_STATUSES):
            return  # nothing to say yet, or the final status is already queued or acknowledged
        update = pb.StatusUpdate(
            status=self._status, message=self._status_message, timestamp_ms=_now_ms()
        )
        update.config.CopyFrom(self.config.to_proto())
        self._add(Entry(KIND_STATUS, self._request(status_update=update)))

    def _report_drops(self) -> None:
        """Tells the dashboard, in a status message, what the buffer dropped while the server was away."""
        counters = self._outbox.counters
        images = counters["dropped_image_frames"] - self._reported_drops[0]
        messages = counters["dropped_messages"] - self._reported_drops[1]
        if (images == 0 and messages == 0) or self._status in (pb.TRAINING_STATUS_UNKNOWN, *_FINAL_STATUSES):
            return
        self._reported_drops = (counters["dropped_image_frames"], counters["dropped_messages"])
        self.set_status(
            self._status,
            f"trainer buffer was full while offline: dropped the images of {images} batches"
            f" and {messages} messages",
        )

    def _on_response(self, response: pb.MetricsResponse) -> None:
        kind = response.WhichOneof("payload")
        if kind == "ack":
            self._outbox.ack(response.ack.sequence, response.ack.success, response.ack.duplicate)
        elif kind == "command":
            self._commands.apply(response.command)
        elif kind == "error":
            self._errors.append(response.error)
            if response.error.code == pb.ERROR_CODE_SESSION_CONFLICT:
                self._writer_conflict(response.error)
            else:
                log.warning("trainwatch: server rejected a message: %s", response.error.message)

    def _writer_conflict(self, error: pb.ErrorResponse) -> None:
        """Another trainer was refused on this session: counted always, logged once per burst."""
        self._writer_conflicts += 1
        now = time.monotonic()
        quiet = now - self._last_writer_conflict > WRITER_CONFLICT_QUIET
        self._last_writer_conflict = now
        if quiet:
            log.warning(
                "trainwatch: another trainer tried to write session %s and was refused (%d so far): %s",
                self.session_id,
                self._writer_conflicts,
                error.message,
            )

    def _send_result(self, result: pb.CommandResult) -> None:
        self._add(Entry(KIND_COMMAND_RESULT, self._request(command_result=result)))

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self._performance_interval):
            sample = self._perf.sample()
            if sample is not None:
                self._add(Entry(KIND_PERFORMANCE, self._request(performance_data=sample)))

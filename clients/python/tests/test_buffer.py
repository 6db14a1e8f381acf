"""Outbox bounds, drop order and replay bookkeeping (no network)."""

from __future__ import annotations

import pytest

from trainwatch.buffer import (
    KIND_BATCH,
    KIND_COMMAND_RESULT,
    KIND_EPOCH,
    KIND_PERFORMANCE,
    KIND_STATUS,
    Entry,
    Outbox,
)
from trainwatch.gen.telemetry.v1 import telemetry_pb2 as pb


def batch(batch_idx: int, image_bytes: int = 0) -> Entry:
    data = pb.BatchData(batch_idx=batch_idx, batch_loss=1.0)
    if image_bytes:
        data.images.add(
            image_bytes=b"\xff\xd8\xff" + b"\0" * (image_bytes - 3), format="jpeg", width=1, height=1
        )
        data.ground_truth.append(1)
    return Entry(KIND_BATCH, pb.MetricsRequest(batch_data=data), image_bytes=image_bytes)


def perf() -> Entry:
    return Entry(KIND_PERFORMANCE, pb.MetricsRequest(performance_data=pb.PerformanceData(current_fps=1)))


def other(kind: str) -> Entry:
    return Entry(kind, pb.MetricsRequest(status_update=pb.StatusUpdate(status=pb.TRAINING_STATUS_RUNNING)))


def kinds(outbox: Outbox) -> list:
    return [entry.kind for entry in outbox.snapshot()]


def drain(outbox: Outbox) -> list:
    sent = []
    while (taken := outbox.take_next()) is not None:
        sent.append(taken[0])
    return sent


def test_rejects_a_bound_below_one() -> None:
    with pytest.raises(ValueError):
        Outbox(bound=0)


def test_at_the_bound_performance_samples_go_before_batches_and_results_never() -> None:
    outbox = Outbox(bound=4)
    outbox.add(other(KIND_COMMAND_RESULT))
    outbox.add(perf())
    outbox.add(batch(0))
    outbox.add(perf())
    assert len(outbox) == 4 and outbox.counters["dropped_messages"] == 0  # at the bound: nothing lost
    outbox.add(batch(1))
    outbox.add(batch(2))
    assert kinds(outbox) == [KIND_COMMAND_RESULT, KIND_BATCH, KIND_BATCH, KIND_BATCH]
    assert outbox.counters["dropped_performance"] == 2
    outbox.add(other(KIND_EPOCH))  # no samples left: the oldest batch goes
    assert kinds(outbox) == [KIND_COMMAND_RESULT, KIND_BATCH, KIND_BATCH, KIND_EPOCH]
    assert [e.request.batch_data.batch_idx for e in outbox.snapshot() if e.kind == KIND_BATCH] == [1, 2]
    for _ in range(3):
        outbox.add(other(KIND_COMMAND_RESULT))
    assert kinds(outbox) == [KIND_COMMAND_RESULT] * 4  # results outlive everything else
    outbox.add(other(KIND_COMMAND_RESULT))
    assert len(outbox) == 5  # and are never dropped, even over the bound
    assert outbox.counters["dropped_batch"] == 3 and outbox.counters["dropped_epoch"] == 1


def test_image_budget_strips_the_oldest_frames_first_and_keeps_their_scalars() -> None:
    outbox = Outbox(bound=100, image_budget_bytes=250)
    for index in range(3):
        outbox.add(batch(index, image_bytes=100))
    # 300 bytes > 250: the oldest frame loses its images; the budget now holds exactly 200.
    assert outbox.image_bytes == 200 and outbox.counters["dropped_image_frames"] == 1
    first, second, third = outbox.snapshot()
    assert len(first.request.batch_data.images) == 0 and list(first.request.batch_data.ground_truth) == []
    assert first.request.batch_data.batch_loss == 1.0 and len(outbox) == 3
    assert len(second.request.batch_data.images) == 1 and len(third.request.batch_data.images) == 1
    outbox.add(batch(3, image_bytes=50))  # exactly at the budget: kept
    assert outbox.image_bytes == 250 and outbox.counters["dropped_image_frames"] == 1


def test_sequences_are_given_on_first_send_so_dropping_unsent_leaves_no_gap() -> None:
    outbox = Outbox(bound=3)
    for index in range(3):
        outbox.add(perf() if index == 1 else batch(index))
    outbox.add(batch(3))  # evicts the unsent sample
    assert [e.sequence for e in drain(outbox)] == [1, 2, 3]


def test_rewind_forgets_what_the_server_applied_and_replays_the_rest_with_the_same_numbers() -> None:
    outbox = Outbox(bound=10)
    for index in range(5):
        outbox.add(batch(index))
    sent = drain(outbox)
    assert outbox.ack(1) and not outbox.ack(1)  # a second ack for the same number is ignored
    outbox.add(batch(5))
    assert outbox.rewind(last_applied=3) == 2  # 2 and 3 applied though unacknowledged
    assert outbox.counters["acked"] == 3
    replay = drain(outbox)
    assert [e.sequence for e in replay] == [4, 5, 6]
    assert replay[0] is sent[3] and outbox.counters["replayed"] == 2
    assert outbox.take_next() is None


def test_rewind_after_a_fresh_server_never_reuses_a_number() -> None:
    outbox = Outbox(bound=10)
    outbox.add(batch(0))
    drain(outbox)
    outbox.ack(1)
    outbox.rewind(last_applied=0)  # restarted server: knows nothing
    outbox.add(batch(1))
    assert [e.sequence for e in drain(outbox)] == [2]


def test_highest_acked_is_what_the_server_confirmed_by_ack_or_by_registration() -> None:
    outbox = Outbox(bound=10)
    assert outbox.highest_acked == 0
    for index in range(4):
        outbox.add(batch(index))
    drain(outbox)
    outbox.ack(2)
    assert outbox.highest_acked == 2
    outbox.ack(1)  # out of order: the highest stays
    assert outbox.highest_acked == 2
    outbox.rewind(last_applied=3)
    assert outbox.highest_acked == 3
    outbox.rewind(last_applied=0)  # a server that forgot: what the old one confirmed still stands
    assert outbox.highest_acked == 3


def test_entries_waiting_for_the_encoder_hold_back_everything_after_them() -> None:
    outbox = Outbox(bound=10)
    waiting = Entry(
        KIND_BATCH, pb.MetricsRequest(batch_data=pb.BatchData(batch_idx=0)), raw=object(), image_bytes=10
    )
    outbox.add(waiting)
    outbox.add(batch(1))
    assert outbox.take_next() is None  # order is kept: batch 1 may not overtake batch 0
    assert outbox.next_to_encode(0) is waiting
    outbox.finish_encoding(waiting, lambda request: 7)
    assert outbox.image_bytes == 7
    assert [e.request.batch_data.batch_idx for e in drain(outbox)] == [0, 1]


def test_a_frame_dropped_while_encoding_keeps_the_encoder_result_out() -> None:
    outbox = Outbox(bound=10, image_budget_bytes=15)
    first = Entry(
        KIND_BATCH, pb.MetricsRequest(batch_data=pb.BatchData(batch_idx=0)), raw=object(), image_bytes=10
    )
    outbox.add(first)
    assert outbox.next_to_encode(0) is first
    outbox.add(
        Entry(
            KIND_BATCH, pb.MetricsRequest(batch_data=pb.BatchData(batch_idx=1)), raw=object(), image_bytes=10
        )
    )
    assert first.raw is None  # stripped by the budget while "encoding"
    outbox.finish_encoding(first, lambda request: pytest.fail("must not apply to a dropped frame"))
    assert outbox.image_bytes == 10


def test_status_entries_are_plain_messages() -> None:
    outbox = Outbox(bound=2)
    outbox.add(other(KIND_STATUS))
    assert outbox.wait_drained(0) is False
    [entry] = drain(outbox)
    outbox.ack(entry.sequence, success=False)
    assert outbox.counters["rejected"] == 1 and outbox.wait_drained(0)

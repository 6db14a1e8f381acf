"""Who may write a session, as the Python SDK sees it: token kept, refusals final, conflicts told."""

from __future__ import annotations

from harness import Dashboard, ServerProcess, wait_for
from test_session import new_session


def test_a_second_trainer_on_the_same_id_is_refused_for_good_and_the_holder_goes_on(
    server: ServerProcess, dashboard: Dashboard
) -> None:
    holder = new_session(server.address, client_name="holder").connect()
    other = new_session(server.address).connect()
    second = None
    try:
        assert holder.wait_registered(10) and other.wait_registered(10)
        holder.log_batch(0, 0, 1.0)
        assert holder.flush(10)
        assert holder.stats()["highest_acked"] == holder.stats()["acked"] > 0

        second = new_session(server.address, session_id=holder.session_id, client_name="copy").connect()
        fatal = wait_for(lambda: second.stats()["fatal_error"], what="the second trainer to be refused")
        assert "ALREADY_EXISTS" in fatal
        assert second.stats()["last_error"] == fatal
        attempts = second.stats()["reconnects"]
        second.log_batch(0, 50, 9.0)
        assert not second.flush(0.2)  # nothing can be delivered: says so at once
        assert second.stats()["reconnects"] == attempts  # and it does not keep trying

        # The holder is told (counted) and streams on, unharmed.
        wait_for(lambda: holder.stats()["writer_conflicts"] >= 1, what="the holder to be told")
        for batch_idx in range(1, 5):
            holder.log_batch(0, batch_idx, 1.0)
        assert holder.flush(10)
        stats = holder.stats()
        assert stats["connected"] and stats["reconnects"] == 0 and stats["fatal_error"] is None
        summary = dashboard.session(holder.session_id)
        assert summary.writer_conflict.client_name == "copy"
        assert summary.batches_received == 5

        # Another run on the same server is unaffected.
        other.log_batch(0, 0, 1.0)
        assert other.flush(10)
        assert other.stats()["writer_conflicts"] == 0
    finally:
        for session in (holder, other, second):
            if session is not None:
                session.close(timeout=2)

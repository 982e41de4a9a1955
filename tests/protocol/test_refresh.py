"""Re-stamping a request that waited in an outbox past its ttl."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supplymesh.protocol.envelope import decode, refresh_timestamp

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bodies"


def test_a_stale_request_gets_a_fresh_timestamp_and_keeps_everything_else() -> None:
    """Same message_id, same unknown fields; only context.timestamp changes."""
    raw = (FIXTURES / "confirm.json").read_bytes()
    original = json.loads(raw)
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    refreshed = json.loads(refresh_timestamp(raw, now))
    assert refreshed["context"]["timestamp"] == "2030-01-01T12:00:00.000Z"
    refreshed["context"]["timestamp"] = original["context"]["timestamp"]
    assert refreshed == original


def test_a_fresh_request_and_any_callback_are_left_byte_for_byte() -> None:
    """Nothing to do while the ttl runs, and callbacks are never re-stamped."""
    raw = (FIXTURES / "confirm.json").read_bytes()
    stamped = decode(raw).context.timestamp
    assert stamped is not None
    assert refresh_timestamp(raw, stamped + timedelta(seconds=1)) == raw
    callback = (FIXTURES / "on_confirm.json").read_bytes()
    assert refresh_timestamp(callback, datetime(2030, 1, 1, tzinfo=UTC)) == callback

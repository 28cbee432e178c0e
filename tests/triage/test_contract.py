from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from triage.contract import Channel, Ticket


def test_ticket_normalises_channel_aliases_tags_and_naive_times() -> None:
    t = Ticket(
        id="T-1",
        created_at=datetime(2026, 1, 5, 9, 30),
        channel="E-Mail",
        subject=" VPN down ",
        body="cannot connect",
        tags="vpn; network",
    )
    assert t.channel is Channel.email
    assert t.tags == ["vpn", "network"]
    assert t.created_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert t.text == "VPN down\ncannot connect"


def test_ticket_rejects_unknown_channel_and_fields() -> None:
    with pytest.raises(ValidationError, match="unknown channel 'pigeon'"):
        Ticket(id="T-1", body="x", channel="pigeon")
    with pytest.raises(ValidationError, match="extra"):
        Ticket(id="T-1", body="x", colour="blue")

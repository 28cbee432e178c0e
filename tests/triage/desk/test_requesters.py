"""E-mail threads cannot be hijacked (issue 14, item 2): a reply joins a ticket only by
its unguessable reply token or by Message-ID threading, and only from the requester or
an address on the CC list; anything else is held for an agent and reopens nothing."""

from __future__ import annotations

from triage.contract import Channel
from triage.desk import Desk, NewMessage, NewTicket, Status, TicketChanges

AGENT = "agent:ann"


def _solved(desk: Desk, **kwargs: object) -> int:
    values: dict[str, object] = {
        "channel": Channel.email,
        "subject": "Refund please",
        "body": "charged twice",
        "requester": "Bob <bob@example.com>",
        "message_id": "<open@bob>",
    }
    values.update(kwargs)
    t = desk.intake(NewTicket(**values)).ticket  # type: ignore[arg-type]
    desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    return t.id


def test_a_guessed_ticket_number_joins_nothing(desk: Desk) -> None:
    tid = _solved(desk)
    r = desk.receive(
        NewMessage(author="attacker@evil.example", subject=f"Re: [#T-{tid}]", body="reopen!")
    )
    assert r.created and r.ticket.id != tid
    assert desk.get(tid).status is Status.solved
    # The requester with the number alone is not enough either: the token is the key.
    r = desk.receive(NewMessage(author="bob@example.com", subject=f"Re: [#T-{tid}]", body="hi"))
    assert r.created and r.ticket.id != tid


def test_reply_tokens_are_unguessable_and_per_ticket(desk: Desk) -> None:
    tickets = [desk.intake(NewTicket(channel=Channel.web, body=f"{n}")).ticket for n in range(20)]
    tokens = {t.reply_tag[len(f"[#T-{t.id}-") : -1] for t in tickets if t.reply_tag}
    assert len(tokens) == 20 and all(len(token) >= 12 for token in tokens)


def test_the_requester_with_the_reply_tag_reopens(desk: Desk) -> None:
    tid = _solved(desk)
    tag = desk.get(tid).reply_tag
    r = desk.receive(
        NewMessage(author="BOB@example.com", subject=f"Re: {tag}", body="still broken")
    )
    assert (r.ticket.id, r.created, r.held) == (tid, False, False)
    assert desk.get(tid).status is Status.reopened


def test_a_stranger_with_the_reply_tag_is_held_and_reopens_nothing(desk: Desk) -> None:
    tid = _solved(desk)
    tag = desk.get(tid).reply_tag
    r = desk.receive(
        NewMessage(author="attacker@evil.example", subject=f"Re: {tag}", body="send it to me")
    )
    assert (r.ticket.id, r.created, r.held) == (tid, False, True)
    assert desk.get(tid).status is Status.solved
    assert len(desk.get(tid).messages or []) == 1
    held = desk.held_messages()
    assert [(h.ticket_id, h.author) for h in held] == [(tid, "attacker@evil.example")]
    # An agent who judges it legitimate lets it in: it then counts as the customer's reply.
    released = desk.release_held(held[0].id, actor=AGENT)
    assert released.status is Status.reopened and desk.held_messages() == []


def test_a_stranger_quoting_the_message_id_is_held(desk: Desk) -> None:
    tid = _solved(desk)
    r = desk.receive(NewMessage(author="eve@evil.example", in_reply_to="<open@bob>", body="x"))
    assert r.held and desk.get(tid).status is Status.solved
    r = desk.receive(NewMessage(author="bob@example.com", in_reply_to="<open@bob>", body="y"))
    assert not r.held and desk.get(tid).status is Status.reopened


def test_an_address_on_the_cc_list_joins(desk: Desk) -> None:
    tid = _solved(desk, cc=["Carol <carol@example.com>"])
    assert desk.get(tid).cc == ["Carol <carol@example.com>"]
    tag = desk.get(tid).reply_tag
    r = desk.receive(NewMessage(author="carol@example.com", subject=f"Re: {tag}", body="+1"))
    assert r.ticket.id == tid and not r.held

"""One behaviour suite, run against every transport (memory, file, amqp when a broker is configured, and the
``axis+http://`` transport against a real ``docflow serve`` process on a free 127.0.0.1 port).

The messages come from the backend (``backend.msg``): arbitrary bytes where the queue carries any bytes, a
fresh valid edXML document for the axis, which validates every package.  What the axis API cannot express,
and how the suite deals with it:

- every axis message is an ``edoc``: a ``status`` package must answer a document the axis holds
  (``ResponseFor``), which an arbitrary contract message does not, and the axis lists the two kinds apart
  (``getReceivedEdocList`` takes one ``type``), so there is no order across kinds to check;
- the attempt number continues across connections only where the queue counts deliveries itself (a broker,
  the spool): the axis keeps no delivery count, so a new ``axis+http://`` connection numbers its attempts
  from 1 (``Backend.shared_attempts``); within one connection the numbering is checked as for the others;
- the round trip's body is an edXML document (with Vietnamese text) rather than 256 arbitrary byte values,
  and the two-megabyte body an edXML document with an attachment of 1.5 MB (2 MB once in base64).

Nothing is skipped for the axis.  The resend of a package after a lost answer, which the axis must not take
as a second package, is the axis' own behaviour: ``tests/integration/test_axis_transport.py`` checks it.
"""

from __future__ import annotations

from collections import Counter

import pytest

from docflow.errors import TransportError
from docflow.transports import Delivery, Message, Transport


def ids(deliveries: list[Delivery]) -> list[str]:
    return [d.message.message_id for d in deliveries]


def test_every_backend_satisfies_the_protocol(backend):
    assert isinstance(backend.open(), Transport)


def test_round_trip_preserves_body_and_headers_exactly(backend):
    a = backend.nodes[0]
    body = backend.binary(a)
    sent = Message(
        "00.00.W00-2017-abc/1",
        backend.sender,
        a,
        "edoc",
        body,
        {"trace": "Văn phòng Chính phủ → UBND tỉnh", "empty": "", "x-y": "1"},
    )
    with backend.open() as transport:
        transport.send(sent)
        [delivery] = transport.receive(a)
        assert delivery.message == sent
        assert delivery.message.body == body
        assert dict(delivery.message.headers) == dict(sent.headers)
        assert delivery.attempt == 1
        assert delivery.node == a
        transport.ack(delivery)
        assert transport.receive(a) == []
        assert transport.pending(a) == 0


def test_fifo_per_recipient(backend):
    a = backend.nodes[0]
    transport = backend.open()
    for n in range(20):
        transport.send(backend.msg(n, a))
    got: list[Delivery] = []
    while batch := transport.receive(a, limit=7):
        assert len(batch) <= 7
        got.extend(batch)
    assert ids(got) == [f"M-{n}" for n in range(20)]
    for delivery in got:
        transport.ack(delivery)
    assert transport.pending(a) == 0


def test_recipients_are_isolated(backend):
    a, b, c = backend.nodes
    transport = backend.open()
    transport.send(backend.msg(1, a))
    transport.send(backend.msg(2, b))
    transport.send(backend.msg(3, a))
    assert transport.pending(a) == 2
    assert transport.pending(b) == 1
    assert transport.pending(c) == 0
    assert ids(transport.receive(a)) == ["M-1", "M-3"]
    assert transport.receive(c) == []
    [for_b] = transport.receive(b)
    assert for_b.message.recipient == b


def test_nack_with_requeue_redelivers_with_the_next_attempt(backend):
    a = backend.nodes[0]
    transport = backend.open()
    transport.send(backend.msg(1, a))
    [first] = transport.receive(a)
    transport.nack(first)
    [second] = transport.receive(a)
    assert second.message == first.message
    assert second.attempt == 2
    transport.nack(second, requeue=True)
    [third] = transport.receive(a)
    assert third.attempt == 3
    transport.ack(third)
    assert transport.receive(a) == []
    assert transport.pending(a) == 0


def test_nack_without_requeue_dead_letters_the_message(backend):
    a = backend.nodes[0]
    transport = backend.open()
    transport.send(backend.msg(1, a))
    transport.send(backend.msg(2, a))
    [poison, good] = transport.receive(a)
    transport.nack(poison, requeue=False)
    transport.ack(good)
    assert transport.receive(a) == []
    assert transport.pending(a) == 0
    assert transport.dead_letters(a) == [poison.message]  # type: ignore[attr-defined]


def test_unacked_delivery_comes_back_after_the_visibility_timeout(backend):
    a = backend.nodes[0]
    transport = backend.open(visibility_timeout=10.0)
    transport.send(backend.msg(1, a))
    [claimed] = transport.receive(a)
    backend.clock.advance(9.0)
    assert transport.receive(a) == []  # still claimed
    backend.clock.advance(1.0)
    [again] = transport.receive(a)
    assert again.message == claimed.message
    assert again.attempt == 2
    transport.ack(again)
    backend.clock.advance(100.0)
    assert transport.receive(a) == []


def test_unacked_delivery_comes_back_when_the_consumer_reopens(backend):
    a = backend.nodes[0]
    sender = backend.open()
    sender.send(backend.msg(1, a))
    consumer = backend.open()
    [claimed] = consumer.receive(a)
    consumer.close()
    restarted = backend.open()
    [again] = backend.receive_eventually(restarted, a)
    assert again.message == claimed.message
    assert again.attempt == (2 if backend.shared_attempts else 1)


def test_acked_message_is_never_redelivered(backend):
    a = backend.nodes[0]
    transport = backend.open(visibility_timeout=5.0)
    transport.send(backend.msg(1, a))
    transport.send(backend.msg(2, a))
    [first, second] = transport.receive(a)
    transport.ack(first)
    transport.close()  # the unacked second one goes back
    backend.clock.advance(60.0)
    reopened = backend.open()
    [again] = backend.receive_eventually(reopened, a)
    assert again.message == second.message
    reopened.ack(again)
    backend.clock.advance(60.0)
    assert reopened.receive(a) == []
    assert reopened.pending(a) == 0


def test_ack_of_a_lapsed_claim_is_harmless(backend):
    a = backend.nodes[0]
    transport = backend.open(visibility_timeout=5.0)
    transport.send(backend.msg(1, a))
    [old] = transport.receive(a)
    backend.clock.advance(5.0)
    [new] = transport.receive(a)
    transport.ack(old)  # too late: the message was handed out again
    assert transport.pending(a) == 1
    transport.ack(new)
    assert transport.pending(a) == 0


def test_settling_after_the_deadline_does_not_count_even_if_nobody_looked(backend):
    a = backend.nodes[0]
    transport = backend.open(visibility_timeout=5.0)
    transport.send(backend.msg(1, a))
    transport.send(backend.msg(2, a))
    [late_ack, late_dead] = transport.receive(a)
    backend.clock.advance(5.0)
    transport.ack(late_ack)
    transport.nack(late_dead, requeue=False)
    again = transport.receive(a)
    assert ids(again) == ["M-1", "M-2"]
    assert [d.attempt for d in again] == [2, 2]


def test_pending_counts_waiting_and_claimed_messages(backend):
    a = backend.nodes[0]
    transport = backend.open()
    for n in range(3):
        transport.send(backend.msg(n, a))
    assert transport.pending(a) == 3
    claimed = transport.receive(a, limit=2)
    assert transport.pending(a) == 3
    transport.ack(claimed[0])
    assert transport.pending(a) == 2
    transport.nack(claimed[1], requeue=False)
    assert transport.pending(a) == 1


def test_close_is_idempotent_and_a_closed_transport_refuses_work(backend):
    a = backend.nodes[0]
    with backend.open() as transport:
        transport.send(backend.msg(1, a))
    transport.close()
    transport.close()
    with pytest.raises(TransportError):
        transport.send(backend.msg(2, a))
    with pytest.raises(TransportError):
        transport.receive(a)


def test_bad_arguments_are_transport_errors(backend):
    transport = backend.open()
    with pytest.raises(TransportError):
        transport.receive(backend.nodes[0], limit=0)
    with pytest.raises(TransportError):
        transport.receive("../etc")
    with pytest.raises(TransportError):
        Message("M-1", "a", "b/c", "edoc", b"")


def test_large_body_of_two_megabytes(backend):
    a = backend.nodes[0]
    body = backend.large(a, 2 * 1024 * 1024)
    assert len(body) >= 2 * 1024 * 1024
    transport = backend.open()
    transport.send(backend.msg("big", a, body=body))
    [delivery] = transport.receive(a)
    assert len(delivery.message.body) == len(body)
    assert delivery.message.body == body
    transport.ack(delivery)


def test_a_thousand_messages_none_lost_or_doubled(backend):
    a, b = backend.nodes[:2]
    transport = backend.open()
    for n in range(1000):
        transport.send(backend.msg(n, a if n % 4 else b))
    seen: Counter[str] = Counter()
    for node in (a, b):
        while batch := transport.receive(node, limit=100):
            for delivery in batch:
                seen[delivery.message.message_id] += 1
                transport.ack(delivery)
    assert len(seen) == 1000
    assert set(seen.values()) == {1}
    assert transport.pending(a) == transport.pending(b) == 0

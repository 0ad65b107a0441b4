"""Replaying a node's audit events to the states they imply, and comparing them with the state tables.

The chain proves the events were not changed; this proves the state tables (``deliveries``, ``inbound``,
``amendments``) say what the events say, so an edit of a state row behind the engine's back is found.  The
audit rows the engine writes (``docflow.domain.events.record``) are read by their columns:

=======================  ==========================================================================
kind                     effect on the replayed state
=======================  ==========================================================================
``sent``                 a delivery ``(document, recipient column)`` starts ``queued``
``arrived``              the node's inbound copy ``(document, detail.business)`` starts ``received``
``amendment-requested``  an amendment ``(document, recipient column, detail.business, detail.round)``
                         starts ``requested``
``moved``                the row of ``detail.lifecycle`` keyed as above moves ``detail.old`` →
                         ``detail.new`` (its ``old`` must be the replayed state: a row edited between
                         two moves is caught at the next one)
=======================  ==========================================================================

Two DELIVERY moves are never written as events: ``send`` and ``resend`` (the relay marks what it handed to the
transport; the ``sent`` event already says so), so a replayed ``queued`` or ``retrying`` delivery may stand at
``sent`` in the table.  Rows of other kinds change no state.  A state row with no event behind it, an event
whose row is gone, and a row whose state differs from the replay are reported with the row's id and the event
that set the state.
Imports SQLAlchemy Core, ``docflow.domain.lifecycle`` and this package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import Connection, select

from docflow.domain.lifecycle import AMENDMENT, DELIVERY, INBOUND, Lifecycle
from docflow.store.tables import amendments, deliveries, inbound

#: Moves the engine makes without writing an event, by lifecycle.
UNRECORDED: dict[str, tuple[str, ...]] = {"delivery": ("send", "resend"), "inbound": (), "amendment": ()}
LIFECYCLES: dict[str, Lifecycle[Any]] = {"delivery": DELIVERY, "inbound": INBOUND, "amendment": AMENDMENT}
TABLES = {"delivery": deliveries, "inbound": inbound, "amendment": amendments}
TABLE_NAMES = {"delivery": "deliveries", "inbound": "inbound", "amendment": "amendments"}


@dataclass(frozen=True, slots=True)
class Finding:
    """A state that disagrees with the log: where (table and row id, or event ids) and why."""

    reason: str
    event_id: int | None = None
    where: str = ""


def _reach(lifecycle: Lifecycle[Any], silent: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """state -> the states it may show in the table after moves that write no event."""
    out: dict[str, frozenset[str]] = {}
    for start in lifecycle.states:
        seen = {start}
        todo = [start]
        while todo:
            state = todo.pop()
            for event in silent:
                if lifecycle.can(state, event):
                    nxt = lifecycle.fire(state, event)
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
        out[start.value] = frozenset(s.value for s in seen)
    return out


REACH = {name: _reach(lc, UNRECORDED[name]) for name, lc in LIFECYCLES.items()}

Key = tuple[Any, ...]


@dataclass(slots=True)
class Replay:
    """The states one node's events imply, built event by event."""

    node: str
    states: dict[str, dict[Key, tuple[str, int]]] = field(
        default_factory=lambda: {name: {} for name in LIFECYCLES}
    )  # lifecycle -> key -> (state, id of the event that set it)

    def feed(self, event_id: int, kind: str, document_id: str, party: str, detail_text: str) -> Finding | None:
        """Apply one audit row; a ``Finding`` when it contradicts the states replayed so far."""
        if kind not in ("sent", "arrived", "amendment-requested", "moved"):
            return None
        try:
            detail = json.loads(detail_text)
        except ValueError:
            return Finding("the event's detail is not JSON", event_id)
        if not isinstance(detail, dict):
            return None
        business, round_ = _int(detail.get("business")), _int(detail.get("round"))
        if kind == "sent":
            if party:  # a "sent" row without a recipient names no delivery
                self._start("delivery", (document_id, party), event_id)
            return None
        if kind == "arrived":
            self._start("inbound", (document_id, business), event_id)
            return None
        if kind == "amendment-requested":
            self._start("amendment", (document_id, party, business, round_), event_id)
            return None
        lifecycle = str(detail.get("lifecycle", ""))
        if lifecycle not in LIFECYCLES:
            return None
        key = _key(lifecycle, document_id, party, business, round_)
        old, new = str(detail.get("old", "")), str(detail.get("new", ""))
        known = self.states[lifecycle].get(key)
        if known is not None and old not in REACH[lifecycle].get(known[0], frozenset({known[0]})):
            return Finding(
                f"{lifecycle} {_show(key)} moves from {old!r}, but the log left it {known[0]!r} at event id "
                f"{known[1]}: the state was changed outside the engine in between",
                event_id,
            )
        self.states[lifecycle][key] = (new, event_id)
        return None

    def _start(self, lifecycle: str, key: Key, event_id: int) -> None:
        self.states[lifecycle].setdefault(key, (LIFECYCLES[lifecycle].initial.value, event_id))

    def compare(self, conn: Connection) -> Finding | None:
        """The first state row that disagrees with the replay (or a replayed row that is missing)."""
        for name, table in TABLES.items():
            expected = dict(self.states[name])
            for row in conn.execute(select(table).where(table.c.node == self.node).order_by(table.c.id)):
                key = _key(name, row.document_id, getattr(row, "recipient", ""), _business(name, row), _round(row))
                where = f"{TABLE_NAMES[name]} id {row.id}"
                found = expected.pop(key, None)
                if found is None:
                    return Finding(
                        f"{TABLE_NAMES[name]} row {_show(key)} in state {row.state!r} has no event in the log: "
                        "added or re-keyed outside the engine",
                        None,
                        where,
                    )
                state, event_id = found
                if row.state not in REACH[name].get(state, frozenset({state})):
                    return Finding(
                        f"{TABLE_NAMES[name]} row {_show(key)} is {row.state!r} but the log says {state!r} "
                        f"(event id {event_id}): the state table was edited",
                        event_id,
                        where,
                    )
            if expected:
                key, (state, event_id) = min(expected.items(), key=lambda item: item[1][1])
                return Finding(
                    f"{TABLE_NAMES[name]} row {_show(key)} ({state!r} since event id {event_id}) is missing: "
                    "deleted outside the engine",
                    event_id,
                    f"{TABLE_NAMES[name]} (deleted row)",
                )
        return None


def _key(lifecycle: str, document_id: str, party: str, business: int, round_: int) -> Key:
    if lifecycle == "delivery":
        return (document_id, party)
    if lifecycle == "inbound":
        return (document_id, business)
    return (document_id, party, business, round_)


def _business(name: str, row: Any) -> int:
    return int(row.business_type) if name != "delivery" else 0


def _round(row: Any) -> int:
    return int(getattr(row, "round", 0) or 0)


def _int(value: object) -> int:
    if isinstance(value, Enum):
        value = value.value
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _show(key: Key) -> str:
    return "(" + ", ".join(str(part) for part in key) + ")"

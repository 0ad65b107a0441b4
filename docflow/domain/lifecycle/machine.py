"""``Lifecycle``: one lifecycle table behind ONE shared ``transitions.Machine``, fired on a throw-away cursor.

The machine is built lazily, once per process, with ``model=None``: no model is ever added to it
(``add_model`` costs ~0.4 ms and tens of KB per document and grows quadratically).  ``fire`` wraps the
stored state in a ``__slots__`` cursor and calls ``machine.events[event].trigger(cursor, **context)``:
``Event.trigger`` reads the state through ``getattr(cursor, machine.model_attribute)`` (an Enum member
resolves by its name), checks the source with ``ignore_invalid_triggers=False`` (so an event with no row
for the state raises ``MachineError``), evaluates the guards with ``send_event=True`` (they read
``event_data.kwargs``), and writes the destination back with ``setattr``; an internal transition
(``dest=None``) leaves the cursor alone; all guards failing returns ``False``.  Both failures become
``IllegalTransitionError``.  Nothing the caller owns is mutated and nothing is shared between calls, so
``fire`` is safe from several threads.

Must not import lxml, sqlalchemy or any transport; ``transitions`` is the only third-party import.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, Generic, NamedTuple, TypeVar, cast

from transitions import Machine, MachineError
from transitions.core import EventData

from docflow.domain.lifecycle.tables import Guard, Row, behind, stage_ranks
from docflow.errors import IllegalTransitionError, LifecycleError

S = TypeVar("S", bound=Enum)


class Move(NamedTuple):
    """One line of a lifecycle table: ``event`` in ``source`` leads to ``dest`` (``dest == source``: kept)."""

    source: Enum
    event: str
    dest: Enum
    guard: str = ""

    @property
    def keeps_state(self) -> bool:
        return self.dest is self.source


class _Cursor:
    """The light object the shared machine moves: only the state read from (and written back to) the row."""

    __slots__ = ("state",)

    def __init__(self, state: Enum) -> None:
        self.state = state


def _condition(guard: Guard) -> Any:
    def check(event_data: EventData) -> bool:
        return guard.test(event_data.kwargs)

    check.__name__ = guard.text.replace(" ", "_")
    return check


class Lifecycle(Generic[S]):
    """One lifecycle kind (DELIVERY, INBOUND, AMENDMENT): its table, and a pure ``fire`` over stored states."""

    def __init__(
        self,
        name: str,
        states: type[S],
        initial: S,
        terminal: Iterable[S],
        rows: Iterable[Row],
        order: Mapping[S, Iterable[S]],
    ) -> None:
        self.name = name
        self.states = states
        self.initial = initial
        self.terminal: frozenset[S] = frozenset(terminal)
        self.rows: tuple[Row, ...] = tuple(rows)
        self._ranks = stage_ranks(order, states)
        self._behind = behind(order, states)
        self._needs: dict[str, tuple[str, ...]] = {}
        for row in self.rows:
            if row.guard is not None:
                self._needs[row.event] = tuple(dict.fromkeys(self._needs.get(row.event, ()) + row.guard.needs))
        self._check_table()
        self._lock = threading.Lock()
        self._machine: Machine | None = None
        self._allowed: dict[Enum, frozenset[str]] = {}

    # --- the shared machine --------------------------------------------------------------------------
    @property
    def machine(self) -> Machine:
        """The one ``transitions.Machine`` of this lifecycle (built on first use, then reused)."""
        machine = self._machine
        if machine is None:
            with self._lock:
                if self._machine is None:
                    self._machine = self._build()
                machine = self._machine
        return machine

    def _build(self) -> Machine:
        machine = Machine(
            model=None,
            states=self.states,
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            name=self.name,
        )
        for row in self.rows:
            conditions = [_condition(row.guard)] if row.guard is not None else None
            machine.add_transition(row.event, list(row.sources), row.dest, conditions=conditions)
        self._allowed = {
            state: frozenset(name for name, event in machine.events.items() if state.name in event.transitions)
            for state in self.states
        }
        return machine

    # --- the API the engine calls --------------------------------------------------------------------
    def fire(self, state: S, event: str, *, document: str = "?", **context: object) -> S:
        """The state after ``event`` in ``state``; ``context`` feeds the guards (``fail`` needs attempts, budget).

        Raises ``IllegalTransitionError`` (naming document, state, event, lifecycle) when the table has no
        row for it; the same state back means the event was legal and changes nothing.
        """
        if type(state) is not self.states:
            raise TypeError(f"{self.name}: state must be a {self.states.__name__}, not {state!r}")
        trigger = self.machine.events.get(event)
        if trigger is None:
            raise IllegalTransitionError(document=document, state=state.value, event=event, lifecycle=self.name)
        for key in self._needs.get(event, ()):
            if key not in context:
                raise TypeError(f"{self.name}: event {event!r} needs the context argument {key}=")
        cursor = _Cursor(state)
        try:
            moved = trigger.trigger(cursor, **context)
        except MachineError:
            moved = False
        if not moved:
            raise IllegalTransitionError(document=document, state=state.value, event=event, lifecycle=self.name)
        return cursor.state  # type: ignore[return-value]

    def allowed(self, state: S) -> frozenset[str]:
        """The events legal in ``state`` (for a guarded event, at least one guard can pass)."""
        self.machine  # noqa: B018 - builds the machine, which fills the cache
        return self._allowed[state]

    def can(self, state: S, event: str) -> bool:
        return event in self.allowed(state)

    @property
    def events(self) -> tuple[str, ...]:
        """Every event of the table, in table order."""
        return tuple(dict.fromkeys(row.event for row in self.rows))

    def transitions(self) -> list[Move]:
        """The table, one ``Move`` per source (for diagrams and tests)."""
        return [
            Move(source, row.event, source if row.dest is None else row.dest, row.guard.text if row.guard else "")
            for row in self.rows
            for source in row.sources
        ]

    def rank(self, state: S) -> int:
        """Length of the longest chain of stages behind ``state``; no row ever lowers it."""
        return self._ranks[state]

    def is_behind(self, earlier: S, later: S) -> bool:
        """True when ``earlier`` is strictly behind ``later`` in the stage order."""
        return earlier in self._behind[later]

    # --- the table checks itself once, at import ---------------------------------------------------------
    def _check_table(self) -> None:
        seen: dict[tuple[Enum, str], list[Guard | None]] = {}
        ranks = cast(Mapping[Enum, int], self._ranks)
        for row in self.rows:
            for state in (*row.sources, *((row.dest,) if row.dest is not None else ())):
                if type(state) is not self.states:
                    raise LifecycleError(f"{self.name}: {state!r} in row {row.event!r} is not a {self.states}")
            for source in row.sources:
                guards = seen.setdefault((source, row.event), [])
                if guards and (row.guard is None or None in guards):
                    raise LifecycleError(f"{self.name}: two unguarded rows for {row.event!r} in {source.name}")
                guards.append(row.guard)
                if row.dest is not None and source in self.terminal:
                    raise LifecycleError(f"{self.name}: row {row.event!r} leaves terminal state {source.name}")
                if row.dest is not None and ranks[row.dest] < ranks[source]:
                    raise LifecycleError(f"{self.name}: row {row.event!r} goes back from {source.name}")

    def __repr__(self) -> str:
        return f"<Lifecycle {self.name}: {len(self.states)} states, {len(self.rows)} rows>"

"""Lifecycle benchmarks: ``Lifecycle.fire`` on the shared machine, against two floors, over one realistic mix.

The mix is what a node does for one delivery: send, a failed attempt within budget, resend, then statuses
out of order and duplicated (01, 05 before 03, the late 03, 06 and a duplicate 06) — eight fires.

- ``lifecycle_fire``: ``DELIVERY.fire`` against the floor of calling ``machine.events[e].trigger(cursor)``
  directly on the same shared machine: what docflow adds on top of ``transitions`` (type check, context
  check, error mapping) must stay small.
- ``lifecycle_fire_vs_dict``: the same against a precomputed ``(state, event) -> dest`` dict, i.e. the cost of
  using ``transitions`` at all (GUIDE rule 8 chooses it for the declarative table; this figure keeps the
  price visible).  Both run far below a per-document ``Machine`` or ``add_model`` (hundreds of µs each).
"""

from __future__ import annotations

from harness import Case, benchmark

from docflow.domain.lifecycle import DELIVERY, DeliveryState

D = DeliveryState

#: (state read from the row, event, context) — the states follow each other as a node would see them.
MIX: tuple[tuple[DeliveryState, str, dict[str, bool]], ...] = (
    (D.QUEUED, "send", {}),
    (D.SENT, "fail", {"spent": False}),
    (D.RETRYING, "resend", {}),
    (D.SENT, "arrive", {}),
    (D.ARRIVED, "process", {}),
    (D.PROCESSING, "accept", {}),
    (D.PROCESSING, "complete", {}),
    (D.COMPLETED, "complete", {}),
)


class _Cursor:
    __slots__ = ("state",)

    def __init__(self, state: DeliveryState) -> None:
        self.state = state


def _subject() -> None:
    fire = DELIVERY.fire
    for state, event, context in MIX:
        fire(state, event, document="bench", **context)


def _check(results: list[DeliveryState]) -> None:
    expected = [DELIVERY.fire(state, event, **context) for state, event, context in MIX]
    if results != expected:
        raise AssertionError(f"floor disagrees with Lifecycle.fire: {results} != {expected}")


@benchmark("lifecycle_fire", target=1.5)
def lifecycle_fire() -> Case:
    """DELIVERY.fire x8 (send, retry, out-of-order statuses) vs bare Event.trigger on the shared machine."""
    events = DELIVERY.machine.events
    steps = [(state, events[event], context) for state, event, context in MIX]

    def floor() -> list[DeliveryState]:
        results = []
        for state, event, context in steps:
            cursor = _Cursor(state)
            event.trigger(cursor, **context)
            results.append(cursor.state)
        return results

    _check(floor())
    return Case(subject=_subject, floor=floor)


@benchmark("lifecycle_fire_vs_dict", target=75.0)
def lifecycle_fire_vs_dict() -> Case:
    """DELIVERY.fire x8 vs a precomputed (state, event) -> dest dict: the price of the transitions machine."""
    table = {(m.source, m.event, m.guard): m.dest for m in DELIVERY.transitions()}
    steps = [(state, event, "budget left" if event == "fail" else "", context) for state, event, context in MIX]

    def floor() -> list[DeliveryState]:
        return [table[state, event, guard] for state, event, guard, _context in steps]

    _check(floor())
    return Case(subject=_subject, floor=floor)

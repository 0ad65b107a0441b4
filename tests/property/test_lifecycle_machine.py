"""Random event streams (legal, illegal, duplicated, out of order) against each lifecycle, checking invariants."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from docflow.domain.lifecycle import (
    AMENDMENT,
    DELIVERY,
    INBOUND,
    DeliveryState,
    Lifecycle,
    status_event,
)
from docflow.domain.status import StatusCode
from docflow.errors import IllegalTransitionError

D = DeliveryState
#: not idempotent by design: each is one attempt of the sender (all others may arrive twice)
ONE_SHOT = frozenset({"send", "fail", "resend", "revive"})
#: the test's own, independent view of how far the receiver got (02 sits beside 03)
PROGRESS = {D.ARRIVED: 1, D.ACCEPTED: 2, D.REJECTED: 2, D.ASSIGNED: 3, D.PROCESSING: 4, D.COMPLETED: 5}
FAST = settings(max_examples=50, stateful_step_count=20, deadline=None)


class LifecycleMachine(RuleBasedStateMachine):
    """Drives one stored state the way the engine would; subclasses pick the lifecycle."""

    lifecycle: Lifecycle

    @initialize(start=st.data())
    def start(self, start: st.DataObject) -> None:
        # start anywhere: every state can be the one read from a row
        self.state = start.draw(st.sampled_from(list(self.lifecycle.states)))
        # DELIVERY only: the stages announced so far (a state read from a row counts as announced)
        self.reached: list[DeliveryState] = [self.state] if self.state in PROGRESS else []

    def _fire(self, event: str, **context: object) -> None:
        before = self.state
        try:
            after = self.lifecycle.fire(before, event, document="doc-1", **context)
        except IllegalTransitionError as error:
            assert (error.document, error.state, error.event) == ("doc-1", before.value, event)
            assert not self.lifecycle.can(before, event)
            return  # the caller persists nothing: self.state stays `before`
        assert self.lifecycle.can(before, event)
        assert isinstance(after, self.lifecycle.states)
        if before in self.lifecycle.terminal:
            assert after is before, f"terminal {before} left by {event}"
        assert self.lifecycle.rank(after) >= self.lifecycle.rank(before), f"{before} -{event}-> {after} went back"
        if event not in ONE_SHOT:
            assert self.lifecycle.fire(after, event, **context) is after, f"{event} twice differs from once"
        if self.lifecycle is DELIVERY and event in _STAGE_OF:
            self.reached.append(_STAGE_OF[event])
        self.state = after

    @rule(code=st.sampled_from(list(StatusCode)))
    def receive_status(self, code: StatusCode) -> None:
        self._fire(status_event(code))

    @rule(data=st.data())
    def other_event(self, data: st.DataObject) -> None:
        event = data.draw(st.sampled_from([*self.lifecycle.events, "teleport"]))
        self._fire(event, spent=data.draw(st.booleans()))

    @precondition(lambda self: self.lifecycle is DELIVERY)
    @invariant()
    def delivery_is_at_the_furthest_stage_announced(self) -> None:
        if self.state in PROGRESS and self.reached:
            assert PROGRESS[self.state] == max(PROGRESS[stage] for stage in self.reached)


_STAGE_OF = {
    "arrive": D.ARRIVED,
    "accept": D.ACCEPTED,
    "reject": D.REJECTED,
    "assign": D.ASSIGNED,
    "process": D.PROCESSING,
    "complete": D.COMPLETED,
}


class DeliveryMachine(LifecycleMachine):
    lifecycle = DELIVERY


class InboundMachine(LifecycleMachine):
    lifecycle = INBOUND


class AmendmentMachine(LifecycleMachine):
    lifecycle = AMENDMENT


TestDelivery = DeliveryMachine.TestCase
TestDelivery.settings = FAST
TestInbound = InboundMachine.TestCase
TestInbound.settings = FAST
TestAmendment = AmendmentMachine.TestCase
TestAmendment.settings = FAST

_FORWARD = ["01", "03", "04", "05", "06"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(_FORWARD), min_size=1, max_size=8).flatmap(st.permutations))
def test_order_and_duplicates_of_statuses_do_not_change_the_outcome(codes):
    state = D.SENT
    for code in codes:
        state = DELIVERY.fire(state, status_event(StatusCode(code)))
    furthest = max(codes, key=_FORWARD.index)
    assert state is D[StatusCode(furthest).name]


def test_every_order_of_a_full_status_run_ends_completed():
    for order in itertools.permutations(_FORWARD):
        state = D.QUEUED
        for code in order:
            state = DELIVERY.fire(state, status_event(StatusCode(code)))
        assert state is D.COMPLETED

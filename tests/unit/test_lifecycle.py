"""The three lifecycles through their public API: every table row, the key paths, illegal moves, one machine each."""

from __future__ import annotations

import threading

import pytest

from docflow.domain.envelope import BusinessDocType
from docflow.domain.lifecycle import (
    AMENDMENT,
    DELIVERY,
    INBOUND,
    LIFECYCLES,
    AmendmentState,
    DeliveryState,
    InboundState,
    Lifecycle,
    amendment_effect,
    status_event,
)
from docflow.domain.lifecycle.tables import STAY, WITHIN_BUDGET, Row
from docflow.domain.status import StatusCode
from docflow.errors import IllegalTransitionError, LifecycleError

D, I, A = DeliveryState, InboundState, AmendmentState  # noqa: E741
ALL = list(LIFECYCLES.values())


def _context(move_guard: str) -> dict[str, int]:
    if not move_guard:
        return {}
    return {"spent": move_guard != WITHIN_BUDGET.text}


def _fire_all(lifecycle: Lifecycle, state, codes: list[str], document: str = "doc") -> object:
    for code in codes:
        state = lifecycle.fire(state, status_event(StatusCode.parse(code)), document=document)
    return state


# --- every row of every table does what it says --------------------------------------------------------
@pytest.mark.parametrize("lifecycle", ALL, ids=lambda lc: lc.name)
def test_every_table_row_fires_to_its_destination(lifecycle):
    moves = lifecycle.transitions()
    assert moves
    for move in moves:
        assert lifecycle.fire(move.source, move.event, **_context(move.guard)) is move.dest, move


@pytest.mark.parametrize("lifecycle", ALL, ids=lambda lc: lc.name)
def test_allowed_and_can_agree_with_fire_for_every_state_and_event(lifecycle):
    for state in lifecycle.states:
        for event in (*lifecycle.events, "no_such_event"):
            context = {"spent": False}
            try:
                lifecycle.fire(state, event, **context)
                legal = True
            except IllegalTransitionError:
                legal = False
            assert legal == lifecycle.can(state, event) == (event in lifecycle.allowed(state)), (state, event)


@pytest.mark.parametrize("lifecycle", ALL, ids=lambda lc: lc.name)
def test_terminal_states_only_accept_no_ops(lifecycle):
    assert lifecycle.terminal
    for state in lifecycle.terminal:
        for event in lifecycle.allowed(state):
            assert lifecycle.fire(state, event, spent=False) is state


@pytest.mark.parametrize("lifecycle", ALL, ids=lambda lc: lc.name)
def test_machine_holds_exactly_the_table(lifecycle):
    machine = lifecycle.machine
    built = {
        (source, name, transition.dest or source)
        for name, event in machine.events.items()
        for source, transitions in event.transitions.items()
        for transition in transitions
    }
    table = {(m.source.name, m.event, m.dest.name) for m in lifecycle.transitions()}
    assert built == table
    assert machine.auto_transitions is False
    assert set(machine.states) == {s.name for s in lifecycle.states}


@pytest.mark.parametrize("lifecycle", ALL, ids=lambda lc: lc.name)
def test_no_row_lowers_the_stage_rank(lifecycle):
    for move in lifecycle.transitions():
        assert lifecycle.rank(move.dest) >= lifecycle.rank(move.source), move


# --- DELIVERY --------------------------------------------------------------------------------------------
def test_delivery_happy_path():
    state = DELIVERY.fire(D.QUEUED, "send")
    assert _fire_all(DELIVERY, state, ["01", "03", "04", "05", "06"]) is D.COMPLETED


@pytest.mark.parametrize(
    ("codes", "final"),
    [
        (["05", "03"], D.PROCESSING),  # 05 before 03: skip forward, the late 03 changes nothing
        (["06", "01"], D.COMPLETED),  # 01 after 06
        (["03", "01", "03"], D.ACCEPTED),  # duplicates
        (["04"], D.ASSIGNED),  # 01 and 03 lost: still forward
        (["02", "01", "02"], D.REJECTED),
        (["06", "05", "04", "03", "01", "06"], D.COMPLETED),
    ],
)
def test_delivery_statuses_out_of_order(codes, final):
    assert _fire_all(DELIVERY, D.SENT, codes) is final


def test_delivery_status_before_the_send_was_recorded_moves_forward():
    # the outbox sent, the process died before committing `send`, the receiver's 01 comes back
    assert DELIVERY.fire(D.QUEUED, "arrive") is D.ARRIVED
    assert DELIVERY.fire(D.RETRYING, "accept") is D.ACCEPTED


@pytest.mark.parametrize(
    ("state", "code"),
    [(D.REJECTED, "03"), (D.ACCEPTED, "02"), (D.COMPLETED, "02"), (D.REVOKED, "06")],
)
def test_delivery_conflicting_status_is_illegal_and_named(state, code):
    event = status_event(StatusCode.parse(code))
    with pytest.raises(IllegalTransitionError) as caught:
        DELIVERY.fire(state, event, document="000.00.00.G22,2024/01/02,12/VPCP")
    error = caught.value
    assert (error.document, error.state, error.event, error.lifecycle) == (
        "000.00.00.G22,2024/01/02,12/VPCP",
        state.value,
        event,
        "delivery",
    )
    assert "000.00.00.G22,2024/01/02,12/VPCP" in str(error) and state.value in str(error) and event in str(error)


def test_delivery_statuses_sent_before_an_agreed_recall_are_kept_as_no_ops():
    for code in ("01", "03", "04", "05"):
        assert DELIVERY.fire(D.REVOKED, status_event(StatusCode.parse(code))) is D.REVOKED


@pytest.mark.parametrize("source", [D.QUEUED, D.SENT, D.RETRYING])
@pytest.mark.parametrize(("spent", "dest"), [(False, D.RETRYING), (True, D.DEAD)])
def test_delivery_fails_to_retrying_until_the_budgets_are_spent(source, spent, dest):
    assert DELIVERY.fire(source, "fail", spent=spent) is dest


def test_delivery_retry_then_resend_then_dead_then_revived():
    state = DELIVERY.fire(D.QUEUED, "fail", spent=False)
    state = DELIVERY.fire(state, "resend")
    assert state is D.SENT
    state = DELIVERY.fire(state, "fail", spent=True)
    assert state is D.DEAD
    assert DELIVERY.fire(state, "revive") is D.RETRYING  # an operator queues it again


def test_a_status_after_dead_moves_the_delivery_forward():
    # the document got through after all (a 01 that outlived a given-up hop, or a revived copy)
    assert DELIVERY.fire(D.DEAD, "arrive") is D.ARRIVED
    assert DELIVERY.fire(D.DEAD, "complete") is D.COMPLETED


def test_delivery_fail_needs_its_context():
    with pytest.raises(TypeError, match="spent"):
        DELIVERY.fire(D.SENT, "fail")


@pytest.mark.parametrize(("state", "event"), [(D.QUEUED, "resend"), (D.SENT, "send"), (D.ARRIVED, "fail")])
def test_delivery_illegal_sending_moves(state, event):
    with pytest.raises(IllegalTransitionError, match=event):
        DELIVERY.fire(state, event, spent=False)


def test_recall_agreed_revokes_delivery_and_inbound_refused_changes_nothing():
    amendment = AMENDMENT.fire(AmendmentState.REQUESTED, status_event(StatusCode.parse("14")))  # 14 reads as 15
    assert amendment is A.AGREED
    effect = amendment_effect(BusinessDocType.REVOKE)
    assert DELIVERY.fire(D.PROCESSING, effect) is D.REVOKED
    assert INBOUND.fire(I.PROCESSING, effect) is I.REVOKED
    assert AMENDMENT.fire(A.REQUESTED, status_event(StatusCode.REFUSED)) is A.REFUSED
    # refused: the delivery simply stays where the statuses put it; it never left its stage
    assert DELIVERY.fire(D.ASSIGNED, "process") is D.PROCESSING


def test_amendment_effects():
    assert [amendment_effect(k) for k in (BusinessDocType.REVOKE, BusinessDocType.UPDATE, BusinessDocType.REPLACE)] == [
        "revoke",
        "update",
        "replace",
    ]
    assert DELIVERY.fire(D.ACCEPTED, "update") is D.ACCEPTED
    assert DELIVERY.fire(D.ACCEPTED, "replace") is D.REPLACED
    with pytest.raises(LifecycleError, match="not an amendment"):
        amendment_effect(BusinessDocType.NEW)


@pytest.mark.parametrize("state", [D.QUEUED, D.COMPLETED, D.REJECTED, D.DEAD])
def test_delivery_cannot_be_revoked_unsent_or_finished(state):
    with pytest.raises(IllegalTransitionError):
        DELIVERY.fire(state, "revoke")


# --- INBOUND ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("events", "final"),
    [
        (["accept", "assign", "process", "complete"], I.COMPLETED),
        (["reject"], I.REJECTED),
        (["accept", "complete"], I.COMPLETED),  # for information only
        (["accept", "assign", "process", "revoke"], I.REVOKED),  # revoked from processing
        (["accept", "replace"], I.REPLACED),
        (["accept", "update", "assign", "update"], I.ASSIGNED),  # an update keeps the state
        (["arrive", "accept", "accept", "arrive"], I.ACCEPTED),  # repeats are idempotent
    ],
)
def test_inbound_paths(events, final):
    state = INBOUND.initial
    for event in events:
        state = INBOUND.fire(state, event)
    assert state is final


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (I.RECEIVED, "assign"),  # must be accepted (registered) first
        (I.RECEIVED, "complete"),
        (I.PROCESSING, "accept"),  # a stale action
        (I.COMPLETED, "revoke"),
        (I.REJECTED, "accept"),
        (I.REVOKED, "process"),
        (I.REPLACED, "revoke"),
        (I.ACCEPTED, "agree"),  # not an INBOUND event at all
    ],
)
def test_inbound_illegal_moves(state, event):
    with pytest.raises(IllegalTransitionError) as caught:
        INBOUND.fire(state, event, document="doc-7")
    assert (caught.value.document, caught.value.state, caught.value.event) == ("doc-7", state.value, event)
    assert caught.value.lifecycle == "inbound"


# --- AMENDMENT -------------------------------------------------------------------------------------------
def test_amendment_paths_and_illegal_moves():
    assert AMENDMENT.fire(A.REQUESTED, "request") is A.REQUESTED  # 13 sent twice
    assert AMENDMENT.fire(A.AGREED, "agree") is A.AGREED
    assert AMENDMENT.fire(A.REFUSED, "refuse") is A.REFUSED
    for state, event in ((A.AGREED, "refuse"), (A.REFUSED, "agree"), (A.AGREED, "request"), (A.REQUESTED, "arrive")):
        with pytest.raises(IllegalTransitionError, match=f"'{event}'"):
            AMENDMENT.fire(state, event, document="d")


# --- the API's contract ----------------------------------------------------------------------------------
def test_status_event_covers_every_code():
    assert {code: status_event(code) for code in StatusCode} == {
        StatusCode.ARRIVED: "arrive",
        StatusCode.REJECTED: "reject",
        StatusCode.ACCEPTED: "accept",
        StatusCode.ASSIGNED: "assign",
        StatusCode.PROCESSING: "process",
        StatusCode.COMPLETED: "complete",
        StatusCode.RECALLED: "request",
        StatusCode.AGREED: "agree",
        StatusCode.REFUSED: "refuse",
    }


def test_fire_refuses_a_state_of_another_lifecycle():
    with pytest.raises(TypeError, match="DeliveryState"):
        DELIVERY.fire(I.ACCEPTED, "process")  # same member name, wrong lifecycle
    with pytest.raises(TypeError):
        DELIVERY.fire("accepted", "process")


def test_one_shared_machine_no_matter_how_many_documents():
    machine = DELIVERY.machine
    before = id(machine)
    states = [D.SENT] * 10_000
    for code in ("01", "05", "03"):
        event = status_event(StatusCode.parse(code))
        states = [DELIVERY.fire(state, event, document=str(n)) for n, state in enumerate(states)]
    assert set(states) == {D.PROCESSING}
    assert id(DELIVERY.machine) == before
    assert machine.models == []
    for lifecycle in ALL:
        assert lifecycle.machine is lifecycle.machine and lifecycle.machine.models == []


def test_machine_is_built_once_under_concurrent_first_use():
    rows = [Row("agree", (A.REQUESTED,), A.AGREED)]
    lifecycle = Lifecycle("probe", AmendmentState, A.REQUESTED, {A.AGREED}, rows, {})
    seen: list[int] = []
    barrier = threading.Barrier(6)

    def use() -> None:
        barrier.wait()
        seen.append(id(lifecycle.machine))
        assert lifecycle.fire(A.REQUESTED, "agree") is A.AGREED

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6 and len(set(seen)) == 1


@pytest.mark.parametrize(
    ("rows", "terminal", "order", "message"),
    [
        ([Row("agree", (A.AGREED,), A.REQUESTED)], set(), {A.AGREED: (A.REQUESTED,)}, "goes back"),
        ([Row("agree", (A.AGREED,), A.REFUSED)], {A.AGREED}, {}, "leaves terminal"),
        ([Row("agree", (A.REQUESTED,), A.AGREED), Row("agree", (A.REQUESTED,), STAY)], set(), {}, "two unguarded"),
        ([Row("agree", (D.SENT,), STAY)], set(), {}, "is not a"),
    ],
)
def test_a_bad_table_is_refused_at_construction(rows, terminal, order, message):
    with pytest.raises(LifecycleError, match=message):
        Lifecycle("bad", AmendmentState, A.REQUESTED, terminal, rows, order)

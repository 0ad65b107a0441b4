"""The DOSSIER lifecycle (portal states 1–10): every move of STANDARD.md, the illegal ones, the portal codes."""

from __future__ import annotations

import pytest

from docflow.domain.lifecycle import DOSSIER, LIFECYCLES, DossierState
from docflow.errors import IllegalTransitionError

S = DossierState
OPEN = (S.SUBMITTED, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED, S.SUSPENDED)

#: every move STANDARD.md names, and nothing else
MOVES = {
    (S.SUBMITTED, "receive", S.RECEIVED),  # online 1 -> 2
    (S.SUBMITTED, "decline", S.REFUSED),  # online 1 -> 3
    (S.RECEIVED, "start", S.PROCESSING),  # 2 -> 4
    (S.PROCESSING, "hand_over", S.PROCESSING),  # 4 -> 4 at each step
    (S.PROCESSING, "request_supplement", S.SUPPLEMENT_REQUESTED),  # 4 -> 5
    (S.SUPPLEMENT_REQUESTED, "receive_supplement", S.RECEIVED),  # 5 -> 2 when the supplement arrives
    (S.PROCESSING, "request_payment", S.PAYMENT_REQUESTED),  # 4 -> 6
    (S.PAYMENT_REQUESTED, "pay", S.PROCESSING),
    (S.PROCESSING, "suspend", S.SUSPENDED),  # 4 -> 8
    (S.SUSPENDED, "resume", S.PROCESSING),
    (S.PROCESSING, "finish", S.PROCESSED),  # -> 9
    (S.PROCESSED, "return_result", S.RETURNED),  # 9 -> 10
    *((state, "withdraw", S.WITHDRAWN) for state in OPEN),  # 7 from any open state
}


def test_portal_codes_are_1_to_10_in_the_standards_order():
    assert [s.code for s in S] == list(range(1, 11))
    assert [S.from_code(n) for n in range(1, 11)] == list(S)
    assert S.from_code("9") is S.PROCESSED
    for bad in (0, 11, "x"):
        with pytest.raises(ValueError, match="expected 1–10"):
            S.from_code(bad)


def test_the_table_is_exactly_the_moves_of_the_standard():
    assert {(m.source, m.event, m.dest) for m in DOSSIER.transitions()} == MOVES
    assert LIFECYCLES["dossier"] is DOSSIER


@pytest.mark.parametrize(("source", "event", "dest"), sorted(MOVES, key=lambda m: (m[0].code, m[1])))
def test_each_move(source, event, dest):
    assert DOSSIER.fire(source, event, document="000.20.01.H58-171002-00001") is dest


@pytest.mark.parametrize("state", list(S))
def test_every_other_event_is_illegal_and_names_the_dossier(state):
    legal = {event for source, event, _ in MOVES if source is state}
    for event in DOSSIER.events:
        if event in legal:
            continue
        with pytest.raises(IllegalTransitionError) as caught:
            DOSSIER.fire(state, event, document="HS-1")
        assert (caught.value.document, caught.value.state, caught.value.event) == ("HS-1", state.value, event)
        assert caught.value.lifecycle == "dossier"


def test_terminal_states_accept_nothing():
    assert DOSSIER.terminal == {S.REFUSED, S.WITHDRAWN, S.RETURNED}
    for state in DOSSIER.terminal:
        assert DOSSIER.allowed(state) == frozenset()


def test_a_desk_dossier_with_a_supplement_a_suspension_and_payment_ends_returned():
    state = S.RECEIVED
    for event in ("start", "hand_over", "request_supplement", "receive_supplement", "start", "suspend", "resume",
                  "request_payment", "pay", "hand_over", "finish", "return_result"):  # fmt: skip
        state = DOSSIER.fire(state, event)
    assert state is S.RETURNED


def test_no_way_back_to_submitted_and_stages_in_hand_share_a_rank():
    ranks = {DOSSIER.rank(s) for s in (S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.SUSPENDED)}
    assert len(ranks) == 1 and DOSSIER.rank(S.SUBMITTED) < ranks.pop() < DOSSIER.rank(S.RETURNED)
    assert all(m.dest is not S.SUBMITTED for m in DOSSIER.transitions())

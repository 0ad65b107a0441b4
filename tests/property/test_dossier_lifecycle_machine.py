"""Random streams of dossier actions against the DOSSIER table, checked against an independent model."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from docflow.domain.lifecycle import DOSSIER, DossierState
from docflow.errors import IllegalTransitionError

S = DossierState
OPEN = frozenset({1, 2, 4, 5, 6, 8})
#: the test's own view of STANDARD.md, on portal codes: (code, event) -> code
MODEL = {
    (1, "receive"): 2, (1, "decline"): 3, (2, "start"): 4, (4, "hand_over"): 4, (4, "request_supplement"): 5,
    (5, "receive_supplement"): 2, (4, "request_payment"): 6, (6, "pay"): 4, (4, "suspend"): 8, (8, "resume"): 4,
    (4, "finish"): 9, (9, "return_result"): 10, **{(code, "withdraw"): 7 for code in OPEN},
}  # fmt: skip


class DossierMachine(RuleBasedStateMachine):
    """One stored dossier state driven by random actions, legal or not, including ones no table knows."""

    @initialize(code=st.sampled_from([1, 2]))  # online or at the desk
    def start(self, code: int) -> None:
        self.code = code
        self.history = [code]

    @rule(event=st.sampled_from([*DOSSIER.events, "teleport", "return"]))
    def act(self, event: str) -> None:
        before = S.from_code(self.code)
        expected = MODEL.get((self.code, event))
        try:
            after = DOSSIER.fire(before, event, document="HS")
        except IllegalTransitionError:
            assert expected is None, f"{event} refused in {before}"
            assert not DOSSIER.can(before, event)
            return
        assert after.code == expected, f"{before} -{event}-> {after}, expected {expected}"
        assert DOSSIER.rank(after) >= DOSSIER.rank(before)
        self.code = after.code
        self.history.append(self.code)

    @invariant()
    def terminal_states_are_final(self) -> None:
        for earlier, later in zip(self.history, self.history[1:], strict=False):
            if earlier in (3, 7, 10):
                assert later == earlier

    @invariant()
    def never_back_to_submitted(self) -> None:
        assert 1 not in self.history[1:]


TestDossierLifecycle = DossierMachine.TestCase
TestDossierLifecycle.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)

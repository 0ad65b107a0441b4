"""Random sequences of clerk actions on one dossier, with time passing: the holder's service keeps its
invariants (legal history, a row per action, deadlines never earlier, clock stopped exactly when it should be,
the message round-trips, a hand-over applies once)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, DossierMessage, Fee
from docflow.domain.envelope import Code
from docflow.domain.lifecycle import DOSSIER, DossierState
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import WorkCalendar
from docflow.errors import LifecycleError
from docflow.xml.dossier_xml import read_dossier, write_dossier

CAL = WorkCalendar()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
CATALOGUE = load_catalogue()
CODES = ["1.004227", "1.003003", "1.001776", "1.004859"]
CLERK = flow.Clerk("Phan Thanh Tùng")
LEGAL = {(m.source, m.dest) for m in DOSSIER.transitions()}


class DossierFlowMachine(RuleBasedStateMachine):
    @initialize(code=st.sampled_from(CODES), start=st.integers(0, 24 * 30))
    def receive(self, code: str, start: int) -> None:
        self.procedure = CATALOGUE[code]
        self.chain = step_agencies(REGISTRY, COMMUNE, self.procedure)
        self.now = datetime(2017, 10, 2, 6, 0) + timedelta(hours=start)
        self.d = flow.receive(
            self.procedure, CAL, code="HS-1", desk=COMMUNE, applicant=Applicant("Hồ Thị Lan"), at=self.now, clerk=CLERK
        )
        self.dues = [self.d.due_at]

    def _act(self, action) -> None:
        before = self.d
        try:
            after = action(before)
        except LifecycleError:
            return  # illegal here: the caller keeps the dossier it had
        assert len(after.history) == len(before.history) + 1
        self.d = after
        self.dues.append(after.due_at)

    @rule(hours=st.integers(0, 30))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours, minutes=7)

    @rule()
    def start(self) -> None:
        self._act(lambda d: flow.start(d, self.now, CLERK))

    @rule()
    def hand_over(self) -> None:
        def act(d):
            to = self.chain[min(d.step + 1, len(self.chain) - 1)]
            moved, message = flow.hand_over(d, self.procedure, CAL, self.now, CLERK, to)
            if message is not None:
                assert flow.apply_incoming(None, message, to) == moved
                assert flow.apply_incoming(moved, message, to) is None
            return moved

        self._act(act)

    @rule()
    def suspend_and_resume(self) -> None:
        self._act(lambda d: flow.suspend(d, self.now, CLERK, "chờ xác minh"))

    @rule()
    def resume(self) -> None:
        self._act(lambda d: flow.resume(d, self.procedure, CAL, self.now, CLERK))

    @rule()
    def request_supplement(self) -> None:
        self._act(lambda d: flow.request_supplement(d, self.now, CLERK, "bổ sung giấy tờ"))

    @rule()
    def receive_supplement(self) -> None:
        self._act(lambda d: flow.receive_supplement(d, self.procedure, CAL, self.now, CLERK))

    @rule()
    def payment(self) -> None:
        self._act(lambda d: flow.request_payment(d, self.now, CLERK, [Fee("Lệ phí", amount=20_000)]))

    @rule()
    def pay(self) -> None:
        self._act(lambda d: flow.pay(d, self.now, CLERK))

    @rule()
    def finish(self) -> None:
        self._act(lambda d: flow.finish(d, self.now, CLERK))

    @rule()
    def return_result(self) -> None:
        self._act(lambda d: flow.return_result(d, self.now, CLERK))

    @rule()
    def withdraw(self) -> None:
        self._act(lambda d: flow.withdraw(d, self.now, CLERK))

    @rule()
    def apologise(self) -> None:
        def act(d):
            if not flow.apology_due(d, self.procedure, CAL, self.now):
                raise LifecycleError("no apology due")
            holder, desk = REGISTRY.organization(d.holder), REGISTRY.organization(d.desk)
            out, letter = flow.apologise(
                d,
                self.procedure,
                CAL,
                self.now,
                CLERK,
                sender=holder,
                desk=desk,
                code=Code("1", "PXL"),
                reason="trễ hạn",
            )
            assert (letter is None) == (d.holder == d.desk)
            assert not flow.apology_due(out, self.procedure, CAL, self.now)
            return out

        self._act(act)

    @invariant()
    def history_is_a_walk_on_the_table(self) -> None:
        states = [row.state for row in self.d.history]
        assert states[-1] is self.d.state
        for a, b in itertools.pairwise(states):
            assert a is b or (a, b) in LEGAL, (a, b)

    @invariant()
    def return_dates_never_move_earlier(self) -> None:
        assert all(a <= b for a, b in itertools.pairwise(self.dues))

    @invariant()
    def the_clock_is_stopped_exactly_while_suspended_or_awaiting_papers(self) -> None:
        assert (self.d.paused_at is not None) == (
            self.d.state in (DossierState.SUSPENDED, DossierState.SUPPLEMENT_REQUESTED)
        )

    @invariant()
    def the_message_round_trips(self) -> None:
        message = DossierMessage(self.d.holder, self.d.desk, self.now, self.d)
        assert read_dossier(write_dossier(message)) == message


TestDossierFlow = DossierFlowMachine.TestCase
TestDossierFlow.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)

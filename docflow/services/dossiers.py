"""One-stop dossiers through the engine: what a desk clerk does with a dossier, and what the engine does when a
dossier message reaches the agency it was handed to.

``Dossiers(ctx, node)`` is one agency's desk.  Every operation is one unit of work (``work.unit``): the agency's
copy is loaded, ``docflow.domain.dossier_flow`` makes the change (the DOSSIER table decides; an illegal action
raises ``IllegalTransitionError`` and nothing is written), then ``_keep`` — the one place a changed copy is
stored — saves it with its new history rows, records the typed event and, for a hand-over to another agency,
queues the dossier message (kind ``dossier``) in the same unit of work; the relay sends it after the commit.
The apology letter of a late dossier is an ordinary edXML document queued through ``operations.send`` in the
same unit of work as the history row that records it.

A hand-over is signed with the handing agency's key when the engine signs (``Context.signing``) and it has one.
At the receiving end the engine calls ``read_dossier_hop`` (parse, validate, and check that the message is
the hand-over its routing headers name) and, at the final agency, ``take_dossier``: the signature is checked
when the node verifies (the dossier is then read from what was signed), ``apply_incoming`` decides,
a duplicate or older copy changes nothing, a history that does not extend the stored one is refused (the
engine quarantines it with the reason).
Must not import a concrete transport or sqlalchemy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, Channel, Dossier, DossierMessage, Fee, ResultPaper, SubmittedFile
from docflow.domain.envelope import Code
from docflow.domain.events import (
    BY_CLERK,
    DossierApologised,
    DossierHandedOver,
    DossierOpened,
    DossierReceived,
    StateChanged,
)
from docflow.domain.ids import OrganId
from docflow.domain.lifecycle import DOSSIER
from docflow.domain.procedures import Catalogue, Procedure, load_catalogue, step_agencies
from docflow.domain.worktime import WorkCalendar
from docflow.errors import LifecycleError, RegistryError, ValidationError, Violation
from docflow.services.context import Context
from docflow.services.operations import send
from docflow.services.outgoing import outbox_row
from docflow.services.trust import sign, trusted_dossier
from docflow.services.wire import DOSSIER as DOSSIER_KIND
from docflow.services.wire import Routing
from docflow.services.work import NodeWork, unit
from docflow.store.dossiers import load_dossier, save_dossier
from docflow.xml.dossier_xml import DossierHop, dossier_hop, read_dossier, write_dossier

Clerk = flow.Clerk


@functools.cache
def default_catalogue() -> Catalogue:
    """The procedure catalogue shipped in the package (read once)."""
    return load_catalogue()


@functools.cache
def default_calendar() -> WorkCalendar:
    """The legal working calendar (one instance, so its holiday tables are computed once)."""
    return WorkCalendar()


def dossier_routing(ctx: Context, message: DossierMessage) -> Routing:
    """Routing facts of a hand-over: ``round`` is the number of history rows, so the key is its identity."""
    sender, recipient = str(message.sender), str(message.recipient)
    route = ctx.route(sender, recipient).encode()
    return Routing(DOSSIER_KIND, sender, recipient, route, message.dossier.code, round=len(message.dossier.history))


def read_dossier_hop(body: bytes, routing: Routing, *, source: str | None = None) -> DossierHop:
    """Parse and validate a dossier message; ``ValidationError`` when it is not the hand-over its routing
    headers name (a body swapped under another message's key is refused, never applied)."""
    hop = dossier_hop(body, source=source)
    if hop.identity != routing.key:
        problem = f"dossier message is {hop.identity[:200]!r} but its routing headers name {routing.key[:200]!r}"
        raise ValidationError(problem, violations=[Violation(problem, path="/", rule="dossier-identity")])
    return hop


def take_dossier(here: NodeWork, routing: Routing, hop: DossierHop, body: bytes) -> bool:
    """The agency a dossier was handed to keeps its copy; ``False`` when the message changed nothing (a
    duplicate or older copy).  A history that does not extend the stored one raises ``ValidationError``
    (rule ``dossier-history``), which the engine quarantines with its reason."""
    message = trusted_dossier(here, hop)
    code = message.dossier.code
    stored = load_dossier(here.repo, here.node, code)
    mine = read_dossier(stored.body).dossier if stored is not None else None
    try:
        new = flow.apply_incoming(mine, message, OrganId.parse(here.node))
    except LifecycleError as exc:
        problem = str(exc)
        raise ValidationError(problem, violations=[Violation(problem, path="/", rule="dossier-history")]) from None
    if new is None:
        return False
    save_dossier(here.repo, here.node, new, body, here.now)
    here.record(DossierReceived(here.node, here.now, code, routing.origin, len(new.history), new.state.value))
    return True


def _keep(here: NodeWork, old: Dossier | None, new: Dossier, event: str, message: DossierMessage | None) -> None:
    """Store ``here``'s changed copy, record what happened and queue the hand-over message, if any."""
    node, now = here.node, here.now
    body = write_dossier(message or DossierMessage(OrganId.parse(node), OrganId.parse(node), now, new))
    if message is not None:  # a hand-over leaves signed when the agency has a key (``docflow.services.trust``)
        body = sign(here.work.ctx, node, body)
    save_dossier(here.repo, node, new, body, now)
    if old is None:
        due = f"{new.due_at:%Y-%m-%d %H:%M}" if new.due_at else ""
        here.record(DossierOpened(node, now, new.code, new.procedure_code, int(new.channel), new.state.value, due))
    elif new.state is not old.state or event == "hand_over":
        here.record(
            StateChanged(
                node,
                now,
                new.code,
                lifecycle=DOSSIER.name,
                party_id=str(new.holder),
                event=event,
                old=old.state.value,
                new=new.state.value,
                by=BY_CLERK,
                description=new.history[-1].content[:500],
            )
        )
    if message is not None:
        routing = dossier_routing(here.work.ctx, message)
        here.enqueue([outbox_row(here.work.ctx, node, routing, body, now)])
        here.record(DossierHandedOver(node, now, new.code, str(message.recipient), len(new.history), new.step))


Change = Callable[[Dossier, Procedure, datetime], Dossier]


@dataclass(slots=True)
class Dossiers:
    """One agency's desk for one-stop dossiers (its copies, its clerks' actions)."""

    ctx: Context
    node: str
    catalogue: Catalogue = field(default_factory=default_catalogue)
    calendar: WorkCalendar = field(default_factory=default_calendar)

    # --- reading -----------------------------------------------------------------------------------------------
    def get(self, code: str) -> Dossier | None:
        """This agency's copy of dossier ``code`` (``None`` when it never held it)."""
        with self.ctx.store.snapshot() as repo:
            stored = load_dossier(repo, self.node, code)
        return read_dossier(stored.body).dossier if stored is not None else None

    def chain(self, d: Dossier) -> tuple[OrganId, ...]:
        """The agency of each step of ``d``'s procedure, for its desk."""
        return step_agencies(self.ctx.registry, d.desk, self.catalogue[d.procedure_code])

    # --- at the desk -------------------------------------------------------------------------------------------
    def receive(
        self,
        procedure: str,
        applicant: Applicant,
        clerk: Clerk,
        *,
        number: int,
        channel: Channel = Channel.DESK,
        summary: str = "",
        files: Sequence[SubmittedFile] = (),
        fees: Sequence[Fee] = (),
    ) -> Dossier:
        """A dossier handed in at this desk (or by post), or submitted online (it waits for ``accept``)."""
        p = self.catalogue[procedure]
        desk = OrganId.parse(self.node)
        with unit(self.ctx) as work:
            here = work.at(self.node)
            code = flow.dossier_code(desk, here.now, number)
            if load_dossier(here.repo, self.node, code) is not None:
                raise RegistryError(f"{self.node} already holds dossier {code}")
            if channel is Channel.ONLINE:
                d = flow.submit_online(p, code=code, desk=desk, applicant=applicant, at=here.now, summary=summary,
                                       files=files, fees=fees)  # fmt: skip
            else:
                d = flow.receive(p, self.calendar, code=code, desk=desk, applicant=applicant, at=here.now,
                                 clerk=clerk, channel=channel, summary=summary, files=files, fees=fees)  # fmt: skip
            _keep(here, None, d, "receive", None)
        return d

    def _change(self, code: str, event: str, change: Change) -> Dossier:
        with unit(self.ctx) as work:
            here = work.at(self.node)
            old = self._mine(here, code)
            new = change(old, self.catalogue[old.procedure_code], here.now)
            _keep(here, old, new, event, None)
        return new

    def _mine(self, here: NodeWork, code: str) -> Dossier:
        stored = load_dossier(here.repo, self.node, code)
        if stored is None:
            raise RegistryError(f"{self.node} holds no dossier {code}")
        d = read_dossier(stored.body).dossier
        if str(d.holder) != self.node:
            raise LifecycleError(f"dossier {code} is held by {d.holder} now, not {self.node}")
        return d

    def accept(self, code: str, clerk: Clerk) -> Dossier:
        """An online dossier taken in (1 → 2): its clock starts."""
        return self._change(code, "receive", lambda d, p, at: flow.accept(d, p, self.calendar, at, clerk))

    def refuse(self, code: str, clerk: Clerk, reason: str) -> Dossier:
        """An online dossier refused (1 → 3)."""
        return self._change(code, "decline", lambda d, p, at: flow.decline(d, at, clerk, reason))

    def start(self, code: str, clerk: Clerk) -> Dossier:
        return self._change(code, "start", lambda d, p, at: flow.start(d, at, clerk))

    def suspend(self, code: str, clerk: Clerk, reason: str) -> Dossier:
        return self._change(code, "suspend", lambda d, p, at: flow.suspend(d, at, clerk, reason))

    def resume(self, code: str, clerk: Clerk) -> Dossier:
        return self._change(code, "resume", lambda d, p, at: flow.resume(d, p, self.calendar, at, clerk))

    def request_supplement(self, code: str, clerk: Clerk, content: str) -> Dossier:
        return self._change(code, "request_supplement", lambda d, p, at: flow.request_supplement(d, at, clerk, content))

    def receive_supplement(self, code: str, clerk: Clerk) -> Dossier:
        return self._change(
            code, "receive_supplement", lambda d, p, at: flow.receive_supplement(d, p, self.calendar, at, clerk)
        )

    def finish(self, code: str, clerk: Clerk, results: Sequence[ResultPaper] = ()) -> Dossier:
        return self._change(code, "finish", lambda d, p, at: flow.finish(d, at, clerk, results))

    def return_result(self, code: str, clerk: Clerk) -> Dossier:
        return self._change(code, "return_result", lambda d, p, at: flow.return_result(d, at, clerk))

    def withdraw(self, code: str, clerk: Clerk, reason: str = "") -> Dossier:
        return self._change(code, "withdraw", lambda d, p, at: flow.withdraw(d, at, clerk, reason))

    # --- between agencies --------------------------------------------------------------------------------------
    def hand_over(self, code: str, clerk: Clerk, to: OrganId | str | None = None) -> Dossier:
        """The next step of the chain begins at ``to`` (by default the agency the procedure names for it); a
        dossier message is queued when that is another agency."""
        with unit(self.ctx) as work:
            here = work.at(self.node)
            old = self._mine(here, code)
            p = self.catalogue[old.procedure_code]
            if to is None:
                chain = step_agencies(self.ctx.registry, old.desk, p)
                if old.step + 1 >= len(chain):
                    raise LifecycleError(f"dossier {code}: {p.code} has no step after step {old.step + 1}")
                target = chain[old.step + 1]
            else:
                target = OrganId.parse(str(to))
            new, message = flow.hand_over(old, p, self.calendar, here.now, clerk, target)
            _keep(here, old, new, "hand_over", message)
        return new

    def apology_due(self, code: str) -> bool:
        """True when dossier ``code`` will be late and no apology was sent for its current return date."""
        d = self.get(code)
        if d is None:
            raise RegistryError(f"{self.node} holds no dossier {code}")
        return flow.apology_due(d, self.catalogue[d.procedure_code], self.calendar, self.ctx.clock.now())

    def apologise(
        self,
        code: str,
        clerk: Clerk,
        *,
        letter_code: Code,
        reason: str,
        new_due: datetime | None = None,
        place: str = "",
    ) -> Dossier:
        """Apologise for a late dossier with a new return date (by default when the remaining steps can end):
        the history row and, when this agency is not the desk, the apology letter to the desk (an edXML
        document through ``send``), in one unit of work."""
        with unit(self.ctx) as work:
            here = work.at(self.node)
            old = self._mine(here, code)
            p = self.catalogue[old.procedure_code]
            new, letter = flow.apologise(old, p, self.calendar, here.now, clerk,
                                         sender=self.ctx.organization(self.node),
                                         desk=self.ctx.organization(old.desk), code=letter_code, reason=reason,
                                         new_due=new_due, place=place)  # fmt: skip
            if letter is not None:
                send(self.ctx, self.node, letter, within=here)
            _keep(here, old, new, "apologise", None)
            apology = new.apologies[-1]
            here.record(DossierApologised(self.node, here.now, code, str(old.desk),
                                          f"{apology.due_after:%Y-%m-%d %H:%M}", apology.document_id))  # fmt: skip
        return new


__all__ = ["Clerk", "Dossiers", "default_catalogue", "dossier_routing", "read_dossier_hop", "take_dossier"]

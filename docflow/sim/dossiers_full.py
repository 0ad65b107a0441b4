"""Full fidelity for dossiers: the script's changes made by the real engine (``Node.dossiers``: one unit of work
each, hand-overs as ``dossier`` messages through the engine and its transport, apology letters as edXML
documents), stepped under SimPy's clock by the ``EngineFabric``'s pump.

A hand-over's SimPy event fires when the engine publishes ``DossierReceived`` at the agency it was handed to.
Must not import lxml or sqlalchemy (the engine does that behind ``Network``).
"""

from __future__ import annotations

from typing import Any

import simpy

from docflow.domain.dossier import Applicant, Dossier
from docflow.domain.events import DomainEvent, DossierReceived
from docflow.domain.procedures import Catalogue, Procedure
from docflow.domain.worktime import WorkCalendar
from docflow.services.dossiers import Dossiers
from docflow.sim.dossiers import CLERK, Filing, apology_code
from docflow.sim.full import EngineFabric


class EngineDesks:
    """The ``Desks`` backend of the full fidelity."""

    def __init__(self, fabric: EngineFabric, catalogue: Catalogue, calendar: WorkCalendar) -> None:
        self.fabric, self.catalogue, self.calendar = fabric, catalogue, calendar
        self.latest: dict[str, Dossier] = {}
        self._waiting: dict[tuple[str, str], simpy.Event] = {}
        self._letters = 0
        fabric.net.ctx.bus.subscribe(self._observe)

    def _observe(self, events: list[DomainEvent]) -> None:
        for event in events:
            if isinstance(event, DossierReceived):
                waiting = self._waiting.pop((event.document_id, event.node), None)
                if waiting is not None and not waiting.triggered:
                    waiting.succeed()

    def _desk(self, node: str) -> Dossiers:
        self.fabric._now()
        return Dossiers(self.fabric.net.ctx, node, self.catalogue, self.calendar)

    def receive(self, filing: Filing, procedure: Procedure) -> Dossier:
        d = self._desk(filing.desk).receive(procedure.code, Applicant(f"Công dân {filing.number}"), CLERK,
                                            number=filing.number, channel=filing.channel)  # fmt: skip
        self.latest[d.code] = d
        return d

    def act(self, node: str, code: str, action: str, **options: Any) -> Dossier:
        desk = self._desk(node)
        if action == "apologise":
            self._letters += 1
            d = desk.apologise(code, CLERK, letter_code=apology_code(self._letters), reason="Khối lượng hồ sơ lớn")
        else:
            d = getattr(desk, action)(code, CLERK, **options)
        self.latest[code] = d
        self.fabric.kick()
        return d

    def hand_over(self, node: str, code: str, to: str) -> simpy.Event:
        arrived = self.fabric.env.event()
        if to != node:
            self._waiting[(code, to)] = arrived
        self.latest[code] = self._desk(node).hand_over(code, CLERK, to=to)
        if to == node:
            arrived.succeed()
        self.fabric.kick()
        return arrived

"""Dossier benchmark: a dossier hop against an edXML document hop through the same engine.

``dossier_hop``: the engine takes a batch of messages off the district's queue and applies them in one unit of
work (``docflow.services.drain``: claim → apply → ack).  The subject is 40 one-stop land dossiers handed over
by a commune desk to its district (each is parsed, validated, checked against its routing headers and the
district's stored copy, and stored with its history rows — ``apply_incoming`` + ``save_dossier``); the floor is
40 edXML documents of about the same size sent by the same commune to the same district (each parsed,
validated, mapped, stored as an inbound document and answered with a 01 status).  Both batches are prepared
untimed (dossiers received, started and handed over, documents sent, everything put on the transport), so
only the hop is timed; figures are per message, ratio dossier / document (target 1.5).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Timing, measure_fresh, measured

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant
from docflow.domain.registry import AgencyKind
from docflow.services import Network
from docflow.services.dossiers import Clerk
from docflow.services.drain import claim, drain
from docflow.services.relay import dispatch

MESSAGES = 40
LAND = "1.004227"  # commune desk → district → province department → commune desk
CLERK = Clerk("Nguyễn Thị Lan", "Công chức một cửa")
CONTENT = "Đề nghị đăng ký biến động quyền sử dụng đất do chuyển nhượng, thửa đất số 125, tờ bản đồ số 7. " * 30


def _network(folder: Path) -> tuple[Network, str, str]:
    net = build_network(db=f"sqlite:///{folder / 'bench.db'}", clock=ManualClock(), policy="hierarchical")
    registry = net.ctx.registry
    commune = next(a.code for a in registry if a.kind is AgencyKind.COMMUNE)
    return net, str(commune), str(registry.parent(commune))


def _put_on_the_wire(net: Network, node: str, district: str) -> Callable[[], object]:
    """Send what ``node`` queued to the transport (untimed); the returned job applies it at ``district``."""
    ctx = net.ctx
    sent, failed = dispatch(ctx, node, ctx.handoff.take())
    if failed or len(sent) != MESSAGES:
        raise AssertionError(f"expected {MESSAGES} messages on the wire, sent {len(sent)}, failed {len(failed)}")

    def job() -> object:
        intake, _ = drain(ctx, claim(ctx, [district]))
        if intake.applied != MESSAGES:
            reasons = {entry.reason[:200] for entry in net.quarantine(district)}
            raise AssertionError(f"expected {MESSAGES} applied at {district}, got {intake}: {reasons}")
        return intake

    return job


@measured("dossier_hop", target=1.5)
def dossier_hop(timing: Timing) -> Figure:
    """per message: a dossier applied at the agency it was handed to vs an edXML document applied and answered."""
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-"))
    net, commune, district = _network(folder)
    node = net.node(commune)
    serial = itertools.count(1)
    size = {"dossier": 0, "document": 0}

    def dossiers() -> Callable[[], object]:
        codes = []
        for _ in range(MESSAGES):
            d = node.dossiers.receive(LAND, Applicant("Trần Văn Bình", address="Mỹ Tho"), CLERK,
                                      number=next(serial), summary=CONTENT[:480])  # fmt: skip
            node.dossiers.start(d.code, CLERK)
            codes.append(d.code)
        net.ctx.handoff.take()  # receipts and starts queue nothing; forget nothing else
        for code in codes:
            node.dossiers.hand_over(code, CLERK, to=district)
        rows = net.ctx.handoff.take()
        size["dossier"] = len(rows[0].body)
        net.ctx.handoff.put(rows)
        return _put_on_the_wire(net, commune, district)

    def documents() -> Callable[[], object]:
        for _ in range(MESSAGES):
            number = next(serial)
            node.send(recipients=[district], subject=f"Tờ trình số {number}", code=f"{number}/TTr-UBND",
                      content=CONTENT[:480])  # fmt: skip
        rows = net.ctx.handoff.take()
        size["document"] = len(rows[0].body)
        net.ctx.handoff.put(rows)
        return _put_on_the_wire(net, commune, district)

    try:
        dossier_us, document_us = measure_fresh(dossiers, documents, max(3, timing.repeats // 3))
    finally:
        net.ctx.store.close()
    note = f"{MESSAGES} a batch; dossier message {size['dossier']} B, document {size['document']} B"
    return Figure(dossier_us / MESSAGES, document_us / MESSAGES, note=note)

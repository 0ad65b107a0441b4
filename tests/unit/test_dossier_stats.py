"""The report figures of a set of dossiers: every outcome counted once, by tier and by level."""

from __future__ import annotations

from datetime import datetime, timedelta

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant
from docflow.domain.dossier_stats import FIGURES, dossier_figures
from docflow.domain.envelope import Code
from docflow.domain.procedures import load_catalogue
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import WorkCalendar

CAL = WorkCalendar()
CATALOGUE = load_catalogue()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
DISTRICT = REGISTRY.parent(COMMUNE)
CLERK = flow.Clerk("Lý Thị Hạnh")
T0 = datetime(2017, 10, 2, 8, 0)


def desk(code, number, desk_code=COMMUNE):
    procedure = CATALOGUE[code]
    d = flow.receive(procedure, CAL, code=f"HS-{number}", desk=desk_code, applicant=Applicant("A"), at=T0, clerk=CLERK)
    return procedure, flow.start(d, T0, CLERK)


def test_each_outcome_is_counted_once_overall_by_tier_and_by_level():
    _, early = desk("1.004859", 1)  # 3 days, finished the same day
    early = flow.return_result(flow.finish(early, T0 + timedelta(hours=2), CLERK), T0 + timedelta(hours=3), CLERK)
    _, on_time = desk("1.004859", 2)
    on_time = flow.finish(on_time, on_time.due_at + timedelta(minutes=30), CLERK)  # processed, not yet collected
    procedure, late = desk("1.004859", 3)
    late = flow.finish(late, late.due_at + timedelta(days=2), CLERK)
    _, overdue = desk("1.004859", 4)
    procedure, apologised = desk("1.004859", 5)
    apologised, _ = flow.apologise(
        apologised,
        procedure,
        CAL,
        T0 + timedelta(days=2),
        CLERK,
        sender=REGISTRY.organization(COMMUNE),
        desk=REGISTRY.organization(COMMUNE),
        code=Code("1", "PXL"),
        reason="quá tải",
    )
    _, withdrawn = desk("2.000720", 6, DISTRICT)
    withdrawn = flow.withdraw(withdrawn, T0 + timedelta(hours=1), CLERK)
    online = flow.submit_online(CATALOGUE["1.001193"], code="HS-7", desk=COMMUNE, applicant=Applicant("B"), at=T0)
    refused = flow.decline(online, T0 + timedelta(hours=1), CLERK, "sai thông tin")
    now = T0 + timedelta(days=10)
    figures = dossier_figures([early, on_time, late, overdue, apologised, withdrawn, online, refused], now)
    assert list(figures)[: len(FIGURES)] == list(FIGURES)
    expected = {
        "submitted": 8,
        "received": 6,
        "refused": 1,
        "withdrawn": 1,
        "returned": 1,
        "open": 5,
        "early": 1,
        "on_time": 1,
        "late": 1,
        "overdue_open": 2,
        "apologies": 1,
        "on_time_share": 2 / 3,
    }
    assert {k: figures[k] for k in FIGURES} == expected
    assert figures["by_tier"]["district"]["withdrawn"] == 1 and figures["by_tier"]["district"]["submitted"] == 1
    assert figures["by_tier"]["province"]["submitted"] == 0 and figures["by_tier"]["province"]["on_time_share"] is None
    assert figures["by_tier"]["commune"]["submitted"] == 7
    assert figures["by_level"]["4"]["submitted"] == 3 and figures["by_level"]["3"]["late"] == 1
    assert sum(figures["by_level"][lv]["submitted"] for lv in ("2", "3", "4")) == 8

"""A dossier held by one agency after another: receipt, deadlines, the liên thông trip, supplements,
suspension, duplicates of hand-overs, and the apology letter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, Channel, Fee, ResultPaper, SubmittedFile
from docflow.domain.envelope import Code
from docflow.domain.lifecycle import DossierState
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import Timeliness, WorkCalendar
from docflow.errors import IllegalTransitionError, LifecycleError

S = DossierState
CAL = WorkCalendar()
CATALOGUE = load_catalogue()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
CLERK = flow.Clerk("Nguyễn Thị Hoa", "Công chức một cửa", "Bộ phận tiếp nhận và trả kết quả")
APPLICANT = Applicant("Trần Văn Bình", id_number="082090001234", address="ấp Tân Hòa, Tiền Giang")
MONDAY = datetime(2017, 10, 2, 9, 0)


def land_transfer(at: datetime = MONDAY):
    procedure = CATALOGUE["1.004227"]
    d = flow.receive(
        procedure,
        CAL,
        code=flow.dossier_code(COMMUNE, at, 1),
        desk=COMMUNE,
        applicant=APPLICANT,
        at=at,
        clerk=CLERK,
        files=(SubmittedFile("1", "Hợp đồng chuyển nhượng"),),
        fees=(Fee("Lệ phí trước bạ", amount=500_000),),
    )
    return procedure, d


def test_receipt_at_the_desk_sets_the_return_date_from_the_procedure_and_the_calendar():
    procedure, d = land_transfer()
    assert d.code == f"{COMMUNE}-171002-00001"
    assert (d.state, d.holder, d.desk, d.step, d.channel) == (S.RECEIVED, COMMUNE, COMMUNE, 0, Channel.DESK)
    assert d.received_at == MONDAY and d.due_at == datetime(2017, 10, 16, 9, 0)  # 10 working days
    assert d.step_due == datetime(2017, 10, 3, 9, 0)  # the desk's own 8 hours
    assert [(r.state, r.content) for r in d.history] == [(S.RECEIVED, "Tiếp nhận hồ sơ")]
    late = flow.receive(
        procedure, CAL, code="HS-2", desk=COMMUNE, applicant=APPLICANT, at=datetime(2017, 10, 2, 17, 45), clerk=CLERK
    )
    assert late.due_at == datetime(2017, 10, 16, 17, 0)  # after 17:00: ten days counted from Tuesday 07:00


def test_the_full_lien_thong_trip_commune_district_province_commune():
    procedure, d = land_transfer()
    chain = step_agencies(REGISTRY, COMMUNE, procedure)
    d = flow.start(d, MONDAY + timedelta(hours=1), CLERK)
    copies = {COMMUNE: None}
    at = datetime(2017, 10, 3, 8, 0)
    for step in range(1, len(procedure.steps)):
        holder = d.holder
        d, message = flow.hand_over(d, procedure, CAL, at, CLERK, chain[step])
        copies[holder] = d  # the sender keeps its copy, no longer holding it
        assert message is not None and message.sender == holder and message.recipient == chain[step]
        assert message.identity == f"dossier:{d.code}:{len(d.history)}:{holder}>{chain[step]}"
        received = flow.apply_incoming(copies.get(chain[step]), message, chain[step])
        assert received == d
        assert flow.apply_incoming(received, message, chain[step]) is None  # the same message again
        copies[chain[step]] = received
        at += timedelta(days=1)
    assert d.holder == COMMUNE and d.step == 3
    d = flow.finish(d, datetime(2017, 10, 9, 10, 0), CLERK, [ResultPaper("GCN-1", "Giấy chứng nhận QSDĐ")])
    d = flow.return_result(d, datetime(2017, 10, 10, 8, 0), CLERK)
    assert d.state is S.RETURNED and flow.timeliness(d) is Timeliness.EARLY
    agencies = [r.agency for r in d.history]
    assert agencies[0] == COMMUNE and chain[1] in agencies and chain[2] in agencies
    assert [r.state for r in d.history] == [S.RECEIVED, S.PROCESSING, *[S.PROCESSING] * 3, S.PROCESSED, S.RETURNED]
    assert all(r.step_due is not None for r in d.history[2:5])
    assert copies[chain[1]].holder == chain[2]  # the district's own copy says where the dossier went


def test_an_older_copy_or_a_diverging_one_is_not_applied():
    procedure, d = land_transfer()
    chain = step_agencies(REGISTRY, COMMUNE, procedure)
    d = flow.start(d, MONDAY, CLERK)
    d1, first = flow.hand_over(d, procedure, CAL, MONDAY + timedelta(hours=2), CLERK, chain[1])
    district = flow.apply_incoming(None, first, chain[1])
    _d2, _second = flow.hand_over(district, procedure, CAL, MONDAY + timedelta(hours=3), CLERK, chain[2])
    _back, third = flow.hand_over(
        flow.apply_incoming(None, _second, chain[2]), procedure, CAL, MONDAY + timedelta(hours=4), CLERK, COMMUNE
    )
    commune = flow.apply_incoming(d1, third, COMMUNE)
    assert commune is not None and commune.holder == COMMUNE
    stale = replace(first, recipient=COMMUNE, dossier=replace(first.dossier, holder=COMMUNE))
    assert flow.apply_incoming(commune, stale, COMMUNE) is None  # a late redelivery of an earlier hop
    forged = replace(
        third,
        dossier=replace(
            third.dossier, history=(*third.dossier.history[:-1], replace(third.dossier.history[-1], content="khác"))
        ),
    )
    with pytest.raises(LifecycleError, match="differs"):
        flow.apply_incoming(commune, forged, COMMUNE)
    with pytest.raises(LifecycleError, match="addressed to"):
        flow.apply_incoming(None, third, chain[1])


def test_rows_that_skip_the_table_are_refused_at_the_receiver():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    moved, message = flow.hand_over(d, procedure, CAL, MONDAY, CLERK, REGISTRY.parent(COMMUNE))
    bad_row = replace(moved.history[-1], state=S.RETURNED)
    bad = replace(message, dossier=replace(moved, history=(*moved.history[:-1], bad_row), state=S.RETURNED))
    with pytest.raises(LifecycleError, match="processing -> returned is not a move"):
        flow.apply_incoming(None, bad, bad.recipient)


def test_a_supplement_stops_the_clock_and_pushes_the_return_date_back():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    due = d.due_at
    d = flow.request_supplement(d, datetime(2017, 10, 2, 15, 0), CLERK, "Bản sao sổ hộ khẩu")
    assert d.state is S.SUPPLEMENT_REQUESTED and d.clock_stopped and d.supplements[0].due_before == due
    assert not flow.is_overdue(d, datetime(2017, 12, 1))  # the clock is stopped
    d = flow.receive_supplement(d, procedure, CAL, datetime(2017, 10, 4, 9, 0), CLERK)  # 12 office hours later
    assert d.state is S.RECEIVED and d.paused_at is None
    assert d.due_at == CAL.add_hours(due, 12) == datetime(2017, 10, 17, 15, 0)
    assert d.supplements[0].received_at == datetime(2017, 10, 4, 9, 0) and d.supplements[0].due_after == d.due_at
    assert flow.start(d, datetime(2017, 10, 4, 9, 5), CLERK).state is S.PROCESSING


def test_a_suspension_stops_the_clock_and_the_steps_deadline_moves_too():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    step_due, due = d.step_due, d.due_at
    d = flow.suspend(d, datetime(2017, 10, 2, 10, 0), CLERK, "Chờ kết quả đo đạc")
    with pytest.raises(IllegalTransitionError):
        flow.finish(d, datetime(2017, 10, 2, 11, 0), CLERK)
    d = flow.resume(d, procedure, CAL, datetime(2017, 10, 3, 10, 0), CLERK)  # 8 office hours
    assert d.state is S.PROCESSING and d.due_at == CAL.add_hours(due, 8) and d.step_due == CAL.add_hours(step_due, 8)


def test_payment_and_withdrawal():
    _, d = land_transfer()
    d = flow.request_payment(flow.start(d, MONDAY, CLERK), MONDAY, CLERK, [Fee("Lệ phí cấp giấy", amount=25_000)])
    assert d.state is S.PAYMENT_REQUESTED and d.fees[-1].amount == 25_000
    d = flow.pay(d, MONDAY + timedelta(hours=1), CLERK)
    d = flow.withdraw(d, MONDAY + timedelta(hours=2), CLERK, "không có nhu cầu")
    assert d.state is S.WITHDRAWN and not d.is_open
    with pytest.raises(IllegalTransitionError):
        flow.start(d, MONDAY, CLERK)


def test_online_submission_accepted_or_declined():
    birth = CATALOGUE["1.001193"]
    d = flow.submit_online(birth, code="HS-3", desk=COMMUNE, applicant=APPLICANT, at=datetime(2017, 10, 1, 20, 0))
    assert d.state is S.SUBMITTED and d.due_at is None and d.channel is Channel.ONLINE
    accepted = flow.accept(d, birth, CAL, datetime(2017, 10, 2, 8, 0), CLERK)
    assert accepted.state is S.RECEIVED and accepted.due_at == datetime(2017, 10, 2, 17, 0)  # the same day
    refused = flow.decline(d, datetime(2017, 10, 2, 8, 0), CLERK, "thiếu giấy chứng sinh")
    assert refused.state is S.REFUSED and refused.refused_at == datetime(2017, 10, 2, 8, 0)
    with pytest.raises(LifecycleError, match="submit_online"):
        flow.receive(
            birth, CAL, code="x", desk=COMMUNE, applicant=APPLICANT, at=MONDAY, clerk=CLERK, channel=Channel.ONLINE
        )
    with pytest.raises(LifecycleError, match="level-2"):
        flow.submit_online(CATALOGUE["1.004227"], code="x", desk=COMMUNE, applicant=APPLICANT, at=MONDAY)


def test_late_and_overdue():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    assert not flow.is_overdue(d, d.due_at) and flow.is_overdue(d, d.due_at + timedelta(minutes=1))
    with pytest.raises(LifecycleError, match="returned by the desk"):
        flow.finish(flow.hand_over(d, procedure, CAL, MONDAY, CLERK, REGISTRY.parent(COMMUNE))[0], MONDAY, CLERK)
    late = flow.finish(d, d.due_at + timedelta(days=1), CLERK)
    assert flow.timeliness(late) is Timeliness.LATE
    on_time = flow.finish(d, d.due_at + timedelta(hours=3), CLERK)
    assert flow.timeliness(on_time) is Timeliness.ON_TIME and flow.timeliness(d) is None
    with pytest.raises(LifecycleError, match="no step after"):
        flow.hand_over(replace(d, step=3), procedure, CAL, MONDAY, CLERK, COMMUNE)


def test_an_apology_is_due_when_the_dossier_will_be_late_and_records_a_new_return_date():
    procedure, d = land_transfer()
    chain = step_agencies(REGISTRY, COMMUNE, procedure)
    d = flow.start(d, MONDAY, CLERK)
    d, message = flow.hand_over(d, procedure, CAL, MONDAY + timedelta(hours=1), CLERK, chain[1])
    d = flow.apply_incoming(None, message, chain[1])
    on_track = MONDAY + timedelta(days=1)
    assert not flow.apology_due(d, procedure, CAL, on_track)
    stuck = datetime(2017, 10, 11, 9, 0)  # the district's 32 hours ran out on 6/10; 40 more hours remain
    assert flow.projected_finish(d, procedure, CAL, stuck) > d.due_at
    assert flow.apology_due(d, procedure, CAL, stuck)
    assert flow.apology_deadline(d, CAL) == datetime(2017, 10, 13, 9, 0)  # one working day before 16/10 9:00
    district, desk = REGISTRY.organization(chain[1]), REGISTRY.organization(COMMUNE)
    apologised, letter = flow.apologise(
        d,
        procedure,
        CAL,
        stuck,
        CLERK,
        sender=district,
        desk=desk,
        code=Code("12", "PXL-UBND"),
        reason="chờ ý kiến của Sở",
    )
    assert apologised.due_at == datetime(2017, 10, 18, 17, 0) > d.due_at
    assert apologised.apologies[0].due_before == d.due_at and apologised.apologies[0].document_id == letter.document_id
    assert apologised.history[-1].content.startswith("Xin lỗi và hẹn lại ngày trả kết quả: 18/10/2017 17:00")
    assert apologised.state is d.state
    assert letter.sender == district and letter.recipients == (desk,)
    assert letter.document_id == f"{chain[1]},2017/10/11,12/PXL-UBND"
    assert letter.due_date == apologised.due_at.date() and APPLICANT.name in letter.content
    assert not flow.apology_due(apologised, procedure, CAL, stuck)  # apologised for this return date
    with pytest.raises(LifecycleError, match="not after"):
        flow.apologise(
            d,
            procedure,
            CAL,
            stuck,
            CLERK,
            sender=district,
            desk=desk,
            code=Code("1", "X"),
            reason="r",
            new_due=d.due_at,
        )
    with pytest.raises(LifecycleError, match="held by"):
        flow.apologise(d, procedure, CAL, stuck, CLERK, sender=desk, desk=desk, code=Code("1", "X"), reason="r")


def test_the_desk_itself_late_has_no_letter_to_send():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    desk = REGISTRY.organization(COMMUNE)
    late = datetime(2017, 10, 13, 8, 0)
    assert flow.apology_due(d, procedure, CAL, late)
    apologised, letter = flow.apologise(
        d, procedure, CAL, late, CLERK, sender=desk, desk=desk, code=Code("3", "PXL"), reason="quá tải"
    )
    assert letter is None and apologised.apologies[0].document_id == "" and apologised.due_at > d.due_at


def test_restarting_a_clock_that_never_stopped_is_illegal_and_withdrawal_clears_the_pause():
    procedure, d = land_transfer()
    d = flow.start(d, MONDAY, CLERK)
    for action in (flow.resume, flow.receive_supplement):
        with pytest.raises(IllegalTransitionError):
            action(d, procedure, CAL, MONDAY, CLERK)
    paused = flow.suspend(d, MONDAY, CLERK, "chờ xác minh")
    assert flow.withdraw(paused, MONDAY + timedelta(hours=1), CLERK).paused_at is None

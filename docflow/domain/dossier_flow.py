"""What one agency does with a dossier it holds: receive it at the desk, move it, stop and restart its clock,
hand it to the next step's agency, return the result, and apologise when it will be late.

Every function takes a frozen ``Dossier`` and returns the new one; nothing is stored or sent here.  Each
state change goes through ``move``: the shared machine of the DOSSIER table decides (an illegal action
raises ``IllegalTransitionError`` and the caller keeps the old dossier), then one ``QuaTrinhXuLy`` row is
appended.  Deadlines come from the procedure and the ``WorkCalendar``: ``NgayHenTra`` on receipt, each
step's own deadline when it starts, both pushed back by the time the clock stood still (suspension,
supplement).  ``hand_over`` yields the ``DossierMessage`` for the next agency; ``apply_incoming`` is what
that agency does with it (idempotent: a duplicate or an older copy changes nothing).  ``apologise`` builds
the apology letter (Thông tư 01/2018/TT-VPCP, mẫu 04: phiếu xin lỗi và hẹn lại ngày trả kết quả) as an
edXML ``Envelope`` from the late agency to the receiving desk, for the engine to send like any document.

Pure: standard library and ``docflow.domain`` only; must not import lxml, sqlalchemy or transports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from docflow.domain.dossier import (
    Apology,
    Applicant,
    Channel,
    Dossier,
    DossierMessage,
    Fee,
    HistoryRow,
    ResultPaper,
    SubmittedFile,
    Supplement,
)
from docflow.domain.envelope import (
    Code,
    DocumentType,
    Envelope,
    Organization,
    PromulgationInfo,
    SignerInfo,
    TraceHeader,
)
from docflow.domain.ids import OrganId
from docflow.domain.lifecycle import DOSSIER, DossierState
from docflow.domain.procedures import Procedure
from docflow.domain.worktime import Timeliness, WorkCalendar
from docflow.errors import LifecycleError

S = DossierState
#: States whose clock runs and whose deadline can be missed.
RUNNING = frozenset({S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED})
APOLOGY_TYPE = DocumentType(28, None, "Phiếu xin lỗi và hẹn lại ngày trả kết quả")
_LEGAL = frozenset((m.source, m.dest) for m in DOSSIER.transitions())


@dataclass(frozen=True, slots=True)
class Clerk:
    """Who acts: ``NguoiXuLy``, ``ChucDanh``, ``PhongBanXuLy`` of the history row."""

    name: str
    title: str = ""
    department: str = ""


def dossier_code(desk: OrganId, at: datetime, number: int) -> str:
    """``MaHoSo`` as one portal-connected system builds it: ``<desk code>-yyMMdd-NNNNN``."""
    return f"{desk}-{at:%y%m%d}-{number:05d}"


def _row(d: Dossier, clerk: Clerk, at: datetime, content: str, state: S, **step: datetime | None) -> HistoryRow:
    return HistoryRow(d.holder, clerk.name, at, content, state, clerk.title, clerk.department, **step)


def move(d: Dossier, event: str, at: datetime, clerk: Clerk, content: str, **changes: object) -> Dossier:
    """The one place a dossier changes state: DOSSIER fires ``event``, one history row records it."""
    state = DOSSIER.fire(d.state, event, document=d.code)
    started, due = changes.pop("started_at", None), changes.pop("step_due", None)
    row = _row(d, clerk, at, content, state, started_at=started, step_due=due)  # type: ignore[arg-type]
    return d.with_row(row, state=state, **changes)


def _step_due(procedure: Procedure, calendar: WorkCalendar, step: int, at: datetime) -> datetime:
    return calendar.add_hours(at, procedure.steps[step].hours)


# --- at the desk -----------------------------------------------------------------------------------------
def _new(
    procedure: Procedure,
    *,
    code: str,
    desk: OrganId,
    applicant: Applicant,
    state: S,
    channel: Channel,
    summary: str,
    files: Sequence[SubmittedFile],
    fees: Sequence[Fee],
) -> Dossier:
    return Dossier(
        code=code,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        applicant=applicant,
        state=state,
        holder=desk,
        desk=desk,
        field_code=procedure.field_code,
        field_name=procedure.field_name,
        level=procedure.level,
        channel=channel,
        summary=summary or procedure.name,
        files=tuple(files),
        fees=tuple(fees),
    )


def _received(procedure: Procedure, calendar: WorkCalendar, at: datetime) -> dict[str, object]:
    return {
        "received_at": at,
        "due_at": calendar.deadline(at, procedure.days, procedure.unit),
        "started_at": at,
        "step_due": _step_due(procedure, calendar, 0, at),
    }


def receive(
    procedure: Procedure,
    calendar: WorkCalendar,
    *,
    code: str,
    desk: OrganId,
    applicant: Applicant,
    at: datetime,
    clerk: Clerk,
    channel: Channel = Channel.DESK,
    summary: str = "",
    files: Sequence[SubmittedFile] = (),
    fees: Sequence[Fee] = (),
) -> Dossier:
    """A dossier handed in at ``desk`` (or by post): it starts received (2), ``NgayHenTra`` set."""
    if channel is Channel.ONLINE:
        raise LifecycleError(f"dossier {code}: an online dossier is submitted (submit_online), then accepted")
    d = _new(procedure, code=code, desk=desk, applicant=applicant, state=S.RECEIVED, channel=channel,
             summary=summary, files=files, fees=fees)  # fmt: skip
    due = calendar.deadline(at, procedure.days, procedure.unit)
    first_due = _step_due(procedure, calendar, 0, at)
    row = _row(d, clerk, at, "Tiếp nhận hồ sơ", S.RECEIVED, started_at=at, step_due=first_due)
    return d.with_row(row, submitted_at=at, received_at=at, due_at=due)


def submit_online(
    procedure: Procedure,
    *,
    code: str,
    desk: OrganId,
    applicant: Applicant,
    at: datetime,
    summary: str = "",
    files: Sequence[SubmittedFile] = (),
    fees: Sequence[Fee] = (),
) -> Dossier:
    """A dossier submitted online to ``desk``: state 1 until a clerk accepts or declines it."""
    if procedure.level < 3:
        raise LifecycleError(f"dossier {code}: {procedure.code} is a level-{procedure.level} service, not filed online")
    d = _new(procedure, code=code, desk=desk, applicant=applicant, state=S.SUBMITTED, channel=Channel.ONLINE,
             summary=summary, files=files, fees=fees)  # fmt: skip
    row = HistoryRow(desk, applicant.name, at, "Nộp hồ sơ trực tuyến", S.SUBMITTED)
    return d.with_row(row, submitted_at=at)


def accept(d: Dossier, procedure: Procedure, calendar: WorkCalendar, at: datetime, clerk: Clerk) -> Dossier:
    """An online dossier received (1 → 2): the clock starts now."""
    return move(d, "receive", at, clerk, "Tiếp nhận hồ sơ trực tuyến", **_received(procedure, calendar, at))


def decline(d: Dossier, at: datetime, clerk: Clerk, reason: str) -> Dossier:
    """An online dossier refused (1 → 3), with the reason."""
    return move(d, "decline", at, clerk, f"Từ chối tiếp nhận: {reason}", refused_at=at)


# --- processing --------------------------------------------------------------------------------------------
def start(d: Dossier, at: datetime, clerk: Clerk, content: str = "Xử lý hồ sơ") -> Dossier:
    """Processing begins (2 → 4), also after a supplement came in."""
    return move(d, "start", at, clerk, content)


def hand_over(
    d: Dossier, procedure: Procedure, calendar: WorkCalendar, at: datetime, clerk: Clerk, to: OrganId
) -> tuple[Dossier, DossierMessage | None]:
    """The next step of the chain begins at ``to`` (4 → 4); a message when ``to`` is another agency.

    The returned dossier is also the sender's own copy from now on: ``holder`` is ``to``.
    """
    step = d.step + 1
    if step >= len(procedure.steps):
        raise LifecycleError(f"dossier {d.code}: {procedure.code} has no step after step {d.step + 1}")
    name = procedure.steps[step].name or f"bước {step + 1}"
    content = f"Chuyển xử lý: {name}" if to != d.holder else f"Bước tiếp theo: {name}"
    sender = d.holder
    moved = move(d, "hand_over", at, clerk, content, started_at=at, step_due=_step_due(procedure, calendar, step, at),
                 holder=to, step=step)  # fmt: skip
    if to == sender:
        return moved, None
    return moved, DossierMessage(sender, to, at, moved, (TraceHeader(sender, at),))


def suspend(d: Dossier, at: datetime, clerk: Clerk, reason: str) -> Dossier:
    """The clock stops (4 → 8)."""
    return move(d, "suspend", at, clerk, f"Tạm dừng xử lý: {reason}", paused_at=at)


def _pushed(d: Dossier, event: str, procedure: Procedure, calendar: WorkCalendar, at: datetime) -> dict[str, object]:
    """The deadlines after a stopped clock restarts; ``event`` is checked first (``move`` fires it)."""
    DOSSIER.fire(d.state, event, document=d.code)
    if d.paused_at is None:
        raise LifecycleError(f"dossier {d.code}: its clock was not stopped")
    out: dict[str, object] = {"paused_at": None}
    if d.due_at is not None:
        out["due_at"] = calendar.push_back(d.due_at, d.paused_at, at, procedure.unit)
    if d.step_due is not None:
        out["started_at"], out["step_due"] = at, calendar.push_back(d.step_due, d.paused_at, at, procedure.unit)
    return out


def resume(d: Dossier, procedure: Procedure, calendar: WorkCalendar, at: datetime, clerk: Clerk) -> Dossier:
    """The clock runs again (8 → 4); ``NgayHenTra`` and the step's deadline are pushed back."""
    return move(d, "resume", at, clerk, "Tiếp tục xử lý", **_pushed(d, "resume", procedure, calendar, at))


def request_supplement(d: Dossier, at: datetime, clerk: Clerk, content: str) -> Dossier:
    """More papers are needed (4 → 5): the clock stops until they come."""
    supplement = Supplement(f"{d.code}-BS{len(d.supplements) + 1}", clerk.name, content, at, due_before=d.due_at)
    return move(d, "request_supplement", at, clerk, f"Yêu cầu bổ sung: {content}", paused_at=at,
                supplements=(*d.supplements, supplement))  # fmt: skip


def receive_supplement(d: Dossier, procedure: Procedure, calendar: WorkCalendar, at: datetime, clerk: Clerk) -> Dossier:
    """The papers came (5 → 2): the deadline is pushed back and recorded as ``NgayHenTraMoi``."""
    changes = _pushed(d, "receive_supplement", procedure, calendar, at)
    last = replace(d.supplements[-1], received_at=at, due_after=changes.get("due_at"))  # type: ignore[arg-type]
    return move(d, "receive_supplement", at, clerk, "Tiếp nhận hồ sơ bổ sung",
                supplements=(*d.supplements[:-1], last), **changes)  # fmt: skip


def request_payment(d: Dossier, at: datetime, clerk: Clerk, fees: Sequence[Fee]) -> Dossier:
    """Fees are due before going on (4 → 6)."""
    total = sum(fee.amount for fee in fees)
    return move(d, "request_payment", at, clerk, f"Yêu cầu thực hiện nghĩa vụ tài chính: {total} đồng",
                fees=(*d.fees, *fees))  # fmt: skip


def pay(d: Dossier, at: datetime, clerk: Clerk) -> Dossier:
    """The applicant paid (6 → 4)."""
    return move(d, "pay", at, clerk, "Đã thực hiện nghĩa vụ tài chính")


def finish(d: Dossier, at: datetime, clerk: Clerk, results: Sequence[ResultPaper] = ()) -> Dossier:
    """The result is ready at the desk (4 → 9): ``NgayKetThucXuLy``."""
    if d.holder != d.desk:
        raise LifecycleError(f"dossier {d.code}: the result is returned by the desk {d.desk}, not {d.holder}")
    return move(d, "finish", at, clerk, "Hoàn thành xử lý, chờ trả kết quả", finished_at=at,
                results=(*d.results, *results))  # fmt: skip


def return_result(d: Dossier, at: datetime, clerk: Clerk) -> Dossier:
    """The applicant has the result (9 → 10): ``NgayTra``."""
    return move(d, "return_result", at, clerk, "Đã trả kết quả", returned_at=at)


def withdraw(d: Dossier, at: datetime, clerk: Clerk, reason: str = "") -> Dossier:
    """The applicant withdraws the dossier (any open state → 7)."""
    return move(d, "withdraw", at, clerk, f"Công dân rút hồ sơ{': ' + reason if reason else ''}", paused_at=None)


# --- at the next agency --------------------------------------------------------------------------------------
def apply_incoming(stored: Dossier | None, message: DossierMessage, me: OrganId) -> Dossier | None:
    """What agency ``me`` keeps when ``message`` arrives: the new copy, or ``None`` when nothing changes.

    A duplicate, a redelivery or an older copy (a history that is a prefix of the one stored) changes
    nothing; a history that does not extend the stored one, or rows that make a move the DOSSIER table does
    not have, raise ``LifecycleError`` (the engine quarantines the message).
    """
    incoming = message.dossier
    if message.recipient != me or incoming.holder != me:
        raise LifecycleError(f"dossier {incoming.code}: addressed to {message.recipient}, held by "
                             f"{incoming.holder}, received by {me}")  # fmt: skip
    old = stored.history if stored is not None else ()
    if stored is not None and stored.code != incoming.code:
        raise LifecycleError(f"dossier {incoming.code} cannot update dossier {stored.code}")
    new = incoming.history
    if len(new) <= len(old):
        if old[: len(new)] == new:
            return None
        raise LifecycleError(f"dossier {incoming.code}: the history received differs from the one stored")
    if new[: len(old)] != old:
        raise LifecycleError(f"dossier {incoming.code}: the history received does not extend the one stored")
    previous = old[-1].state if old else None
    for row in new[len(old) :]:
        if previous is not None and row.state is not previous and (previous, row.state) not in _LEGAL:
            raise LifecycleError(f"dossier {incoming.code}: {previous.value} -> {row.state.value} is not a move")
        previous = row.state
    if previous is not incoming.state:
        raise LifecycleError(f"dossier {incoming.code}: state {incoming.state.value} but history ends {previous}")
    return incoming


# --- deadlines and the apology letter ---------------------------------------------------------------------
def timeliness(d: Dossier) -> Timeliness | None:
    """Early / on time / late once processed (judged on ``NgayKetThucXuLy``), else ``None``."""
    if d.state in (S.PROCESSED, S.RETURNED) and d.finished_at and d.due_at:
        return WorkCalendar.timeliness(d.finished_at, d.due_at)
    return None


def is_overdue(d: Dossier, now: datetime) -> bool:
    """Still open with a running clock after ``NgayHenTra``."""
    return d.state in RUNNING and d.due_at is not None and now > d.due_at


def projected_finish(d: Dossier, procedure: Procedure, calendar: WorkCalendar, now: datetime) -> datetime:
    """When the result will be ready if the current step ends by its deadline (or now, if already past it)
    and every later step takes its allotted hours."""
    base = max(now, d.step_due or now)
    return calendar.add_hours(base, procedure.hours_after(d.step))


def apology_deadline(d: Dossier, calendar: WorkCalendar) -> datetime:
    """The latest moment to send the apology: one working day before ``NgayHenTra``."""
    if d.due_at is None:
        raise LifecycleError(f"dossier {d.code} has no return date yet")
    return calendar.subtract_hours(d.due_at, calendar.hours_per_day)


def apology_due(d: Dossier, procedure: Procedure, calendar: WorkCalendar, now: datetime) -> bool:
    """True when the dossier will be late and no apology was sent for its current return date."""
    if d.state not in RUNNING or d.due_at is None:
        return False
    if any(a.due_before == d.due_at for a in d.apologies):
        return False
    return projected_finish(d, procedure, calendar, now) > d.due_at


def apologise(
    d: Dossier,
    procedure: Procedure,
    calendar: WorkCalendar,
    now: datetime,
    clerk: Clerk,
    *,
    sender: Organization,
    desk: Organization,
    code: Code,
    reason: str,
    new_due: datetime | None = None,
    place: str = "",
) -> tuple[Dossier, Envelope | None]:
    """The apology letter with a new return date, recorded in the history; the letter is an edXML envelope
    from the late agency (``sender``, the holder) to the receiving ``desk`` — ``None`` when the desk itself
    is late (it hands the letter to the applicant)."""
    if d.due_at is None or d.state not in RUNNING:
        raise LifecycleError(f"dossier {d.code}: no running deadline to apologise for")
    if sender.organ_id != d.holder or desk.organ_id != d.desk:
        raise LifecycleError(f"dossier {d.code}: held by {d.holder} and returned by {d.desk}, not "
                             f"{sender.organ_id} and {desk.organ_id}")  # fmt: skip
    if new_due is None:
        ready = projected_finish(d, procedure, calendar, now)
        new_due = ready.replace(hour=calendar.periods[-1][1].hour, minute=calendar.periods[-1][1].minute, second=0)
    if new_due <= d.due_at:
        raise LifecycleError(f"dossier {d.code}: the new return date {new_due} is not after {d.due_at}")
    letter: Envelope | None = None
    if d.holder != d.desk:
        letter = apology_letter(d, now, sender=sender, desk=desk, code=code, reason=reason, new_due=new_due,
                                signer=clerk, place=place)  # fmt: skip
    apology = Apology(now, d.holder, d.due_at, new_due, letter.document_id if letter else "", reason)
    row = _row(d, clerk, now, f"Xin lỗi và hẹn lại ngày trả kết quả: {new_due:%d/%m/%Y %H:%M} ({reason})", d.state)
    return d.with_row(row, due_at=new_due, apologies=(*d.apologies, apology)), letter


def apology_letter(
    d: Dossier,
    now: datetime,
    *,
    sender: Organization,
    desk: Organization,
    code: Code,
    reason: str,
    new_due: datetime,
    signer: Clerk,
    place: str = "",
) -> Envelope:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả (Thông tư 01/2018/TT-VPCP, mẫu số 04) as an edXML document."""
    content = (
        f"{sender.organ_name or sender.organ_id} xin lỗi ông/bà {d.applicant.name} vì hồ sơ {d.code} "
        f"({d.procedure_name}) hẹn trả ngày {d.due_at:%d/%m/%Y} chưa giải quyết xong. Lý do: {reason}. "
        f"Xin hẹn lại ngày trả kết quả: {new_due:%H giờ %M} ngày {new_due:%d/%m/%Y}."
    )
    return Envelope(
        sender=sender,
        recipients=(desk,),
        document_id=Envelope.compose_document_id(sender.organ_id, now.date(), code),
        code=code,
        subject=f"Xin lỗi và hẹn lại ngày trả kết quả hồ sơ {d.code}",
        promulgation=PromulgationInfo(place=place, date=now.date()),
        document_type=APOLOGY_TYPE,
        content=content[:500],
        signer=SignerInfo("", signer.title, signer.name),
        due_date=new_due.date(),
        trace=(TraceHeader(sender.organ_id, now),),
    )

"""A one-stop dossier (hồ sơ thủ tục hành chính) and its processing history, as frozen dataclasses.

Field names are English; the portal's (DVCQG) field each maps to is named in the comment, and the
dossier message (``docflow.xml.dossier_xml``) and the portal feed write those names.  A few fields are
docflow's own, needed to hand a dossier along between tiers: the receiving desk (``DonViTiepNhan``),
the step of the procedure it is at (``BuocHienTai``), the online level (``MucDo``), when its clock was
stopped (``NgayTamDung``) and the apology letters sent (``DanhSachXinLoi``).  Times are naive Vietnam
local time.  ``DossierMessage`` is what one agency hands to the next: the whole record and history.

Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum

from docflow.domain.envelope import TraceHeader
from docflow.domain.ids import OrganId
from docflow.domain.lifecycle.tables import DossierState
from docflow.domain.worktime import Timeliness
from docflow.errors import IdentifierError

__all__ = [
    "Apology",
    "Applicant",
    "ApplicantKind",
    "Channel",
    "Dossier",
    "DossierMessage",
    "DossierState",
    "Fee",
    "HistoryRow",
    "ResultPaper",
    "SubmittedFile",
    "Supplement",
    "Timeliness",
    "format_portal_time",
    "parse_portal_time",
]

#: Portal states in which the dossier is still with the agencies (the clock may run or be stopped).
OPEN_STATES = frozenset(
    {
        DossierState.SUBMITTED,
        DossierState.RECEIVED,
        DossierState.PROCESSING,
        DossierState.SUPPLEMENT_REQUESTED,
        DossierState.PAYMENT_REQUESTED,
        DossierState.SUSPENDED,
        DossierState.PROCESSED,
    }
)
#: States whose legal clock is stopped (STANDARD.md: suspension and supplement requests).
STOPPED_STATES = frozenset({DossierState.SUSPENDED, DossierState.SUPPLEMENT_REQUESTED})


class Channel(IntEnum):
    """``KenhThucHien``: how the applicant filed."""

    DESK = 1  # trực tiếp
    ONLINE = 2  # trực tuyến
    POST = 3  # qua bưu chính


class ApplicantKind(IntEnum):
    """``LoaiDoiTuong``."""

    CITIZEN = 1
    BUSINESS = 2
    AGENCY = 3
    OTHER = 4


@dataclass(frozen=True, slots=True)
class Applicant:
    """The applicant (chủ hồ sơ)."""

    name: str  # ChuHoSo
    kind: ApplicantKind = ApplicantKind.CITIZEN  # LoaiDoiTuong
    id_number: str = ""  # SoGiayToChuHoSo
    address: str = ""  # DiaChiChuHoSo
    phone: str = ""  # SoDienThoai
    email: str = ""  # Email


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    """``TaiLieuNop``: one paper or file the applicant handed in."""

    file_id: str  # TepDinhKemId
    name: str  # TenTepDinhKem
    component_code: str = ""  # MaThanhPhanHoSo
    url: str = ""  # DuongDanTaiTepTin


@dataclass(frozen=True, slots=True)
class Fee:
    """``DanhSachLePhi``: a fee (phí) or charge (lệ phí), in đồng."""

    name: str  # TenPhiLePhi
    code: str = ""  # MaPhiLePhi
    amount: int = 0  # Gia
    kind: int = 1  # LoaiPhiLePhi
    collection: int = 1  # HinhThucThu: 1 at receipt, 2 with a supplement, 4 at return


@dataclass(frozen=True, slots=True)
class Supplement:
    """``DanhSachHoSoBoSung``: one request for more papers, and when they came."""

    supplement_id: str  # HoSoBoSungId
    requested_by: str  # NguoiYeuCauBoSung
    content: str  # NoiDungBoSung
    requested_at: datetime  # NgayBoSung
    due_before: datetime | None = None  # NgayHenTraTruoc
    received_at: datetime | None = None  # NgayTiepNhanBoSung
    due_after: datetime | None = None  # NgayHenTraMoi


@dataclass(frozen=True, slots=True)
class ResultPaper:
    """``DanhSachGiayToKetQua``: a paper of the result."""

    paper_id: str  # GiayToId
    name: str  # TenGiayTo
    component_code: str = ""  # MaThanhPhanHoSo
    url: str = ""  # DuongDanTepTinKetQua


@dataclass(frozen=True, slots=True)
class Apology:
    """``DanhSachXinLoi`` (docflow's): one apology letter and the return date it promised."""

    at: datetime  # NgayXinLoi
    agency: OrganId  # DonViXinLoi: the agency that was late
    due_before: datetime  # NgayHenTraTruoc
    due_after: datetime  # NgayHenTraMoi
    document_id: str = ""  # SoVanBan: the edXML DocumentId of the letter ("" when handed over on paper)
    reason: str = ""  # LyDo


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """``QuaTrinhXuLy``: one step of the processing history."""

    agency: OrganId  # DonViXuLy (docflow's: the agency of the row)
    actor: str  # NguoiXuLy
    at: datetime  # ThoiDiemXuLy
    content: str  # NoiDungXuLy
    state: DossierState  # TrangThai
    title: str = ""  # ChucDanh
    department: str = ""  # PhongBanXuLy
    started_at: datetime | None = None  # NgayBatDau
    step_due: datetime | None = None  # NgayKetThucTheoQuyDinh: the step's legal deadline


@dataclass(frozen=True, slots=True)
class Dossier:
    """One dossier as an agency holds it; ``history`` is every row so far, oldest first."""

    code: str  # MaHoSo
    procedure_code: str  # MaTTHC
    procedure_name: str  # TenTTHC
    applicant: Applicant
    state: DossierState  # TrangThaiHoSo
    holder: OrganId  # DonViXuLy: the agency handling it now
    desk: OrganId  # DonViTiepNhan: the desk that received it and returns the result
    field_code: str = ""  # MaLinhVuc
    field_name: str = ""  # TenLinhVuc
    level: int = 2  # MucDo: online level 2, 3 or 4
    channel: Channel = Channel.DESK  # KenhThucHien
    summary: str = ""  # TrichYeuHoSo
    step: int = 0  # BuocHienTai: index of the procedure step it is at
    submitted_at: datetime | None = None  # NgayNopHoSo
    received_at: datetime | None = None  # NgayTiepNhan
    due_at: datetime | None = None  # NgayHenTra
    finished_at: datetime | None = None  # NgayKetThucXuLy
    returned_at: datetime | None = None  # NgayTra
    refused_at: datetime | None = None  # NgayTuChoi
    paused_at: datetime | None = None  # NgayTamDung: when the clock was stopped (suspension, supplement)
    files: tuple[SubmittedFile, ...] = ()  # TaiLieuNop
    fees: tuple[Fee, ...] = ()  # DanhSachLePhi
    supplements: tuple[Supplement, ...] = ()  # DanhSachHoSoBoSung
    results: tuple[ResultPaper, ...] = ()  # DanhSachGiayToKetQua
    apologies: tuple[Apology, ...] = ()  # DanhSachXinLoi
    history: tuple[HistoryRow, ...] = ()  # QuaTrinhXuLy

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def clock_stopped(self) -> bool:
        return self.state in STOPPED_STATES

    @property
    def step_due(self) -> datetime | None:
        """The legal deadline of the step it is at (the last history row that set one)."""
        for row in reversed(self.history):
            if row.step_due is not None:
                return row.step_due
        return None

    def with_row(self, row: HistoryRow, **changes: object) -> Dossier:
        """A copy with ``row`` appended to the history and ``changes`` applied."""
        return replace(self, history=(*self.history, row), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DossierMessage:
    """The dossier handed from one agency to the next (liên thông): the whole record and history.

    ``identity`` is the idempotency key: a hand-over always appends a history row, so the dossier code and
    the number of rows name one hand-over; the same message delivered twice has the same identity.
    """

    sender: OrganId  # From
    recipient: OrganId  # To
    sent_at: datetime  # SentAt
    dossier: Dossier
    trace: tuple[TraceHeader, ...] = ()  # TraceList: one entry per system it passed

    @property
    def identity(self) -> str:
        return f"dossier:{self.dossier.code}:{len(self.dossier.history)}:{self.sender}>{self.recipient}"

    def with_trace(self, header: TraceHeader) -> DossierMessage:
        return replace(self, trace=(*self.trace, header))


def format_portal_time(value: datetime) -> str:
    """``yyyyMMddHHmmss``, the portal's date format (Vietnam local time)."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}{value.hour:02d}{value.minute:02d}{value.second:02d}"


def parse_portal_time(text: str) -> datetime:
    """Read ``yyyyMMddHHmmss``; ``IdentifierError`` (rule ``portal-time``) for anything else."""
    value = text.strip()
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        raise IdentifierError(f"invalid time {text!r}: expected yyyyMMddHHmmss", value=text, rule="portal-time")
    try:
        month, day, hour, minute, second = (int(value[a : a + 2]) for a in range(4, 14, 2))
        return datetime(int(value[:4]), month, day, hour, minute, second)
    except ValueError as exc:
        raise IdentifierError(f"invalid time {text!r}: {exc}", value=text, rule="portal-time") from None

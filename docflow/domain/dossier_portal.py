"""The portal feed (DVCQG sync) as data: a dossier and its history in the portal's field names and batches.

The national public-service portal takes a dossier through ``DongBoHoSoMC`` (``isUpdating`` false when it
is new to the portal, true for an update) and its processing history through ``CapNhatTienDoHoSoMC`` in
batches of at most 10 rows (STANDARD.md, "Sync to the portal").  Field names are the portal's; every value
is a string as the portal clients send them (codes as digits, amounts in đồng, dates ``yyyyMMddHHmmss`` in
Vietnam time, "" when unknown).  docflow's own fields (the desk, the step, the apologies) are not sent.

Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from docflow.domain.dossier import Dossier, HistoryRow, format_portal_time

SYNC_RECORD = "DongBoHoSoMC"
SYNC_HISTORY = "CapNhatTienDoHoSoMC"
HISTORY_BATCH = 10

#: The portal's names of a dossier record, in the order written.
RECORD_FIELDS = (
    "MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "KenhThucHien", "ChuHoSo", "LoaiDoiTuong",
    "SoGiayToChuHoSo", "SoDienThoai", "Email", "TrichYeuHoSo", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra",
    "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "TrangThaiHoSo", "DonViXuLy", "TaiLieuNop", "DanhSachLePhi",
    "DanhSachHoSoBoSung", "DanhSachGiayToKetQua",
)  # fmt: skip
#: The portal's names of a history row (QuaTrinhXuLy).
HISTORY_FIELDS = (
    "MaHoSo", "NguoiXuLy", "ChucDanh", "ThoiDiemXuLy", "PhongBanXuLy", "NoiDungXuLy", "TrangThai", "NgayBatDau",
    "NgayKetThucTheoQuyDinh",
)  # fmt: skip


def _time(value: datetime | None) -> str:
    return format_portal_time(value) if value is not None else ""


def dossier_record(d: Dossier) -> dict[str, Any]:
    """The ``DongBoHoSoMC`` record of ``d``."""
    return {
        "MaHoSo": d.code,
        "MaTTHC": d.procedure_code,
        "TenTTHC": d.procedure_name,
        "MaLinhVuc": d.field_code,
        "TenLinhVuc": d.field_name,
        "KenhThucHien": str(int(d.channel)),
        "ChuHoSo": d.applicant.name,
        "LoaiDoiTuong": str(int(d.applicant.kind)),
        "SoGiayToChuHoSo": d.applicant.id_number,
        "SoDienThoai": d.applicant.phone,
        "Email": d.applicant.email,
        "TrichYeuHoSo": d.summary,
        "NgayNopHoSo": _time(d.submitted_at),
        "NgayTiepNhan": _time(d.received_at),
        "NgayHenTra": _time(d.due_at),
        "NgayKetThucXuLy": _time(d.finished_at),
        "NgayTra": _time(d.returned_at),
        "NgayTuChoi": _time(d.refused_at),
        "TrangThaiHoSo": str(d.state.code),
        "DonViXuLy": str(d.holder),
        "TaiLieuNop": [
            {"TepDinhKemId": f.file_id, "TenTepDinhKem": f.name, "MaThanhPhanHoSo": f.component_code,
             "DuongDanTaiTepTin": f.url}
            for f in d.files
        ],
        "DanhSachLePhi": [
            {"TenPhiLePhi": f.name, "MaPhiLePhi": f.code, "HinhThucThu": str(f.collection), "Gia": str(f.amount),
             "LoaiPhiLePhi": str(f.kind)}
            for f in d.fees
        ],
        "DanhSachHoSoBoSung": [
            {"HoSoBoSungId": s.supplement_id, "NguoiYeuCauBoSung": s.requested_by, "NoiDungBoSung": s.content,
             "NgayBoSung": _time(s.requested_at), "NgayTiepNhanBoSung": _time(s.received_at),
             "NgayHenTraTruoc": _time(s.due_before), "NgayHenTraMoi": _time(s.due_after)}
            for s in d.supplements
        ],
        "DanhSachGiayToKetQua": [
            {"TenGiayTo": r.name, "MaThanhPhanHoSo": r.component_code, "GiayToId": r.paper_id,
             "DuongDanTepTinKetQua": r.url}
            for r in d.results
        ],
    }  # fmt: skip


def history_record(code: str, row: HistoryRow) -> dict[str, str]:
    """One ``CapNhatTienDoHoSoMC`` row."""
    return {
        "MaHoSo": code,
        "NguoiXuLy": row.actor,
        "ChucDanh": row.title,
        "ThoiDiemXuLy": _time(row.at),
        "PhongBanXuLy": row.department,
        "NoiDungXuLy": row.content,
        "TrangThai": str(row.state.code),
        "NgayBatDau": _time(row.started_at),
        "NgayKetThucTheoQuyDinh": _time(row.step_due),
    }


def is_update(d: Dossier, since: datetime | None) -> bool:
    """Whether the portal already knows ``d``: it was filed before ``since`` (never, without ``since``)."""
    filed = d.submitted_at or d.received_at
    return since is not None and filed is not None and filed < since


def feed_calls(
    dossiers: Iterable[Dossier], history: Sequence[dict[str, str]], since: datetime | None = None
) -> list[dict[str, Any]]:
    """The portal calls: one ``DongBoHoSoMC`` per dossier, then the history rows in batches of 10."""
    calls: list[dict[str, Any]] = [
        {"service": SYNC_RECORD, "isUpdating": is_update(d, since), "data": [dossier_record(d)]} for d in dossiers
    ]
    calls += [
        {"service": SYNC_HISTORY, "data": list(history[i : i + HISTORY_BATCH])}
        for i in range(0, len(history), HISTORY_BATCH)
    ]
    return calls

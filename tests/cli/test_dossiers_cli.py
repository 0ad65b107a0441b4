"""``docflow dossiers export``: the portal's field names and date format, batches of 10 history rows, --since."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from docflow.cli.main import main
from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, DossierMessage, Fee, ResultPaper, SubmittedFile
from docflow.domain.dossier_portal import HISTORY_FIELDS, RECORD_FIELDS
from docflow.domain.procedures import load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import WorkCalendar
from docflow.store import open_store
from docflow.store.dossiers import save_dossier
from docflow.xml.dossier_xml import write_dossier

CAL = WorkCalendar()
REGISTRY = tien_giang_2017()
COMMUNE = next(a.code for a in REGISTRY if a.kind is AgencyKind.COMMUNE)
CATALOGUE = load_catalogue()
CLERK = flow.Clerk("Huỳnh Văn Lực", "Công chức địa chính", "Bộ phận một cửa")
T0 = datetime(2017, 10, 2, 8, 0)
DATE = r"^\d{14}$"


def store_copy(store, node, d, at):
    with store.unit_of_work() as repo:
        save_dossier(repo, str(node), d, write_dossier(DossierMessage(d.holder, d.holder, at, d)), at)


@pytest.fixture
def db(tmp_path):
    """A database where a land transfer went commune → district → province → commune and was returned,
    and a birth registration was received later the same week."""
    path = tmp_path / "province.db"
    procedure = CATALOGUE["1.004227"]
    chain = step_agencies(REGISTRY, COMMUNE, procedure)
    with open_store(str(path)) as store:
        d = flow.receive(
            procedure,
            CAL,
            code=flow.dossier_code(COMMUNE, T0, 1),
            desk=COMMUNE,
            at=T0,
            clerk=CLERK,
            applicant=Applicant("Lâm Thị Kim Ngân", id_number="082185000123", phone="0912345678"),
            files=(SubmittedFile("TL-1", "Hợp đồng chuyển nhượng", "HD"),),
            fees=(Fee("Lệ phí", "LP", 30_000),),
        )
        d = flow.start(d, T0 + timedelta(minutes=20), CLERK)
        at = T0 + timedelta(hours=3)
        for step in range(1, 4):
            sender = d.holder
            d, message = flow.hand_over(d, procedure, CAL, at, CLERK, chain[step])
            store_copy(store, sender, d, at)
            store_copy(store, chain[step], flow.apply_incoming(None, message, chain[step]), at)
            at += timedelta(days=1)
        d = flow.finish(d, at, CLERK, [ResultPaper("GCN-1", "Giấy chứng nhận", "GCN")])
        d = flow.return_result(d, at + timedelta(hours=1), CLERK)
        store_copy(store, COMMUNE, d, at + timedelta(hours=1))
        birth = CATALOGUE["1.001193"]
        later = T0 + timedelta(days=4)
        b = flow.receive(
            birth,
            CAL,
            code=flow.dossier_code(COMMUNE, later, 2),
            desk=COMMUNE,
            at=later,
            clerk=CLERK,
            applicant=Applicant("Lâm Văn Tài"),
        )
        store_copy(store, COMMUNE, b, later)
    return path


def export(capsys, *argv):
    assert main(["dossiers", "export", "--format", "dvcqg", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_export_carries_the_portals_field_names_and_dates(db, capsys):
    feed = export(capsys, "--db", str(db))
    assert (feed["format"], feed["since"], feed["records"]) == ("dvcqg", None, 2)
    records = [c for c in feed["calls"] if c["service"] == "DongBoHoSoMC"]
    assert [c["isUpdating"] for c in records] == [False, False]
    land = records[0]["data"][0]
    assert list(land) == list(RECORD_FIELDS)
    assert (land["MaTTHC"], land["TrangThaiHoSo"], land["DonViXuLy"], land["ChuHoSo"]) == (
        "1.004227",
        "10",
        str(COMMUNE),
        "Lâm Thị Kim Ngân",
    )
    assert land["NgayTiepNhan"] == "20171002080000" and land["NgayHenTra"] == "20171016080000"
    for name in ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra"):
        assert re.match(DATE, land[name]), name
    assert land["NgayTuChoi"] == ""
    assert land["TaiLieuNop"] == [
        {
            "TepDinhKemId": "TL-1",
            "TenTepDinhKem": "Hợp đồng chuyển nhượng",
            "MaThanhPhanHoSo": "HD",
            "DuongDanTaiTepTin": "",
        }
    ]
    assert land["DanhSachLePhi"] == [
        {"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "HinhThucThu": "1", "Gia": "30000", "LoaiPhiLePhi": "1"}
    ]
    assert set(land["DanhSachGiayToKetQua"][0]) == {"TenGiayTo", "MaThanhPhanHoSo", "GiayToId", "DuongDanTepTinKetQua"}


def test_history_goes_in_batches_of_ten_rows_in_order(db, capsys):
    feed = export(capsys, "--db", str(db))
    batches = [c["data"] for c in feed["calls"] if c["service"] == "CapNhatTienDoHoSoMC"]
    rows = [row for batch in batches for row in batch]
    assert feed["history_rows"] == len(rows) == 8  # 7 rows of the land transfer, 1 of the birth
    assert [len(b) for b in batches] == [8]
    assert all(list(row) == list(HISTORY_FIELDS) for row in rows)
    land = [r for r in rows if r["MaHoSo"].endswith("-00001")]
    assert [r["TrangThai"] for r in land] == ["2", "4", "4", "4", "4", "9", "10"]
    assert land[2]["NgayKetThucTheoQuyDinh"] and land[0]["NguoiXuLy"] == "Huỳnh Văn Lực"


def test_more_than_ten_rows_split_into_batches(tmp_path, capsys):
    path = tmp_path / "many.db"
    birth = CATALOGUE["1.001193"]
    with open_store(str(path)) as store:
        for n in range(1, 13):
            d = flow.receive(
                birth, CAL, code=f"HS-{n:02d}", desk=COMMUNE, at=T0, clerk=CLERK, applicant=Applicant(f"Người nộp {n}")
            )
            store_copy(store, COMMUNE, d, T0)
    feed = export(capsys, "--db", str(path))
    sizes = [len(c["data"]) for c in feed["calls"] if c["service"] == "CapNhatTienDoHoSoMC"]
    assert sizes == [10, 2]


def test_since_keeps_what_changed_and_marks_known_dossiers_as_updates(db, capsys, tmp_path):
    feed = export(capsys, "--db", str(db), "--since", "2017-10-05")
    records = [c for c in feed["calls"] if c["service"] == "DongBoHoSoMC"]
    assert feed["since"] == "20171005000000"
    assert [(c["data"][0]["MaTTHC"], c["isUpdating"]) for c in records] == [("1.004227", True), ("1.001193", False)]
    rows = [r for c in feed["calls"] if c["service"] == "CapNhatTienDoHoSoMC" for r in c["data"]]
    assert all(r["ThoiDiemXuLy"] >= "20171005000000" for r in rows) and len(rows) == 3  # finish, return, birth
    target = tmp_path / "feed.json"
    assert (
        main(
            ["dossiers", "export", "--db", str(db), "--format", "dvcqg", "--since", "20171006000000", "-o", str(target)]
        )
        == 0
    )
    assert "1 records" in capsys.readouterr().err
    assert json.loads(target.read_text(encoding="utf-8"))["records"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "csv"], "invalid choice"),
        (["--format", "dvcqg", "--since", "yesterday"], "is not a date"),
        ([], "required"),
    ],
)
def test_usage_errors(db, capsys, argv, message):
    assert main(["dossiers", "export", "--db", str(db), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_database_is_one_line(tmp_path, capsys):
    assert main(["dossiers", "export", "--db", str(tmp_path / "none.db"), "--format", "dvcqg"]) == 1
    assert capsys.readouterr().err.startswith("docflow dossiers: error: no database file at ")

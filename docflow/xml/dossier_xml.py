"""The dossier message (namespace ``urn:docflow:dossier:1``): bytes <-> ``DossierMessage``, and its XSD.

Read through the one hardened parser, validated against ``schemas/dossier.xsd`` (loaded from the package
resources like the edXML schemas, compiled once, used under a lock), mapped to the domain dataclasses;
every refusal is a ``ValidationError`` whose violations name the file, line, element path and rule (the
XSD's error type, ``root-element``, or ``portal-time`` / ``value`` for a value the XSD let through but the
domain refuses).  Written in one canonical form: the namespace as default namespace, the XSD's order,
optional text elements always present (empty when ""), dates only when set.  A forwarding node needs no
model: ``dossier_hop`` validates the bytes, ``DossierHop.stamp`` appends its ``Trace`` and ``identity``
reads the idempotency key.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from docflow.domain.dossier import (
    Apology,
    Applicant,
    ApplicantKind,
    Channel,
    Dossier,
    DossierMessage,
    DossierState,
    Fee,
    HistoryRow,
    ResultPaper,
    SubmittedFile,
    Supplement,
    format_portal_time,
    parse_portal_time,
)
from docflow.domain.envelope import TraceHeader
from docflow.domain.ids import OrganId
from docflow.errors import ConfigError, IdentifierError, ValidationError, Violation
from docflow.xml.edxml import FieldError, organ_id, text_child
from docflow.xml.parser import ParserLimits, parse_xml
from docflow.xml.schemas import element_path, locate, schema_dir, validation_error

if TYPE_CHECKING:
    from docflow.xml.signing import CertificateLookup, VerifiedMessage, VerifyPolicy

DOSSIER_NS = "urn:docflow:dossier:1"
SCHEMA_FILE = "dossier.xsd"
_P = "{" + DOSSIER_NS + "}"
_ROOT = _P + "DossierMessage"
_Sub = etree.SubElement
T = TypeVar("T")

#: Times repeat within and across messages (deadlines, hand-overs) and datetimes are immutable: parse each once.
portal_time = functools.lru_cache(maxsize=8192)(parse_portal_time)

_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def get_dossier_schema() -> etree.XMLSchema:
    """The compiled dossier XSD (parsed with the hardened parser, compiled on first use only)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                data = (schema_dir() / SCHEMA_FILE).read_bytes()
                tree = parse_xml(data, limits=ParserLimits(max_bytes=1024 * 1024, max_depth=64), source=SCHEMA_FILE)
                try:
                    _schema = etree.XMLSchema(tree)
                except etree.XMLSchemaParseError as exc:
                    raise ConfigError(f"{SCHEMA_FILE} does not compile: {exc}") from exc
    return _schema


def is_dossier(root: etree._Element) -> bool:
    """True when ``root`` is a dossier message (the engine's message-kind test)."""
    return root.tag == _ROOT


def validate_dossier(root: etree._Element, *, source: str | None = None) -> list[Violation]:
    """Every violation of ``root`` as a dossier message; empty when valid."""
    if not is_dossier(root):
        found = etree.QName(root)
        return [
            Violation(
                f"root element is {found.localname!r} in namespace {found.namespace!r}: expected "
                f"DossierMessage in {DOSSIER_NS}",
                root.sourceline,
                element_path(root),
                "root-element",
                source,
            )
        ]
    schema = get_dossier_schema()
    with _lock:
        if schema.validate(root):
            return []
        log = list(schema.error_log)
    out: list[Violation] = []
    for entry in log:
        target = locate(root, entry.path or "")
        path = element_path(target) if target is not None else (entry.path or "")
        line = entry.line or (target.sourceline if target is not None else None)
        out.append(Violation(entry.message.replace(_P, "").strip(), line, path, entry.type_name, source))
    return out


# --- reading ------------------------------------------------------------------------------------------------
class _ValueError(Exception):
    def __init__(self, element: etree._Element, error: IdentifierError) -> None:
        super().__init__(str(error))
        self.element, self.error = element, error


def _children(element: etree._Element | None) -> dict[str, etree._Element]:
    if element is None:
        return {}
    return {child.tag[len(_P) :]: child for child in element.iterchildren(etree.Element)}


def _items(element: etree._Element | None) -> list[dict[str, etree._Element]]:
    if element is None:
        return []
    return [_children(child) for child in element.iterchildren(etree.Element)]


def _text(c: dict[str, etree._Element], name: str) -> str:
    element = c.get(name)
    return "" if element is None else (element.text or "")


def _value(c: dict[str, etree._Element], name: str, parse: Callable[[str], T]) -> T:
    element = c[name]
    try:
        return parse((element.text or "").strip())
    except (IdentifierError, ValueError) as exc:
        error = exc if isinstance(exc, IdentifierError) else IdentifierError(str(exc), value=element.text)
        raise _ValueError(element, error) from exc


def read_trace_entry(element: etree._Element) -> TraceHeader:
    """One ``Trace`` (OrganId, Timestamp), for signature checks; ``FieldError`` for a value the domain refuses."""
    c = _children(element)
    try:
        return TraceHeader(_organ(c, "OrganId"), _value(c, "Timestamp", portal_time))
    except _ValueError as exc:
        raise FieldError(exc.element, exc.error) from None
    except KeyError as exc:
        raise FieldError(element, IdentifierError(f"no {exc.args[0]}", value="", rule="trace")) from None


def _time(c: dict[str, etree._Element], name: str) -> datetime | None:
    return _value(c, name, portal_time) if name in c else None


def _organ(c: dict[str, etree._Element], name: str) -> OrganId:
    return _value(c, name, organ_id)


def _state(c: dict[str, etree._Element], name: str) -> DossierState:
    return _value(c, name, DossierState.from_code)


def _history_row(c: dict[str, etree._Element]) -> HistoryRow:
    return HistoryRow(
        agency=_organ(c, "DonViXuLy"),
        actor=_text(c, "NguoiXuLy"),
        at=_value(c, "ThoiDiemXuLy", portal_time),
        content=_text(c, "NoiDungXuLy"),
        state=_state(c, "TrangThai"),
        title=_text(c, "ChucDanh"),
        department=_text(c, "PhongBanXuLy"),
        started_at=_time(c, "NgayBatDau"),
        step_due=_time(c, "NgayKetThucTheoQuyDinh"),
    )


def _dossier(c: dict[str, etree._Element]) -> Dossier:
    return Dossier(
        code=_text(c, "MaHoSo").strip(),
        procedure_code=_text(c, "MaTTHC").strip(),
        procedure_name=_text(c, "TenTTHC"),
        applicant=Applicant(
            _text(c, "ChuHoSo"),
            _value(c, "LoaiDoiTuong", lambda v: ApplicantKind(int(v))),
            _text(c, "SoGiayToChuHoSo"),
            _text(c, "DiaChiChuHoSo"),
            _text(c, "SoDienThoai"),
            _text(c, "Email"),
        ),
        state=_state(c, "TrangThaiHoSo"),
        holder=_organ(c, "DonViXuLy"),
        desk=_organ(c, "DonViTiepNhan"),
        field_code=_text(c, "MaLinhVuc"),
        field_name=_text(c, "TenLinhVuc"),
        level=_value(c, "MucDo", int),
        channel=_value(c, "KenhThucHien", lambda v: Channel(int(v))),
        summary=_text(c, "TrichYeuHoSo"),
        step=_value(c, "BuocHienTai", int),
        submitted_at=_time(c, "NgayNopHoSo"),
        received_at=_time(c, "NgayTiepNhan"),
        due_at=_time(c, "NgayHenTra"),
        finished_at=_time(c, "NgayKetThucXuLy"),
        returned_at=_time(c, "NgayTra"),
        refused_at=_time(c, "NgayTuChoi"),
        paused_at=_time(c, "NgayTamDung"),
        files=tuple(
            SubmittedFile(
                _text(f, "TepDinhKemId").strip(),
                _text(f, "TenTepDinhKem"),
                _text(f, "MaThanhPhanHoSo"),
                _text(f, "DuongDanTaiTepTin"),
            )
            for f in _items(c.get("TaiLieuNop"))
        ),
        fees=tuple(
            Fee(
                _text(f, "TenPhiLePhi"),
                _text(f, "MaPhiLePhi"),
                _value(f, "Gia", int),
                _value(f, "LoaiPhiLePhi", int),
                _value(f, "HinhThucThu", int),
            )
            for f in _items(c.get("DanhSachLePhi"))
        ),
        supplements=tuple(
            Supplement(
                _text(s, "HoSoBoSungId").strip(),
                _text(s, "NguoiYeuCauBoSung"),
                _text(s, "NoiDungBoSung"),
                _value(s, "NgayBoSung", portal_time),
                _time(s, "NgayHenTraTruoc"),
                _time(s, "NgayTiepNhanBoSung"),
                _time(s, "NgayHenTraMoi"),
            )
            for s in _items(c.get("DanhSachHoSoBoSung"))
        ),
        results=tuple(
            ResultPaper(
                _text(r, "GiayToId").strip(),
                _text(r, "TenGiayTo"),
                _text(r, "MaThanhPhanHoSo"),
                _text(r, "DuongDanTepTinKetQua"),
            )
            for r in _items(c.get("DanhSachGiayToKetQua"))
        ),
        apologies=tuple(
            Apology(
                _value(a, "NgayXinLoi", portal_time),
                _organ(a, "DonViXinLoi"),
                _value(a, "NgayHenTraTruoc", portal_time),
                _value(a, "NgayHenTraMoi", portal_time),
                _text(a, "SoVanBan"),
                _text(a, "LyDo"),
            )
            for a in _items(c.get("DanhSachXinLoi"))
        ),
        history=tuple(_history_row(r) for r in _items(c.get("QuaTrinhXuLy"))),
    )


def _map(root: etree._Element, source: str | None) -> DossierMessage:
    try:
        top = _children(root)
        header = _children(top["Header"])
        trace = tuple(
            TraceHeader(_organ(t, "OrganId"), _value(t, "Timestamp", portal_time))
            for t in _items(header.get("TraceList"))
        )
        return DossierMessage(
            sender=_organ(header, "From"),
            recipient=_organ(header, "To"),
            sent_at=_value(header, "SentAt", portal_time),
            dossier=_dossier(_children(top["HoSo"])),
            trace=trace,
        )
    except _ValueError as exc:
        violation = Violation(
            str(exc.error), exc.element.sourceline, element_path(exc.element), exc.error.rule or "value", source
        )
        raise validation_error([violation], source) from None


def dossier_from_tree(root: etree._Element, *, source: str | None = None) -> DossierMessage:
    """Validate (XSD) and map an already parsed tree; ``ValidationError`` naming every violation."""
    violations = validate_dossier(root, source=source)
    if violations:
        raise validation_error(violations, source)
    return _map(root, source)


def read_dossier(data: bytes, *, source: str | None = None) -> DossierMessage:
    """Parse (hardened), validate and map ``data``: ``UnsafeXMLError`` or ``ValidationError`` on bad input."""
    return dossier_from_tree(parse_xml(data, source=source), source=source)


# --- writing ------------------------------------------------------------------------------------------------
def _add(parent: etree._Element, name: str, value: str = "") -> etree._Element:
    return text_child(parent, _P + name, value)


def _add_time(parent: etree._Element, name: str, value: datetime | None) -> None:
    if value is not None:
        _add(parent, name, format_portal_time(value))


def _write_dossier(parent: etree._Element, d: Dossier) -> None:
    h = _Sub(parent, _P + "HoSo")
    for name, value in (
        ("MaHoSo", d.code),
        ("MaTTHC", d.procedure_code),
        ("TenTTHC", d.procedure_name),
        ("MaLinhVuc", d.field_code),
        ("TenLinhVuc", d.field_name),
        ("MucDo", str(d.level)),
        ("KenhThucHien", str(int(d.channel))),
        ("ChuHoSo", d.applicant.name),
        ("LoaiDoiTuong", str(int(d.applicant.kind))),
        ("SoGiayToChuHoSo", d.applicant.id_number),
        ("DiaChiChuHoSo", d.applicant.address),
        ("SoDienThoai", d.applicant.phone),
        ("Email", d.applicant.email),
        ("TrichYeuHoSo", d.summary),
    ):
        _add(h, name, value)
    for name, when in (
        ("NgayNopHoSo", d.submitted_at),
        ("NgayTiepNhan", d.received_at),
        ("NgayHenTra", d.due_at),
        ("NgayKetThucXuLy", d.finished_at),
        ("NgayTra", d.returned_at),
        ("NgayTuChoi", d.refused_at),
        ("NgayTamDung", d.paused_at),
    ):
        _add_time(h, name, when)
    _add(h, "TrangThaiHoSo", str(d.state.code))
    _add(h, "DonViXuLy", str(d.holder))
    _add(h, "DonViTiepNhan", str(d.desk))
    _add(h, "BuocHienTai", str(d.step))
    files = _Sub(h, _P + "TaiLieuNop")
    for f in d.files:
        el = _Sub(files, _P + "TepDinhKem")
        for name, value in (
            ("TepDinhKemId", f.file_id),
            ("TenTepDinhKem", f.name),
            ("MaThanhPhanHoSo", f.component_code),
            ("DuongDanTaiTepTin", f.url),
        ):
            _add(el, name, value)
    fees = _Sub(h, _P + "DanhSachLePhi")
    for fee in d.fees:
        el = _Sub(fees, _P + "LePhi")
        for name, value in (
            ("TenPhiLePhi", fee.name),
            ("MaPhiLePhi", fee.code),
            ("Gia", str(fee.amount)),
            ("LoaiPhiLePhi", str(fee.kind)),
            ("HinhThucThu", str(fee.collection)),
        ):
            _add(el, name, value)
    supplements = _Sub(h, _P + "DanhSachHoSoBoSung")
    for s in d.supplements:
        el = _Sub(supplements, _P + "HoSoBoSung")
        _add(el, "HoSoBoSungId", s.supplement_id)
        _add(el, "NguoiYeuCauBoSung", s.requested_by)
        _add(el, "NoiDungBoSung", s.content)
        _add_time(el, "NgayBoSung", s.requested_at)
        _add_time(el, "NgayHenTraTruoc", s.due_before)
        _add_time(el, "NgayTiepNhanBoSung", s.received_at)
        _add_time(el, "NgayHenTraMoi", s.due_after)
    results = _Sub(h, _P + "DanhSachGiayToKetQua")
    for r in d.results:
        el = _Sub(results, _P + "GiayToKetQua")
        for name, value in (
            ("GiayToId", r.paper_id),
            ("TenGiayTo", r.name),
            ("MaThanhPhanHoSo", r.component_code),
            ("DuongDanTepTinKetQua", r.url),
        ):
            _add(el, name, value)
    apologies = _Sub(h, _P + "DanhSachXinLoi")
    for a in d.apologies:
        el = _Sub(apologies, _P + "XinLoi")
        _add_time(el, "NgayXinLoi", a.at)
        _add(el, "DonViXinLoi", str(a.agency))
        _add_time(el, "NgayHenTraTruoc", a.due_before)
        _add_time(el, "NgayHenTraMoi", a.due_after)
        _add(el, "SoVanBan", a.document_id)
        _add(el, "LyDo", a.reason)
    history = _Sub(h, _P + "QuaTrinhXuLy")
    for row in d.history:
        el = _Sub(history, _P + "XuLy")
        _add(el, "DonViXuLy", str(row.agency))
        _add(el, "NguoiXuLy", row.actor)
        _add(el, "ChucDanh", row.title)
        _add_time(el, "ThoiDiemXuLy", row.at)
        _add(el, "PhongBanXuLy", row.department)
        _add(el, "NoiDungXuLy", row.content)
        _add(el, "TrangThai", str(row.state.code))
        _add_time(el, "NgayBatDau", row.started_at)
        _add_time(el, "NgayKetThucTheoQuyDinh", row.step_due)


def dossier_to_element(message: DossierMessage) -> etree._Element:
    """The canonical tree of ``message``."""
    root = etree.Element(_ROOT, nsmap={None: DOSSIER_NS}, version="1")
    header = _Sub(root, _P + "Header")
    _add(header, "From", str(message.sender))
    _add(header, "To", str(message.recipient))
    _add_time(header, "SentAt", message.sent_at)
    trace = _Sub(header, _P + "TraceList")
    for hop in message.trace:
        entry = _Sub(trace, _P + "Trace")
        _add(entry, "OrganId", str(hop.organ_id))
        _add_time(entry, "Timestamp", hop.timestamp)
    _write_dossier(root, message.dossier)
    return root


def write_dossier(message: DossierMessage, *, check: bool = False) -> bytes:
    """UTF-8 bytes with an XML declaration; with ``check`` the tree is validated first."""
    root = dossier_to_element(message)
    if check:
        violations = validate_dossier(root)
        if violations:
            raise validation_error(violations)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- a forwarding node ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class DossierHop:
    """A parsed, schema-valid dossier message on its way through one node."""

    root: etree._Element
    source: str | None = None
    kind: str = "dossier"

    @property
    def identity(self) -> str:
        """``DossierMessage.identity`` read from the tree: ``dossier:<MaHoSo>:<history rows>:<From>><To>``."""
        header = _children(self.root.find(_P + "Header"))
        hoso = self.root.find(_P + "HoSo")
        code = (hoso.findtext(_P + "MaHoSo") or "").strip() if hoso is not None else ""
        rows = len(hoso.findall(f"{_P}QuaTrinhXuLy/{_P}XuLy")) if hoso is not None else 0
        return f"dossier:{code}:{rows}:{_text(header, 'From').strip()}>{_text(header, 'To').strip()}"

    def stamp(self, organ_id: str, at: datetime) -> None:
        """Append this node's ``Trace`` (OrganId, Timestamp)."""
        header = self.root.find(_P + "Header")
        if header is None:
            raise ValidationError("no Header to stamp", rule="trace-header")
        trace = header.find(_P + "TraceList")
        if trace is None:  # right after SentAt, before a signature (the XSD order)
            trace = etree.Element(_P + "TraceList")
            sent_at = header.find(_P + "SentAt")
            header.insert(header.index(sent_at) + 1 if sent_at is not None else len(header), trace)
        entry = _Sub(trace, _P + "Trace")
        _add(entry, "OrganId", organ_id)
        _add(entry, "Timestamp", format_portal_time(at))

    def to_bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")

    def verify(self, certificates: CertificateLookup, policy: VerifyPolicy) -> VerifiedMessage | None:
        """The hand-over's signature checked against its sender's (``Header/From``) certificate, the tree left
        unchanged (``docflow.xml.signing``).  ``SignatureError`` naming the rule broken; None only when unsigned
        and allowed."""
        from docflow.xml.signing import verify_tree  # signing reads dossier trees: imported when first used

        return verify_tree(self.root, certificates, policy=policy, source=self.source)

    def message(self) -> DossierMessage:
        """The model (the tree is already schema-valid)."""
        return _map(self.root, self.source)


def dossier_hop(data: bytes, *, source: str | None = None) -> DossierHop:
    """Parse (hardened) and validate ``data`` as a dossier message, for a node that forwards or applies it."""
    root = parse_xml(data, source=source)
    violations = validate_dossier(root, source=source)
    if violations:
        raise validation_error(violations, source)
    return DossierHop(root, source)

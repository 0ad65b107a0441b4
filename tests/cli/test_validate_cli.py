"""``docflow validate`` and ``docflow inspect`` through the real command line (``main(argv)``)."""

from __future__ import annotations

from docflow.cli.main import main
from docflow.xml import write_envelope, write_status
from tests.strategies import NS, example_envelope, example_status


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_validate_samples_ok_with_warning(samples, capsys):
    files = [str(samples / n) for n in ("document_new.edxml", "document_update.edxml", "status_05.edxml")]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("OK ")] == [f"OK {f}" for f in files]
    [warn] = [line for line in out if line.startswith("WARN ")]
    assert warn.startswith(f"WARN {files[1]}: 46: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId: ")
    assert "[document-id-promulgation-date]" in warn


def test_validate_strict_turns_the_warning_into_an_error(samples, capsys):
    assert main(["validate", "--strict", str(samples / "document_update.edxml")]) == 1
    assert capsys.readouterr().out.startswith("INVALID ")


def test_validate_reports_each_violation_and_exits_1(tmp_path, capsys):
    good = write(tmp_path, "good.edxml", write_envelope(example_envelope()))
    data = write_envelope(example_envelope()).replace(b"<Priority>0</Priority>", b"<Priority>7</Priority>")
    data = data.replace(b"<Type>18</Type>", b"<Type>x</Type>")
    bad = write(tmp_path, "bad.edxml", data)
    assert main(["validate", good, bad]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"OK {good}"
    assert len(out) == 3
    assert out[1].startswith(f"INVALID {bad}: 2: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentType/Type: ")
    assert out[2].startswith(f"INVALID {bad}: 2: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo/Priority: ")
    assert "[SCHEMAV_CVC_PATTERN_VALID]" in out[2]


def test_validate_unsafe_input(tmp_path, capsys):
    bomb = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaa">]><edXML xmlns="' + NS.encode() + b'">&a;</edXML>'
    path = write(tmp_path, "bomb.edxml", bomb)
    assert main(["validate", path]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"INVALID {path}: 1: /: unsafe XML refused: ") and "[no-dtd]" in line


def test_validate_malformed_and_foreign_input(tmp_path, capsys):
    truncated = write(tmp_path, "cut.edxml", write_status(example_status())[:-30])
    foreign = write(tmp_path, "html.edxml", b"<html><body/></html>")
    assert main(["validate", truncated, foreign]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"INVALID {truncated}: ") and "[well-formed]" in out[0]
    assert out[1].startswith(f"INVALID {foreign}: 1: /html: ") and "[root-element]" in out[1]


def test_validate_missing_file_is_invalid(tmp_path, capsys):
    missing = str(tmp_path / "nope.edxml")
    assert main(["validate", missing]) == 1
    assert capsys.readouterr().out == f"INVALID {missing}: cannot read: No such file or directory\n"


def test_validate_without_files_is_a_usage_error(capsys):
    assert main(["validate"]) == 2
    assert "required: FILE" in capsys.readouterr().err


def test_inspect_document_sample(samples, capsys):
    assert main(["inspect", str(samples / "document_update.edxml")]) == 0
    out = capsys.readouterr().out
    for expected in (
        "kind:         document",
        "from:         000.00.00.G22 Văn phòng Chính phủ",
        "to:           000.00.12.H53 UBND Tỉnh Cao Bằng",
        "document id:  000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
        "code:         7816/VPCP-TTĐT",
        "subject:      V/v kết nối, liên thông phần mềm quản lý văn bản",
        "promulgated:  2018/09/28 Hà Nội",
        "due:          2018/09/28",
        "type:         Công văn (type 1, detail 0)",
        "priority:     0 Thường",
        "business:     2 update of 000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",
        "trace:        000.00.00.G22 at 2018/09/28 00:00:00",
        "attachment:   cid:209 1896_QD-TTg_m_294779.doc (application/zip, 270823 bytes)",
    ):
        assert expected in out, expected
    assert out.count("\nto:") == 3


def test_inspect_status_sample(samples, capsys):
    assert main(["inspect", str(samples / "status_05.edxml")]) == 0
    out = capsys.readouterr().out
    assert "kind:         status" in out
    assert "from:         000.00.00.H41 UBND Tỉnh Nghệ An" in out
    assert "status:       05 Đang xử lý" in out
    assert "description:  Đang xử lý văn bản đến" in out
    assert "timestamp:    2015/09/20 11:08:36" in out


def test_inspect_new_document_sample(samples, capsys):
    assert main(["inspect", str(samples / "document_new.edxml")]) == 0
    out = capsys.readouterr().out
    assert "from:         000.00.11.H53 Sở Tính" in out and "subject:      Báo cáo tài chính tỉnh" in out
    assert "promulgated:  2020/10/30 Tây Ninh" in out and "due:          -" in out


def test_inspect_invalid_file_exits_1(tmp_path, capsys):
    data = write_envelope(example_envelope()).replace(b"<Priority>0</Priority>", b"<Priority>7</Priority>")
    path = write(tmp_path, "bad.edxml", data)
    assert main(["inspect", path]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        f"INVALID {path}: 2: /edXML/edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo/Priority"
    )


def test_an_oversized_file_is_refused_with_its_line_and_path(tmp_path, capsys):
    from docflow.xml.parser import ParserLimits

    big = tmp_path / "big.edxml"
    with big.open("wb") as stream:
        stream.truncate(ParserLimits().max_bytes + 1)  # sparse: nothing is written, every byte reads as 0
    assert main(["validate", str(big)]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"INVALID {big}: 1: /: unsafe XML refused: input is ")
    assert "over the limit" in line and "[max-bytes]" in line and "?:" not in line

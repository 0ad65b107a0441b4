"""Hostile inputs: every one is refused with an ``UnsafeXMLError`` naming its rule, and nothing is read or fetched.

"Reads no file": entity and DTD targets are FIFOs — opening one for reading blocks until a writer comes, so a
parser that tried would hang; the parse runs in a thread that must finish.  "Opens no connection": targets point
at an HTTP server on 127.0.0.1 that counts every connection it accepts, and it must count zero.  Both detectors
are shown to work by control tests that use a deliberately unhardened lxml parser or a plain client.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from docflow.errors import MalformedXMLError, UnsafeXMLError
from docflow.xml.parser import ParserLimits, parse_xml

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
{prolog}<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"{root_attrs}>
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:OrganName>{organ}</edXML:OrganName>
        </edXML:From>
        <edXML:To>
          <edXML:OrganId>000.00.00.H58</edXML:OrganId>
          <edXML:OrganName>Ủy ban nhân dân tỉnh Tiền Giang</edXML:OrganName>
        </edXML:To>
        <edXML:DocumentId>000.00.00.G22,2024/03/05,1234/VPCP-KGVX</edXML:DocumentId>
        <edXML:Code>
          <edXML:CodeNumber>1234</edXML:CodeNumber>
          <edXML:CodeNotation>VPCP-KGVX</edXML:CodeNotation>
        </edXML:Code>
        <edXML:Subject>{subject}</edXML:Subject>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:Timestamp>2024/03/05 08:30:00</edXML:Timestamp>
        </edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>{body}</edXML:edXMLBody>
  </edXML:edXMLEnvelope>
</edXML>
"""


def edxml(
    *,
    prolog: str = "",
    root_attrs: str = "",
    organ: str = "Văn phòng Chính phủ",
    subject: str = "Về việc triển khai liên thông văn bản bốn cấp",
    body: str = "",
) -> bytes:
    """A real-looking edXML document message; the keyword arguments place hostile parts in it."""
    text = HEADER.format(prolog=prolog, root_attrs=root_attrs, organ=organ, subject=subject, body=body)
    return text.encode("utf-8")


def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def refused(data: object, rule: str, *, limits: ParserLimits | None = None) -> UnsafeXMLError:
    """Parse ``data``, expect a refusal under ``rule``, and return the error."""
    with pytest.raises(UnsafeXMLError) as caught:
        if limits is None:
            parse_xml(data)  # type: ignore[arg-type]
        else:
            parse_xml(data, limits=limits)  # type: ignore[arg-type]
    error = caught.value
    assert error.rule == rule, f"refused under {error.rule!r}, expected {rule!r}: {error}"
    assert f"[{rule}]" in str(error.violations[0])
    return error


def test_valid_baseline_parses() -> None:
    root = parse_xml(edxml())
    assert root.findtext(f".//{{{NS}}}Subject") == "Về việc triển khai liên thông văn bản bốn cấp"


# --- the local HTTP server that must never be contacted --------------------------------------------------------


class CountingServer(http.server.ThreadingHTTPServer):
    """Counts every TCP connection it accepts, whether or not a whole request follows."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'<!ENTITY leak "LEAKED-FROM-HTTP">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[CountingServer]:
    srv = CountingServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_control_the_server_counts_a_real_request(server: CountingServer) -> None:
    with urllib.request.urlopen(f"{server.base}/probe.dtd", timeout=5) as reply:
        assert reply.read() == b'<!ENTITY leak "LEAKED-FROM-HTTP">'
    assert server.connections == 1


# --- FIFOs: a file that blocks whoever opens it -----------------------------------------------------------------


def run_bounded(action: Callable[[], object], timeout: float = 10.0) -> tuple[bool, BaseException | None]:
    """Run ``action`` in a thread; return (finished, exception raised)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return (not thread.is_alive(), outcome[0] if outcome else None)


def release(fifo: Path, content: bytes = b"") -> None:
    """Unblock a reader stuck on ``fifo`` (used only when a parse did open it)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # nobody is reading it
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "target.fifo"
    os.mkfifo(path)
    yield path
    release(path)


def test_control_an_unhardened_parser_blocks_on_the_fifo(fifo: Path) -> None:
    data = f'<!DOCTYPE a SYSTEM "{fifo.as_uri()}"><a/>'.encode()
    unsafe = etree.XMLParser(load_dtd=True, no_network=False)
    finished, _ = run_bounded(lambda: etree.fromstring(data, unsafe), timeout=0.5)
    assert not finished, "the FIFO detector is blind: an unhardened parser did not block"
    release(fifo)


def assert_refused_without_opening(data: bytes, fifo: Path, rule: str) -> UnsafeXMLError:
    finished, error = run_bounded(lambda: parse_xml(data))
    assert finished, "parse_xml blocked: it opened the FIFO"
    assert isinstance(error, UnsafeXMLError), error
    assert error.rule == rule
    return error


# --- entities ----------------------------------------------------------------------------------------------------


def test_external_entity_to_etc_passwd() -> None:
    data = edxml(prolog='<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n', organ="&x;")
    error = refused(data, "no-dtd")
    assert error.line == 2
    assert "root:" not in str(error) and "root:" not in repr(error.violations)


def test_external_entity_to_a_file_never_leaks_its_marker(tmp_path: Path) -> None:
    marker = f"MARKER-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(marker)
    data = edxml(prolog=f'<!DOCTYPE edXML [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n', organ="&x;")
    with pytest.raises(UnsafeXMLError) as caught:
        parse_xml(data)
    seen = [str(caught.value), repr(caught.value), repr(caught.value.violations), repr(caught.value.__cause__)]
    assert all(marker not in text for text in seen)
    assert caught.value.rule == "no-dtd"


def test_external_entity_to_a_fifo_is_never_opened(fifo: Path) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML [<!ENTITY x SYSTEM "{fifo.as_uri()}">]>\n', organ="&x;")
    assert assert_refused_without_opening(data, fifo, "no-dtd").line == 2


def test_external_entity_over_http_makes_no_request(server: CountingServer) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML [<!ENTITY x SYSTEM "{server.base}/x.txt">]>\n', organ="&x;")
    refused(data, "no-dtd")
    assert server.connections == 0


def test_parameter_entity_over_http_makes_no_request(server: CountingServer) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML [<!ENTITY % p SYSTEM "{server.base}/p.dtd"> %p;]>\n', organ="&leak;")
    refused(data, "no-dtd")
    assert server.connections == 0


def test_billion_laughs() -> None:
    levels = ['<!ENTITY lol0 "lol">']
    levels += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    data = edxml(prolog="<!DOCTYPE edXML [\n" + "\n".join(levels) + "\n]>\n", subject="&lol9;")
    assert refused(data, "no-dtd").line == 2


def test_billion_laughs_in_an_attribute() -> None:
    levels = ['<!ENTITY a0 "ha">'] + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)]
    data = edxml(prolog="<!DOCTYPE edXML [" + "".join(levels) + "]>\n", root_attrs=' id="&a9;"')
    refused(data, "no-dtd")


def test_quadratic_blowup() -> None:
    entity = "A" * 100_000
    data = edxml(prolog=f'<!DOCTYPE edXML [<!ENTITY big "{entity}">]>\n', subject="&big;" * 50_000)
    assert len(data) > 300_000
    assert refused(data, "no-dtd").line == 2


def test_internal_entity_in_an_otherwise_valid_document() -> None:
    data = edxml(prolog='<!DOCTYPE edXML [<!ENTITY org "Văn phòng Chính phủ">]>\n', organ="&org;")
    assert refused(data, "no-dtd").line == 2


def test_doctype_without_subset() -> None:
    refused(edxml(prolog="<!DOCTYPE edXML>\n"), "no-dtd")


# --- external DTDs -------------------------------------------------------------------------------------------------


def test_external_dtd_to_a_local_file_with_marker(tmp_path: Path) -> None:
    marker = f"MARKER-{uuid.uuid4().hex}"
    dtd = tmp_path / "edxml.dtd"
    dtd.write_text(f'<!ENTITY leak "{marker}">')
    data = edxml(prolog=f'<!DOCTYPE edXML SYSTEM "{dtd}">\n', organ="&leak;")
    error = refused(data, "no-dtd")
    assert error.line == 2
    assert marker not in str(error) and marker not in repr(error.violations)


def test_external_dtd_to_a_fifo_is_never_opened(fifo: Path) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML SYSTEM "{fifo}">\n')
    assert_refused_without_opening(data, fifo, "no-dtd")


def test_external_dtd_public_id_over_http_makes_no_request(server: CountingServer) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML PUBLIC "-//MIC//DTD edXML//VI" "{server.base}/edxml.dtd">\n')
    refused(data, "no-dtd")
    assert server.connections == 0


def test_external_dtd_over_http_makes_no_request(server: CountingServer) -> None:
    data = edxml(prolog=f'<!DOCTYPE edXML SYSTEM "{server.base}/edxml.dtd">\n', organ="&leak;")
    refused(data, "no-dtd")
    assert server.connections == 0


def test_dtd_after_a_comment_in_the_prolog() -> None:
    data = edxml(prolog='<!-- exported by an old system -->\n<!-- <edXML> -->\n<!DOCTYPE edXML [<!ENTITY o "x">]>\n')
    assert refused(data, "no-dtd").line == 4


def test_dtd_after_a_processing_instruction() -> None:
    prolog = '<?xml-stylesheet type="text/xsl" href="view.xsl"?>\n<?vendor exported-by="QLVB 3.0"?>\n'
    prolog += '<!DOCTYPE edXML [<!ENTITY o "x">]>\n'
    data = edxml(prolog=prolog)
    assert refused(data, "no-dtd").line == line_of(data, b"<!DOCTYPE")


def test_dtd_after_a_utf8_bom() -> None:
    refused(b"\xef\xbb\xbf" + edxml(prolog="<!DOCTYPE edXML>\n"), "no-dtd")


# --- XInclude and schema hints -----------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"])
def test_xinclude_of_a_local_file(tmp_path: Path, namespace: str) -> None:
    marker = f"MARKER-{uuid.uuid4().hex}"
    included = tmp_path / "included.xml"
    included.write_text(f"<Secret>{marker}</Secret>")
    body = f'<xi:include xmlns:xi="{namespace}" href="{included}" parse="xml"/>'
    data = edxml(body=body)
    error = refused(data, "no-xinclude")
    assert error.line == line_of(data, b"<xi:include")
    assert marker not in str(error)


def test_xinclude_of_a_fifo_is_never_opened(fifo: Path) -> None:
    body = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{fifo}" parse="text"/>'
    assert_refused_without_opening(edxml(body=body), fifo, "no-xinclude")


def test_xinclude_over_http_makes_no_request(server: CountingServer) -> None:
    body = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{server.base}/part.xml"/>'
    refused(edxml(body=body), "no-xinclude")
    assert server.connections == 0


XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def test_schema_location_makes_no_request(server: CountingServer) -> None:
    data = edxml(root_attrs=f' {XSI} xsi:schemaLocation="{NS} {server.base}/edxml.xsd"')
    error = refused(data, "no-schema-location")
    assert error.line == 2
    assert "schemaLocation" in str(error)
    assert server.connections == 0


def test_no_namespace_schema_location_deep_in_the_tree(server: CountingServer) -> None:
    body = f'<Extra {XSI} xsi:noNamespaceSchemaLocation="{server.base}/extra.xsd"/>'
    data = edxml(body=body)
    error = refused(data, "no-schema-location")
    assert error.line == line_of(data, b"<Extra")
    assert server.connections == 0


# --- nesting -----------------------------------------------------------------------------------------------------


def test_fifty_thousand_deep_nesting() -> None:
    deep = "<Appendix>" * 50_000 + "</Appendix>" * 50_000
    refused(edxml(body=deep), "max-depth")


def test_configurable_depth_limit() -> None:
    data = edxml()  # six levels deep at most
    limits = ParserLimits(max_depth=5)
    error = refused(data, "max-depth", limits=limits)
    assert "deeper than 5" in str(error)
    assert parse_xml(data, limits=ParserLimits(max_depth=6)) is not None


def test_depth_limit_holds_for_inputs_over_ten_megabytes() -> None:
    # Inputs this large go through libxml2's "huge" mode, whose own nesting limit is 2048.
    data = b"<a>" * 300 + b"QUJD" * 2_600_000 + b"</a>" * 300
    refused(data, "max-depth")


# --- encodings -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"\x80", id="stray-continuation"),
        pytest.param(b"\xc0\xaf", id="overlong-2"),
        pytest.param(b"\xe0\x80\xaf", id="overlong-3"),
        pytest.param(b"\xed\xa0\x80", id="surrogate-d800"),
        pytest.param(b"\xed\xbf\xbf", id="surrogate-dfff"),
        pytest.param(b"\xf4\x90\x80\x80", id="above-10ffff"),
        pytest.param(b"\xff", id="ff-byte"),
        pytest.param(b"\xe1\xbb", id="truncated-in-text"),
    ],
)
def test_invalid_utf8_in_text(bad: bytes) -> None:
    data = edxml(subject="Về việc BAD").replace(b"BAD", bad)
    error = refused(data, "utf-8")
    assert error.line == line_of(data, b"<edXML:Subject>")


def test_invalid_utf8_in_an_attribute() -> None:
    data = edxml(root_attrs=' id="BAD"').replace(b"BAD", b"\xc3")
    assert refused(data, "utf-8").line == 2


def test_truncated_multibyte_at_the_end() -> None:
    data = edxml().rstrip() + "<!-- ệ".encode()[:-1]
    error = refused(data, "utf-8")
    assert "truncated" in str(error)


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1258", "US-ASCII", "UTF-16", "Shift_JIS"])
def test_non_utf8_declared_encoding(encoding: str) -> None:
    data = edxml().replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())
    error = refused(data, "utf-8")
    assert error.line == 1
    assert encoding.lower() in str(error)


def test_declared_latin1_after_a_utf8_bom() -> None:
    data = b"\xef\xbb\xbf" + edxml().replace(b'encoding="UTF-8"', b"encoding='ISO-8859-1'")
    refused(data, "utf-8")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "cp037"])
def test_wide_and_ebcdic_encodings(codec: str) -> None:
    text = edxml().decode("utf-8").replace("UTF-8", codec.upper())
    if codec == "cp037":
        text = text.replace("Về việc triển khai liên thông văn bản bốn cấp", "Ve viec")
        text = text.replace("Ủy ban nhân dân tỉnh Tiền Giang", "UBND").replace("Văn phòng Chính phủ", "VPCP")
    refused(text.encode(codec), "utf-8")


def test_utf16_with_bom_even_without_declaration() -> None:
    refused("\ufeff<edXML/>".encode("utf-16-le"), "utf-8")


# --- truncation, size, type --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.33, 0.5, 0.77, 0.95, 1.0])
def test_truncated_document(fraction: float) -> None:
    data = edxml()
    cut = min(int(len(data) * fraction), data.rindex(b"</edXML>") + 7)
    while cut < len(data) and 0x80 <= data[cut] < 0xC0:  # cut on a character boundary
        cut += 1
    with pytest.raises(MalformedXMLError) as caught:
        parse_xml(data[:cut])
    assert caught.value.rule == "well-formed"
    assert caught.value.line is not None and 1 <= caught.value.line <= data[:cut].count(b"\n") + 1


def test_truncated_inside_a_character() -> None:
    data = edxml()
    cut = data.index("Ủy".encode()) + 2
    refused(data[:cut], "utf-8")


def test_oversize_input() -> None:
    data = edxml(body="<Pad>" + "A" * 20_000 + "</Pad>")
    refused(data, "max-bytes", limits=ParserLimits(max_bytes=16 * 1024))
    assert parse_xml(data, limits=ParserLimits(max_bytes=len(data))) is not None


def test_oversize_is_refused_before_any_other_check() -> None:
    data = edxml(prolog="<!DOCTYPE edXML>\n")
    refused(data, "max-bytes", limits=ParserLimits(max_bytes=100))


@pytest.mark.parametrize("value", [edxml().decode("utf-8"), None, 42, ["<a/>"]], ids=["str", "none", "int", "list"])
def test_non_bytes_input(value: object) -> None:
    error = refused(value, "bytes-input")
    assert type(value).__name__ in str(error)


# --- the second line: libxml2's own settings, with the byte checks out of the way -----------------------------


@pytest.mark.parametrize("huge", [False, True], ids=["normal", "huge"])
@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE a SYSTEM "{target}"><a>&leak;</a>',
        '<!DOCTYPE a PUBLIC "-//X//Y" "{target}"><a/>',
        '<!DOCTYPE a [<!ENTITY % p SYSTEM "{target}"> %p;]><a>&leak;</a>',
        '<!DOCTYPE a [<!ENTITY x SYSTEM "{target}">]><a>&x;</a>',
    ],
    ids=["external-dtd", "public-dtd", "parameter-entity", "general-entity"],
)
def test_libxml2_settings_alone_open_nothing(
    template: str, huge: bool, fifo: Path, tmp_path: Path, server: CountingServer
) -> None:
    # parse_xml refuses these on the bytes before libxml2 sees them; this proves the parser it then uses
    # would not open a file or a connection either (lxml's collect_ids=False once made it read the DTD).
    from docflow.xml.parser import _parser

    marker = f"MARKER-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.dtd"
    secret.write_text(f'<!ENTITY leak "{marker}">')
    for target in (fifo.as_uri(), str(fifo), secret.as_uri(), f"{server.base}/x.dtd"):
        data = template.format(target=target).encode()
        results: list[bytes] = []

        def parse(data: bytes = data, out: list[bytes] = results) -> None:
            with contextlib.suppress(etree.XMLSyntaxError):
                out.append(etree.tostring(etree.fromstring(data, _parser(huge))))

        finished, error = run_bounded(parse)
        assert finished, f"libxml2 opened {target}"
        assert error is None
        assert all(marker.encode() not in result for result in results)
    assert server.connections == 0


# --- the byte-level shortcuts stay sound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "attrs",
    [
        ' xmlns:xi="http://www.w3.org/2001/X&#73;nclude"',
        ' xmlns:xi="http://www.w3.org/2001/&#x58;Include"',
    ],
)
def test_xinclude_namespace_spelled_with_character_references(attrs: str) -> None:
    refused(edxml(root_attrs=attrs, body='<xi:include href="/etc/passwd"/>'), "no-xinclude")


def test_schema_hint_namespace_spelled_with_character_references() -> None:
    attrs = ' xmlns:s="http://www.w3.org/2001/XMLSchema&#45;instance" s:schemaLocation="a b.xsd"'
    refused(edxml(root_attrs=attrs), "no-schema-location")


@pytest.mark.parametrize("rule", ["no-xinclude", "no-schema-location"])
def test_foreign_namespaces_in_a_large_document(rule: str) -> None:
    hostile = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>'
        if rule == "no-xinclude"
        else f'<Extra {XSI} xsi:schemaLocation="a b.xsd"/>'
    )
    data = edxml(body="<Pad>" + "QUJD" * 20_000 + "</Pad>" + hostile)
    assert len(data) > 64 * 1024
    refused(data, rule)


def test_a_prolog_of_many_comments_is_refused_cheaply() -> None:
    assert parse_xml(b"<!---->" * 256 + b"<a/>").tag == "a"
    refused(b"<!---->" * 257 + b"<a/>", "resource-limit")
    refused(b"<?pi?>" * 1_000_000 + b"<!DOCTYPE a><a/>", "resource-limit")


@pytest.mark.parametrize("data", [b"<?xml version='1.0'" + b" " * 1000, b"<!-- never closed <a/>", b"<?pi <a/>"])
def test_unterminated_prolog_items(data: bytes) -> None:
    refused(data, "well-formed")


LXML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"


@pytest.mark.parametrize(
    ("after", "rule"),
    [
        (b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', "no-dtd"),
        (b"<!-- c --><!DOCTYPE r><r/>", "no-dtd"),
        (b'<?pi x?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r/>', "no-dtd"),
    ],
)
def test_the_declaration_lxml_writes_does_not_let_a_dtd_behind_it_through(after: bytes, rule: str) -> None:
    with pytest.raises(UnsafeXMLError) as caught:
        parse_xml(LXML_DECLARATION + after)
    assert caught.value.rule == rule


def test_the_declaration_lxml_writes_followed_by_the_root_parses_or_says_what_is_malformed() -> None:
    assert parse_xml(LXML_DECLARATION + b"<r>ok</r>").text == "ok"
    for bad in (b"", b"< r/>", b"text<r/>"):
        with pytest.raises(MalformedXMLError):
            parse_xml(LXML_DECLARATION + bad)

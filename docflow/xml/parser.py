"""The one hardened XML parse: every byte docflow reads as XML goes through ``parse_xml``.

Refused, always, with an ``UnsafeXMLError`` (its subclass ``MalformedXMLError`` for broken syntax):
any DTD (so no entity of any kind, internal or external), XInclude, ``xsi:schemaLocation`` /
``xsi:noNamespaceSchemaLocation`` hints, processing of anything from the network or the file system,
input larger than ``max_bytes``, nesting deeper than ``max_depth``, and input that is not UTF-8.
Cheap byte checks run first so hostile input is refused before libxml2 builds anything; libxml2 then
parses with entity resolution, DTD loading and network access switched off as a second line.

Each refusal names its rule (``XMLError.rule``): ``bytes-input``, ``max-bytes``, ``utf-8``, ``no-dtd``,
``no-xinclude``, ``no-schema-location``, ``max-depth``, ``resource-limit`` or ``well-formed``.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

from lxml import etree

from docflow.errors import MalformedXMLError, UnsafeXMLError

XINCLUDE_NS = b"http://www.w3.org/2001/XInclude"
XINCLUDE_OLD_NS = "http://www.w3.org/2003/XInclude"  # libxml2 still honours the draft namespace
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_LIBXML_MAX_DEPTH = 256  # libxml2's own nesting limit without XML_PARSE_HUGE
_LIBXML_MAX_TEXT = 10_000_000  # libxml2's longest text node without XML_PARSE_HUGE
_SCHEMA_HINTS = frozenset({f"{{{XSI_NS}}}schemaLocation", f"{{{XSI_NS}}}noNamespaceSchemaLocation"})
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_MAX_PROLOG_ITEMS = 256  # comments and PIs before the root: real messages have a handful
_BLANKS = re.compile(rb"[ \t\r\n]*")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
#: The declaration lxml writes (what docflow and most producers send): after it, a "<" that opens neither a DTD,
#: a comment nor a PI is the root, and nothing else in the prolog needs looking at.
_LXML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n<"
_ROOT_AFTER = len(_LXML_DECLARATION)


@dataclass(frozen=True, slots=True)
class ParserLimits:
    """Limits of the hardened parser; the defaults suit edXML with attachments of tens of MB."""

    max_bytes: int = 100 * 1024 * 1024
    max_depth: int = _LIBXML_MAX_DEPTH  # libxml2 enforces it while parsing, at no extra cost

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_depth <= 0:
            raise ValueError("parser limits must be positive")
        if self.max_depth > _LIBXML_MAX_DEPTH:
            raise ValueError(f"max_depth cannot exceed {_LIBXML_MAX_DEPTH} (libxml2's limit)")


DEFAULT_LIMITS = ParserLimits()

_local = threading.local()


def _parser(huge: bool) -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused (creating one costs ~10 µs).
    # The "huge" parser only lifts libxml2's 10 MB text-node limit for large attachments: DTDs never
    # reach it (refused on the bytes), and nesting is then bounded by the tree check below.
    attr = "huge" if huge else "normal"
    parser = getattr(_local, attr, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=huge,
            remove_pis=False,
            # collect_ids stays True: lxml's collect_ids=False sets libxml2's loadsubset to XML_SKIP_IDS,
            # which makes libxml2 2.14 load an external DTD subset from disk (shown by a FIFO test).
        )
        setattr(_local, attr, parser)
    return parser


def _refuse(message: str, rule: str, source: str | None, line: int | None = None) -> UnsafeXMLError:
    return UnsafeXMLError(message, file=source, line=line, rule=rule)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _skip_prolog(data: bytes, source: str | None) -> tuple[int, bytes]:
    """Where the prolog ends (UTF-8 BOM, XML declaration, blanks, comments, PIs) and the declaration's bytes.

    ``find`` does the scanning, so even a hostile 100 MB prolog costs one pass at memory speed.
    """
    pos = first = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    declaration = b""
    for _ in range(_MAX_PROLOG_ITEMS + 1):
        blanks = _BLANKS.match(data, pos)  # the pattern matches the empty string: never None
        pos = blanks.end() if blanks else pos
        if data.startswith(b"<?", pos):
            close, skip = data.find(b"?>", pos + 2), 2
        elif data.startswith(b"<!--", pos):
            close, skip = data.find(b"-->", pos + 4), 3
        else:
            return pos, declaration
        if close < 0:
            raise MalformedXMLError(
                "not well-formed XML: unterminated comment or processing instruction before the root",
                file=source,
                line=_line_of(data, pos),
                rule="well-formed",
            )
        if pos == first and data.startswith(b"<?xml", pos) and data[pos + 5 : pos + 6].isspace():
            declaration = data[pos : close + skip]
        pos = close + skip
    raise _refuse(
        f"more than {_MAX_PROLOG_ITEMS} comments and processing instructions before the root",
        "resource-limit",
        source,
        _line_of(data, pos),
    )


def _check_bytes(data: bytes, limits: ParserLimits, source: str | None) -> None:
    """Refuse, on the bytes alone, what libxml2 must never see: oversize, non-UTF-8, a DTD."""
    if len(data) > limits.max_bytes:
        raise _refuse(f"input is {len(data)} bytes, over the limit of {limits.max_bytes}", "max-bytes", source, 1)
    if data.startswith(_WIDE_BOMS) or b"\x00" in data[:4]:
        raise _refuse("input is UTF-16 or UTF-32: only UTF-8 is accepted", "utf-8", source, 1)
    if data.startswith(_LXML_DECLARATION) and data[_ROOT_AFTER : _ROOT_AFTER + 1] not in (b"!", b"?", b""):
        return
    end, declaration = _skip_prolog(data, source)
    if end == len(data):
        raise MalformedXMLError("input is empty: no root element", file=source, line=1, rule="well-formed")
    if data.startswith(b"<!", end):
        # libxml2 only takes "<!DOCTYPE" here; any other "<!" is refused just the same.
        raise _refuse(
            "input contains a DTD (<!DOCTYPE); DTDs and entities are never accepted",
            "no-dtd",
            source,
            _line_of(data, end),
        )
    if data[end] != 0x3C:  # "<"
        if not data[end : end + 4].isascii():  # EBCDIC and other encodings libxml2 would detect
            raise _refuse("input does not start as UTF-8 XML", "utf-8", source, _line_of(data, end))
        raise MalformedXMLError(
            "not well-formed XML: text before the root element",
            file=source,
            line=_line_of(data, end),
            rule="well-formed",
        )
    if declaration:
        found = _ENCODING.search(declaration)
        if found:
            value = found.group(1).strip().lower()
            if value not in (b"utf-8", b"utf8"):
                raise _refuse(
                    f"declared encoding {value.decode('ascii', 'replace')!r}: only UTF-8 is accepted",
                    "utf-8",
                    source,
                    1,
                )


# Every attribute in the XSI namespace (cheaper than naming the two hints: ~8 µs on an edXML header);
# the few hits are then looked at in Python.
_XSI_ATTRIBUTES = etree.XPath("/descendant-or-self::*/@xsi:*", namespaces={"xsi": XSI_NS})
_BYTE_SCAN_MAX = 32 * 1024
_XINCLUDE_TAGS = (f"{{{XINCLUDE_NS.decode()}}}*", f"{{{XINCLUDE_OLD_NS}}}*")


@functools.lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    # An element exists at depth+1 iff this path of depth+1 steps matches: cost follows the tree's
    # breadth per level, not a Python loop over every element.
    return etree.XPath("boolean(/*" + "/*" * depth + ")")


def _may_hold_foreign_namespaces(data: bytes) -> bool:
    """False only when ``data`` cannot hold an XInclude element nor an XSI attribute.

    Both need their namespace URI declared in an attribute value, where it can only be spelled literally or
    with character references (``&#...;``; no DTD means no other entity).  Scanning the bytes beats the tree
    walk on small inputs only: large ones (attachments) have few elements and many bytes.
    """
    if len(data) > _BYTE_SCAN_MAX:
        return True
    return b"&" in data or b"XInclude" in data or b"XMLSchema-instance" in data


def _check_tree(root: etree._Element, data: bytes, limits: ParserLimits, huge: bool, source: str | None) -> None:
    if _may_hold_foreign_namespaces(data):
        _check_foreign_namespaces(root, source)
    if (huge or limits.max_depth < _LIBXML_MAX_DEPTH) and _deeper_than(limits.max_depth)(root):
        raise _refuse(f"nesting deeper than {limits.max_depth} elements", "max-depth", source)


def _check_foreign_namespaces(root: etree._Element, source: str | None) -> None:
    for attribute in _XSI_ATTRIBUTES(root):
        if attribute.attrname in _SCHEMA_HINTS:
            owner = attribute.getparent()
            raise _refuse(
                f"element {owner.tag} carries {attribute.attrname}; schema hints are never followed",
                "no-schema-location",
                source,
                owner.sourceline,
            )
    xinclude = next(root.iter(*_XINCLUDE_TAGS), None)
    if xinclude is not None:
        raise _refuse(
            f"input contains XInclude ({xinclude.tag}), which is never processed",
            "no-xinclude",
            source,
            xinclude.sourceline,
        )


def _first_bad_utf8(data: bytes) -> tuple[int, str] | None:
    """Offset and reason of the first invalid UTF-8 sequence, or None (only called once parsing failed)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, exc.reason
    return None


def _syntax_error(exc: etree.XMLSyntaxError, data: bytes, limits: ParserLimits, source: str | None) -> UnsafeXMLError:
    message = str(exc.msg or exc).strip()
    line = exc.lineno
    lowered = message.lower()
    bad = _first_bad_utf8(data)
    if bad is not None or "encoding" in lowered or "utf-8" in lowered:
        if bad is not None:
            offset, reason = bad
            tail = " (input truncated?)" if offset >= len(data) - 3 else ""
            message = f"byte {offset}: {reason}{tail}"
            line = _line_of(data, offset)
        return _refuse(f"input is not valid UTF-8: {message}", "utf-8", source, line)
    if "depth" in lowered:
        return _refuse(f"nesting deeper than {limits.max_depth} elements: {message}", "max-depth", source, line)
    if "entity" in lowered and ("amplification" in lowered or "loop" in lowered):
        return _refuse(f"entity expansion refused: {message}", "no-dtd", source, line)
    if "resource limit" in lowered or "huge" in lowered or "too long" in lowered:
        return _refuse(f"input exceeds a parser limit: {message}", "resource-limit", source, line)
    return MalformedXMLError(f"not well-formed XML: {message}", file=source, line=line, rule="well-formed")


def parse_xml(data: bytes, *, limits: ParserLimits = DEFAULT_LIMITS, source: str | None = None) -> etree._Element:
    """Parse ``data`` safely and return the root element.

    ``source`` names the input (a file name) in error messages.  Raises ``UnsafeXMLError`` for anything
    refused for safety and ``MalformedXMLError`` for input that is not well-formed; never a bare lxml or
    Python error.
    """
    if isinstance(data, memoryview | bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise UnsafeXMLError(
            f"expected bytes, got {type(data).__name__}: decode nothing before parsing",
            file=source,
            rule="bytes-input",
        )
    _check_bytes(data, limits, source)
    huge = len(data) >= _LIBXML_MAX_TEXT
    try:
        root = etree.fromstring(data, _parser(huge))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, data, limits, source) from None
    except (ValueError, etree.LxmlError) as exc:
        raise MalformedXMLError(f"cannot parse XML: {exc}", file=source, rule="well-formed") from None
    if root is None:
        raise MalformedXMLError("input holds no XML element", file=source, rule="well-formed")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _refuse("input contains a DTD; DTDs and entities are never accepted", "no-dtd", source, 1)
    _check_tree(root, data, limits, huge, source)
    return root

"""The one hardened XML parse: every byte docflow reads as XML goes through ``parse_xml``.

Refused, always, with an ``UnsafeXMLError`` (its subclass ``MalformedXMLError`` for broken syntax):
any DTD (so no entity of any kind, internal or external), XInclude, ``xsi:schemaLocation`` /
``xsi:noNamespaceSchemaLocation`` hints, processing of anything from the network or the file system,
input larger than ``max_bytes``, nesting deeper than ``max_depth``, and input that is not UTF-8.
Cheap byte checks run first so hostile input is refused before libxml2 builds anything; libxml2 then
parses with entity resolution, DTD loading and network access switched off as a second line.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from lxml import etree

from docflow.errors import MalformedXMLError, UnsafeXMLError

XINCLUDE_NS = b"http://www.w3.org/2001/XInclude"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_LIBXML_MAX_DEPTH = 256  # libxml2's own nesting limit without XML_PARSE_HUGE


@dataclass(frozen=True, slots=True)
class ParserLimits:
    """Limits of the hardened parser; the defaults suit edXML with attachments of tens of MB."""

    max_bytes: int = 100 * 1024 * 1024
    max_depth: int = 64

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_depth <= 0:
            raise ValueError("parser limits must be positive")
        if self.max_depth > _LIBXML_MAX_DEPTH:
            raise ValueError(f"max_depth cannot exceed {_LIBXML_MAX_DEPTH} (libxml2's limit)")


DEFAULT_LIMITS = ParserLimits()

_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, reused (creating one costs ~10 µs).
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_pis=False,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def _refuse(message: str, rule: str, source: str | None, line: int | None = None) -> UnsafeXMLError:
    return UnsafeXMLError(message, file=source, line=line, rule=rule)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _prolog_end(data: bytes) -> int:
    """Offset of the first ``<`` after the XML declaration, PIs and comments: a DTD or the root."""
    pos = 0
    while True:
        pos = data.find(b"<", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        nxt = data[pos + 1 : pos + 4]
        if nxt.startswith(b"?"):
            close = data.find(b"?>", pos + 2)
        elif nxt.startswith(b"!--"):
            close = data.find(b"-->", pos + 4)
        else:
            return pos
        if close < 0:
            return len(data)
        pos = close + 2


def _check_bytes(data: bytes, limits: ParserLimits, source: str | None) -> None:
    if len(data) > limits.max_bytes:
        raise _refuse(f"input is {len(data)} bytes, over the limit of {limits.max_bytes}", "max-bytes", source)
    if not data.strip():
        raise MalformedXMLError("input is empty", file=source, rule="well-formed")
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")):
        raise _refuse("input is UTF-16: only UTF-8 is accepted", "utf-8", source, 1)
    head = data[:200]
    if head.startswith(b"<?xml"):
        end = head.find(b"?>")
        decl = head[: end if end > 0 else len(head)].lower()
        pos = decl.find(b"encoding")
        if pos >= 0:
            value = decl[pos + 8 :].lstrip(b" =\t").strip(b"'\" ").split(b'"')[0].split(b"'")[0]
            if value not in (b"utf-8", b"utf8"):
                raise _refuse(
                    f"declared encoding {value.decode('ascii', 'replace')!r}: only UTF-8 is accepted",
                    "utf-8",
                    source,
                    1,
                )
    pos = _prolog_end(data)
    if data.startswith(b"<!", pos):
        raise _refuse(
            "input contains a DTD (<!DOCTYPE); DTDs and entities are never accepted",
            "no-dtd",
            source,
            _line_of(data, pos),
        )


_FORBIDDEN = etree.XPath(
    "//xi:* | //@xsi:schemaLocation | //@xsi:noNamespaceSchemaLocation",
    namespaces={"xi": XINCLUDE_NS.decode(), "xsi": XSI_NS},
)


@functools.lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    # An element exists at depth+1 iff this path of depth+1 steps matches: cost follows the tree's
    # breadth per level, not a Python loop over every element.
    return etree.XPath("boolean(/*" + "/*" * depth + ")")


def _check_tree(root: etree._Element, limits: ParserLimits, source: str | None) -> None:
    found = _FORBIDDEN(root)
    if found:
        hit = found[0]
        if isinstance(hit, str):  # an attribute value
            owner = hit.getparent()
            raise _refuse(
                f"element {owner.tag} carries {hit.attrname}; schema hints are never followed",
                "no-schema-location",
                source,
                owner.sourceline,
            )
        raise _refuse(
            f"input contains XInclude ({hit.tag}), which is never processed", "no-xinclude", source, hit.sourceline
        )
    if limits.max_depth < _LIBXML_MAX_DEPTH and _deeper_than(limits.max_depth)(root):
        raise _refuse(f"nesting deeper than {limits.max_depth} elements", "max-depth", source)


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
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc)
        line = exc.lineno
        lowered = message.lower()
        if "encoding" in lowered or "utf-8" in lowered:
            raise _refuse(f"input is not valid UTF-8: {message}", "utf-8", source, line) from None
        if "depth" in lowered:
            raise _refuse(f"nesting too deep: {message}", "max-depth", source, line) from None
        if "entity" in lowered and ("amplification" in lowered or "loop" in lowered):
            raise _refuse(f"entity expansion refused: {message}", "no-dtd", source, line) from None
        raise MalformedXMLError(f"not well-formed XML: {message}", file=source, line=line, rule="well-formed") from None
    except (ValueError, etree.LxmlError) as exc:
        raise MalformedXMLError(f"cannot parse XML: {exc}", file=source, rule="well-formed") from None
    if root is None:
        raise MalformedXMLError("input holds no XML element", file=source, rule="well-formed")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refuse("input contains a DTD; DTDs and entities are never accepted", "no-dtd", source, 1)
    _check_tree(root, limits, source)
    return root

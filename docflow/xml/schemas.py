"""Load docflow's edXML XSDs once per process and validate trees against them, reporting every violation.

The XSDs live in ``docflow/schemas`` inside the wheel (hatch force-include) and in the repository's
top-level ``schemas/`` for editable installs.  They are parsed through the hardened ``parse_xml``; the
shared ``edxml-common.xsd`` is inlined in place of its ``xs:include`` so libxml2 never opens a file or
the network.  Each compiled ``XMLSchema`` is used under a lock because lxml validators keep their error
log on the object.  Violations name the line, a readable element path (local names, 1-based index
when a name repeats) and the rule: libxml2's error type for XSD errors, ``cardinality`` for the counts
XSD 1.0 cannot express for MessageHeader's unordered children.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import importlib.resources
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from docflow.errors import ConfigError, ValidationError, Violation
from docflow.xml.parser import ParserLimits, parse_xml

#: The QCVN 102:2016 namespace of every edXML element.
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
_PREFIX = "{" + NS + "}"

#: Message kind -> schema file.
SCHEMA_FILES: dict[str, str] = {"document": "edxml-document.xsd", "status": "edxml-status.xsd"}
_COMMON = "edxml-common.xsd"
_SCHEMA_LIMITS = ParserLimits(max_bytes=2 * 1024 * 1024, max_depth=64)


def schema_dir() -> Any:
    """Where the XSDs are: package resources (``docflow/schemas``) or the repository's ``schemas/``."""
    packaged = importlib.resources.files("docflow") / "schemas"
    if packaged.is_dir() and (packaged / SCHEMA_FILES["document"]).is_file():
        return packaged
    repo = Path(__file__).resolve().parent.parent.parent / "schemas"
    if (repo / SCHEMA_FILES["document"]).is_file():
        return repo
    raise ConfigError(f"edXML schemas not found in package resources ({packaged}) nor in {repo}")


def _load_tree(name: str) -> etree._Element:
    directory = schema_dir()
    data = (directory / name).read_bytes()
    root = parse_xml(data, limits=_SCHEMA_LIMITS, source=name)
    for include in list(root.iterchildren(f"{{{XSD_NS}}}include")):
        location = include.get("schemaLocation", "")
        if location != _COMMON:
            raise ConfigError(f"{name}: unexpected xs:include of {location!r}")
        common = parse_xml((directory / _COMMON).read_bytes(), limits=_SCHEMA_LIMITS, source=_COMMON)
        position = root.index(include)
        root.remove(include)
        for offset, child in enumerate(list(common.iterchildren(etree.Element))):
            root.insert(position + offset, child)
    return root


@dataclass(slots=True)
class _Compiled:
    schema: etree.XMLSchema
    lock: threading.Lock


_compiled: dict[str, _Compiled] = {}
_compile_lock = threading.Lock()


def get_schema(kind: str) -> etree.XMLSchema:
    """The compiled schema for ``kind`` ("document" or "status"), compiled on first use only."""
    return _get(kind).schema


def _get(kind: str) -> _Compiled:
    found = _compiled.get(kind)
    if found is not None:
        return found
    if kind not in SCHEMA_FILES and kind != _CANONICAL:
        raise ConfigError(f"unknown message kind {kind!r}: expected one of {', '.join(SCHEMA_FILES)}")
    with _compile_lock:
        found = _compiled.get(kind)
        if found is None:
            try:
                if kind == _CANONICAL:
                    schema = etree.XMLSchema(_canonical_variant(_load_tree(SCHEMA_FILES["document"])))
                else:
                    schema = etree.XMLSchema(_load_tree(SCHEMA_FILES[kind]))
            except etree.XMLSchemaParseError as exc:
                raise ConfigError(f"{SCHEMA_FILES[kind]} does not compile: {exc}") from exc
            found = _compiled[kind] = _Compiled(schema, threading.Lock())
    return found


_CANONICAL = "document-canonical"
_XS = "{" + XSD_NS + "}"


def _canonical_variant(tree: etree._Element) -> etree._Element:
    """The document schema with MessageHeader and TraceHeaderList as ordered sequences whose cardinalities
    the XSD enforces (the order of the elements in the order-free choice is the canonical order)."""
    limits = {
        "DocumentMessageHeaderType": _DOCUMENT_COUNTS["MessageHeader"],
        "TraceHeaderListType": _DOCUMENT_COUNTS["TraceHeaderList"],
    }
    for complex_type in tree.iterchildren(_XS + "complexType"):
        rules = limits.get(complex_type.get("name", ""))
        if rules is None:
            continue
        choice = complex_type.find(_XS + "choice")
        sequence = etree.Element(_XS + "sequence")
        business: etree._Element | None = None
        for element in list(choice.iterchildren(_XS + "element")):
            name = element.get("name", "")
            low, high = rules.get(name, (0, 1))
            if name in ("Bussiness", "Business"):  # one of the two spellings, at most once
                if business is None:
                    business = etree.SubElement(sequence, _XS + "choice", minOccurs="0")
                business.append(element)
                continue
            element.set("minOccurs", str(low))
            element.set("maxOccurs", "unbounded" if high is None else str(high))
            sequence.append(element)
        complex_type.replace(choice, sequence)
    return tree


# --- element paths ---------------------------------------------------------------------------------


def local_name(tag: object) -> str:
    """``{ns}name`` -> ``name`` (comments and PIs give ``""``)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def element_path(element: etree._Element) -> str:
    """``/edXML/edXMLEnvelope/.../To[2]/OrganId``: local names, an index only where a name repeats."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent.iterchildren(node.tag)]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


_STEP = re.compile(r"^(?:(?P<prefix>[^:\[\]*]+):)?(?P<name>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")


def locate(root: etree._Element, libxml_path: str) -> etree._Element | None:
    """The element a libxml2 error path names (``/*/edXML:A/*[2]``: ``*`` counts every element sibling)."""
    steps = [s for s in libxml_path.split("/") if s]
    if not steps:
        return None
    node = root
    for depth, step in enumerate(steps):
        m = _STEP.match(step)
        if m is None:
            return None
        index = int(m["index"] or 1)
        if depth == 0:
            if index != 1:
                return None
            continue
        if m["name"] == "*":
            candidates = list(node.iterchildren(etree.Element))
        else:
            candidates = [c for c in node.iterchildren(etree.Element) if local_name(c.tag) == m["name"]]
        if index > len(candidates):
            return None
        node = candidates[index - 1]
    return node


def _readable(message: str) -> str:
    return message.replace(_PREFIX, "").strip()


def _xsd_violations(root: etree._Element, log: Any, file: str | None) -> list[Violation]:
    out: list[Violation] = []
    for entry in log:
        target = locate(root, entry.path or "")
        path = element_path(target) if target is not None else (entry.path or "")
        line = entry.line or (target.sourceline if target is not None else None)
        out.append(Violation(_readable(entry.message), line, path, entry.type_name, file))
    return out


# --- counts that XSD 1.0 cannot express for unordered repeatable groups -----------------------------

# element -> {child: (min, max or None)}; children not listed may appear at most once.
_DOCUMENT_COUNTS: dict[str, dict[str, tuple[int, int | None]]] = {
    "MessageHeader": {
        "From": (1, 1),
        "To": (0, None),
        "DocumentId": (1, 1),
        "Code": (1, 1),
        "Subject": (1, 1),
        "ResponseFor": (0, None),
    },
    "TraceHeaderList": {"TraceHeader": (0, None), "Bussiness": (0, 1), "Business": (0, 1)},
}


def _children_named(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return element.iterchildren(_PREFIX + name)


def _count_suspects_xpath() -> etree.XPath:
    # One compiled expression finds the containers whose counts are off, in C; the readable Python
    # check below runs only on those (valid messages never reach it).
    terms: list[str] = []
    for name, rules in _DOCUMENT_COUNTS.items():
        if name == "MessageHeader":
            conditions = [f"count(e:{child})<{low}" for child, (low, _h) in rules.items() if low]
            conditions += [f"count(e:{child})>{high}" for child, (_l, high) in rules.items() if high is not None]
            conditions += [f"count(e:{child})>1" for child in _MESSAGE_HEADER_SINGLES]
        else:
            conditions = ["count(e:Bussiness)+count(e:Business)>1"]
        terms.append(f"/e:edXML/e:edXMLEnvelope/e:edXMLHeader/e:{name}[{' or '.join(conditions)}]")
    return etree.XPath(" | ".join(terms), namespaces={"e": NS})


_MESSAGE_HEADER_SINGLES = (
    "PromulgationInfo",
    "DocumentType",
    "Content",
    "SignerInfo",
    "DueDate",
    "OtherInfo",
    "SteeringType",
    "ToPlaces",
)
_COUNT_SUSPECTS = _count_suspects_xpath()


_SINGLE_TAGS = frozenset(
    _PREFIX + name
    for name in (*_MESSAGE_HEADER_SINGLES, *(n for n, (_l, high) in _DOCUMENT_COUNTS["MessageHeader"].items() if high))
)
_REQUIRED_TAGS = frozenset(_PREFIX + n for n, (low, _h) in _DOCUMENT_COUNTS["MessageHeader"].items() if low)
_HEADER_PATH = f"{_PREFIX}edXMLEnvelope/{_PREFIX}edXMLHeader"
_BUSINESS_TAGS = frozenset({_PREFIX + "Bussiness", _PREFIX + "Business"})
_MESSAGE_HEADER = _PREFIX + "MessageHeader"
_TRACE_HEADER_LIST = _PREFIX + "TraceHeaderList"


def _counts_look_right(root: etree._Element) -> bool:
    """One pass over the few header children (cheaper than the XPath on valid messages, the usual case)."""
    header = root.find(_HEADER_PATH)
    if header is None:
        return True  # the XSD has already said what is missing
    message_header = header.find(_MESSAGE_HEADER)
    if message_header is not None:
        tags = [child.tag for child in message_header]
        singles = [tag for tag in tags if tag in _SINGLE_TAGS]
        if len(singles) != len(set(singles)) or not _REQUIRED_TAGS.issubset(singles):
            return False
    trace_list = header.find(_TRACE_HEADER_LIST)
    if trace_list is not None:
        return sum(1 for child in trace_list if child.tag in _BUSINESS_TAGS) <= 1
    return True


def _count_violations(root: etree._Element, file: str | None) -> list[Violation]:
    if _counts_look_right(root):
        return []
    out: list[Violation] = []
    for container in _COUNT_SUSPECTS(root):
        out.extend(_check_counts(container, _DOCUMENT_COUNTS[local_name(container.tag)], file))
    return out


def _check_counts(
    container: etree._Element, rules: dict[str, tuple[int, int | None]], file: str | None
) -> list[Violation]:
    counts: dict[str, list[etree._Element]] = {}
    for child in container.iterchildren(etree.Element):
        counts.setdefault(local_name(child.tag), []).append(child)
    out: list[Violation] = []
    where = local_name(container.tag)
    for name, found in counts.items():
        high = rules.get(name, (0, 1))[1]
        if high is not None and len(found) > high:
            extra = found[high]
            out.append(
                Violation(
                    f"{where} may hold {name} at most {high} time(s), found {len(found)}",
                    extra.sourceline,
                    element_path(extra),
                    "cardinality",
                    file,
                )
            )
    if "Bussiness" in counts and "Business" in counts:
        extra = counts["Business"][0]
        out.append(
            Violation(
                f"{where} holds both Bussiness and Business", extra.sourceline, element_path(extra), "cardinality", file
            )
        )
    for name, (low, _high) in rules.items():
        if low and len(counts.get(name, ())) < low:
            out.append(
                Violation(
                    f"{where} must hold {name} (missing)",
                    container.sourceline,
                    element_path(container),
                    "cardinality",
                    file,
                )
            )
    return out


# --- public API -----------------------------------------------------------------------------------


def validate(root: etree._Element, kind: str, *, source: str | None = None) -> list[Violation]:
    """Every XSD (and cardinality) violation of ``root`` as a ``kind`` message; empty when valid.

    A document is first tried against the *canonical* variant of the schema (MessageHeader and
    TraceHeaderList in the order docflow and most producers write, cardinalities in the XSD itself): one
    validation, no extra pass.  Only when that fails is it validated against the order-free schema and
    counted, so producers that order differently are accepted and every violation is still reported.
    """
    if kind == "document":
        canonical = _get(_CANONICAL)
        with canonical.lock:
            if canonical.schema.validate(root):
                return []
    compiled = _get(kind)
    with compiled.lock:
        if compiled.schema.validate(root):
            errors: list[Violation] = []
        else:
            errors = _xsd_violations(root, compiled.schema.error_log, source)
    if not errors and kind == "document":
        errors = _count_violations(root, source)
    return errors


def is_canonical(root: etree._Element) -> bool:
    """True when a document validates against the canonical (ordered) variant: ``validate``'s fast path."""
    canonical = _get(_CANONICAL)
    with canonical.lock:
        return bool(canonical.schema.validate(root))


def assert_valid(root: etree._Element, kind: str, source: str | None = None) -> None:
    """Raise ``ValidationError`` carrying every violation when ``root`` is not a valid ``kind`` message."""
    violations = validate(root, kind, source=source)
    if violations:
        raise validation_error(violations, source)


def validation_error(violations: list[Violation], source: str | None = None) -> ValidationError:
    """One ``ValidationError`` for ``violations`` (the first one in the message, all of them attached)."""
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    line = first.line if first.line is not None else "?"
    message = f"{source or '<bytes>'}: {line}: {first.path or '/'}: {first.message} [{first.rule}]{more}"
    return ValidationError(message, violations=violations, file=source, line=first.line, rule=first.rule)


def message_kind(root: etree._Element) -> str:
    """``"status"`` when MessageHeader holds a StatusCode and the envelope has no body, else ``"document"``.

    Raises ``ValidationError`` (rule ``root-element``) when the root is not the edXML root element.
    """
    if root.tag != _PREFIX + "edXML":
        violation = Violation(
            f"root element is {local_name(root.tag) or root.tag!r} in namespace "
            f"{etree.QName(root).namespace!r}: expected edXML in {NS}",
            root.sourceline,
            element_path(root),
            "root-element",
        )
        raise validation_error([violation])
    envelope = root.find(_PREFIX + "edXMLEnvelope")
    if envelope is None or envelope.find(_PREFIX + "edXMLBody") is not None:
        return "document"
    header = envelope.find(_PREFIX + "edXMLHeader")
    message_header = header.find(_PREFIX + "MessageHeader") if header is not None else None
    if message_header is not None and message_header.find(_PREFIX + "StatusCode") is not None:
        return "status"
    return "document"

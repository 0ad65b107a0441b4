"""Read and write an XML agency directory: the registry as a file of ``Agency`` elements.

The format is docflow's own (QCVN 102 publishes none); element names follow edXML's ``From``/``To``::

    <Directory xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">   <!-- or no namespace at all -->
      <Agency>
        <OrganId>000.00.00.H58</OrganId>                 required
        <OrganName>UBND tỉnh Tiền Giang</OrganName>      required
        <Kind>province</Kind>                            required: an AgencyKind value
        <ParentId>000.00.00.G22</ParentId>               empty or absent for the root only
        <OrganizationInCharge/> <OrganAdd/> <Email/> <Telephone/> <Fax/> <Website/>   optional
      </Agency>
      ...
    </Directory>

Every element is in the edXML namespace or in none (one file may not mix them).  Input is parsed by the hardened
``parse_xml``; a problem in the file raises ``ValidationError`` naming the line and the element, a problem of the
tree (duplicate code, missing parent, cycle) raises ``RegistryError`` naming the line of the agency.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

from lxml import etree

from docflow.domain.ids import OrganId
from docflow.domain.registry import Agency, Registry
from docflow.errors import DocflowError, RegistryError, ValidationError, XMLError
from docflow.xml.parser import DEFAULT_LIMITS, ParserLimits, parse_xml

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

#: Child elements of ``Agency`` -> keyword of ``Agency.of`` (None: positional, handled apart).
_FIELDS = {
    "OrganId": None,
    "OrganName": None,
    "Kind": None,
    "ParentId": None,
    "OrganizationInCharge": "organization_in_charge",
    "OrganAdd": "address",
    "Email": "email",
    "Telephone": "telephone",
    "Fax": "fax",
    "Website": "website",
}
_REQUIRED = ("OrganId", "OrganName", "Kind")


def _fail(message: str, element: etree._Element, path: str, source: str | None, rule: str) -> ValidationError:
    line = element.sourceline
    where = f"{source or '<bytes>'}, line {line}, {path}"
    return ValidationError(f"{where}: {message}", file=source, line=line, rule=rule)


def _name(element: etree._Element, namespace: str | None, path: str, source: str | None) -> str:
    qname = etree.QName(element)
    if qname.namespace != namespace:
        expected = f"namespace {namespace}" if namespace else "no namespace"
        raise _fail(
            f"element {qname.localname} is in {qname.namespace or 'no namespace'}, expected {expected}",
            element,
            path,
            source,
            "directory-namespace",
        )
    return qname.localname


def load_directory(data: bytes, *, source: str | None = None, limits: ParserLimits = DEFAULT_LIMITS) -> Registry:
    """Build a ``Registry`` from directory XML bytes (see the module docstring for the format)."""
    label = source or "<bytes>"
    try:
        root = parse_xml(data, limits=limits, source=source)
    except XMLError as exc:  # say where in the message itself: the command line shows only the message
        where = f"{label}, line {exc.line}" if exc.line is not None else label
        raise type(exc)(f"{where}: {exc}", file=source, line=exc.line, rule=exc.rule) from exc
    namespace = etree.QName(root).namespace
    if namespace not in (None, EDXML_NS):
        raise _fail(
            f"root is in namespace {namespace}: expected the edXML namespace or none",
            root,
            "/",
            source,
            "directory-namespace",
        )
    if etree.QName(root).localname != "Directory":
        raise _fail(
            f"root element is {etree.QName(root).localname}, expected Directory", root, "/", source, "directory-root"
        )
    agencies: list[Agency] = []
    origins: dict[OrganId, str] = {}
    index = 0
    for element in root:
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        index += 1
        path = f"/Directory/*[{index}]"
        if _name(element, namespace, path, source) != "Agency":
            raise _fail(
                f"unexpected element {etree.QName(element).localname}: only Agency may appear here",
                element,
                path,
                source,
                "directory-element",
            )
        path = f"/Directory/Agency[{index}]"
        agency = _agency(element, namespace, path, source)
        where = f"{label}, line {element.sourceline}"
        if agency.code in origins:
            raise RegistryError(f"{where}: duplicate agency {agency.code} (first on {origins[agency.code]})")
        origins[agency.code] = where
        agencies.append(agency)
    return Registry(agencies, origins=origins)


def _agency(element: etree._Element, namespace: str | None, path: str, source: str | None) -> Agency:
    values: dict[str, str] = {}
    places: dict[str, etree._Element] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _name(child, namespace, f"{path}/{etree.QName(child).localname}", source)
        if name not in _FIELDS:
            raise _fail(
                f"unexpected element {name}: Agency holds {', '.join(_FIELDS)}",
                child,
                f"{path}/{name}",
                source,
                "directory-element",
            )
        if name in values:
            raise _fail(f"{name} appears twice", child, f"{path}/{name}", source, "directory-element")
        if len(child):
            raise _fail(f"{name} must hold text only", child, f"{path}/{name}", source, "directory-element")
        values[name] = (child.text or "").strip()
        places[name] = child
    for name in _REQUIRED:
        if not values.get(name):
            raise _fail(
                f"Agency needs a non-empty {name}",
                places.get(name, element),
                f"{path}/{name}",
                source,
                "directory-required",
            )
    header = {key: values.get(name, "") for name, key in _FIELDS.items() if key is not None}
    try:
        return Agency.of(
            values["OrganId"], values["OrganName"], values["Kind"], values.get("ParentId") or None, **header
        )
    except DocflowError as exc:
        culprit = _culprit(exc, values)
        raise _fail(str(exc), places.get(culprit, element), f"{path}/{culprit}", source, "directory-value") from exc


def _culprit(exc: DocflowError, values: dict[str, str]) -> str:
    """Which element a value error came from: the one whose text the message quotes."""
    message = str(exc)
    for name in ("OrganId", "ParentId", "Kind"):
        if name in values and repr(values[name]) in message:
            return name
    return "OrganId"


def dump_directory(registry: Registry) -> bytes:
    """The registry as directory XML in the edXML namespace, agencies in code order (UTF-8, indented)."""
    ns = f"{{{EDXML_NS}}}"
    root = etree.Element(f"{ns}Directory", nsmap={None: EDXML_NS})
    for agency in registry:
        org = agency.organization
        item = etree.SubElement(root, f"{ns}Agency")
        texts = (
            ("OrganId", str(agency.code)),
            ("OrganName", org.organ_name),
            ("Kind", agency.kind.value),
            ("ParentId", "" if agency.parent is None else str(agency.parent)),
            ("OrganizationInCharge", org.organization_in_charge),
            ("OrganAdd", org.organ_add),
            ("Email", org.email),
            ("Telephone", org.telephone),
            ("Fax", org.fax),
            ("Website", org.website),
        )
        for name, text in texts:
            if text or name in _REQUIRED:
                etree.SubElement(item, f"{ns}{name}").text = text
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)

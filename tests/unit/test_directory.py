import pytest

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.errors import MalformedXMLError, RegistryError, UnsafeXMLError, ValidationError
from docflow.xml.directory import EDXML_NS, dump_directory, load_directory

PLAIN = """<?xml version="1.0" encoding="UTF-8"?>
<Directory>
  <!-- the root -->
  <Agency>
    <OrganId>000.00.00.G22</OrganId>
    <OrganName>Văn phòng Chính phủ</OrganName>
    <Kind>government_office</Kind>
    <ParentId/>
  </Agency>
  <Agency>
    <OrganId>000.00.00.H58</OrganId>
    <OrganName>UBND tỉnh Tiền Giang</OrganName>
    <Kind>province</Kind>
    <ParentId>000.00.00.G22</ParentId>
    <OrganizationInCharge>Chính phủ</OrganizationInCharge>
    <OrganAdd>Mỹ Tho</OrganAdd>
    <Email>ubnd@tiengiang.gov.vn</Email>
    <Telephone>0273 000</Telephone>
    <Fax>0273 001</Fax>
    <Website>tiengiang.gov.vn</Website>
  </Agency>
</Directory>
"""


def agency(code: str, parent: str = "000.00.00.G22", kind: str = "province", extra: str = "") -> str:
    return (
        f"  <Agency>\n    <OrganId>{code}</OrganId>\n    <OrganName>X</OrganName>\n    <Kind>{kind}</Kind>\n"
        f"    <ParentId>{parent}</ParentId>{extra}\n  </Agency>\n"
    )


ROOT = agency("000.00.00.G22", "", "government_office")  # lines 2-7


def directory(*agencies: str, namespace: bool = False) -> bytes:
    xmlns = f' xmlns="{EDXML_NS}"' if namespace else ""
    return f"<Directory{xmlns}>\n{ROOT}{''.join(agencies)}</Directory>\n".encode()


def test_load_without_namespace_reads_every_header_field():
    reg = load_directory(PLAIN.encode(), source="dir.xml")
    assert len(reg) == 2 and reg.root == OrganId("G", 22)
    header = reg.organization("000.00.00.H58")
    assert (header.organ_name, header.organization_in_charge, header.organ_add) == (
        "UBND tỉnh Tiền Giang",
        "Chính phủ",
        "Mỹ Tho",
    )
    assert (header.email, header.telephone, header.fax, header.website) == (
        "ubnd@tiengiang.gov.vn",
        "0273 000",
        "0273 001",
        "tiengiang.gov.vn",
    )
    assert reg["000.00.00.H58"].kind is AgencyKind.PROVINCE


def test_load_in_the_edxml_namespace():
    reg = load_directory(directory(agency("000.00.00.H58"), namespace=True))
    assert reg.children("000.00.00.G22") == (OrganId("H", 58),)


def test_round_trip_of_a_whole_topology():
    reg = tien_giang_2017(with_hubs=True)
    data = dump_directory(reg)
    assert data.startswith(b"<?xml") and EDXML_NS.encode() in data
    assert load_directory(data) == reg


def failure(data: bytes, error: type[Exception] = ValidationError) -> Exception:
    with pytest.raises(error) as caught:
        load_directory(data, source="dir.xml")
    return caught.value


def test_bad_organ_id_names_line_and_element():
    exc = failure(directory(agency("000.00.00.H58"), agency("H58")))
    assert exc.line == 15
    assert str(exc).startswith("dir.xml, line 15, /Directory/Agency[3]/OrganId: invalid OrganId 'H58'")


def test_bad_parent_and_kind_point_at_their_element():
    exc = failure(directory(agency("000.00.00.H58", parent="G22")))
    assert exc.line == 12 and "/Directory/Agency[2]/ParentId" in str(exc)
    exc = failure(directory(agency("000.00.00.H58", kind="tinh")))
    assert exc.line == 11 and "Agency[2]/Kind: unknown agency kind 'tinh'" in str(exc)


def test_missing_required_element_names_the_agency_line():
    data = directory("  <Agency>\n    <OrganId>000.00.00.H58</OrganId>\n  </Agency>\n")
    exc = failure(data)
    assert exc.line == 8 and "Agency[2]/OrganName: Agency needs a non-empty OrganName" in str(exc)


@pytest.mark.parametrize(
    ("data", "line", "text"),
    [
        (directory(agency("000.00.00.H58", extra="<Colour>red</Colour>")), 12, "unexpected element Colour"),
        (directory(agency("000.00.00.H58", extra="<Fax/><Fax/>")), 12, "Fax appears twice"),
        (directory(agency("000.00.00.H58", extra="<Fax><b/></Fax>")), 12, "Fax must hold text only"),
        (directory("  <Agent/>\n"), 8, "/Directory/*[2]: unexpected element Agent"),
        (b"<Agencies/>", 1, "root element is Agencies, expected Directory"),
        (b'<Directory xmlns="urn:other"/>', 1, "root is in namespace urn:other"),
        (directory('  <Agency xmlns="urn:other"/>\n', namespace=True), 8, "Agency is in urn:other"),
    ],
)
def test_structure_errors(data, line, text):
    exc = failure(data)
    assert exc.line == line and text in str(exc) and str(exc).startswith(f"dir.xml, line {line}, ")


def test_tree_errors_name_the_line_of_the_agency():
    exc = failure(directory(agency("000.00.00.H58"), agency("000.00.00.H58")), RegistryError)
    assert str(exc).startswith("dir.xml, line 14: duplicate agency 000.00.00.H58 (first on dir.xml, line 8)")
    exc = failure(directory(agency("000.00.50.H58", parent="000.00.00.H58", kind="district")), RegistryError)
    assert str(exc).startswith("dir.xml, line 8: agency 000.00.50.H58: parent 000.00.00.H58 is not in the registry")


def test_unsafe_or_broken_xml_is_refused_by_the_hardened_parser():
    exc = failure(b"<Directory>\n<Agency>\n</Directory>", MalformedXMLError)
    assert str(exc).startswith("dir.xml, line 3: not well-formed XML")
    dtd = b'<!DOCTYPE Directory [<!ENTITY x "y">]>\n<Directory/>'
    assert "DTD" in str(failure(dtd, UnsafeXMLError))

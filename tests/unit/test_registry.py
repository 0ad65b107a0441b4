import io

import pytest

from docflow.domain.envelope import Organization
from docflow.domain.ids import OrganId, Tier
from docflow.domain.registry import Agency, AgencyKind, Registry
from docflow.domain.registry_csv import COLUMNS, dump_csv, load_csv
from docflow.domain.routing import RoutingPolicy, plan_route
from docflow.domain.topologies import tien_giang_2017
from docflow.errors import IdentifierError, RegistryError

G22, G12 = "000.00.00.G22", "000.00.00.G12"
H58, H53 = "000.00.00.H58", "000.00.00.H53"
DEPT, DEPT_OFFICE = "000.00.02.H58", "000.01.02.H58"
D50, D51, D30 = "000.00.50.H58", "000.00.51.H58", "000.00.30.H53"
C20, C21, C50_20, C30_20 = "000.20.50.H58", "000.21.50.H58", "000.20.51.H58", "000.20.30.H53"


def small() -> Registry:
    rows = [
        (G22, "Văn phòng Chính phủ", "government_office", None),
        (G12, "Bộ Tài chính", "ministry", G22),
        (H58, "UBND tỉnh Tiền Giang", "province", G22),
        (H53, "UBND tỉnh Tây Ninh", "province", G22),
        (DEPT, "Sở Nội vụ", "department", H58),
        (DEPT_OFFICE, "Văn phòng Sở Nội vụ", "office", DEPT),
        (D51, "UBND thị xã Gò Công", "district", H58),
        (D50, "UBND thành phố Mỹ Tho", "district", H58),
        (C21, "UBND phường 2", "commune", D50),
        (C20, "UBND phường 1", "commune", D50),
        (C50_20, "UBND phường 1 (Gò Công)", "commune", D51),
        (D30, "UBND huyện 30", "district", H53),
        (C30_20, "UBND xã 20", "commune", D30),
    ]
    return Registry(Agency.of(code, name, kind, parent, email=f"{code}@x.vn") for code, name, kind, parent in rows)


def ids(*texts: str) -> tuple[OrganId, ...]:
    return tuple(OrganId.parse(t) for t in texts)


def test_lookup_by_text_or_code_hands_out_the_header():
    reg = small()
    agency = reg["000.20.50.H58"]
    assert agency is reg[OrganId.parse(C20)] is reg[" 000.20.50.H58 "]
    assert agency.kind is AgencyKind.COMMUNE and agency.tier is Tier.COMMUNE and agency.name == "UBND phường 1"
    header = reg.organization(C20)
    assert isinstance(header, Organization)
    assert header.organ_id == OrganId.parse(C20) and header.email == f"{C20}@x.vn"
    assert reg.code(C20) == OrganId.parse(C20)
    assert reg.get("000.99.50.H58") is None


def test_unknown_and_malformed_codes():
    reg = small()
    with pytest.raises(RegistryError, match=r"unknown agency 000\.99\.50\.H58"):
        reg["000.99.50.H58"]
    with pytest.raises(RegistryError, match="unknown agency"):
        reg.children(OrganId("G", 1))
    with pytest.raises(IdentifierError):
        reg["not a code"]
    assert C20 in reg and OrganId.parse(C20) in reg and " 000.20.50.H58" in reg
    assert "000.99.50.H58" not in reg and "garbage" not in reg and 42 not in reg


def test_size_iteration_and_children_are_in_code_order():
    reg = small()
    assert len(reg) == 13
    assert [str(a.code) for a in reg] == [str(c) for c in sorted(reg.codes)]
    assert reg.codes[0] == OrganId.parse(G12)
    assert reg.root == OrganId.parse(G22)
    assert reg.children(G22) == ids(G12, H53, H58)
    assert reg.children(D50) == ids(C20, C21)
    assert reg.children(C20) == ()
    assert reg.parent(C20) == OrganId.parse(D50) and reg.parent(G22) is None


def test_ancestors_descendants_and_depth():
    reg = small()
    assert reg.ancestors(C20) == ids(D50, H58, G22)
    assert reg.ancestors(G22) == ()
    assert reg.descendants(H58) == ids(DEPT, DEPT_OFFICE, D50, C20, C21, D51, C50_20)
    assert reg.descendants(C21) == ()
    assert [reg.depth(c) for c in (G22, H58, D50, C20, DEPT_OFFICE)] == [0, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("a", "b", "lca", "path"),
    [
        (C20, C20, C20, (C20,)),
        (C20, C21, D50, (C20, D50, C21)),
        (C20, H58, H58, (C20, D50, H58)),
        (H58, C20, H58, (H58, D50, C20)),
        (C20, C50_20, H58, (C20, D50, H58, D51, C50_20)),
        (C20, C30_20, G22, (C20, D50, H58, G22, H53, D30, C30_20)),
        (DEPT_OFFICE, G12, G22, (DEPT_OFFICE, DEPT, H58, G22, G12)),
    ],
)
def test_lowest_common_ancestor_and_path(a, b, lca, path):
    reg = small()
    assert reg.lca(a, b) == OrganId.parse(lca)
    assert reg.path(a, b) == ids(*path)
    assert reg.is_ancestor(lca, a) and reg.is_ancestor(lca, b)


def test_is_ancestor_is_false_across_branches():
    reg = small()
    assert reg.is_ancestor(G22, C20) and reg.is_ancestor(C20, C20)
    assert not reg.is_ancestor(D51, C20) and not reg.is_ancestor(C20, D50)


def test_registry_is_the_tree_hierarchical_routing_walks():
    route = plan_route(small(), OrganId.parse(C20), OrganId.parse(C30_20), RoutingPolicy.HIERARCHICAL)
    assert route.hops == ids(C20, D50, H58, G22, H53, D30, C30_20)


def test_selections():
    reg = small()
    assert reg.communes_of(D50) == ids(C20, C21)
    assert reg.communes_of(H58) == ids(C20, C21, C50_20)
    assert reg.districts_of(H58) == ids(D50, D51)
    assert reg.departments_of(H58) == ids(DEPT)
    assert reg.provinces() == ids(H53, H58)
    assert reg.select(under=H58, tiers={Tier.COMMUNE}) == ids(DEPT_OFFICE, C20, C21, C50_20)
    assert reg.select(under=H58, tiers={Tier.COMMUNE}, kinds={AgencyKind.OFFICE}) == ids(DEPT_OFFICE)
    assert reg.select(tiers={Tier.CENTRAL}) == ids(G12, G22)
    assert reg.select(under=C20) == ()
    assert reg.select() == reg.codes


def test_counts_per_tier_and_kind():
    reg = small()
    assert reg.count_by_tier() == {Tier.CENTRAL: 2, Tier.PROVINCE: 2, Tier.DISTRICT: 4, Tier.COMMUNE: 5}
    assert reg.count_by_kind() == {
        AgencyKind.GOVERNMENT_OFFICE: 1,
        AgencyKind.MINISTRY: 1,
        AgencyKind.PROVINCE: 2,
        AgencyKind.DEPARTMENT: 1,
        AgencyKind.DISTRICT: 3,
        AgencyKind.OFFICE: 1,
        AgencyKind.COMMUNE: 4,
    }
    assert sum(reg.count_by_kind().values()) == len(reg)


def test_equality_and_repr():
    assert small() == small()
    assert small() != Registry([Agency.of(G22, "VPCP", "government_office")])
    assert repr(small()) == "<Registry root=000.00.00.G22 agencies=13>"


def agency(code, parent=None, kind="unit"):
    return Agency.of(code, f"agency {code}", kind, parent)


@pytest.mark.parametrize(
    ("agencies", "message"),
    [
        ([], "at least one agency"),
        ([agency(G22), agency(H58, G22), agency(H58, G22)], "duplicate agency 000.00.00.H58"),
        ([agency(G22), agency(D50, H58)], "agency 000.00.50.H58: parent 000.00.00.H58 is not in the registry"),
        ([agency(G22), agency(H58)], "2 roots \\(000.00.00.G22, 000.00.00.H58\\)"),
        ([agency(G22, H58), agency(H58, G22)], "no root"),
        (
            [agency(G22), agency(H58, D50), agency(D50, C20), agency(C20, H58)],
            "000.00.00.H58 is on a cycle: 000.00.00.H58 → 000.00.50.H58 → 000.20.50.H58 → 000.00.00.H58",
        ),
    ],
)
def test_broken_trees_are_refused_with_a_clear_error(agencies, message):
    with pytest.raises(RegistryError, match=message):
        Registry(agencies)


def test_build_errors_name_the_origin_when_given():
    origins = {OrganId.parse(D50): "dir.csv, line 3"}
    with pytest.raises(RegistryError, match=r"^dir\.csv, line 3: agency 000\.00\.50\.H58: parent"):
        Registry([agency(G22), agency(D50, H58)], origins=origins)


def test_agency_cannot_be_its_own_parent_and_kinds_parse():
    with pytest.raises(RegistryError, match="its own parent"):
        agency(H58, H58)
    assert AgencyKind.parse(" Commune ") is AgencyKind.COMMUNE
    with pytest.raises(RegistryError, match=r"unknown agency kind 'xa'.*commune"):
        AgencyKind.parse("xa")


# -- CSV ------------------------------------------------------------------------------------------------


def test_csv_round_trip_of_a_whole_topology():
    reg = tien_giang_2017()
    out = io.StringIO()
    dump_csv(reg, out)
    text = out.getvalue()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(text.splitlines()) == len(reg) + 1
    again = load_csv(io.StringIO(text), source="tg.csv")
    assert again == reg
    out2 = io.StringIO()
    dump_csv(again, out2)
    assert out2.getvalue() == text


def test_csv_columns_in_any_order_optional_ones_absent_and_bom():
    text = (
        "\ufeffkind,organ_id,parent,name\n"
        "government_office,000.00.00.G22,,Văn phòng Chính phủ\n"
        "\n"
        'province,000.00.00.H58,000.00.00.G22,"UBND tỉnh Tiền Giang, H58"\n'
    )
    reg = load_csv(io.StringIO(text))
    assert len(reg) == 2
    assert reg.organization(H58).organ_name == "UBND tỉnh Tiền Giang, H58"
    assert reg.organization(H58).email == ""
    assert reg.parent(H58) == OrganId.parse(G22)


HEADER = "organ_id,name,kind,parent\n"
ROOT = "000.00.00.G22,VPCP,government_office,\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("000.00.00.H58,Tỉnh,province,000.00.00.G22\nH58,X,province,000.00.00.G22\n",
         "a.csv, line 4: .*invalid OrganId"),
        ("000.00.00.H58,Tỉnh,tỉnh,000.00.00.G22\n", "a.csv, line 3: unknown agency kind 'tỉnh'"),
        ("000.00.00.H58,Tỉnh,province\n", "a.csv, line 3: 3 fields, expected 4"),
        ("000.00.00.H58,,province,000.00.00.G22\n", "a.csv, line 3: column name is empty"),
        ("000.00.00.H58,A,province,000.00.00.G22\n000.00.00.H58,B,province,000.00.00.G22\n",
         "a.csv, line 4: duplicate agency 000.00.00.H58 \\(first on a.csv, line 3\\)"),
        ("000.00.50.H58,Huyện,district,000.00.00.H58\n", "a.csv, line 3: agency 000.00.50.H58: parent 000.00.00.H58"),
        ('000.00.00.H58,"unterminated,province,000.00.00.G22\n', "a.csv, line \\d+: malformed CSV"),
    ],
)  # fmt: skip
def test_csv_errors_name_the_line(body, message):
    with pytest.raises(RegistryError, match=message):
        load_csv(io.StringIO(HEADER + ROOT + body), source="a.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a.csv: empty file"),
        ("organ_id,name\n", "a.csv, line 1: bad header"),
        ("organ_id,name,kind,colour\n", "a.csv, line 1: bad header"),
        ("organ_id,name,kind,name\n", "a.csv, line 1: bad header"),
    ],
)
def test_csv_header_problems(text, message):
    with pytest.raises(RegistryError, match=message):
        load_csv(io.StringIO(text), source="a.csv")

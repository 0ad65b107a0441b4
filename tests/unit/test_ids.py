from datetime import date

import pytest

from docflow.domain.ids import GOVERNMENT_OFFICE_CODE, DocumentId, OrganId, Tier, organ_id
from docflow.errors import IdentifierError


def test_parse_full_code_reads_right_to_left_and_formats_back():
    code = OrganId.parse("001.21.52.H58")
    assert (code.prefix, code.level1, code.level2, code.level3, code.level4) == ("H", 58, 52, 21, 1)
    assert str(code) == "001.21.52.H58"
    assert OrganId.parse("  000.00.00.G22\n") == OrganId("G", 22)


def test_parse_short_hub_form_is_kept_as_written():
    hub = OrganId.parse("00.53.W00")
    assert hub.short and hub.is_hub and hub.level2 == 53
    assert str(hub) == "00.53.W00"
    assert hub != OrganId.parse("000.00.53.W00")


@pytest.mark.parametrize(
    "text",
    ["", "G22", "000.00.00.g22", "00.00.00.G22", "000.00.00.G2", "000.00.00.22G", "000.00.00.GG2", "1.2.3.H58",
     "000.00.00.H58.", "000.00.00.H58 x", "00.53.H00", "٠٠٠.00.00.G22", "000.00.00.G２２"],
)  # fmt: skip
def test_malformed_codes_name_the_format_rule(text):
    with pytest.raises(IdentifierError) as caught:
        OrganId.parse(text)
    assert caught.value.rule == "organ-id-format"
    assert "CCC.BB.AA.XNN" in str(caught.value)


def test_parse_refuses_non_strings_with_identifier_error():
    with pytest.raises(IdentifierError) as caught:
        OrganId.parse(22)  # type: ignore[arg-type]
    assert caught.value.rule == "organ-id-type"


@pytest.mark.parametrize(
    ("args", "kwargs", "rule"),
    [
        (("g", 22), {}, "organ-id-letter"),
        (("GG", 22), {}, "organ-id-letter"),
        (("G", 100), {}, "organ-id-range"),
        (("G", 1, -1), {}, "organ-id-range"),
        (("G", 1, 0, 0, 1000), {}, "organ-id-range"),
        (("G", True), {}, "organ-id-range"),
        (("G", 1, 2), {"short": True}, "organ-id-short-form"),
        (("W", 0, 2, 0, 5), {"short": True}, "organ-id-short-form"),
    ],
)
def test_constructor_validates_every_part(args, kwargs, rule):
    with pytest.raises(IdentifierError) as caught:
        OrganId(*args, **kwargs)
    assert caught.value.rule == rule


@pytest.mark.parametrize(
    ("text", "level", "tier"),
    [
        ("000.00.00.G22", 1, Tier.CENTRAL),
        ("000.00.00.G12", 1, Tier.CENTRAL),
        ("000.00.03.G12", 2, Tier.CENTRAL),  # a unit of a ministry stays central
        ("00.00.W00", 1, Tier.CENTRAL),  # the national axis
        ("000.00.00.W01", 1, Tier.CENTRAL),
        ("000.00.00.H58", 1, Tier.PROVINCE),
        ("000.00.00.A53", 1, Tier.PROVINCE),
        ("00.58.W00", 2, Tier.PROVINCE),  # a provincial hub
        ("000.00.05.H58", 2, Tier.DISTRICT),  # a department
        ("000.00.52.H58", 2, Tier.DISTRICT),  # a district people's committee
        ("000.21.52.H58", 3, Tier.COMMUNE),  # a commune
        ("000.01.05.H58", 3, Tier.COMMUNE),  # an office of a department: same tier, told apart by kind
        ("001.21.52.H58", 4, Tier.COMMUNE),
    ],
)
def test_structural_level_and_tier(text, level, tier):
    code = OrganId.parse(text)
    assert code.level == level
    assert code.tier is tier


def test_tier_order_and_labels():
    assert list(Tier) == [Tier.CENTRAL, Tier.PROVINCE, Tier.DISTRICT, Tier.COMMUNE]
    assert Tier.CENTRAL < Tier.COMMUNE
    assert [t.label for t in Tier] == ["central", "province", "district", "commune"]


def test_parent_by_code_climbs_one_level_at_a_time():
    chain = [OrganId.parse("001.21.52.H58")]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    assert [str(c) for c in chain] == ["001.21.52.H58", "000.21.52.H58", "000.00.52.H58", "000.00.00.H58"]
    assert OrganId.parse("00.58.W00").parent is None


def test_ordering_follows_the_parts_level_one_first():
    texts = ["000.21.52.H58", "000.00.00.G22", "00.00.W00", "000.00.52.H58", "000.00.00.H58", "000.00.00.A01",
             "000.00.00.W00", "001.00.00.G22", "000.00.00.G12"]  # fmt: skip
    ordered = [str(c) for c in sorted(OrganId.parse(t) for t in texts)]
    assert ordered == ["000.00.00.A01", "000.00.00.G12", "000.00.00.G22", "001.00.00.G22", "000.00.00.H58",
                       "000.00.52.H58", "000.21.52.H58", "000.00.00.W00", "00.00.W00"]  # fmt: skip
    assert sorted(OrganId.parse(t) for t in texts) == sorted((OrganId.parse(t) for t in texts), key=OrganId.sort_key)


def test_government_office_helpers():
    office = OrganId.parse(GOVERNMENT_OFFICE_CODE)
    assert office.is_government_office
    assert not OrganId("G", 12).is_government_office
    assert organ_id(office) is office
    assert organ_id("000.00.00.G22") == office
    assert not OrganId("H", 58).is_hub


def test_document_id_round_trip_and_errors():
    doc = DocumentId.parse("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")
    assert doc.sender == OrganId("G", 22) and doc.date == date(2015, 9, 30)
    assert (doc.code_number, doc.code_notation) == ("7816", "VPCP-TTĐT")
    assert str(doc) == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    with pytest.raises(IdentifierError) as caught:
        DocumentId.parse("000.00.00.G22,2015/02/30,1/X")
    assert caught.value.rule == "document-id-date"
    with pytest.raises(IdentifierError) as caught:
        DocumentId.parse("000.00.00.G22,٢٠١٥/09/30,1/X")
    assert caught.value.rule == "document-id-format"

import io

from docflow.cli.main import main
from docflow.domain.registry_csv import dump_csv
from docflow.domain.topologies import tien_giang_2017
from docflow.xml.directory import dump_directory

TG_COUNTS = [
    "tiers: central 3, province 1, district 60, commune 173",
    "kinds: government_office 1, ministry 2, province 1, department 49, district 11, commune 173",
]


def run(capsys, *argv):
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_default_topology_prints_counts_then_the_full_tree(capsys):
    code, lines, err = run(capsys)
    assert code == 0 and err == ""
    assert lines[0] == "tien_giang_2017: 237 agencies, root 000.00.00.G22 Văn phòng Chính phủ"
    assert lines[1:3] == TG_COUNTS
    tree = lines[4:]
    assert len(tree) == 237
    assert tree[0] == "000.00.00.G22  Văn phòng Chính phủ  [government_office]"
    assert "    000.00.50.H58  UBND thành phố Mỹ Tho  [district]" in tree
    assert "      000.20.50.H58  UBND phường 1, thành phố Mỹ Tho  [commune]" in tree
    assert (
        tree.index("    000.00.51.H58  UBND thị xã Gò Công  [district]")
        == tree.index("      000.36.50.H58  UBND xã Trung An, thành phố Mỹ Tho  [commune]") + 1
    )


def test_no_tree_prints_the_counts_only(capsys):
    code, lines, _ = run(capsys, "--no-tree")
    assert code == 0 and lines[1:] == TG_COUNTS


def test_depth_truncates_with_a_summary_line(capsys):
    code, lines, _ = run(capsys, "--depth", "1")
    assert code == 0
    assert lines[4:] == [
        "000.00.00.G22  Văn phòng Chính phủ  [government_office]",
        "  000.00.00.G12  Bộ Tài chính  [ministry]",
        "  000.00.00.G14  Bộ Thông tin và Truyền thông  [ministry]",
        "  000.00.00.H58  UBND tỉnh Tiền Giang  [province]",
        "    … 233 below (department 49, district 11, commune 173)",
    ]


def test_national_is_shown_to_depth_one_by_default(capsys):
    code, lines, _ = run(capsys, "--topology", "national")
    assert code == 0
    assert lines[0].startswith("national: 13290 agencies")
    tree = lines[4:]
    assert len(tree) == 1 + 24 + 63 * 2
    assert "  000.00.00.H58  UBND tỉnh Tiền Giang  [province]" in tree
    assert "    … 244 below (department 49, district 11, office 11, commune 173)" in tree


def test_csv_and_xml_files(capsys, tmp_path):
    reg = tien_giang_2017()
    csv_path = tmp_path / "tg.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as stream:
        dump_csv(reg, stream)
    xml_path = tmp_path / "tg.XML"
    xml_path.write_bytes(dump_directory(reg))
    for path in (csv_path, xml_path):
        code, lines, _ = run(capsys, "--topology", str(path), "--no-tree")
        assert code == 0
        assert lines == [f"{path}: 237 agencies, root 000.00.00.G22 Văn phòng Chính phủ", *TG_COUNTS]


def test_bad_files_exit_1_with_one_line(capsys, tmp_path):
    bad_csv = tmp_path / "bad.csv"
    text = io.StringIO()
    dump_csv(tien_giang_2017(), text)
    lines = text.getvalue().splitlines()
    lines[3] = lines[3].replace("000.", "0000.", 1)
    bad_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_bytes(b"<Directory>\n<Agency>\n</Directory>")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("organ_id,name,kind\n000.00.00.G22,Liên thông,government_office\n".encode("latin-1", "replace"))
    cases = [
        (bad_csv, f"{bad_csv}, line 4: invalid OrganId"),
        (bad_xml, f"{bad_xml}, line 3: not well-formed XML"),
        (tmp_path / "missing.csv", "cannot read"),
        (latin, "not UTF-8"),
    ]
    for path, message in cases:
        code, out, err = run(capsys, "--topology", str(path))
        assert code == 1 and out == []
        assert len(err.strip().splitlines()) == 1
        assert err.startswith("docflow registry: error: ") and message in err


def test_usage_errors_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, "--topology", "mars")
    assert code == 2 and out == []
    assert "unknown topology 'mars': expected national, tien_giang_2017, or a .csv/.xml file" in err
    for depth in ("-1", "two"):
        code, _, err = run(capsys, "--depth", depth)
        assert code == 2 and "invalid depth" in err

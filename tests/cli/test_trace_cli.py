from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.domain.clock import ManualClock


def test_trace_prints_every_hop_and_status_in_order(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'trace.db'}"
    net = build_network(db=url, clock=ManualClock(), registry="tien_giang_2017", policy="hierarchical")
    registry = net.ctx.registry
    commune = registry.communes_of(registry.districts_of(registry.provinces()[0])[0])[0]
    document_id = net.node(commune).send(recipients=[registry.root], subject="Báo cáo tháng", code="7/BC-UBND")
    net.run_until_idle()
    net.ctx.store.close()

    assert main(["trace", document_id, "--db", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{document_id}: {len(lines) - 2} steps over 0 s"  # a ManualClock that never moved
    assert lines[1].split() == ["virtual", "time", "since", "prev", "since", "sent", "node", "step"]
    what = [line[67:] for line in lines[2:]]
    # sent at the commune, forwarded by the district and the province, arrived at the Government Office,
    # then the 01 status forwarded back down and applied at the commune
    kinds = [w.split()[0] for w in what]
    assert kinds == ["sent", "forwarded", "forwarded", "arrived", "forwarded", "forwarded", "status"]
    assert what[0] == "sent to 000.00.00.G22" and what[3] == f"arrived 01, from {commune}"
    assert what[-1] == "status 01 (Đã đến) from 000.00.00.G22: delivery sent → arrived"
    assert "000.00.00.G22" in lines[5] and lines[2].split()[2] == "—" and lines[3].split()[2] == "+0"


def test_trace_of_an_unknown_document_exits_1(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    build_network(db=url, clock=ManualClock()).ctx.store.close()
    assert main(["trace", "000.00.00.G22,2017/10/02,1/X", "--db", url]) == 1
    assert "no recorded step" in capsys.readouterr().out


def test_trace_without_a_database_file_is_a_clear_error(tmp_path, capsys):
    assert main(["trace", "x", "--db", f"sqlite:///{tmp_path / 'missing.db'}"]) == 1
    assert "no database file" in capsys.readouterr().err

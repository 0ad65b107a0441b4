"""``docflow axis URL --system ID --secret-file F ACTION`` against a real ``docflow serve``: one line per result."""

from __future__ import annotations

from pathlib import Path

from axis_processes import G22, H58, Served, start_server, stop

from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.keys import KeyStore
from docflow.xml import write_envelope
from docflow.xml.signing import sign_message


def axis(served: Served, tmp_path: Path, system: str, *action: str) -> list[str]:
    return ["axis", served.url, "--system", system, "--secret-file", str(tmp_path / "axis-credentials.toml"), *action]


def test_send_list_get_ack_sent_and_agencies(served, tmp_path, capsys):
    document = tmp_path / "cv.edxml"
    envelope = build_network(db="sqlite://").node(H58).draft([G22], subject="Công văn", code="31/UBND-VP")
    document.write_bytes(write_envelope(envelope))

    assert main(axis(served, tmp_path, "tg-ubnd", "send", str(document))) == 0
    doc_id = capsys.readouterr().out.strip()
    assert len(doc_id) == 32

    assert main(axis(served, tmp_path, "vpcp", "list")) == 0
    [line] = capsys.readouterr().out.splitlines()
    received, state, sender, arrow, recipient = line.split()[:5]
    assert (state, sender, arrow, recipient) == ("INITIAL", H58, "->", G22)

    out = tmp_path / "got.edxml"
    assert main(axis(served, tmp_path, "vpcp", "get", received, "--out", str(out))) == 0
    assert out.read_bytes() == document.read_bytes()
    assert capsys.readouterr().out.strip() == f"{out}: {len(document.read_bytes())} bytes"

    assert main(axis(served, tmp_path, "vpcp", "ack", received)) == 0
    assert capsys.readouterr().out.strip() == f"{received} done"
    assert main(axis(served, tmp_path, "vpcp", "list")) == 0
    assert capsys.readouterr().out == ""

    assert main(axis(served, tmp_path, "tg-ubnd", "sent", doc_id)) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.split()[:5] == [G22, "send", "DONE", "receive", "ARRIVED"]

    assert main(axis(served, tmp_path, "vpcp", "agencies")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 237 and any(line.startswith(f"{H58}  parent {G22}") for line in lines)


def test_a_fail_answer_is_one_line_and_exit_1(served, tmp_path, capsys):
    assert main(axis(served, tmp_path, "vpcp", "get", "no-such-doc")) == 1
    assert capsys.readouterr().err.strip() == "docflow axis: FAIL 301: unknown docId 'no-such-doc'"
    assert main(axis(served, tmp_path, "nobody", "list")) == 1
    assert "no [[system]] with id 'nobody'" in capsys.readouterr().err


def test_serve_with_keys_refuses_an_unsigned_document_with_209_and_takes_a_signed_one(tmp_path, capsys):
    """``docflow serve --keys DIR`` as an operator starts it: the signature check is on and says so."""
    keys = KeyStore(tmp_path / "keys")
    pair = keys.generate(H58)
    server = start_server(tmp_path, "--keys", str(keys.directory))
    try:
        unsigned = tmp_path / "unsigned.edxml"
        envelope = build_network(db="sqlite://").node(H58).draft([G22], subject="Công văn", code="32/UBND-VP")
        unsigned.write_bytes(write_envelope(envelope))
        signed = tmp_path / "signed.edxml"
        signed.write_bytes(sign_message(unsigned.read_bytes(), pair.private_key, pair.certificate, source=H58))

        assert main(axis(server, tmp_path, "tg-ubnd", "send", str(unsigned))) == 1
        assert "209" in capsys.readouterr().err
        assert main(axis(server, tmp_path, "tg-ubnd", "send", str(signed))) == 0
        assert main(axis(server, tmp_path, "vpcp", "list")) == 0
        assert len(capsys.readouterr().out.strip().splitlines()) == 2  # the DocId sent, then the one package
        [(reason,)] = server.rows("SELECT reason FROM quarantine")
        assert reason.startswith("axis untrusted_signature: message carries no signature")
    finally:
        stop(server.process)
    assert f"signatures checked against {keys.directory}" in (tmp_path / "axis.log").read_text()

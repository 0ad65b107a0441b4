"""The axis with a key directory (``docflow serve --keys DIR``): every document sent in must carry a signature that
verifies with its sender's certificate there, else ``sendEdoc`` refuses it with 209 and keeps the bytes in
quarantine with the rule broken; ``--allow-unsigned`` lets unsigned documents in while signed ones must still
verify.  Driven through the HTTP API in process (Starlette's test client) and through the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from axis_inprocess import CREDENTIALS, G22, H58, TestClient

from docflow.axis.app import ServerSettings, create_app
from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisCallError, AxisClient
from docflow.axis.credentials import parse
from docflow.axis.packages import response_for
from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.domain.status import StatusCode, StatusMessage
from docflow.keys import KeyStore
from docflow.xml import write_envelope, write_status
from docflow.xml.signing import VerifyPolicy, sign_message

Axis = Callable[..., tuple[AxisBackend, AxisClient, AxisClient]]


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys")
    store.generate(H58)
    return store


@pytest.fixture
def axis(tmp_path: Path) -> Iterator[Axis]:
    """``axis(keys, verify)``: the backend as ``docflow serve --keys`` opens it, and the two systems' clients."""
    opened: list[tuple[AxisBackend, TestClient]] = []

    def make(keys: KeyStore | None, verify: VerifyPolicy | None = None) -> tuple[AxisBackend, AxisClient, AxisClient]:
        backend = AxisBackend.open(db=f"sqlite:///{tmp_path / 'axis.db'}", registry="tien_giang_2017",
                                   credentials=parse(CREDENTIALS), keys=keys, verify=verify)  # fmt: skip
        http = TestClient(create_app(backend, ServerSettings()))
        http.__enter__()
        opened.append((backend, http))
        url = "http://testserver"
        return backend, AxisClient(url, "tg", "s1", http=http, retries=0), AxisClient(url, "vpcp", "s2", http=http,
                                                                                      retries=0)  # fmt: skip

    yield make
    for backend, http in opened:
        http.__exit__(None, None, None)
        backend.close()


def document(code: str, subject: str = "Tờ trình ký số") -> bytes:
    return write_envelope(build_network(db="sqlite://").node(H58).draft([G22], subject=subject, code=code))


def signed(data: bytes, store: KeyStore) -> bytes:
    pair = store.key_pair(H58)
    return sign_message(data, pair.private_key, pair.certificate, source=H58)


def refused(client: AxisClient, data: bytes) -> AxisCallError:
    with pytest.raises(AxisCallError) as caught:
        client.send(data, sender=H58)
    return caught.value


def test_a_signed_document_is_taken_and_handed_on_byte_for_byte(axis, keys):
    backend, tg, gov = axis(keys)
    data = signed(document("1/TTr-UBND"), keys)
    doc_id = tg.send(data, sender=H58)
    [item] = gov.received()
    assert gov.get(item["docId"]) == data  # the signature travels on to the recipient's system
    assert [s["toCode"] for s in tg.sent(doc_id)] == [G22]
    assert backend.network.quarantine(backend.node) == []


def test_an_unsigned_document_is_refused_with_209_and_kept_in_quarantine(axis, keys):
    backend, tg, gov = axis(keys)
    data = document("2/TTr-UBND")
    error = refused(tg, data)
    assert error.code == "209"
    assert "signature" in error.description.lower()
    assert gov.count() == 0
    [entry] = backend.network.quarantine(backend.node)
    assert entry.reason.startswith("axis untrusted_signature: ") and entry.source == "tg"


def test_a_document_signed_with_a_key_the_directory_does_not_vouch_for_is_refused(axis, keys, tmp_path):
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(H58)  # the province's code, another key
    _, tg, gov = axis(keys)
    assert refused(tg, signed(document("3/TTr-UBND"), impostor)).code == "209"
    assert gov.count() == 0


def test_a_document_changed_after_signing_is_refused(axis, keys):
    _, tg, gov = axis(keys)
    data = signed(document("4/TTr-UBND", subject="Tờ trình ký số"), keys)
    tampered = data.replace("Tờ trình ký số".encode(), "Tờ trình sửa đổi".encode())
    assert tampered != data
    assert refused(tg, tampered).code == "209"
    assert tg.send(data, sender=H58)  # the original still goes through
    assert gov.count() == 1


def test_allow_unsigned_lets_unsigned_documents_in_and_still_checks_signed_ones(axis, keys, tmp_path):
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(H58)
    _, tg, gov = axis(keys, VerifyPolicy(require_signature=False))
    tg.send(document("5/TTr-UBND"), sender=H58)
    assert refused(tg, signed(document("6/TTr-UBND"), impostor)).code == "209"
    assert gov.count() == 1


def test_status_packets_are_not_asked_for_a_signature(axis, keys):
    """Statuses are the receiving system's word about a document it holds; the check is on documents."""
    _, tg, gov = axis(keys)
    draft = build_network(db="sqlite://").node(H58).draft([G22], subject="Tờ trình ký số", code="7/TTr-UBND")
    tg.send(signed(write_envelope(draft), keys), sender=H58)
    assert gov.count() == 1
    status = StatusMessage(
        sender=draft.recipients[0],
        response_for=response_for(draft.document_id, H58),
        status=StatusCode.ACCEPTED,
        timestamp=datetime(2026, 11, 30, 9, 0),
        description=StatusCode.ACCEPTED.label,
    )
    gov.send(write_status(status), sender=G22, message_type="status")  # unsigned: taken
    [answer] = tg.received("status")
    assert (answer["from"], answer["to"]) == (G22, H58)


def test_serve_refuses_a_key_directory_that_is_not_there_before_it_opens_anything(tmp_path, capsys):
    db = tmp_path / "axis.db"
    code = main(["serve", "--db", f"sqlite:///{db}", "--keys", str(tmp_path / "no-such-keys"),
                 "--credentials", str(tmp_path / "creds.toml")])  # fmt: skip
    assert code == 1
    assert "key directory" in capsys.readouterr().err
    assert not db.exists()
    assert main(["serve", "--db", f"sqlite:///{db}", "--allow-unsigned"]) == 1
    assert "--allow-unsigned needs --keys" in capsys.readouterr().err

"""XML-DSig signatures over docflow's dossier messages: the agency that hands a dossier over signs it, relays add
their ``Trace`` entries outside the signature, and the receiving agency reads the dossier from what was signed;
every way a signature is refused for edXML is refused here too."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest
from lxml import etree

from docflow.bootstrap import build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant, DossierMessage
from docflow.domain.envelope import TraceHeader
from docflow.domain.ids import OrganId
from docflow.errors import MissingSignatureError, SignatureMismatchError, WrappedSignatureError
from docflow.keys import KeyStore
from docflow.xml.dossier_xml import DOSSIER_NS, dossier_hop, read_dossier, write_dossier
from docflow.xml.parser import parse_xml
from docflow.xml.signing import DS, VerifyPolicy, sign_message, verify_message

COMMUNE, DISTRICT = "000.20.50.H58", "000.00.50.H58"
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")
D = "{" + DOSSIER_NS + "}"
T1 = datetime(2017, 10, 2, 9, 30)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyStore:
    store = KeyStore(tmp_path_factory.mktemp("keys"))
    store.generate(COMMUNE)
    return store


@pytest.fixture(scope="module")
def hand_over() -> DossierMessage:
    """A commune desk's hand-over of a land dossier to its district, as the engine writes it."""
    net = build_network(db="sqlite://", clock=ManualClock(datetime(2017, 10, 2, 8, 0)))
    desk = net.node(COMMUNE).dossiers
    d = desk.receive("1.004227", Applicant("Trần Văn Bình"), CLERK, number=1)
    desk.start(d.code, CLERK)
    moved = desk.hand_over(d.code, CLERK)
    return DossierMessage(OrganId.parse(COMMUNE), OrganId.parse(DISTRICT), T1, moved)


def signed_by(store: KeyStore, message: DossierMessage) -> bytes:
    pair = store.key_pair(COMMUNE)
    return sign_message(write_dossier(message), pair.private_key, pair.certificate, source=COMMUNE)


def test_a_signed_hand_over_is_valid_and_reads_back_what_was_signed(keys, hand_over):
    data = signed_by(keys, hand_over)
    header = parse_xml(data).find(D + "Header")
    assert [etree.QName(child).localname for child in header] == ["From", "To", "SentAt", "TraceList", "Signature"]
    assert header[-1].tag == "{" + DS + "}Signature"
    assert dossier_hop(data).message() == hand_over  # the XSD takes the signature
    verified = verify_message(data, keys.certificate)
    assert verified is not None
    assert (verified.signer, verified.algorithm, verified.coverage) == (COMMUNE, "rsa-sha256", "without-trace")
    assert verified.message() == hand_over
    assert read_dossier(data) == hand_over  # a stored signed copy reads like any other


def test_trace_entries_relays_add_stay_outside_the_signature(keys, hand_over):
    hop = dossier_hop(signed_by(keys, hand_over))
    hop.stamp("000.00.00.H58", datetime(2017, 10, 2, 9, 31))
    relayed = hop.to_bytes()
    verified = dossier_hop(relayed).verify(keys.certificate, VerifyPolicy())
    assert verified is not None
    assert verified.trace == (TraceHeader(OrganId.parse("000.00.00.H58"), datetime(2017, 10, 2, 9, 31)),)
    assert verified.message().trace == verified.trace


def test_a_relay_stamping_a_message_without_trace_list_keeps_the_xsd_order(keys, hand_over):
    root = parse_xml(signed_by(keys, hand_over))
    header = root.find(D + "Header")
    header.remove(header.find(D + "TraceList"))  # another producer may leave it out
    hop = dossier_hop(etree.tostring(root))
    hop.stamp("000.00.00.H58", datetime(2017, 10, 2, 9, 31))
    stamped = hop.to_bytes()
    names = [etree.QName(child).localname for child in parse_xml(stamped).find(D + "Header")]
    assert names == ["From", "To", "SentAt", "TraceList", "Signature"]
    assert dossier_hop(stamped).verify(keys.certificate, VerifyPolicy()) is not None


def test_a_dossier_changed_after_signing_is_refused(keys, hand_over):
    data = signed_by(keys, hand_over)
    tampered = data.replace("Trần Văn Bình".encode(), "Trần Văn Bính".encode())
    assert tampered != data
    with pytest.raises(SignatureMismatchError) as caught:
        verify_message(tampered, keys.certificate)
    assert caught.value.rule == "signature-digest"


def test_a_dossier_signed_with_another_key_is_refused(keys, hand_over, tmp_path):
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(COMMUNE)
    with pytest.raises(SignatureMismatchError):
        verify_message(signed_by(impostor, hand_over), keys.certificate)


def test_an_unsigned_dossier_is_refused_where_a_signature_is_required(keys, hand_over):
    data = write_dossier(hand_over)
    with pytest.raises(MissingSignatureError):
        verify_message(data, keys.certificate)
    assert verify_message(data, keys.certificate, policy=VerifyPolicy(require_signature=False)) is None


def test_a_second_signature_and_content_hidden_in_a_trace_are_refused(keys, hand_over):
    root = parse_xml(signed_by(keys, hand_over))
    header = root.find(D + "Header")
    root.find(D + "HoSo").append(copy.deepcopy(header[-1]))
    with pytest.raises(WrappedSignatureError) as caught:
        verify_message(etree.tostring(root), keys.certificate)
    assert caught.value.rule == "one-signature"

    root = parse_xml(signed_by(keys, hand_over))
    trace = etree.SubElement(root.find(D + "Header").find(D + "TraceList"), D + "Trace")
    for name, text in (("OrganId", DISTRICT), ("Timestamp", "20171002093100"), ("ChuHoSo", "Người khác")):
        etree.SubElement(trace, D + name).text = text
    with pytest.raises(WrappedSignatureError) as caught:
        verify_message(etree.tostring(root), keys.certificate)
    assert caught.value.rule == "trace-content"

"""XML-DSig enveloped signatures over edXML messages and docflow's dossier messages: sign on send, verify on
receipt (signxml does the crypto).

What a docflow signature covers: the whole edXML message (header, business block, body, attachments) except
the ``TraceHeader`` entries that forwarding nodes append and the whitespace between the children of
``edXMLHeader`` and of ``TraceHeaderList`` (a ``TraceHeaderList`` left empty counts as absent).  On the wire it
is a standard ``ds:Signature`` (one ``Reference URI=""``, enveloped-signature + exclusive C14N, RSA-SHA256 by
default, the certificate in ``KeyInfo/X509Data``) placed in ``edXMLHeader`` after ``TraceHeaderList``, as the
real samples place theirs.  Verification applies the same normalisation, then falls back to the whole message
as it stands (what other producers sign).  See docs/security.md.

Read, besides ``ds:Signature``: a ``Signature`` in the edXML namespace (the samples' quirk: the XML-DSig
namespace declaration lost), rebuilt in the XML-DSig namespace before checking; an empty ``DigitalSignature``
counts as no signature.  SHA-1 (the samples' RSA-SHA1) is refused unless ``VerifyPolicy.allow_legacy_sha1``.
Wrapping is refused: one signature only, in ``edXMLHeader``, one Reference to the whole message, only the
enveloped and C14N transforms, no content hidden in the stripped trace entries; callers read the message
from ``VerifiedMessage.signed_data`` (what was signed), never from the bytes received.

Must not import sqlalchemy, transports or services.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import signxml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException

from docflow.domain.dossier import DossierMessage
from docflow.domain.envelope import Envelope, TraceHeader
from docflow.domain.status import StatusMessage
from docflow.errors import (
    MissingSignatureError,
    SignatureAlgorithmError,
    SignatureError,
    SignatureMismatchError,
    UnknownSignerError,
    WrappedSignatureError,
)
from docflow.xml import signature_form as form
from docflow.xml.dossier_xml import dossier_from_tree
from docflow.xml.edxml import envelope_from_tree
from docflow.xml.parser import parse_xml
from docflow.xml.schemas import message_kind
from docflow.xml.signature_form import DOSSIER, DS, EDXML, SignatureInfo, read_signature_info
from docflow.xml.status_xml import status_from_tree

__all__ = [
    "DS",
    "SIGNING_ALGORITHMS",
    "CertificateLookup",
    "SignatureInfo",
    "VerifiedMessage",
    "VerifyPolicy",
    "read_signature_info",
    "sign_message",
    "sign_tree",
    "verify_message",
    "verify_tree",
]

_DS = "{" + DS + "}"
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = frozenset(m.value for m in CanonicalizationMethod)
#: A wrong URI for exclusive C14N that the real samples use as their reference transform; read as exclusive C14N.
EXC_C14N_ALIAS = "http://www.w3.org/TR/xml-exc-c14n#"

#: Signature algorithms docflow produces, by short name.
SIGNING_ALGORITHMS: dict[str, tuple[SignatureMethod, DigestAlgorithm]] = {
    "rsa-sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    "rsa-sha384": (SignatureMethod.RSA_SHA384, DigestAlgorithm.SHA384),
    "rsa-sha512": (SignatureMethod.RSA_SHA512, DigestAlgorithm.SHA512),
    "ecdsa-sha256": (SignatureMethod.ECDSA_SHA256, DigestAlgorithm.SHA256),
    "ecdsa-sha384": (SignatureMethod.ECDSA_SHA384, DigestAlgorithm.SHA384),
}
_ACCEPTED_METHODS = frozenset(
    m
    for m in SignatureMethod
    if m.name.startswith(("RSA_SHA", "ECDSA_SHA", "SHA")) and "SHA1" not in m.name and "224" not in m.name
)
_ACCEPTED_DIGESTS = frozenset(
    d for d in DigestAlgorithm if d.name in {"SHA256", "SHA384", "SHA512", "SHA3_256", "SHA3_384", "SHA3_512"}
)
_LEGACY_METHODS = frozenset({SignatureMethod.RSA_SHA1})
_LEGACY_DIGESTS = frozenset({DigestAlgorithm.SHA1})
#: allow_legacy_sha1 -> (signature method URIs, digest URIs) accepted
_ALGORITHM_URIS = {
    legacy: (
        frozenset(m.value for m in _ACCEPTED_METHODS | (_LEGACY_METHODS if legacy else frozenset())),
        frozenset(d.value for d in _ACCEPTED_DIGESTS | (_LEGACY_DIGESTS if legacy else frozenset())),
    )
    for legacy in (False, True)
}

#: OrganId (text) -> the certificate that verifies its signatures, or None when unknown.
CertificateLookup = Callable[[str], x509.Certificate | None]
Coverage = Literal["without-trace", "whole-message"]


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a receiving node accepts: ``require_signature`` refuses unsigned messages; SHA-1 only when allowed."""

    require_signature: bool = True
    allow_legacy_sha1: bool = False


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A verified signature: who signed, how, and the exact bytes that were signed (read the message from them)."""

    signer: str
    algorithm: str
    coverage: Coverage
    signed_data: bytes
    trace: tuple[TraceHeader, ...] = field(default=())  # unsigned: appended by forwarding nodes
    #: ``signed_data`` as signxml parsed it after checking its digest (it returns the signed content so, and only
    #: so); ``message`` reads it rather than parsing the same bytes once more
    signed_tree: etree._Element | None = field(default=None, compare=False, repr=False)

    @property
    def legacy(self) -> bool:
        """True when the signature used SHA-1 (accepted only because the policy allowed it)."""
        return "sha1" in self.algorithm

    def message(self) -> Envelope | StatusMessage | DossierMessage:
        """The message read from the signed bytes, with the (unsigned) trace entries put back."""
        root = self.signed_tree
        if root is None:
            root = parse_xml(self.signed_data, source="signed content")
        if root.tag == DOSSIER.root:
            return replace(dossier_from_tree(root, source="signed content"), trace=self.trace)
        if message_kind(root) == "status":
            return replace(status_from_tree(root), trace=self.trace)
        return replace(envelope_from_tree(root), trace=self.trace)


class _Verifier(signxml.XMLVerifier):
    """signxml's verifier reading docflow's own tree (parsed by ``parse_xml``) instead of parsing it again."""

    def get_root(self, data: object) -> etree._Element:
        return data if isinstance(data, etree._Element) else super().get_root(data)


# signxml's verifier and signers keep per-call state on the instance and build an XML parser per instance:
# one of each per thread, reused.
_local = threading.local()


def _verifier() -> _Verifier:
    verifier = getattr(_local, "verifier", None)
    if verifier is None:
        verifier = _local.verifier = _Verifier()
    return verifier


def _signer(algorithm: str) -> signxml.XMLSigner:
    signers: dict[str, signxml.XMLSigner] | None = getattr(_local, "signers", None)
    if signers is None:
        signers = _local.signers = {}
    signer = signers.get(algorithm)
    if signer is None:
        method, digest = SIGNING_ALGORITHMS[algorithm]
        signer = signers[algorithm] = signxml.XMLSigner(
            signature_algorithm=method,
            digest_algorithm=digest,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
    return signer


def sign_message(
    data: bytes,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    *,
    algorithm: str = "rsa-sha256",
    source: str | None = None,
) -> bytes:
    """``data`` (an edXML document or status message, or a dossier message) with a docflow signature in its
    header (``edXMLHeader``; a dossier's ``Header``)."""
    root = parse_xml(data, source=source)
    sign_tree(root, key, certificate, algorithm=algorithm)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sign_tree(
    root: etree._Element,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    *,
    algorithm: str = "rsa-sha256",
) -> None:
    """Sign the parsed message ``root`` in place (see ``sign_message``)."""
    if algorithm not in SIGNING_ALGORITHMS:
        raise SignatureAlgorithmError(
            f"cannot sign with {algorithm!r}: use one of {', '.join(SIGNING_ALGORITHMS)}", rule="signing-algorithm"
        )
    shape, header = form.find_header(root)
    existing = form.find_signatures(root)
    if existing:
        raise WrappedSignatureError(
            f"message is already signed ({form.display_name(existing[0])}): a message carries one signature",
            rule="one-signature",
        )
    signer = _signer(algorithm)
    placeholder = etree.Element(_DS + "Signature", Id="placeholder", nsmap={"ds": DS})
    undo = form.normalise(shape, header)
    try:
        header.insert(form.signature_position(shape, header), placeholder)
        try:
            signed = signer.sign(root, key=key, cert=[certificate])
        except (SignXMLException, ValueError, TypeError) as exc:
            raise SignatureError(f"cannot sign: {exc}", rule="signing") from exc
        finally:
            header.remove(placeholder)
    finally:
        form.restore(undo)
    # signxml signed a copy of the normalised tree and built the signature where the placeholder was.
    signature = form.descend(signed, *shape.header, _DS + "Signature")
    assert signature is not None
    header.insert(form.signature_position(shape, header), signature)


def verify_message(
    data: bytes, certificates: CertificateLookup, *, policy: VerifyPolicy = VerifyPolicy(), source: str | None = None
) -> VerifiedMessage | None:
    """Verify ``data``'s signature against the sender's certificate; None only when unsigned and not required.

    Raises a ``SignatureError`` subclass naming the rule broken: ``MissingSignatureError``,
    ``SignatureAlgorithmError`` (SHA-1 without ``allow_legacy_sha1``), ``WrappedSignatureError``,
    ``UnknownSignerError``, ``SignatureMismatchError``.
    """
    return _verify_owned(parse_xml(data, source=source), certificates, policy, source)


def verify_tree(
    root: etree._Element,
    certificates: CertificateLookup,
    *,
    policy: VerifyPolicy = VerifyPolicy(),
    source: str | None = None,
) -> VerifiedMessage | None:
    """``verify_message`` on an already parsed message (e.g. a ``Hop``'s tree), which is left unchanged."""
    return _verify_owned(copy.deepcopy(root), certificates, policy, source)


def _verify_owned(
    root: etree._Element, certificates: CertificateLookup, policy: VerifyPolicy, source: str | None
) -> VerifiedMessage | None:
    shape, header = form.find_header(root, source)
    signatures = form.find_signatures(root)
    real = [s for s in signatures if not form.empty_digital_signature(s)]
    if len(real) > 1:
        raise WrappedSignatureError(
            f"{len(real)} signatures in one message ({', '.join(form.display_name(s) for s in real)}): "
            "signature wrapping refused",
            file=source,
            rule="one-signature",
        )
    if not real:
        if policy.require_signature:
            what = "only an empty DigitalSignature" if signatures else "no signature"
            raise MissingSignatureError(
                f"message carries {what}; a signature is required", file=source, rule="signature-required"
            )
        return None
    signature = real[0]
    if signature.getparent() is not header:
        raise WrappedSignatureError(
            f"{form.display_name(signature)} at line {signature.sourceline} is not a child of {shape.header_name}: "
            "signature wrapping refused",
            file=source,
            line=signature.sourceline,
            rule="signature-location",
        )
    info = form.signature_info(signature)
    _check_shape(info, policy, source)
    signer = form.sender_of(header, shape)
    if not signer:
        raise SignatureError(
            "message names no sender (From/OrganId): cannot choose a certificate", file=source, rule="signer"
        )
    certificate = certificates(signer)
    if certificate is None:
        raise UnknownSignerError(
            f"no certificate known for the sender {signer}", file=source, rule="signer-certificate"
        )
    trace = form.read_trace_entries(shape, header, source)
    config = _CONFIGS[shape.name, policy.allow_legacy_sha1]
    if EXC_C14N_ALIAS in info.transforms:  # signxml skips the unknown URI and applies this default instead
        config = replace(
            config, default_reference_c14n_method=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
        )
    # An edXML-namespace Signature lost its XML-DSig declaration: try the two ways producers write it.
    spellings: tuple[str | None, ...] = (_KEEP,) if signature.tag == _DS + "Signature" else (None, "ds")
    undo = form.normalise(shape, header)
    try:
        result, coverage = _verify_spellings(root, signature, spellings, certificate, config, undo)
    except InvalidDigest as exc:
        raise SignatureMismatchError(
            f"signed content was changed after {signer} signed it ({exc})", file=source, rule="signature-digest"
        ) from None
    except InvalidCertificate as exc:
        raise SignatureMismatchError(
            f"certificate of {signer} refused: {exc}", file=source, rule="signer-certificate"
        ) from None
    except InvalidSignature as exc:
        raise SignatureMismatchError(
            f"signature does not verify with the certificate of {signer}: wrong key or altered SignedInfo ({exc})",
            file=source,
            rule="signature-value",
        ) from None
    except etree.DocumentInvalid as exc:
        raise SignatureError(
            f"signature breaks the XML-DSig schema: {exc}", file=source, rule="signature-format"
        ) from None
    except (InvalidInput, SignXMLException, ValueError, etree.LxmlError) as exc:
        raise SignatureError(f"unusable signature: {exc}", file=source, rule="signature-format") from None
    finally:
        form.restore(undo)
    signed = result.signed_xml
    signed_header = form.descend(signed, *shape.header) if signed is not None else None
    signed_sender = form.sender_of(signed_header, shape) if signed_header is not None else ""
    if signed is None or signed.tag != root.tag or signed_sender != signer:
        raise WrappedSignatureError(
            "the signed content is not the message read: signature wrapping refused", file=source, rule="signed-content"
        )
    return VerifiedMessage(signer, info.algorithm, coverage, result.signed_data, trace, signed)


_KEEP = "keep"
#: (message family, allow_legacy_sha1) -> what signxml is told to expect: the signature in the family's header,
#: one reference, the algorithms accepted
_CONFIGS = {
    (shape.name, legacy): SignatureConfiguration(
        location=shape.location,
        expect_references=1,
        signature_methods=_ACCEPTED_METHODS | (_LEGACY_METHODS if legacy else frozenset()),
        digest_algorithms=_ACCEPTED_DIGESTS | (_LEGACY_DIGESTS if legacy else frozenset()),
    )
    for shape in (EDXML, DOSSIER)
    for legacy in (False, True)
}


def _verify_spellings(
    root: etree._Element,
    signature: etree._Element,
    spellings: tuple[str | None, ...],
    certificate: x509.Certificate,
    config: SignatureConfiguration,
    undo: form.Undo,
) -> tuple[signxml.VerifyResult, Coverage]:
    """signxml's verdict on the first spelling whose SignatureValue verifies; the last failure otherwise."""
    for index, prefix in enumerate(spellings):
        if prefix != _KEEP:
            signature = form.to_xmldsig(signature, prefix)
        try:
            return _verify_coverages(root, certificate, config, undo)
        except (InvalidDigest, InvalidCertificate):
            raise
        except InvalidSignature:
            if index == len(spellings) - 1:
                raise
    raise AssertionError("unreachable: spellings is never empty")


def _verify_coverages(
    root: etree._Element, certificate: x509.Certificate, config: SignatureConfiguration, undo: form.Undo
) -> tuple[signxml.VerifyResult, Coverage]:
    """Docflow's coverage (trace left out) first, then the whole message as it stands (other producers)."""
    try:
        result = _verifier().verify(root, x509_cert=certificate, expect_config=config)
        coverage: Coverage = "without-trace"
    except InvalidDigest:
        if not undo:
            raise
        form.restore(undo)
        result = _verifier().verify(root, x509_cert=certificate, expect_config=config)
        coverage = "whole-message"
    assert not isinstance(result, list)  # expect_references=1
    return result, coverage


def _check_shape(info: SignatureInfo, policy: VerifyPolicy, source: str | None) -> None:
    """Refuse, before any crypto, what docflow never accepts: weak algorithms, partial or odd references."""
    methods, digests = _ALGORITHM_URIS[policy.allow_legacy_sha1]
    weak = [info.signature_method] if info.signature_method not in methods else []
    weak += [d for d in info.digest_methods if d not in digests]
    if weak:
        names = ", ".join(w.rsplit("#", 1)[-1] or "(none)" for w in weak)
        legacy = any("sha1" in w for w in weak)
        hint = " (legacy SHA-1: accepted only when the allow_legacy_sha1 setting is on)" if legacy else ""
        raise SignatureAlgorithmError(
            f"signature algorithm refused: {names}{hint}", file=source, rule="signature-algorithm"
        )
    if info.reference_uris != ("",):
        raise WrappedSignatureError(
            f'signature references {list(info.reference_uris)}: it must hold exactly one Reference URI="" '
            "(the whole message); signature wrapping refused",
            file=source,
            rule="signature-reference",
        )
    if _ENVELOPED not in info.transforms:
        raise SignatureError(
            "signature lacks the enveloped-signature transform", file=source, rule="signature-transform"
        )
    odd = [t for t in info.transforms if t != _ENVELOPED and t not in _C14N and t != EXC_C14N_ALIAS]
    if odd:
        raise SignatureAlgorithmError(
            f"signature transform refused: {', '.join(odd)} (only enveloped-signature and C14N are accepted)",
            file=source,
            rule="signature-transform",
        )

"""The key store: one private key and one X.509 certificate per organisation, as PEM files on disk.

Layout under the store's directory (setting ``DOCFLOW_KEYS_DIR``, default ``./docflow-keys``)::

    <directory>/<OrganId>/key.pem    the private key, PKCS#8 PEM, unencrypted, file mode 0600
    <directory>/<OrganId>/cert.pem   its certificate, PEM (self-signed when made by ``generate``)

A partner's folder may hold ``cert.pem`` alone (``import_certificate``): enough to verify its signatures.
Keys and certificates are read once per store and cached; ``generate`` and the imports refresh the cache.
``certificate`` is the lookup (OrganId -> certificate or None) that signature verification calls.
Pure file I/O and ``cryptography``: must not import lxml, sqlalchemy, transports or services.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from docflow.domain.ids import OrganId
from docflow.errors import IdentifierError, KeyStoreError

ENV_VAR = "DOCFLOW_KEYS_DIR"
DEFAULT_DIRECTORY = Path("docflow-keys")
KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
RSA_KEY_SIZE = 2048
VALID_DAYS = 3650

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An organisation's signing key and the certificate that others verify its signatures with."""

    organ_id: str
    private_key: PrivateKey
    certificate: x509.Certificate


def default_directory() -> Path:
    """The key directory the settings name: ``$DOCFLOW_KEYS_DIR`` or ``./docflow-keys``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIRECTORY)


def fingerprint(certificate: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint, lowercase hex."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def _organ_id(text: str) -> str:
    try:
        return str(OrganId.parse(text))
    except IdentifierError as exc:
        raise KeyStoreError(f"cannot keep keys for {text!r}: {exc}") from None


class KeyStore:
    """PEM files of many organisations under one directory, loaded on first use and cached."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self._pairs: dict[str, KeyPair] = {}
        self._certificates: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def paths(self, organ_id: str) -> tuple[Path, Path]:
        """Where ``organ_id``'s key and certificate live."""
        folder = self.directory / _organ_id(organ_id)
        return folder / KEY_FILE, folder / CERT_FILE

    def organ_ids(self) -> list[str]:
        """Every organisation with a certificate in the directory (with or without its key), sorted."""
        if not self.directory.is_dir():
            return []
        found = []
        for folder in self.directory.iterdir():
            if (folder / CERT_FILE).is_file():
                try:
                    found.append(_organ_id(folder.name))
                except KeyStoreError:
                    continue  # a folder that is not an OrganId is not ours
        return sorted(found)

    def key_pair(self, organ_id: str) -> KeyPair:
        """``organ_id``'s key and certificate (read once, then cached); ``KeyStoreError`` when absent or bad."""
        code = _organ_id(organ_id)
        cached = self._pairs.get(code)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._pairs.get(code)
            if cached is None:
                cached = self._pairs[code] = self._load(code)
        return cached

    def has_key(self, organ_id: str) -> bool:
        """True when the store holds ``organ_id``'s private key (it can sign), not only its certificate."""
        return self.paths(organ_id)[0].is_file()

    def certificate(self, organ_id: str) -> x509.Certificate | None:
        """The certificate that verifies ``organ_id``'s signatures (read once, cached), or None when unknown.

        Only ``cert.pem`` is needed: a node holds its partners' certificates, not their keys.  A file that is
        present but unreadable also gives None (the signature is then refused as from an unknown signer).
        """
        try:
            code = _organ_id(organ_id)
        except KeyStoreError:
            return None
        cached = self._certificates.get(code)
        if cached is None:
            cert_path = self.paths(code)[1]
            try:
                cached = load_certificate(cert_path.read_bytes(), source=str(cert_path))
            except (OSError, KeyStoreError):
                return None
            with self._lock:
                cached = self._certificates.setdefault(code, cached)
        return cached

    def import_certificate(self, organ_id: str, cert_pem: bytes, *, overwrite: bool = False) -> x509.Certificate:
        """Store a partner's certificate for ``organ_id`` (no key: this store verifies its signatures only)."""
        code = _organ_id(organ_id)
        certificate = load_certificate(cert_pem, source="the certificate")
        key_path, cert_path = self.paths(code)
        if key_path.exists():
            raise KeyStoreError(f"{code}: the store holds this organisation's key; import the key with its certificate")
        if not overwrite and cert_path.exists():
            raise KeyStoreError(f"{code}: a certificate already exists in {cert_path.parent} (replace it with --force)")
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
        with self._lock:
            self._certificates[code] = certificate
        return certificate

    def generate(self, organ_id: str, *, overwrite: bool = False, valid_days: int = VALID_DAYS) -> KeyPair:
        """Make a new RSA key and a self-signed certificate for ``organ_id`` and write both."""
        code = _organ_id(organ_id)
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
        return self._write(code, key, self_signed_certificate(code, key, valid_days=valid_days), overwrite)

    def import_pair(self, organ_id: str, key_pem: bytes, cert_pem: bytes, *, overwrite: bool = False) -> KeyPair:
        """Store an existing key and certificate for ``organ_id`` after checking that they belong together."""
        code = _organ_id(organ_id)
        key = load_private_key(key_pem, source="the key")
        certificate = load_certificate(cert_pem, source="the certificate")
        if public_bytes(key) != certificate.public_key().public_bytes(*_SPKI):
            raise KeyStoreError(f"{code}: the certificate does not hold the public half of the key")
        return self._write(code, key, certificate, overwrite)

    def _write(self, code: str, key: PrivateKey, certificate: x509.Certificate, overwrite: bool) -> KeyPair:
        key_path, cert_path = self.paths(code)
        if not overwrite and (key_path.exists() or cert_path.exists()):
            raise KeyStoreError(
                f"{code}: keys already exist in {key_path.parent} (replace them with --force, or overwrite=True)"
            )
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_atomic(key_path, key_pem, mode=0o600)
        _write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
        pair = KeyPair(code, key, certificate)
        with self._lock:
            self._pairs[code] = pair
            self._certificates[code] = certificate
        return pair

    def _load(self, code: str) -> KeyPair:
        key_path, cert_path = self.paths(code)
        try:
            key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyStoreError(f"{code}: no key pair in {self.directory} ({exc.filename} is missing)") from None
        except OSError as exc:
            raise KeyStoreError(f"{code}: cannot read {exc.filename}: {exc.strerror}") from None
        key = load_private_key(key_pem, source=str(key_path))
        certificate = load_certificate(cert_pem, source=str(cert_path))
        if public_bytes(key) != certificate.public_key().public_bytes(*_SPKI):
            raise KeyStoreError(f"{code}: {cert_path} does not hold the public half of {key_path}")
        return KeyPair(code, key, certificate)


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_bytes(key: PrivateKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a private key's public half."""
    return key.public_key().public_bytes(*_SPKI)


def load_private_key(pem: bytes, *, source: str) -> PrivateKey:
    """An unencrypted RSA or EC private key from PEM; ``KeyStoreError`` naming ``source`` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{source} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"{source} holds a {type(key).__name__}: only RSA and EC keys sign edXML")
    return key


def load_certificate(pem: bytes, *, source: str) -> x509.Certificate:
    """An X.509 certificate from PEM; ``KeyStoreError`` naming ``source`` otherwise."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise KeyStoreError(f"{source} is not a PEM X.509 certificate: {exc}") from None


def self_signed_certificate(
    organ_id: str, key: PrivateKey, *, valid_days: int = VALID_DAYS, now: dt.datetime | None = None
) -> x509.Certificate:
    """A self-signed certificate whose subject names the organisation (CN and OU = the OrganId)."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organ_id),
            x509.NameAttribute(NameOID.COMMON_NAME, organ_id),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise KeyStoreError(f"cannot write {path}: {exc.strerror}") from None

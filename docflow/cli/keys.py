"""``docflow keys generate ORGID... | import ORGID [--key K] --cert C | list``: manage the signing key store.

Each organisation has one private key and one certificate under ``--dir`` (default ``$DOCFLOW_KEYS_DIR`` or
``./docflow-keys``), laid out as ``<dir>/<OrganId>/key.pem`` and ``cert.pem`` (see ``docflow.keys``).
``generate`` makes an RSA key and a self-signed certificate per OrganId; ``import`` stores an existing pair
after checking that the certificate holds the key's public half, or (without ``--key``) a partner's certificate
alone, which is all a receiver needs to verify that partner; ``list`` prints one line per organisation:
OrganId, what is held (``key+certificate`` or ``certificate``), subject, expiry (UTC), SHA-256 fingerprint.
Existing keys are replaced only with ``--force``.
Exit codes: 0 done, 1 a key could not be made, read or stored, 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        metavar="DIR",
        default=None,
        help="key directory (default: $DOCFLOW_KEYS_DIR or ./docflow-keys)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    generate = actions.add_parser("generate", help="make a key and a self-signed certificate per OrganId")
    generate.add_argument("organ_ids", nargs="+", metavar="ORGID")
    generate.add_argument("--days", type=int, default=3650, help="certificate validity in days (default 3650)")
    generate.add_argument("--force", action="store_true", help="replace existing keys")
    imported = actions.add_parser(
        "import", help="store an existing PEM key and certificate for one OrganId, or a partner's certificate alone"
    )
    imported.add_argument("organ_id", metavar="ORGID")
    imported.add_argument(
        "--key", metavar="K", help="PEM private key file (unencrypted); omit it for a partner's certificate"
    )
    imported.add_argument("--cert", required=True, metavar="C", help="PEM X.509 certificate file")
    imported.add_argument("--force", action="store_true", help="replace existing keys")
    actions.add_parser("list", help="list the organisations with keys, their certificates and fingerprints")


def _read(name: str) -> bytes:
    from docflow.errors import KeyStoreError

    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"cannot read {name}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from docflow.errors import KeyStoreError
    from docflow.keys import KeyStore, fingerprint

    store = KeyStore(args.dir)
    if args.action == "generate":
        if args.days <= 0:
            print("docflow keys: error: --days must be positive", file=sys.stderr)
            return 2
        for organ_id in args.organ_ids:
            pair = store.generate(organ_id, overwrite=args.force, valid_days=args.days)
            print(f"generated {pair.organ_id} in {store.paths(pair.organ_id)[0].parent}")
        return 0
    if args.action == "import":
        folder = store.paths(args.organ_id)[0].parent
        if args.key is None:
            store.import_certificate(args.organ_id, _read(args.cert), overwrite=args.force)
            print(f"imported the certificate of {folder.name} into {folder}")
            return 0
        pair = store.import_pair(args.organ_id, _read(args.key), _read(args.cert), overwrite=args.force)
        print(f"imported {pair.organ_id} into {folder}")
        return 0
    codes = store.organ_ids()
    if not codes:
        print(f"no keys in {store.directory}")
    for code in codes:
        # a folder with a key is checked whole (key and certificate must match); a partner's has a certificate only
        certificate = store.key_pair(code).certificate if store.has_key(code) else store.certificate(code)
        if certificate is None:
            raise KeyStoreError(f"{code}: {store.paths(code)[1]} is not a PEM X.509 certificate")
        kind = "key+certificate" if store.has_key(code) else "certificate"
        expires = certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
        subject = certificate.subject.rfc4514_string()
        print(f"{code}  {kind}  {subject}  expires {expires}  sha256 {fingerprint(certificate)}")
    return 0

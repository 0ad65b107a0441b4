"""``--keys DIR`` and ``--allow-unsigned``: the signature check ``docflow worker`` and ``docflow serve`` share.

``add_arguments`` declares the two options with a help text naming what the command checks; ``load`` turns them
into the key store and the ``VerifyPolicy`` the engine or the axis uses (``None, None``: no check), refusing
with ``ConfigError`` a key directory that is not there (a typo would otherwise refuse every document as signed
by nobody known) and ``--allow-unsigned`` without ``--keys``.  Must not import sqlalchemy or lxml at import.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.keys import KeyStore
    from docflow.xml.signing import VerifyPolicy


def add_arguments(parser: argparse.ArgumentParser, checked: str) -> None:
    """The two options; ``checked`` says which documents the command checks (``"document delivered here"``)."""
    parser.add_argument(
        "--keys",
        metavar="DIR",
        help=f"verify the signature of every {checked} against its sender's certificate in DIR (docflow keys)",
    )
    parser.add_argument(
        "--allow-unsigned", action="store_true", help="with --keys: accept unsigned documents (signed ones must verify)"
    )


def load(args: argparse.Namespace) -> tuple[KeyStore | None, VerifyPolicy | None]:
    """The key store and the policy the options ask for (``None, None`` without ``--keys``)."""
    from docflow.errors import ConfigError
    from docflow.keys import KeyStore
    from docflow.xml.signing import VerifyPolicy

    if args.keys is None:
        if args.allow_unsigned:
            raise ConfigError("--allow-unsigned needs --keys DIR (without keys no signature is checked)")
        return None, None
    store = KeyStore(args.keys)
    if not store.directory.is_dir():
        raise ConfigError(f"key directory {args.keys} does not exist (make one with docflow keys)")
    return store, VerifyPolicy(require_signature=not args.allow_unsigned)

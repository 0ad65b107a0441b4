"""Who may use the operator console: the operators file (TOML, a name and a scrypt password hash each) and the
session key kept beside it.

    [[operator]]
    name = "lan"
    password = "scrypt$16384$8$1$<salt>$<hash>"

Passwords are never stored in plain text: ``hash_password`` (``hashlib.scrypt``, a random salt) writes the
hash, ``Operators.check`` compares in constant time.  The session key that signs the console's cookie is
generated on first use into ``<file>.session-key`` (mode 0600), so sessions survive a restart.
Standard library only (and ``docflow.errors``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from docflow.errors import ConfigError

SCHEME = "scrypt"
#: scrypt cost: 16 MiB of memory and ~50 ms a check, the standard library's interactive-login figures.
N, R, P = 2**14, 8, 1
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password`` with a fresh random salt."""
    if not password:
        raise ConfigError("a password must not be empty")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return "$".join((SCHEME, str(n), str(r), str(p), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Does ``password`` match the ``stored`` hash?  A malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class Operators:
    """The operators of one console: name -> password hash, and where they were read from."""

    path: Path
    hashes: dict[str, str]

    def check(self, name: str, password: str) -> bool:
        """Is ``name`` an operator whose password is ``password``?  (Takes a hash's time also for unknown names.)"""
        stored = self.hashes.get(name)
        if stored is None:
            verify_password(password, _DUMMY)
            return False
        return verify_password(password, stored)

    def session_key(self) -> str:
        """The key that signs session cookies: read from beside the operators file, generated on first use."""
        return session_key(self.path)


def load(path: str | Path) -> Operators:
    """Read an operators file; ``ConfigError`` naming the file and the entry at fault."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no operators file (create one with: docflow operator {path} NAME)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the operators file: {exc}") from None
    entries = data.get("operator", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[operator]] entries")
    hashes: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        stored = entry.get("password") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(f"{path}: operator {number}: name must be 1-64 letters, digits or _.@-")
        if not isinstance(stored, str) or not stored.startswith(SCHEME + "$") or stored.count("$") != 5:
            raise ConfigError(
                f"{path}: operator {name}: password must be a scrypt hash (docflow operator {path} {name}), "
                "never the password itself"
            )
        if name in hashes:
            raise ConfigError(f"{path}: operator {name} is listed twice")
        hashes[name] = stored
    return Operators(path, hashes)


def save_operator(path: str | Path, name: str, password: str) -> Operators:
    """Add ``name`` to the operators file (or change its password), creating the file; returns the operators."""
    path = Path(path)
    if not _NAME.fullmatch(name):
        raise ConfigError(f"operator name {name[:70]!r}: use 1-64 letters, digits or _.@-")
    hashes = load(path).hashes if path.exists() else {}
    hashes[name] = hash_password(password)
    lines = ["# docflow console operators: names and scrypt password hashes (docflow operator FILE NAME)", ""]
    for who, stored in sorted(hashes.items()):
        lines += ["[[operator]]", f"name = {json.dumps(who)}", f"password = {json.dumps(stored)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return Operators(path, hashes)


def session_key(path: Path) -> str:
    """``<operators file>.session-key``: 32 random bytes in hex, written once with mode 0600."""
    key_path = path.with_name(path.name + ".session-key")
    if key_path.exists():
        key = key_path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(key + "\n")
    return key


_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

"""The audit chain's secrets, kept outside the database: one HMAC key per node, and signed checkpoints.

Where: the directory named by ``$DOCFLOW_AUDIT_KEYS``, else ``$XDG_DATA_HOME/docflow/audit-keys`` (by default
``~/.local/share/docflow/audit-keys``); ``docflow audit verify --key-dir DIR`` and ``Keyring(DIR)`` name
another.  Layout::

    <dir>/                      mode 0700
      <node>.key                32 random bytes as hex, mode 0600, made on the node's first audit event
      checkpoints/<database>/<node>.json
                                the last verified head of the node's chain in one database:
                                {"node", "seq", "hash", "at", "mac"}; ``mac`` = HMAC of the rest with the key

Whoever can write the database but not this directory cannot recompute a chain (the hashes are keyed), nor move
a chain head back below a checkpoint, nor remove a node's whole chain unnoticed.  Back the directory up apart
from the database; losing a key makes that node's chain unverifiable (``verify`` says so).

A key is created atomically (``O_EXCL`` temp file, then ``link``), so two processes starting at once agree on
it.  Reading a key is cached per ``Keyring``; ``default_keyring()`` keeps one ``Keyring`` per directory.
Nothing is read or created at import.  Imports only the standard library and ``docflow.errors``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from docflow.errors import StoreError

ENV_VAR = "DOCFLOW_AUDIT_KEYS"
KEY_BYTES = 32
_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def default_directory() -> Path:
    """``$DOCFLOW_AUDIT_KEYS``, else ``$XDG_DATA_HOME/docflow/audit-keys`` (``~/.local/share/...``)."""
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "docflow" / "audit-keys"


_DEFAULT: tuple[tuple[str | None, str | None, str | None], Keyring] | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A node's chain head as last verified in one database."""

    node: str
    seq: int
    hash: str
    at: str = ""


class Keyring:
    """The per-node keys and checkpoints in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keyring({str(self.directory)!r})"

    # -- keys ------------------------------------------------------------------------------------------
    def key_path(self, node: str) -> Path:
        return self.directory / f"{_safe(node)}.key"

    def key(self, node: str, *, create: bool = True) -> bytes | None:
        """The node's key; made on first use when ``create`` (else ``None`` when there is none)."""
        found = self._keys.get(node)
        if found is not None:
            return found
        with self._lock:
            found = self._keys.get(node) or self._read_key(node)
            if found is None and create:
                found = self._make_key(node)
            if found is not None:
                self._keys[node] = found
            return found

    def nodes_with_keys(self) -> list[str]:
        """Every node that has a key here."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(".key")] for p in self.directory.glob("*.key"))

    def _read_key(self, node: str) -> bytes | None:
        path = self.key_path(node)
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot read the audit key {path}: {exc}") from exc
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise StoreError(f"audit key {path} is not {KEY_BYTES} bytes of hex")
        return key

    def _make_key(self, node: str) -> bytes:
        self._ensure_directory()
        path = self.key_path(node)
        key = secrets.token_bytes(KEY_BYTES)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key.hex() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic, and refuses to replace a key another process made first
            except FileExistsError:
                existing = self._read_key(node)
                assert existing is not None
                return existing
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return key

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)

    # -- checkpoints -----------------------------------------------------------------------------------
    def checkpoint_path(self, database: str, node: str) -> Path:
        return self.directory / "checkpoints" / _safe(database) / f"{_safe(node)}.json"

    def checkpoints(self, database: str) -> dict[str, Checkpoint | str]:
        """node -> its checkpoint in ``database``, or the reason it cannot be trusted (text)."""
        folder = self.directory / "checkpoints" / _safe(database)
        out: dict[str, Checkpoint | str] = {}
        if not folder.is_dir():
            return out
        for path in sorted(folder.glob("*.json")):
            node = path.name[: -len(".json")]
            out[node] = self._read_checkpoint(path, node)
        return out

    def _read_checkpoint(self, path: Path, node: str) -> Checkpoint | str:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            point = Checkpoint(str(data["node"]), int(data["seq"]), str(data["hash"]), str(data.get("at", "")))
            mac = str(data["mac"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"checkpoint {path} is unreadable: {exc}"
        key = self.key(node, create=False)
        if key is None:
            return f"checkpoint {path} has no key to check it with"
        if point.node != node or not hmac.compare_digest(mac, _checkpoint_mac(key, point)):
            return f"checkpoint {path} was altered (its signature does not match)"
        return point

    def save_checkpoint(self, database: str, point: Checkpoint) -> bool:
        """Record ``point`` unless a checkpoint at least as far along is already there; True when written."""
        key = self.key(point.node, create=False)
        if key is None:
            return False
        path = self.checkpoint_path(database, point.node)
        current = self._read_checkpoint(path, point.node) if path.exists() else None
        if isinstance(current, Checkpoint) and current.seq >= point.seq:
            return False
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {"node": point.node, "seq": point.seq, "hash": point.hash, "at": point.at}
        data["mac"] = _checkpoint_mac(key, point)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, path)
        return True


def _checkpoint_mac(key: bytes, point: Checkpoint) -> str:
    text = json.dumps(["checkpoint", point.node, point.seq, point.hash, point.at], separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def mac(key: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` (UTF-8) as hex."""
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


def _safe(name: str) -> str:
    if not _SAFE.match(name) or name.startswith("."):
        raise StoreError(f"{name!r} cannot name an audit key or checkpoint file")
    return name


_KEYRINGS: dict[Path, Keyring] = {}
_KEYRINGS_LOCK = threading.Lock()


def default_keyring() -> Keyring:
    """The keyring of ``default_directory()``; the environment is read on each call (a changed
    ``$DOCFLOW_AUDIT_KEYS`` is followed), the keyring of each directory is kept."""
    global _DEFAULT
    environ = os.environ
    marks = (environ.get(ENV_VAR), environ.get("XDG_DATA_HOME"), environ.get("HOME"))
    cached = _DEFAULT
    if cached is not None and cached[0] == marks:
        return cached[1]
    directory = default_directory()
    with _KEYRINGS_LOCK:
        found = _KEYRINGS.get(directory)
        if found is None:
            found = _KEYRINGS[directory] = Keyring(directory)
        _DEFAULT = (marks, found)
        return found

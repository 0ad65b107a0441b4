"""``file:///path``: durable queues in a directory tree, maildir-style, safe for several processes.

Layout: ``<root>/<node>/{tmp,new,cur,dead}/``.  One message is one file: a magic line, a 4-byte big-endian
header length, a UTF-8 JSON header (id, sender, recipient, kind, headers, body size) and the raw body.

- ``send`` writes ``tmp/<name>``, fsyncs it, then ``os.replace`` s it into ``new/`` and fsyncs the directory:
  a message is visible whole or not at all, and a crash leaves at most an invisible file in ``tmp/``.
- ``receive`` claims by ``os.rename`` from ``new/`` to ``cur/``: the rename is atomic, so of two consumers
  racing for a file exactly one wins.  The claim's name carries its delivery count and deadline.
- ``ack`` deletes the claim; ``nack`` renames it back to ``new/`` (same position: names sort by send time)
  or to ``dead/``; ``close`` gives back this instance's claims.
- An entry of ``new/`` that is no readable regular file (a directory, pipe, symlink, a file that cannot be
  opened) is moved to ``dead/<name>.unreadable`` and skipped: it never fails ``receive`` nor hides what follows.
- Claims whose deadline passed (a consumer crashed or stalled) are moved back to ``new/`` by any consumer
  of that node.  ``reclaim_on_open=True`` gives back *every* claim at start-up: use it only when this process
  is the sole consumer of the tree (a node restarting after a crash).

File names start with the send time (microseconds) and a per-instance counter, so ``new/`` sorted by name is
FIFO per recipient (between two sending instances, to the clock's resolution).  Deadlines are written to
disk, so the default clock is the wall clock (``time.time``): every process reading the tree must agree on
it.  A virtual clock is fine for a single-process simulation.

Must not import lxml, sqlalchemy, docflow.store or docflow.xml.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import stat
import struct
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from docflow.errors import ConfigError, TransportError
from docflow.transports.base import Delivery, Message, TransportBase, check_node

MAGIC = b"DFMSG1\n"
_LENGTH = struct.Struct(">I")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_SUBDIRS = ("tmp", "new", "cur", "dead")


def encode_message(message: Message) -> bytes:
    """The on-disk form of ``message``."""
    header = {
        "id": message.message_id,
        "sender": message.sender,
        "recipient": message.recipient,
        "kind": message.kind,
        "headers": dict(message.headers),
        "size": len(message.body),
    }
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return b"".join((MAGIC, _LENGTH.pack(len(raw)), raw, message.body))


def decode_message(data: bytes) -> Message:
    """Read the on-disk form back; raise ``TransportError`` for anything truncated or foreign."""
    start = len(MAGIC) + _LENGTH.size
    if not data.startswith(MAGIC) or len(data) < start:
        raise TransportError("not a docflow message file (bad magic or truncated)")
    (size,) = _LENGTH.unpack_from(data, len(MAGIC))
    try:
        header = json.loads(data[start : start + size])
        body = data[start + size :]
        if len(body) != header["size"]:
            raise TransportError(f"message file truncated: body is {len(body)} bytes, header says {header['size']}")
        return Message(header["id"], header["sender"], header["recipient"], header["kind"], body, header["headers"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError(f"unreadable message file header: {exc}") from exc


class FilesystemTransport(TransportBase):
    """Queues under ``root``, one directory per recipient node."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        visibility_timeout: float = 30.0,
        fsync: bool = True,
        reclaim_on_open: bool = False,
        tmp_grace: float = 3600.0,
    ) -> None:
        if visibility_timeout <= 0:
            raise ConfigError(f"visibility_timeout must be positive, not {visibility_timeout!r}")
        self.root = Path(root)
        self.clock = clock
        self.visibility_timeout = float(visibility_timeout)
        self.fsync = fsync
        self._token = os.urandom(4).hex()
        self._seq = itertools.count()
        self._last_stamp = 0
        self._claims: set[tuple[str, str]] = set()  # (node, cur name) claimed by this instance
        self._ready: set[str] = set()
        self._dirs: dict[tuple[str, str], str] = {}
        self._closed = False
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._clean_tmp(tmp_grace)
            if reclaim_on_open:
                for node in self._nodes():
                    self._reclaim(node, deadline_before=None)
        except OSError as exc:
            raise TransportError(f"cannot open queue directory {self.root}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str, **options: object) -> FilesystemTransport:
        """``file:///absolute/path`` or ``file:relative/path`` (options go to the constructor)."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"file URL {url!r} names host {parts.netloc!r}: use file:///absolute/path")
        if not parts.path:
            raise ConfigError(f"file URL {url!r} has no path")
        return cls(unquote(parts.path), **options)  # type: ignore[arg-type]

    # -- layout ----------------------------------------------------------------------------------------
    def _dir(self, node: str, sub: str) -> str:
        # Plain strings, computed once per node and kept: pathlib costs more than the syscalls on this path.
        key = (node, sub)
        path = self._dirs.get(key)
        if path is None:
            path = self._dirs[key] = os.path.join(self.root, node, sub)
        return path

    def _ensure(self, node: str) -> None:
        if node not in self._ready:
            for sub in _SUBDIRS:
                os.makedirs(self._dir(node, sub), exist_ok=True)
            self._ready.add(node)

    def _nodes(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "new").is_dir())

    def _clean_tmp(self, grace: float) -> None:
        cutoff = time.time() - grace  # file mtimes are wall-clock times, whatever clock the queues use
        for node in self._nodes():
            for entry in os.scandir(self._dir(node, "tmp")):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime <= cutoff:
                        os.unlink(entry.path)

    def _sync_dir(self, path: str) -> None:
        if self.fsync:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"filesystem transport at {self.root} is closed")

    # -- sending ---------------------------------------------------------------------------------------
    def send(self, message: Message) -> None:
        self._check_open()
        node = message.recipient
        stamp = max(self._last_stamp, int(max(self.clock(), 0.0) * 1_000_000))
        self._last_stamp = stamp
        safe_id = _UNSAFE.sub("_", message.message_id)[:64]
        base = f"{stamp:020d}-{next(self._seq):08d}-{self._token}-{safe_id}"
        try:
            self._ensure(node)
            tmp = os.path.join(self._dir(node, "tmp"), base)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(encode_message(message))
                    fh.flush()
                    if self.fsync:
                        os.fsync(fh.fileno())
                os.replace(tmp, os.path.join(self._dir(node, "new"), f"{base}~0"))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._sync_dir(self._dir(node, "new"))
        except OSError as exc:
            raise TransportError(f"cannot queue message {message.message_id} for {node}: {exc}", node=node) from exc

    # -- receiving -------------------------------------------------------------------------------------
    def receive(self, node: str, *, limit: int = 100) -> list[Delivery]:
        self._check_open()
        check_node(node)
        self._check_limit(limit)
        now = self.clock()
        out: list[Delivery] = []
        try:
            self._ensure(node)
            self._reclaim(node, deadline_before=now)
            new_dir, cur_dir = self._dir(node, "new"), self._dir(node, "cur")
            deadline = int((now + self.visibility_timeout) * 1_000_000)
            for entry in sorted(os.scandir(new_dir), key=_name):
                if len(out) >= limit:
                    break
                name = entry.name
                if not entry.is_file(follow_symlinks=False):
                    self._set_aside(node, new_dir, name, name.rpartition("~")[0] or name)
                    continue  # a directory, pipe, socket or symlink is no message: never read it
                base, _, count = name.rpartition("~")
                if not base or not count.isdigit():
                    continue  # not ours
                attempt = int(count) + 1
                claimed = f"{base}~{attempt}~{deadline}"
                try:
                    os.rename(os.path.join(new_dir, name), os.path.join(cur_dir, claimed))
                except FileNotFoundError:
                    continue  # another consumer claimed it first
                try:
                    message = decode_message(_read(os.path.join(cur_dir, claimed)))
                except FileNotFoundError:
                    continue  # swept away meanwhile
                except OSError:
                    self._set_aside(node, cur_dir, claimed, base)
                    continue
                except TransportError:
                    os.replace(os.path.join(cur_dir, claimed), os.path.join(self._dir(node, "dead"), f"{base}.corrupt"))
                    continue
                self._claims.add((node, claimed))
                out.append(Delivery(message, f"{node}/{claimed}", attempt))
        except OSError as exc:
            raise TransportError(f"cannot read queue of {node}: {exc}", node=node) from exc
        return out

    def _set_aside(self, node: str, folder: str, name: str, base: str) -> None:
        """Move an entry that cannot be read as a message into ``dead/`` as ``<base>.unreadable`` (kept for a
        person to look at), so it neither fails every later ``receive`` nor hides the messages after it."""
        dead = self._dir(node, "dead")
        target = os.path.join(dead, f"{base}.unreadable")
        suffix = itertools.count(1)
        while os.path.lexists(target):
            target = os.path.join(dead, f"{base}.{self._token}-{next(suffix)}.unreadable")
        with contextlib.suppress(FileNotFoundError):  # another consumer set it aside first
            os.rename(os.path.join(folder, name), target)

    def _reclaim(self, node: str, *, deadline_before: float | None) -> int:
        """Move claims back to ``new/``: those past their deadline, or all of them (``None``)."""
        cur_dir, new_dir = self._dir(node, "cur"), self._dir(node, "new")
        limit = None if deadline_before is None else int(deadline_before * 1_000_000)
        moved = 0
        for name in os.listdir(cur_dir):
            base, count, deadline = _parse_claim(name)
            if base is None or (limit is not None and deadline > limit):
                continue
            with contextlib.suppress(FileNotFoundError):  # acked or reclaimed meanwhile
                os.rename(os.path.join(cur_dir, name), os.path.join(new_dir, f"{base}~{count}"))
                moved += 1
        return moved

    def _settle(self, delivery: Delivery, target: str | None) -> None:
        self._check_open()
        node, _, claimed = delivery.receipt.partition("/")
        base, count, deadline = _parse_claim(claimed)
        if base is None:
            raise TransportError(f"not a receipt of this transport: {delivery.receipt!r}", node=node)
        self._claims.discard((node, claimed))
        path = os.path.join(self._dir(node, "cur"), claimed)
        if deadline <= self.clock() * 1_000_000:
            target = "new"  # the claim has lapsed: the message goes back, whatever the late caller says
        try:
            if target is None:
                os.unlink(path)
            else:
                os.rename(path, os.path.join(self._dir(node, target), f"{base}~{count}"))
        except FileNotFoundError:
            return  # the claim lapsed and was given back: the newer delivery wins
        except OSError as exc:
            raise TransportError(f"cannot settle {delivery.receipt}: {exc}", node=node) from exc

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, None)

    def nack(self, delivery: Delivery, *, requeue: bool = True) -> None:
        self._settle(delivery, "new" if requeue else "dead")

    def pending(self, node: str) -> int:
        check_node(node)
        try:
            return sum(len(os.listdir(self._dir(node, sub))) for sub in ("new", "cur"))
        except FileNotFoundError:
            return 0

    def dead_letters(self, node: str) -> list[Message]:
        """Messages for ``node`` nacked with ``requeue=False``, oldest first (unreadable files are skipped)."""
        dead = self._dir(check_node(node), "dead")
        if not os.path.isdir(dead):
            return []
        out = []
        for name in sorted(os.listdir(dead)):
            with contextlib.suppress(TransportError, OSError):  # unreadable entries stay for a person
                out.append(decode_message(_read(os.path.join(dead, name))))
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for node, claimed in sorted(self._claims):
            base, count, _ = _parse_claim(claimed)
            with contextlib.suppress(FileNotFoundError):
                os.rename(
                    os.path.join(self._dir(node, "cur"), claimed),
                    os.path.join(self._dir(node, "new"), f"{base}~{count}"),
                )
        self._claims.clear()


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _read(path: str) -> bytes:
    """The bytes of a regular file; ``OSError`` for anything else (never blocks on a pipe, never follows a link)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return fh.read()


def _parse_claim(name: str) -> tuple[str | None, int, int]:
    """``base~count~deadline`` -> (base, count, deadline); (None, 0, 0) for a name that is not a claim."""
    parts = name.rsplit("~", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None, 0, 0
    return parts[0], int(parts[1]), int(parts[2])

"""Foreign entries dropped into a file spool's ``new/``: each is set aside in ``dead/``, never fatal, never blocking.

An operator (or a broken tool) may leave a directory, a named pipe, a dangling or looping symlink or a file that
cannot be read among the messages.  ``receive`` must hand out every real message sorted after it, on this call
and after any number of visibility timeouts, and keep the entry in ``dead/`` for a person to look at.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from docflow.domain.clock import ManualClock
from docflow.transports import Message
from docflow.transports.filesystem import FilesystemTransport

A = "000.00.00.H29"
#: Sorts before every message docflow writes (names start with the send time in microseconds).
FIRST = "00000000000000000000-00000000-feed-odd"


def msg(n: int) -> Message:
    return Message(f"M-{n}", "000.00.00.G22", A, "edoc", b"payload %d" % n, {"n": str(n)})


def spool(tmp_path: Path) -> tuple[FilesystemTransport, ManualClock]:
    clock = ManualClock(seconds=1000.0)
    transport = FilesystemTransport(tmp_path, clock=clock.time, fsync=False, visibility_timeout=30.0)
    for n in (1, 2):
        transport.send(msg(n))
    return transport, clock


def receive_ids(transport: FilesystemTransport) -> list[str]:
    """Receive in a thread so a regression that blocks (reading a pipe) fails the test instead of hanging it."""
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(transport.receive(A, limit=100)), daemon=True)
    worker.start()
    worker.join(10.0)
    assert not worker.is_alive(), "receive blocked on an entry of new/"
    [result] = got
    if isinstance(result, BaseException):
        raise result
    return [d.message.message_id for d in result]  # type: ignore[attr-defined]


def make_directory(new: Path, name: str) -> None:
    (new / name).mkdir()
    (new / name / "inside").write_bytes(b"x")


def make_pipe(new: Path, name: str) -> None:
    os.mkfifo(new / name)


def make_dangling_link(new: Path, name: str) -> None:
    (new / name).symlink_to(new / "nowhere")


def make_looping_link(new: Path, name: str) -> None:
    (new / name).symlink_to(new / name)


def make_link_to_directory(new: Path, name: str) -> None:
    (new.parent / "elsewhere").mkdir()
    (new / name).symlink_to(new.parent / "elsewhere")


ENTRIES = {
    "directory": make_directory,
    "named pipe": make_pipe,
    "dangling symlink": make_dangling_link,
    "looping symlink": make_looping_link,
    "symlink to a directory": make_link_to_directory,
}


@pytest.mark.parametrize("kind", sorted(ENTRIES))
@pytest.mark.parametrize("name", [f"{FIRST}~0", f"{FIRST}-no-count"], ids=["claimable-name", "foreign-name"])
def test_a_foreign_entry_goes_to_dead_and_the_messages_after_it_are_received(tmp_path: Path, kind: str, name: str):
    transport, clock = spool(tmp_path)
    new = tmp_path / A / "new"
    ENTRIES[kind](new, name)
    assert receive_ids(transport) == ["M-1", "M-2"]
    dead = os.listdir(tmp_path / A / "dead")
    assert len(dead) == 1 and dead[0].startswith(FIRST) and dead[0].endswith(".unreadable")
    assert not os.path.lexists(new / name)
    clock.advance(31.0)  # the claims lapse: both messages come back, and nothing raises
    assert receive_ids(transport) == ["M-1", "M-2"]
    assert transport.pending(A) == 2
    assert transport.dead_letters(A) == []  # the entry is kept for a person, not read as a message


def test_a_file_that_cannot_be_read_is_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    transport, _clock = spool(tmp_path)
    (tmp_path / A / "new" / f"{FIRST}~0").write_bytes(b"secret")
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if FIRST in str(path):  # root ignores file modes, so the refusal is simulated where files are opened
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    assert receive_ids(transport) == ["M-1", "M-2"]
    assert os.listdir(tmp_path / A / "dead") == [f"{FIRST}.unreadable"]


def test_entries_of_the_same_name_set_aside_twice_do_not_collide(tmp_path: Path):
    transport, _clock = spool(tmp_path)
    new = tmp_path / A / "new"
    make_directory(new, f"{FIRST}~0")
    assert receive_ids(transport) == ["M-1", "M-2"]
    make_directory(new, f"{FIRST}~0")
    transport.send(msg(3))
    assert receive_ids(transport) == ["M-3"]
    assert len(os.listdir(tmp_path / A / "dead")) == 2

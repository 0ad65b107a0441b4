"""Opening transports by URL: built-in schemes, entry-point plug-ins, clear errors, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from docflow.errors import ConfigError
from docflow.transports import Message, Transport, known_schemes, open_transport, registry
from docflow.transports.filesystem import FilesystemTransport
from docflow.transports.memory import MemoryTransport


def test_builtin_schemes_open_the_right_transport(tmp_path: Path):
    assert isinstance(open_transport("memory://"), MemoryTransport)
    opened = open_transport(f"file://{tmp_path}/q", fsync=False)
    assert isinstance(opened, FilesystemTransport)
    assert opened.root == tmp_path / "q"
    assert isinstance(open_transport("file:relative/q", fsync=False).root, Path)
    assert {"memory", "file", "amqp", "amqps"} <= set(known_schemes())


def test_options_reach_the_transport():
    transport = open_transport("memory://", visibility_timeout=3.5)
    assert isinstance(transport, MemoryTransport)
    assert transport.visibility_timeout == 3.5


def test_unknown_scheme_names_itself_and_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        open_transport("carrier-pigeon://loft/7")
    text = str(caught.value)
    assert "'carrier-pigeon'" in text
    assert "memory" in text and "file" in text and "amqp" in text


def test_url_without_scheme_is_a_config_error():
    with pytest.raises(ConfigError, match="no scheme"):
        open_transport("/var/spool/docflow")


def test_file_url_with_a_host_is_refused():
    with pytest.raises(ConfigError, match="file:///"):
        open_transport("file://fileserver/share/q")


def _with_plugins(monkeypatch: pytest.MonkeyPatch, *points: EntryPoint) -> None:
    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        return [p for p in points if p.group == group]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)


def test_third_party_transport_is_found_by_entry_point(monkeypatch: pytest.MonkeyPatch):
    plugin = EntryPoint("loopback", "docflow.transports.memory:MemoryTransport.from_url", registry.ENTRY_POINT_GROUP)
    _with_plugins(monkeypatch, plugin)
    assert "loopback" in known_schemes()
    transport = open_transport("loopback://anything")
    assert isinstance(transport, Transport)
    transport.send(Message("M-1", "a", "000.00.00.H29", "status", b"ok"))
    assert transport.pending("000.00.00.H29") == 1


def test_builtin_wins_over_a_plugin_of_the_same_name(monkeypatch: pytest.MonkeyPatch):
    impostor = EntryPoint("memory", "no.such.module:factory", registry.ENTRY_POINT_GROUP)
    _with_plugins(monkeypatch, impostor)
    assert isinstance(open_transport("memory://"), MemoryTransport)


def test_broken_plugin_is_a_config_error(monkeypatch: pytest.MonkeyPatch):
    _with_plugins(monkeypatch, EntryPoint("broken", "no.such.module:factory", registry.ENTRY_POINT_GROUP))
    with pytest.raises(ConfigError, match="broken") as caught:
        open_transport("broken://x")
    assert isinstance(caught.value.__cause__, ImportError)


def test_importing_transports_loads_no_driver_and_no_forbidden_layer():
    code = (
        "import sys, docflow.transports, docflow.transports.memory, docflow.transports.filesystem\n"
        "print(sorted(m for m in ('pika', 'lxml', 'sqlalchemy', 'docflow.store', 'docflow.xml',"
        " 'docflow.transports.amqp') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

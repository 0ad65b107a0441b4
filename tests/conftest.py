"""Shared fixtures: the vendor's sample messages, service URLs, and a guard against outside network use."""

from __future__ import annotations

import gc
import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_backends import pg_store_url  # noqa: F401 - the session's private PostgreSQL schema (a fixture)

_HERE = Path(__file__).resolve().parent


def samples_dir() -> Path | None:
    """Where the vendor's real edXML samples are: $DOCFLOW_SAMPLES_DIR or ../shared/samples/edxml."""
    env = os.environ.get("DOCFLOW_SAMPLES_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(_HERE.parent.parent / "shared" / "samples" / "edxml")
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.edxml")):
            return candidate
    return None


@pytest.fixture(scope="session")
def samples() -> Path:
    """The folder of real samples; tests using it skip where it is absent (they are third-party data)."""
    found = samples_dir()
    if found is None:
        pytest.skip("vendor sample messages not found: set DOCFLOW_SAMPLES_DIR or place ../shared/samples/edxml")
    return found


@pytest.fixture(scope="session", autouse=True)
def _audit_key_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's audit keys live in a temporary directory (shared with worker processes), never in $HOME."""
    directory = tmp_path_factory.mktemp("audit-keys")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCFLOW_AUDIT_KEYS", str(directory))
        yield directory


@pytest.fixture(autouse=True)
def audit_keys(_audit_key_directory: Path) -> Path:
    """The audit key directory, without the checkpoints of earlier tests: a PostgreSQL schema is emptied between
    tests, which is exactly what a checkpoint is there to notice."""
    shutil.rmtree(_audit_key_directory / "checkpoints", ignore_errors=True)
    return _audit_key_directory


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("DOCFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DOCFLOW_TEST_POSTGRES_URL is unset: no PostgreSQL to test against")
    return url


@pytest.fixture(scope="session")
def amqp_url() -> str:
    url = os.environ.get("DOCFLOW_TEST_AMQP_URL")
    if not url:
        pytest.skip("DOCFLOW_TEST_AMQP_URL is unset: no RabbitMQ to test against")
    return url


def _is_local(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _release_postgres_connections(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used PostgreSQL, collect the stores it left unclosed (their pools hold connections):
    the server allows 100 clients, and a suite of a thousand tests would otherwise run out of them."""
    yield
    if "postgres" in request.node.nodeid or "pg" in request.fixturenames or "postgres_url" in request.fixturenames:
        gc.collect()


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test: docflow must never reach outside."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(sock: socket.socket, address: object, *, _real: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(host):
            raise AssertionError(f"test tried to reach the outside network: {address!r}")
        return _real(sock, address)  # type: ignore[operator]

    monkeypatch.setattr(socket.socket, "connect", lambda s, a: guarded(s, a, _real=real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda s, a: guarded(s, a, _real=real_connect_ex))


@pytest.fixture(params=["sqlite", "postgres"])
def engine_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for engine tests: a SQLite file, and an emptied private PostgreSQL schema (skipped
    where DOCFLOW_TEST_POSTGRES_URL is unset), so the same tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'engine.db'}"
    from store_backends import empty_postgres_store

    url = request.getfixturevalue("pg_store_url")
    empty_postgres_store(url).close()
    return url

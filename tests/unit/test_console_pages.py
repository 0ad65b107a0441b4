"""The operator console's pages through Starlette's TestClient: login refused and accepted, CSRF refused,
every page rendered with data, and each action changing the store and recorded in the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from console_data import COMMUNE, HOSTILE_REASON, OPERATOR, PASSWORD, PROVINCE, Seeded, operators_file, seed
from starlette.applications import Starlette
from starlette.testclient import TestClient

from docflow.bootstrap import build_network
from docflow.console import operators
from docflow.console.service import Console
from docflow.console.web import LOGIN_FAILURES_PER_NAME, age, console_routes
from docflow.domain.clock import ManualClock
from docflow.domain.events import OperatorActed
from docflow.errors import ConfigError
from docflow.services import Network
from docflow.store import console_queries


@dataclass
class Served:
    client: TestClient
    net: Network
    clock: ManualClock
    seeded: Seeded


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    clock = ManualClock()
    seeded = seed(url, clock)
    operators_file(tmp_path / "operators.toml")
    net = build_network(db=url, clock=clock)  # a transport that works: a retried message goes out
    console = Console(net, overdue_after=timedelta(hours=24))
    app = Starlette(routes=console_routes(console, operators.load(tmp_path / "operators.toml")))
    with TestClient(app, follow_redirects=False) as client:
        yield Served(client, net, clock, seeded)
    net.ctx.store.close()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def login(client: TestClient, name: str = OPERATOR, password: str = PASSWORD, next: str = ""):
    token = csrf(client.get("/console/login").text)
    return client.post("/console/login", data={"csrf": token, "name": name, "password": password, "next": next})


def test_every_page_needs_a_login_and_says_where_to_go(served: Served) -> None:
    for page in ("/console/", "/console/quarantine", "/console/dead", "/console/audit", "/console/quarantine/1"):
        answer = served.client.get(page)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")
    assert served.client.get("/console", follow_redirects=True).url.path == "/console/login"


def test_a_wrong_password_or_an_unknown_name_is_refused(served: Served) -> None:
    for name, password in ((OPERATOR, "wrong"), ("nobody", PASSWORD), (OPERATOR, "")):
        answer = login(served.client, name, password)
        assert answer.status_code == 401
        assert "Wrong name or password." in answer.text
    assert served.client.get("/console/").status_code == 303


def test_a_post_without_its_csrf_token_is_refused(served: Served) -> None:
    answer = served.client.post("/console/login", data={"name": OPERATOR, "password": PASSWORD})
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert login(served.client).status_code == 303
    seeded = served.seeded
    for data in ({}, {"csrf": "forged"}):
        answer = served.client.post(f"/console/quarantine/{seeded.quarantine_id}/purge", data=data)
        assert answer.status_code == 403
    message = served.net.dead()[0].message_id
    assert served.client.post("/console/dead/retry", data={"message_id": message, "csrf": "x"}).status_code == 403
    assert len(served.net.quarantine()) == 1 and len(served.net.dead()) == 1  # nothing moved


def test_failed_logins_are_throttled_per_name_and_the_password_is_not_checked_meanwhile(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(LOGIN_FAILURES_PER_NAME):
        assert login(served.client, OPERATOR, "guess").status_code == 401
    checks: list[str] = []
    real_check = operators.Operators.check

    def counted(self: operators.Operators, name: str, password: str) -> bool:
        checks.append(name)
        return real_check(self, name, password)

    monkeypatch.setattr(operators.Operators, "check", counted)
    answer = login(served.client)  # even the right password waits: a guesser cannot tell
    assert answer.status_code == 429 and "Too many failed logins" in answer.text
    assert 0 < int(answer.headers["Retry-After"]) <= 900 and checks == []
    assert served.client.get("/console/").status_code == 303  # not logged in
    assert login(served.client, "another", "guess").status_code == 401 and checks == ["another"]


def test_login_goes_where_the_operator_was_going(served: Served) -> None:
    answer = login(served.client, next="/console/dead")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/dead"
    answer = login(served.client, next="https://elsewhere.example/")
    assert answer.headers["location"] == "/console/"


def test_every_page_renders_what_the_store_holds(served: Served) -> None:
    login(served.client)
    served.clock.advance(25 * 3600)
    get = served.client.get
    seeded = served.seeded

    overview = get("/console/").text
    assert "Queues and outboxes per agency" in overview
    assert PROVINCE in overview and COMMUNE in overview  # the given-up message and the quarantined entry
    assert "UBND tỉnh Tiền Giang" in overview  # agencies are named, not only coded

    overdue = get("/console/overdue").text
    assert "not moved for more than <strong>1 d</strong>" in overdue
    assert seeded.dead_document in overdue and "dead" in overdue and "1 d 1 h" in overdue

    quarantine = get("/console/quarantine").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in quarantine
    assert "<script>" not in quarantine
    entry = get(f"/console/quarantine/{seeded.quarantine_id}").text
    assert "&lt;?xml" in entry and "Báo cáo tình hình" in entry and "waiting for an operator" in entry
    assert get("/console/quarantine/999").status_code == 404

    dead = get("/console/dead").text
    assert seeded.dead_document in dead and "Retry" in dead and "Purge" in dead

    trace = get("/console/trace", params={"doc": seeded.dead_document}).text
    assert "sent to 000.20.50.H58" in trace and "given up after 1 attempts" in trace
    assert "No step is recorded" in get("/console/trace", params={"doc": "nothing"}).text

    audit = get("/console/audit").text
    assert "Intact" in audit and "No operator has acted yet." in audit


def test_retry_and_purge_of_a_dead_letter_change_the_store(served: Served) -> None:
    html = login(served.client, next="/console/dead") and served.client.get("/console/dead").text
    token, message = csrf(html), served.net.dead()[0].message_id
    answer = served.client.post("/console/dead/retry", data={"csrf": token, "message_id": message})
    assert answer.status_code == 303
    assert "1 given-up message(s) queued again." in served.client.get(answer.headers["location"]).text
    assert served.net.dead() == []
    assert [d.state for d in served.net.node(PROVINCE).deliveries(served.seeded.dead_document)] == ["arrived"]
    again = served.client.post("/console/dead/purge", data={"csrf": token, "message_id": message, "confirm": "yes"})
    assert "no given-up message" in served.client.get(again.headers["location"]).text

    kinds = [step.event for step in served.net.trace(served.seeded.dead_document)]
    acted = [e for e in kinds if isinstance(e, OperatorActed)]
    assert [(e.operator, e.action, e.node) for e in acted] == [(OPERATOR, "retry", PROVINCE)]
    assert served.net.ctx.store.verify_audit().ok


def test_a_purge_asks_again_and_cancel_leaves_everything(served: Served) -> None:
    login(served.client)
    token = csrf(served.client.get("/console/dead").text)
    message = served.net.dead()[0].message_id
    asked = served.client.post("/console/dead/purge", data={"csrf": token, "message_id": message})
    assert asked.status_code == 200 and "Purge given-up message" in asked.text and 'href="/console/dead"' in asked.text
    assert f'name="message_id" value="{message}"' in asked.text and 'name="confirm" value="yes"' in asked.text
    assert len(served.net.dead()) == 1  # cancelled by not confirming: still there
    done = served.client.post("/console/dead/purge", data={"csrf": token, "message_id": message, "confirm": "yes"})
    assert "1 given-up message(s) deleted." in served.client.get(done.headers["location"]).text
    assert served.net.dead() == []


def test_release_retry_and_purge_of_quarantined_bytes(served: Served) -> None:
    login(served.client)
    token = csrf(served.client.get("/console/quarantine").text)
    first = served.seeded.quarantine_id
    served.client.post(f"/console/quarantine/{first}/release", data={"csrf": token})
    page = served.client.get("/console/quarantine").text
    assert "released (marked handled)" in page and f"released by {OPERATOR}" in page
    assert len(served.net.quarantine()) == 1  # released entries stay, for the record

    answer = served.client.post(f"/console/quarantine/{first}/retry", data={"csrf": token})
    assert "handed back to 000.20.50.H58" in served.client.get(answer.headers["location"]).text
    assert served.net.quarantine() == []
    received = served.net.node(COMMUNE).inbox()
    assert [r.document_id for r in received] == [served.seeded.quarantined_document]

    body = b"<not-edxml/>"
    from console_data import quarantine

    second = quarantine(served.net, COMMUNE, body)
    answer = served.client.post(f"/console/quarantine/{second}/retry", data={"csrf": token})
    assert "cannot be retried" in served.client.get(answer.headers["location"]).text
    assert len(served.net.quarantine()) == 1  # bytes that still do not read stay
    asked = served.client.post(f"/console/quarantine/{second}/purge", data={"csrf": token})
    assert asked.status_code == 200 and f"Purge quarantined entry {second}?" in asked.text
    assert len(served.net.quarantine()) == 1  # asked again, nothing deleted yet
    confirmed = served.client.post(
        f"/console/quarantine/{second}/purge", data={"csrf": csrf(asked.text), "confirm": "yes"}
    )
    assert confirmed.status_code == 303
    assert served.net.quarantine() == []

    audit = served.client.get("/console/audit").text
    assert [a in audit for a in ("release", "retry", "purge", "bytes deleted", "handed back")] == [True] * 5
    with served.net.ctx.store.snapshot() as repo:
        acted = [(e.node, e.detail["action"]) for e in console_queries.operator_actions(repo)]
    assert acted == [(COMMUNE, "purge"), (COMMUNE, "retry"), (COMMUNE, "release")]
    assert served.net.ctx.store.verify_audit().ok


def test_a_release_older_than_an_entry_is_not_its_release(served: Served) -> None:
    login(served.client)
    token = csrf(served.client.get("/console/quarantine").text)
    first = served.seeded.quarantine_id
    served.client.post(f"/console/quarantine/{first}/release", data={"csrf": token})
    served.client.post(f"/console/quarantine/{first}/purge", data={"csrf": token, "confirm": "yes"})
    served.clock.advance(60)
    from console_data import quarantine

    again = quarantine(served.net, COMMUNE, b"<later/>")
    assert again == first  # SQLite gives the new entry the id of the deleted one
    page = served.client.get(f"/console/quarantine/{again}").text
    assert "waiting for an operator" in page and HOSTILE_REASON[:30] in page


def test_logout_ends_the_session(served: Served) -> None:
    login(served.client)
    token = csrf(served.client.get("/console/").text)
    assert served.client.post("/console/logout", data={"csrf": token}).status_code == 303
    assert served.client.get("/console/").status_code == 303


def test_the_operators_file_keeps_only_hashes(tmp_path: Path) -> None:
    path = tmp_path / "ops.toml"
    operators.save_operator(path, "lan", "s3cret")
    text = path.read_text()
    assert "s3cret" not in text and "scrypt$" in text
    loaded = operators.load(path)
    assert loaded.check("lan", "s3cret") and not loaded.check("lan", "S3cret") and not loaded.check("x", "s3cret")
    key = loaded.session_key()
    assert key == operators.load(path).session_key() and len(key) == 64
    assert (tmp_path / "ops.toml.session-key").stat().st_mode & 0o077 == 0
    path.write_text('[[operator]]\nname = "lan"\npassword = "s3cret"\n')
    with pytest.raises(ConfigError, match="must be a scrypt hash"):
        operators.load(path)
    with pytest.raises(ConfigError, match="no operators file"):
        operators.load(tmp_path / "missing.toml")


def test_ages_read_as_a_person_says_them() -> None:
    assert [age(timedelta(seconds=s)) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "5 s",
        "2 min",
        "3 h 05 min",
        "2 d 4 h",
    ]
    assert age(timedelta(days=1)) == "1 d"
    assert age(None) == "—"


def test_a_quarantined_status_retried_moves_the_delivery_it_answers(served: Served) -> None:
    from console_data import quarantine

    from docflow.domain.status import StatusCode, StatusMessage
    from docflow.services.outgoing import response_for
    from docflow.xml import write_status

    login(served.client)
    token = csrf(served.client.get("/console/dead").text)
    message = served.net.dead()[0].message_id
    served.client.post("/console/dead/retry", data={"csrf": token, "message_id": message})
    document = served.seeded.dead_document
    ctx = served.net.ctx
    status = StatusMessage(
        sender=ctx.organization(COMMUNE),
        response_for=response_for(document, PROVINCE),
        status=StatusCode.ACCEPTED,
        timestamp=ctx.clock.now(),
        description="Đã tiếp nhận",
    )
    entry = quarantine(served.net, PROVINCE, write_status(status))
    answer = served.client.post(f"/console/quarantine/{entry}/retry", data={"csrf": token})
    assert (
        f"status {document} from {COMMUNE} handed back to {PROVINCE}"
        in served.client.get(answer.headers["location"]).text
    )
    assert [d.state for d in served.net.node(PROVINCE).deliveries(document)] == ["accepted"]

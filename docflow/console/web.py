"""The operator console's pages (Starlette, Jinja2 templates shipped in ``docflow/console/templates``).

Server-rendered HTML and plain forms, no JavaScript.  A signed session cookie (Starlette's
``SessionMiddleware``, keyed by ``Operators.session_key``) holds the operator's name and a CSRF token that
every POST form carries back; a page asked for without a session sends the browser to the login form.  Failed
logins are throttled per operator name and per client address (``docflow.console.throttle``): past the limit
the form answers 429 with when to try again, and no password is checked.
Mounted by ``docflow serve`` at ``/console`` (``console_routes``).
Must not import sqlalchemy or lxml; reads and acts only through ``docflow.console.service.Console``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.templating import Jinja2Templates

from docflow.console.operators import Operators
from docflow.console.service import Console, ConsoleError
from docflow.console.throttle import LoginThrottle

PREFIX = "/console"
TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_FORM = 64 * 1024
SESSION_HOURS = 12

Page = Callable[[Request], Awaitable[Response]]


def age(value: datetime | timedelta | None, now: datetime | None = None) -> str:
    """A duration a person reads: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``—`` for nothing."""
    if value is None:
        return "—"
    span = value if isinstance(value, timedelta) else (now or datetime.now()) - value
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    days, hours = seconds // 86400, seconds % 86400 // 3600
    return f"{days} d {hours} h" if hours else f"{days} d"


def _templates(console: Console) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["prefix"] = PREFIX
    templates.env.globals["agency_name"] = console.agency_name
    templates.env.filters["text"] = lambda data: data.decode("utf-8", "replace")
    return templates


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


#: Failed logins allowed per operator name, and per client address (several operators may share one), in
#: ``LOGIN_WINDOW`` seconds.
LOGIN_FAILURES_PER_NAME = 5
LOGIN_FAILURES_PER_ADDRESS = 20
LOGIN_WINDOW = 900.0


def console_app(
    console: Console, operators: Operators, *, throttles: tuple[LoginThrottle, LoginThrottle] | None = None
) -> Starlette:
    """The console as its own ASGI application (mount it at ``PREFIX``)."""
    templates = _templates(console)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        now = console.now
        context.update(
            operator=request.session.get("operator", ""),
            csrf=_csrf(request),
            flash=request.session.pop("flash", None),
            now=now,
            age=lambda value: age(value, now),
        )
        return templates.TemplateResponse(request, name, context, status_code=status)

    def guarded(page: Page) -> Page:
        async def endpoint(request: Request) -> Response:
            if not request.session.get("operator"):
                wanted = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"{PREFIX}/login?next={wanted}", status_code=303)
            return await page(request)

        return endpoint

    def posted(action: Callable[[Request, dict[str, str]], Awaitable[Response]]) -> Page:
        async def endpoint(request: Request) -> Response:
            form = await _form(request)
            expected = request.session.get("csrf")
            if not isinstance(expected, str) or not secrets.compare_digest(form.get("csrf", ""), expected):
                return render(request, "refused.html", 403, reason="The form was out of date (CSRF check failed).")
            return await action(request, form)

        return endpoint

    def confirm(
        request: Request, form: dict[str, str], back: str, question: str, consequence: str, **fields: str
    ) -> Response | None:
        """A purge deletes for good: the first POST answers a page asking again (a second form carrying
        ``confirm=yes``); None once confirmed."""
        if form.get("confirm") == "yes":
            return None
        return render(
            request,
            "confirm.html",
            question=question,
            consequence=consequence,
            action=str(request.url.path),
            fields=fields,
            verb="Purge",
            back=PREFIX + back,
        )

    def done(request: Request, where: str, message: str, ok: bool = True) -> Response:
        request.session["flash"] = {"ok": ok, "text": message}
        return RedirectResponse(PREFIX + where, status_code=303)

    async def login_page(request: Request) -> Response:
        return render(request, "login.html", next=request.query_params.get("next", ""))

    by_name, by_address = throttles or (
        LoginThrottle(LOGIN_FAILURES_PER_NAME, LOGIN_WINDOW),
        LoginThrottle(LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW),
    )

    async def login(request: Request, form: dict[str, str]) -> Response:
        name, password = form.get("name", ""), form.get("password", "")
        target = form.get("next", "")
        address = request.client.host if request.client is not None else ""
        wait = max(by_name.wait([name]), by_address.wait([address]))
        if wait > 0:
            minutes = max(1, round(wait / 60))
            error = f"Too many failed logins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
            refused = render(request, "login.html", 429, error=error, next=target)
            refused.headers["Retry-After"] = str(int(wait) + 1)
            return refused
        if not await run_in_threadpool(operators.check, name, password):
            by_name.failed([name])
            by_address.failed([address])
            return render(request, "login.html", 401, error="Wrong name or password.", next=target)
        by_name.succeeded(name)
        request.session.clear()
        request.session["operator"] = name
        _csrf(request)
        safe = target if target.startswith(PREFIX + "/") and "//" not in target else PREFIX + "/"
        return RedirectResponse(safe, status_code=303)

    async def logout(request: Request, form: dict[str, str]) -> Response:
        request.session.clear()
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    async def overview(request: Request) -> Response:
        queues = await run_in_threadpool(console.queues)
        return render(request, "overview.html", queues=queues)

    async def overdue(request: Request) -> Response:
        rows = await run_in_threadpool(console.overdue)
        return render(request, "overdue.html", rows=rows, limit=age(console.overdue_after))

    async def quarantine(request: Request) -> Response:
        entries = await run_in_threadpool(console.quarantine)
        released = await run_in_threadpool(console.released, entries)
        return render(request, "quarantine.html", entries=entries, released=released)

    async def quarantine_entry(request: Request) -> Response:
        try:
            entry = await run_in_threadpool(console.entry, int(request.path_params["entry"]))
        except ConsoleError as exc:
            return render(request, "refused.html", 404, reason=str(exc))
        released = await run_in_threadpool(console.released, [entry])
        return render(request, "entry.html", entry=entry, released=released.get(entry.id or 0))

    async def quarantine_action(request: Request, form: dict[str, str]) -> Response:
        entry, action = int(request.path_params["entry"]), request.path_params["action"]
        who = request.session["operator"]
        try:
            if action == "retry":
                outcome = await run_in_threadpool(console.retry_quarantined, who, entry)
                message = f"Entry {entry} retried: {outcome}."
            elif action == "release":
                await run_in_threadpool(console.release_quarantined, who, entry, form.get("note", ""))
                message = f"Entry {entry} released (marked handled)."
            elif action == "purge":
                asked = confirm(
                    request,
                    form,
                    "/quarantine",
                    f"Purge quarantined entry {entry}?",
                    "Its bytes are deleted for good (the audit log keeps that you did it); retry or release keep them.",
                )
                if asked is not None:
                    return asked
                await run_in_threadpool(console.purge_quarantined, who, entry)
                message = f"Entry {entry} purged."
            else:
                return render(request, "refused.html", 404, reason=f"unknown action {action[:20]!r}")
        except ConsoleError as exc:
            return done(request, "/quarantine", str(exc), ok=False)
        return done(request, "/quarantine", message)

    async def dead(request: Request) -> Response:
        rows = await run_in_threadpool(console.dead)
        return render(request, "dead.html", rows=rows)

    async def dead_action(request: Request, form: dict[str, str]) -> Response:
        action, message_id, who = request.path_params["action"], form.get("message_id", ""), request.session["operator"]
        try:
            if action == "retry":
                count = await run_in_threadpool(console.retry_dead, who, message_id)
                return done(request, "/dead", f"{count} given-up message(s) queued again.")
            if action == "purge":
                asked = confirm(
                    request,
                    form,
                    "/dead",
                    f"Purge given-up message {message_id[:80]}?",
                    "It is deleted for good and its delivery stays dead; retry queues it again instead.",
                    message_id=message_id,
                )
                if asked is not None:
                    return asked
                count = await run_in_threadpool(console.purge_dead, who, message_id)
                return done(request, "/dead", f"{count} given-up message(s) deleted.")
        except ConsoleError as exc:
            return done(request, "/dead", str(exc), ok=False)
        return render(request, "refused.html", 404, reason=f"unknown action {action[:20]!r}")

    async def trace(request: Request) -> Response:
        document = request.query_params.get("doc", "").strip()
        steps = await run_in_threadpool(console.trace, document) if document else []
        return render(request, "trace.html", document=document, steps=steps)

    async def audit(request: Request) -> Response:
        report = await run_in_threadpool(console.audit)
        actions = await run_in_threadpool(console.actions)
        return render(request, "audit.html", report=report, actions=actions)

    routes: list[BaseRoute] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", posted(login), methods=["POST"]),
        Route("/logout", guarded(posted(logout)), methods=["POST"]),
        Route("/", guarded(overview)),
        Route("/overdue", guarded(overdue)),
        Route("/quarantine", guarded(quarantine)),
        Route("/quarantine/{entry:int}", guarded(quarantine_entry)),
        Route("/quarantine/{entry:int}/{action}", guarded(posted(quarantine_action)), methods=["POST"]),
        Route("/dead", guarded(dead)),
        Route("/dead/{action}", guarded(posted(dead_action)), methods=["POST"]),
        Route("/trace", guarded(trace)),
        Route("/audit", guarded(audit)),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=operators.session_key(),
            session_cookie="docflow_console",
            max_age=SESSION_HOURS * 3600,
            path=PREFIX,
            same_site="strict",
        )
    ]
    return Starlette(routes=routes, middleware=middleware)


def console_routes(
    console: Console, operators: Operators, *, throttles: tuple[LoginThrottle, LoginThrottle] | None = None
) -> list[BaseRoute]:
    """Routes to put before the axis operations: ``/console`` (redirected to ``/console/``) and the console;
    ``throttles`` (per operator name, per client address) default to the limits above."""

    async def to_slash(request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    return [Route(PREFIX, to_slash), Mount(PREFIX, app=console_app(console, operators, throttles=throttles))]

"""``docflow inspect FILE``: print a readable summary of one edXML document or status message.

Kind, sender and recipients, DocumentId, code, subject, dates, document type, priority, business type,
trace, status code with its label and description, attachments (name, content type, decoded size).
An invalid or unsafe file prints its problems as ``INVALID <file>: <line>: <path>: <reason>`` on
stderr and exits 1.  Heavy imports stay inside ``run``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.domain.envelope import Envelope, Organization, TraceHeader
    from docflow.domain.status import StatusMessage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="an edXML document or status message")
    parser.add_argument("--strict", action="store_true", help="treat semantic warnings as errors")


def _org(org: Organization) -> str:
    name = org.organ_name or org.organization_in_charge
    return f"{org.organ_id} {name}".rstrip()


def _date(value: date | None) -> str:
    return value.strftime("%Y/%m/%d") if value is not None else "-"


def _trace(trace: tuple[TraceHeader, ...]) -> list[str]:
    return [f"trace:        {t.organ_id} at {t.timestamp:%Y/%m/%d %H:%M:%S}" for t in trace]


def summarize_envelope(env: Envelope) -> list[str]:
    """The lines ``inspect`` prints for a document."""
    dt = env.document_type
    detail = f", detail {dt.type_detail}" if dt.type_detail is not None else ""
    lines = [
        "kind:         document",
        f"from:         {_org(env.sender)}",
        *(f"to:           {_org(org)}" for org in env.recipients),
        f"document id:  {env.document_id}",
        f"code:         {env.code}",
        f"subject:      {env.subject}",
        f"promulgated:  {_date(env.promulgation.date)} {env.promulgation.place}".rstrip(),
        f"due:          {_date(env.due_date)}",
        f"type:         {dt.type_name or '-'} (type {dt.type}{detail})",
        f"priority:     {int(env.other.priority)} {env.other.priority.label}",
        f"business:     {int(env.business.doc_type)} {env.business.doc_type.name.lower()}"
        + (f" of {env.business.document_id}" if env.business.document_id else ""),
        *_trace(env.trace),
        f"signature:    {'present' if env.signature is not None else 'none'}",
    ]
    for att in env.attachments:
        lines.append(
            f"attachment:   {att.content_id} {att.attachment_name} ({att.content_type or '?'}, {att.size} bytes)"
        )
    return lines


def summarize_status(msg: StatusMessage) -> list[str]:
    """The lines ``inspect`` prints for a status message."""
    rf = msg.response_for
    lines = [
        "kind:         status",
        f"from:         {_org(msg.sender)}",
        f"to:           {rf.organ_id} (the original sender)",
        f"document id:  {rf.document_id}",
        f"code:         {rf.code}",
        f"promulgated:  {_date(rf.promulgation_date)}",
        f"status:       {msg.status.value} {msg.status.label}",
        f"description:  {msg.description}",
        f"timestamp:    {msg.timestamp:%Y/%m/%d %H:%M:%S}",
    ]
    if msg.staff is not None:
        lines.append(f"staff:        {msg.staff.staff} ({msg.staff.department}) {msg.staff.email}".rstrip())
    lines.extend(_trace(msg.trace))
    return lines


def run(args: argparse.Namespace) -> int:
    from docflow.domain.envelope import Envelope
    from docflow.errors import XMLError
    from docflow.xml import read_message

    name = args.file
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        print(f"INVALID {name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        msg = read_message(data, source=name, strict=args.strict)
    except XMLError as exc:
        for v in exc.violations:
            line = v.line if v.line is not None else "?"
            reason = f"{v.message} [{v.rule}]" if v.rule else v.message
            print(f"INVALID {name}: {line}: {v.path or '/'}: {reason}", file=sys.stderr)
        return 1
    lines = summarize_envelope(msg) if isinstance(msg, Envelope) else summarize_status(msg)
    print(f"file:         {name}")
    print("\n".join(lines))
    return 0

"""``docflow dossiers export --db URL --format dvcqg [--since DATE] [-o FILE]``: the portal feed as JSON.

Writes one JSON object: ``format``, ``since``, the counts, and ``calls`` — one ``DongBoHoSoMC`` call per
dossier (the newest copy among the agencies sharing the database, ``isUpdating`` true when it was filed
before ``--since``), then the history rows processed since then in ``CapNhatTienDoHoSoMC`` batches of 10,
in the portal's field names and ``yyyyMMddHHmmss`` dates (``docflow.domain.dossier_portal``).  A province
feeds its portal sync from this file.  Thin: reads with ``docflow.store.dossiers`` and maps the stored
message bytes with ``docflow.xml.dossier_xml`` (imported inside ``run``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from docflow.cli.db import DB_HELP, database_url

if TYPE_CHECKING:
    from docflow.domain.dossier import HistoryRow
    from docflow.store.dossiers import HistoryEntry

FORMATS = ("dvcqg",)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d")


def since_date(text: str) -> datetime:
    """An argparse type: ``2017-10-02``, ``2017/10/02``, ``2017-10-02T08:00:00`` or ``20171002080000``."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or yyyyMMddHHmmss")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="dossiers_action", metavar="ACTION")
    actions.required = True
    text = "write the portal feed (records and history) as JSON"
    export = actions.add_parser("export", help=text, description=text)
    export.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)
    export.add_argument("--format", choices=FORMATS, required=True, help="the portal's format (dvcqg: DVCQG)")
    export.add_argument(
        "--since",
        metavar="DATE",
        type=since_date,
        default=None,
        help="only what changed at or after DATE (records updated, history rows processed)",
    )
    export.add_argument("-o", "--output", type=Path, default=None, help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    from docflow.domain.dossier import format_portal_time
    from docflow.domain.dossier_portal import feed_calls, history_record
    from docflow.errors import ConfigError, StoreError
    from docflow.store import open_store
    from docflow.store.dossiers import feed_history, feed_records
    from docflow.store.engine import missing_sqlite_file
    from docflow.xml.dossier_xml import read_dossier

    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    with open_store(args.db, create=False) as store, store.snapshot() as repo:
        records = feed_records(repo, args.since)
        rows = feed_history(repo, args.since)
    dossiers = [read_dossier(r.body, source=f"dossier {r.code} at {r.node}").dossier for r in records]
    history = [history_record(row.code, _row(row)) for row in rows]
    feed = {
        "format": args.format,
        "since": format_portal_time(args.since) if args.since else None,
        "records": len(dossiers),
        "history_rows": len(history),
        "calls": feed_calls(dossiers, history, args.since),
    }
    text = json.dumps(feed, ensure_ascii=False, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}: {len(dossiers)} records, {len(history)} history rows", file=sys.stderr)
    return 0


def _row(e: HistoryEntry) -> HistoryRow:
    """A stored history entry as the domain row the portal mapping reads."""
    from docflow.domain.dossier import DossierState, HistoryRow
    from docflow.domain.ids import OrganId

    return HistoryRow(
        OrganId.parse(e.agency),
        e.actor,
        e.at,
        e.content,
        DossierState.from_code(e.state_code),
        e.title,
        e.department,
        e.started_at,
        e.step_due,
    )

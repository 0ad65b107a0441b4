"""``docflow db upgrade|current|stats --db URL``: migrate, show the revision, or print rows and bytes per table.

Thin: everything happens in ``docflow.store`` (imported inside ``run``).  Must not import SQLAlchemy.
"""

from __future__ import annotations

import argparse
import os

DB_HELP = "database URL or SQLite file path ending .db (default: $DOCFLOW_DB, else sqlite:///docflow.db)"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def database_url(text: str) -> str:
    """An argparse type for ``--db``: a URL, an existing file or a ``*.db`` path; a bare word is refused.

    A typo such as ``--db notaurl`` would otherwise become a new SQLite file of that name.
    """
    if "://" in text or os.path.isfile(text) or text.lower().endswith(SQLITE_SUFFIXES):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a database URL nor a SQLite file (*.db): "
        "e.g. sqlite:///docflow.db, docflow.db or postgresql://user@host/dbname"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("upgrade", "create the tables or migrate them to the newest revision (a no-op when up to date)"),
        ("current", "print the revision the database is at"),
        ("stats", "print rows and bytes per table (every table the database holds) and the total"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)


def run(args: argparse.Namespace) -> int:
    from docflow.store import head_revision, open_store
    from docflow.store.engine import missing_sqlite_file

    if args.db_action == "current" and (missing := missing_sqlite_file(args.db)):
        print(f"none (no database file at {missing})")
        return 1
    if args.db_action == "stats":
        return _stats(args.db)
    with open_store(args.db, create=False) as store:
        if args.db_action == "upgrade":
            reached = store.upgrade()
            print(f"{store.url}: at revision {reached} (head)")
            return 0
        current = store.current_revision()
        head = head_revision()
        print(f"{current or 'none'}{' (head)' if current == head else f' (head is {head})'}")
        return 0


def _stats(url: str | None) -> int:
    from docflow.errors import StoreError
    from docflow.store import open_store
    from docflow.store.engine import missing_sqlite_file
    from docflow.store.stats import database_stats

    if missing := missing_sqlite_file(url):
        raise StoreError(f"no database file at {missing}")
    with open_store(url, create=False) as store:
        print("\n".join(database_stats(store.engine).lines()))
    return 0

"""``docflow`` command line: parse arguments, dispatch to one command module, map errors to exit codes.

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int`` and keeps its heavy
imports inside ``run`` so that building the parser stays fast.  Exit codes: 0 success, 1 the
input is invalid or an operation failed, 2 usage errors (argparse's own convention).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from docflow.errors import DocflowError

#: command name -> (module, one-line help).  Keep sorted.
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("docflow.cli.audit", "verify the hash-chained event log"),
    "axis": ("docflow.cli.axis", "call an axis endpoint: send, list, get, ack, sent, agencies"),
    "conformance": ("docflow.cli.conformance", "check an axis endpoint (docflow's or a partner's) against the cases"),
    "db": ("docflow.cli.db", "create, migrate or inspect the database"),
    "diagram": ("docflow.cli.diagram", "draw the document lifecycles as Mermaid or Graphviz dot text"),
    "dossiers": ("docflow.cli.dossiers", "export the one-stop dossiers for the public-service portal (DVCQG)"),
    "inspect": ("docflow.cli.inspect", "print a readable summary of an edXML message"),
    "keys": ("docflow.cli.keys", "manage signing keys: generate, import or list one key pair per OrganId"),
    "operator": ("docflow.cli.operator", "add an operator of the console (docflow serve --operators FILE)"),
    "outbox": ("docflow.cli.outbox", "list, retry or purge the work given up after its retry budgets"),
    "registry": ("docflow.cli.registry", "show an agency topology: counts per tier and kind, then the tree"),
    "serve": ("docflow.cli.serve", "serve the national axis API (sendEdoc, getEdoc, ...) backed by the engine"),
    "simulate": ("docflow.cli.simulate", "run a scenario under virtual time; write report.json and report.html"),
    "trace": ("docflow.cli.trace", "print a document's journey: every hop and status in order"),
    "validate": ("docflow.cli.validate", "check edXML files: hardened parse, XSD and semantic rules"),
    "worker": ("docflow.cli.worker", "run the engine for some agencies until SIGTERM"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docflow",
        description="Route official documents (edXML, QCVN 102:2016) between the four tiers of government.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name)
        module = importlib.import_module(module_name)
        module.add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except DocflowError as exc:
        print(f"docflow {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


_DRIVER_NOISE = re.compile(r"\((?:[a-z_]+\.)*[A-Za-z]*(?:Error|Exception)\) |\s*\(Background on this error at: [^)]*\)")


def one_line(message: str) -> str:
    """A library message on one line: database drivers add their class name, line breaks and a help link."""
    text = _DRIVER_NOISE.sub("", message)
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())

"""``docflow validate FILE...``: check edXML files (hardened parse, XSD, values, semantic rules).

Prints ``OK <file>`` for a valid file, ``INVALID <file>: <line>: <element path>: <reason>`` per error
(``WARN ...`` per warning; a file with warnings only is still OK), ``INVALID <file>: cannot read: ...``
for a file that cannot be read.  Exit 0 when every file is valid, 1 when any is invalid, unsafe or
unreadable, 2 on usage errors.  Heavy imports stay inside ``run``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="edXML document or status message files")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (e.g. DocumentId date differing from PromulgationDate) as errors",
    )


def _line(text: str, file: str, line: int | None, path: str, message: str, rule: str) -> str:
    reason = f"{message} [{rule}]" if rule else message
    return f"{text} {file}: {line if line is not None else '?'}: {path or '/'}: {reason}"


def run(args: argparse.Namespace) -> int:
    from docflow.xml import check_bytes

    status = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            print(f"INVALID {name}: cannot read: {exc.strerror or exc}")
            status = 1
            continue
        violations = check_bytes(data, source=name, strict=args.strict)
        errors = [v for v in violations if v.severity == "error"]
        for v in violations:
            print(_line("INVALID" if v.severity == "error" else "WARN", name, v.line, v.path, v.message, v.rule))
        if errors:
            status = 1
        else:
            print(f"OK {name}")
    return status

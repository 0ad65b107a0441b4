"""``docflow operator FILE NAME``: add an operator of the console to an operators file, or change a password.

The password is read from the terminal (asked twice) or, with ``--password-stdin``, from the first line of
standard input; only its scrypt hash is written.  Thin: the work is in ``docflow.console.operators``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from docflow.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="operators file (TOML), created if absent")
    parser.add_argument("name", help="the operator's login name")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def run(args: argparse.Namespace) -> int:
    from docflow.console.operators import save_operator

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ")
    operators = save_operator(args.file, args.name, password)
    print(f"docflow operator: {args.name} can log in ({len(operators.hashes)} operators in {args.file})")
    return 0
